// SPDX-License-Identifier: GPL-2.0-or-later
/* Table tests for the RSC Measurement 0x2A53 and RSC Feature 0x2A54 decoders. */
#include "common/macro.h"
#include "proto/json.h"
#include "proto/rsc.h"
#include "tests/lib/proto-test.h"

#include <json.h>

#define NA -1.0

static const struct rsc_case {
	const char *name;
	const char *hex;
	int r;
	size_t error_offset;
	double speed_mps;
	unsigned cadence;
	bool running;
	double stride_m;		/* NA = absent */
	double distance_m;		/* NA = absent */
	size_t trailing;
} rsc_cases[] = {
	/* ABCL rsc/RunningSpeedAndCadenceMeasurementDataCallbackTest.java */
	{ "/proto/rsc/abcl-all-fields", "07 00 03 12 56 00 01 00 00 f0", 0, 0,
	  3.0, 18, true, 0.86, 402653184.1, 0 },
	/* nRF Toolbox Android RSCSDataParserTest */
	{ "/proto/rsc/nrf-running", "07 80 02 50 20 03 00 10 00 00", 0, 0,
	  2.5, 80, true, 8.0, 409.6, 0 },
	{ "/proto/rsc/nrf-walking-minimal", "00 80 02 50", 0, 0,
	  2.5, 80, false, NA, NA, 0 },
	/* OpenTracks BluetoothHandlerRunningSpeedAndCadenceTest.java */
	{ "/proto/rsc/ot-distance-only", "02 00 05 50 ff ff 00 01", 0, 0,
	  5.0, 80, false, NA, 1684275.1, 0 },
	/* RSCSDataParserTest: too short for the mandatory fields */
	{ "/proto/rsc/truncated-2-bytes", "00 80", -EBADMSG, 1, 0, 0, false, NA, NA, 0 },
	/* flags promise stride + distance, only one stride byte follows */
	{ "/proto/rsc/truncated-stride", "03 80 02 50 20", -EBADMSG, 4, 0, 0, false, NA, NA, 0 },
	/* ABCL 9-byte variant: distance one byte short */
	{ "/proto/rsc/truncated-distance", "03 80 02 50 20 03 00 10 00", -EBADMSG, 6, 0, 0, false, NA, NA, 0 },
	{ "/proto/rsc/empty", "", -EBADMSG, 0, 0, 0, false, NA, NA, 0 },
	{ "/proto/rsc/flags-only", "04", -EBADMSG, 1, 0, 0, false, NA, NA, 0 },
	{ "/proto/rsc/no-cadence", "04 00 01", -EBADMSG, 3, 0, 0, false, NA, NA, 0 },
	/* RFU bits 3-7 set: ignored, fields still decoded */
	{ "/proto/rsc/rfu-bits", "fc 00 01 aa", 0, 0, 1.0, 170, true, NA, NA, 0 },
	/* trailing bytes are tolerated and counted */
	{ "/proto/rsc/trailing", "01 00 03 aa 8c 00 de ad", 0, 0,
	  3.0, 170, false, 1.40, NA, 2 },
	/* STYLE.md example: 0x0300/256 = 3.0 m/s, cadence 170 */
	{ "/proto/rsc/speed-cadence", "00 00 03 aa", 0, 0, 3.0, 170, false, NA, NA, 0 },
	{ "/proto/rsc/max-values", "07 ff ff ff ff ff ff ff ff ff", 0, 0,
	  65535 / 256.0, 255, true, 655.35, 429496729.5, 0 },
};

static void test_rsc_case(void **state)
{
	const struct rsc_case *c = *state;
	struct rsc_measurement m;
	struct proto_error e = {};
	size_t len;
	uint8_t *p = hex_dup_exact(c->hex, 64, &len);
	int r;

	memset(&m, 0x5a, sizeof(m));
	r = rsc_measurement_parse(p, len, &m, &e);
	free(p);
	assert_int_equal(r, c->r);
	if (r < 0) {
		assert_int_equal(e.offset, c->error_offset);
		assert_non_null(e.field);
		assert_non_null(e.reason);
		/* ret untouched on failure */
		assert_int_equal(m.flags, 0x5a);
		return;
	}

	assert_near(m.speed_mps, c->speed_mps, 1e-9);
	assert_int_equal(m.cadence_per_min, c->cadence);
	assert_int_equal(m.running, c->running);
	assert_int_equal(m.has_stride_length, c->stride_m != NA);
	if (c->stride_m != NA)
		assert_near(m.stride_length_m, c->stride_m, 1e-9);
	assert_int_equal(m.has_total_distance, c->distance_m != NA);
	if (c->distance_m != NA)
		assert_near(m.total_distance_m, c->distance_m, 1e-6);
	assert_int_equal(m.trailing, c->trailing);
}

static size_t rsc_expected_len(uint8_t flags)
{
	static const struct flag_field fields[] = {
		{ RSC_FLAG_STRIDE_LENGTH, 2, 0 },
		{ RSC_FLAG_TOTAL_DISTANCE, 4, 0 },
	};

	return fields_len(4, fields, ELEMENTSOF(fields), flags);
}

/*
 * Every flags value, every length 0..64 (truncated and over-long): the
 * decoder accepts exactly len >= expected, counts the rest as trailing,
 * and never reads past len (exact heap copies).
 */
static void test_rsc_all_lengths(void **state)
{
	for (unsigned flags = 0; flags < 256; flags++)
		for (size_t len = 0; len <= 64; len++) {
			struct rsc_measurement m;
			struct proto_error e = {};
			uint8_t *p = lead_value(flags, 1, 0xa5, len);
			int r;

			r = rsc_measurement_parse(p, len, &m, &e);
			free(p);
			if (len >= rsc_expected_len(flags)) {
				assert_int_equal(r, 0);
				assert_int_equal(m.trailing, len - rsc_expected_len(flags));
				assert_int_equal(m.flags, flags);
			} else {
				assert_int_equal(r, -EBADMSG);
				assert_true(e.offset <= len);
			}
		}
}

static void test_rsc_null_error(void **state)
{
	struct rsc_measurement m;

	/* error may be NULL; an empty NULL buffer is just truncated */
	assert_int_equal(rsc_measurement_parse(NULL, 0, &m, NULL), -EBADMSG);
}

static void test_rsc_feature(void **state)
{
	/* ABCL RunningSpeedAndCadenceFeatureDataCallbackTest.java */
	static const uint8_t ok[] = { 0x0d, 0x00 }, one[] = { 0x0d };
	struct rsc_feature f;
	struct proto_error e = {};

	assert_int_equal(rsc_feature_parse(ok, sizeof(ok), &f, &e), 0);
	assert_int_equal(f.features, RSC_FEATURE_STRIDE_LENGTH |
			 RSC_FEATURE_WALKING_RUNNING | RSC_FEATURE_CALIBRATION);
	assert_false(f.features & RSC_FEATURE_TOTAL_DISTANCE);
	assert_int_equal(rsc_feature_parse(one, sizeof(one), &f, &e), -EBADMSG);
	assert_int_equal(e.offset, 0);
	for (size_t len = 0; len <= 64; len++) {
		uint8_t buf[64] = { 0xff, 0xff }, *p = dup_exact(buf, len);
		int r = rsc_feature_parse(p, len, &f, NULL);

		free(p);
		assert_int_equal(r, len >= 2 ? 0 : -EBADMSG);
	}
}

/* Absent stride and distance are JSON null, never 0; names are fixed */
static void test_rsc_json(void **state)
{
	static const uint8_t v[] = { 0x00, 0x80, 0x02, 0x50 };
	struct rsc_measurement m;
	struct json_object *o;

	assert_int_equal(rsc_measurement_parse(v, sizeof(v), &m, NULL), 0);
	assert_int_equal(rsc_measurement_to_json(&m, 0, &o), 0);
	assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
			    "{\"speed_mps\":2.5,\"cadence_per_min\":80,\"stride_length_m\":null,"
			    "\"total_distance_m\":null,\"running\":false}");
	json_object_put(o);
}

int main(void)
{
	static const struct CMUnitTest extra[] = {
		{ "/proto/rsc/all-flags-all-lengths", test_rsc_all_lengths, NULL, NULL, NULL },
		{ "/proto/rsc/null-buffer", test_rsc_null_error, NULL, NULL, NULL },
		{ "/proto/rsc/json", test_rsc_json, NULL, NULL, NULL },
		{ "/proto/rsc/feature", test_rsc_feature, NULL, NULL, NULL },
	};

	return RUN_CASE_TABLE("proto/rsc", rsc_cases, test_rsc_case, extra);
}
