// SPDX-License-Identifier: GPL-2.0-or-later
/* Table tests for the Heart Rate Measurement 0x2A37 decoder. */
#include "common/macro.h"
#include "proto/hrm.h"
#include "tests/lib/proto-test.h"

static const struct hrm_case {
	const char *name;
	const char *hex;
	int r;
	size_t error_offset;
	unsigned bpm;
	enum hrm_contact contact;
	int energy_kj;			/* -1 = absent */
	int n_rr;			/* -1 = RR flag clear */
	uint16_t rr[4];
} hrm_cases[] = {
	/* ABCL hr/HeartRateMeasurementDataCallbackTest.java */
	{ "/proto/hrm/abcl-85", "00 55", 0, 0, 85, HRM_CONTACT_UNSUPPORTED, -1, -1, {} },
	{ "/proto/hrm/abcl-255-no-contact", "04 ff", 0, 0, 255,
	  HRM_CONTACT_NOT_DETECTED, -1, -1, {} },
	{ "/proto/hrm/abcl-energy-rr", "1e 55 32 00 21 00", 0, 0, 85,
	  HRM_CONTACT_DETECTED, 50, 1, { 33 } },
	{ "/proto/hrm/abcl-uint16-three-rr", "1f 01 01 32 01 01 00 02 01 ff ff", 0, 0,
	  257, HRM_CONTACT_DETECTED, 306, 3, { 1, 258, 65535 } },
	/* same file: RR flag without RR bytes, tolerated as Wireshark does */
	{ "/proto/hrm/abcl-rr-flag-empty", "17 01 01", 0, 0, 257,
	  HRM_CONTACT_DETECTED, -1, 0, {} },
	/* movisens/SmartGattLib HeartRateMeasurementTest.java */
	{ "/proto/hrm/smartgattlib-two-rr", "16 48 54 01 ec 02", 0, 0, 72,
	  HRM_CONTACT_DETECTED, -1, 2, { 340, 748 } },
	/* cal-id/Polar-H7-Pi README (real Polar H7) */
	{ "/proto/hrm/polar-h7-60", "06 3c", 0, 0, 60, HRM_CONTACT_DETECTED, -1, -1, {} },
	{ "/proto/hrm/polar-h7-rr-1041", "16 3c 11 04", 0, 0, 60,
	  HRM_CONTACT_DETECTED, -1, 1, { 1041 } },
	{ "/proto/hrm/polar-h7-rr-1013", "16 3c f5 03", 0, 0, 60,
	  HRM_CONTACT_DETECTED, -1, 1, { 1013 } },
	/* OpenTracks BluetoothHandlerManagerHeartRateTest.java */
	{ "/proto/hrm/ot-60", "02 3c", 0, 0, 60, HRM_CONTACT_UNSUPPORTED, -1, -1, {} },
	{ "/proto/hrm/ot-257", "01 01 01", 0, 0, 257, HRM_CONTACT_UNSUPPORTED, -1, -1, {} },
	/* negative cases */
	{ "/proto/hrm/empty", "", -EBADMSG, 0, 0, 0, 0, 0, {} },
	{ "/proto/hrm/no-rate", "00", -EBADMSG, 1, 0, 0, 0, 0, {} },
	{ "/proto/hrm/truncated-uint16-rate", "01 3c", -EBADMSG, 1, 0, 0, 0, 0, {} },
	{ "/proto/hrm/truncated-energy", "08 3c 01", -EBADMSG, 2, 0, 0, 0, 0, {} },
	{ "/proto/hrm/odd-rr-byte", "10 3c 11 04 01", -EBADMSG, 4, 0, 0, 0, 0, {} },
	{ "/proto/hrm/rfu-bits", "e0 3c 00", 0, 0, 60, HRM_CONTACT_UNSUPPORTED, -1, -1, {} },
};

static void test_hrm_case(void **state)
{
	const struct hrm_case *c = *state;
	struct hrm_measurement *m = malloc(sizeof(*m));
	struct proto_error e = {};
	uint8_t *p;
	size_t len;
	int r;

	assert_non_null(m);
	p = hex_dup_exact(c->hex, 64, &len);
	memset(m, 0x5a, sizeof(*m));
	r = hrm_measurement_parse(p, len, m, &e);
	free(p);
	assert_int_equal(r, c->r);
	if (r < 0) {
		assert_int_equal(e.offset, c->error_offset);
		assert_int_equal(m->flags, 0x5a);
		free(m);
		return;
	}

	assert_int_equal(m->heart_rate_bpm, c->bpm);
	assert_int_equal(m->contact, c->contact);
	assert_int_equal(m->has_energy_expended, c->energy_kj >= 0);
	if (c->energy_kj >= 0)
		assert_int_equal(m->energy_expended_kj, c->energy_kj);
	assert_int_equal(m->has_rr, c->n_rr >= 0);
	assert_int_equal(m->n_rr, c->n_rr >= 0 ? (size_t)c->n_rr : 0);
	for (int i = 0; i < c->n_rr; i++) {
		assert_int_equal(m->raw_rr[i], c->rr[i]);
		/* 1/1024 s to ms */
		assert_near(m->rr_ms[i], c->rr[i] * 1000.0 / 1024.0, 1e-9);
	}
	free(m);
}

static void test_hrm_rr_ms(void **state)
{
	/* Polar H7: 1041/1024 s = 1016.6 ms, 1013 -> 989.3 ms (README figures) */
	static const uint8_t a[] = { 0x16, 0x3c, 0x11, 0x04 }, b[] = { 0x16, 0x3c, 0xf5, 0x03 };
	struct hrm_measurement m;

	assert_int_equal(hrm_measurement_parse(a, sizeof(a), &m, NULL), 0);
	assert_near(m.rr_ms[0], 1016.6, 0.05);
	assert_int_equal(hrm_measurement_parse(b, sizeof(b), &m, NULL), 0);
	assert_near(m.rr_ms[0], 989.3, 0.05);
}

static size_t hrm_fixed_len(uint8_t flags)
{
	static const struct flag_field fields[] = {
		{ HRM_FLAG_HR_UINT16, 2, 1 },
		{ HRM_FLAG_ENERGY_EXPENDED, 2, 0 },
	};

	return fields_len(1, fields, ELEMENTSOF(fields), flags);
}

/* Every flags value and every length 0..64, exact heap copies. */
static void test_hrm_all_lengths(void **state)
{
	struct hrm_measurement *m = malloc(sizeof(*m));

	assert_non_null(m);
	for (unsigned flags = 0; flags < 256; flags++)
		for (size_t len = 0; len <= 64; len++) {
			struct proto_error e = {};
			uint8_t *p = lead_value(flags, 1, 0x33, len);
			size_t fixed = hrm_fixed_len(flags);
			int r;

			r = hrm_measurement_parse(p, len, m, &e);
			free(p);
			if (len < fixed) {
				assert_int_equal(r, -EBADMSG);
			} else if (flags & HRM_FLAG_RR_INTERVALS) {
				assert_int_equal(r, (len - fixed) % 2 ? -EBADMSG : 0);
				if (r == 0)
					assert_int_equal(m->n_rr, (len - fixed) / 2);
			} else {
				assert_int_equal(r, 0);
				assert_int_equal(m->trailing, len - fixed);
			}
		}
	free(m);
}

/* An ATT value holds at most 255 RR intervals; more is rejected, not overrun. */
static void test_hrm_rr_cap(void **state)
{
	size_t len = 2 + 2 * (HRM_RR_MAX + 1);
	uint8_t *p = calloc(1, len);
	struct hrm_measurement *m = malloc(sizeof(*m));
	struct proto_error e = {};

	assert_non_null(p);
	assert_non_null(m);
	p[0] = HRM_FLAG_RR_INTERVALS;
	assert_int_equal(hrm_measurement_parse(p, len, m, &e), -EBADMSG);
	assert_int_equal(e.offset, 2 + 2 * HRM_RR_MAX);
	assert_int_equal(hrm_measurement_parse(p, len - 2, m, &e), 0);
	assert_int_equal(m->n_rr, HRM_RR_MAX);
	free(p);
	free(m);
}

int main(void)
{
	static const struct CMUnitTest extra[] = {
		{ "/proto/hrm/rr-ms-polar-h7", test_hrm_rr_ms, NULL, NULL, NULL },
		{ "/proto/hrm/all-flags-all-lengths", test_hrm_all_lengths, NULL, NULL, NULL },
		{ "/proto/hrm/rr-cap", test_hrm_rr_cap, NULL, NULL, NULL },
	};

	return RUN_CASE_TABLE("proto/hrm", hrm_cases, test_hrm_case, extra);
}
