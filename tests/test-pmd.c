// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Tests for the Polar PMD codec: request encoders, control point responses
 * (multi-part), settings TLVs (factor), data frames (ACC raw 0/1/2, delta
 * 0x80/0x81, gyro, ECG), the delta decoder and per-sample timestamps.
 * Real vectors: polar-ble-sdk Android tests (files named per test).
 */
#include "common/macro.h"
#include "proto/json.h"
#include "proto/pmd.h"
#include "tests/lib/proto-test.h"

#include <json.h>

/* Decode a data frame from hex through an exact heap copy. */
static int frame(const char *s, const struct pmd_frame_format *fmt,
		 struct pmd_data_frame *f, struct proto_error *e)
{
	size_t len;
	uint8_t *p = hex_dup_exact(s, 1024, &len);
	int r;

	r = pmd_data_frame_parse(p, len, fmt, f, e);
	free(p);
	return r;
}

static struct pmd_data_frame *frame_new(void)
{
	struct pmd_data_frame *f = malloc(sizeof(*f));

	assert_non_null(f);
	return f;
}

#define ACC_HEADER_T2E9 "02 00 94 35 77 00 00 00 00"

/* model/AccDataTest.kt "process acc raw data frame type 1": 36 samples */
static const char acc_raw1_36[] = ACC_HEADER_T2E9 " 01"
	" F7 FF FF FF E7 03 F8 FF FE FF E5 03 F9 FF FF FF E5 03 FA FF FF FF E6 03"
	" FA FF FE FF E6 03 F9 FF FF FF E5 03 F8 FF FF FF E6 03 F8 FF FE FF E6 03"
	" FA FF FF FF E5 03 FA FF FF FF E7 03 FA FF FF FF E5 03 F8 FF FF FF E6 03"
	" F7 FF FF FF E6 03 F8 FF FE FF E6 03 F9 FF FE FF E7 03 F9 FF 00 00 E6 03"
	" F9 FF FF FF E6 03 F7 FF FE FF E5 03 F9 FF FF FF E5 03 F9 FF FF FF E5 03"
	" FA FF 00 00 E6 03 F9 FF FE FF E6 03 F8 FF FF FF E6 03 F8 FF FF FF E5 03"
	" F9 FF FF FF E6 03 F9 FF FF FF E5 03 FA FF FF FF E6 03 F9 FF FF FF E5 03"
	" F9 FF FF FF E5 03 F8 FF FE FF E6 03 F9 FF FF FF E6 03 F9 FF FF FF E6 03"
	" F9 FF 00 00 E5 03 F9 FF FE FF E6 03 F8 FF FE FF E6 03 F7 FF FE FF E6 03";

/* model/AccDataTest.kt "process acc compressed data type 0": 57 samples */
static const char acc_delta0_57[] = ACC_HEADER_T2E9 " 80"
	" 71 07 F0 6A 9E 8D 0A 38 BE 5C BE BA 2F 96 B3 EE 4B E5 AD FB 42 B9 EB BE"
	" 4C FE BA 2F 92 BF EE 4B E4 B1 FB 12 B9 EC BD 3C 3E BB 2F 8F D3 DE 4B E3"
	" B5 F7 D2 B8 ED BD 30 7E 7B 2F 8B E3 CE 8B E2 BA F7 A2 B8 EE BC 20 BE 7B"
	" 2F 88 F3 CE CB E1 BD EF 52 F8 EF BC 18 FE 3B 2F 84 03 BF CB E0 C2 EF 32"
	" B8 F0 BB 04 4E BC 2E 81 13 AF 0B E0 C6 EF F2 F7 F1 B9 FC 7D BC 2E 7D 27"
	" 9F 4B DF CA EB C2 F7 F2 B8 EC CD 7C 2E 7B 37 8F 4B DE CE E3 92 F7 F3 B8"
	" E0 0D FD 2D 77 4B 7F CB DD D2 DF 62 37 F5 B7 D4 4D BD 2D 74 5B 6F CB DC"
	" D7 D7 32 37 F6 B5 C8 8D 7D 2D 71 6B 4F 4B DC DC D3 F2 36 F7 B4 BC DD FD"
	" 2C 6F 7B 3F 4B DB E0 CF D2 36 F8 B2 B0 2D BE 2C 6C 8F 1F CB DA E3 C7 A2"
	" 76 F9";

static void test_acc_raw1(void **state)
{
	struct pmd_frame_format fmt = { .sample_rate_hz = 52 };
	struct pmd_data_frame *f = frame_new();

	assert_int_equal(frame(acc_raw1_36, &fmt, f, NULL), 0);
	assert_int_equal(f->measurement_type, PMD_MEASUREMENT_ACC);
	assert_true(f->timestamp_ns == 2000000000u);
	assert_int_equal(f->frame_type, 0x01);
	assert_false(f->compressed);
	assert_string_equal(f->unit, "mG");
	assert_int_equal(f->n_samples, 36);
	assert_int_equal(f->samples[0].raw[0], -9);
	assert_int_equal(f->samples[0].raw[1], -1);
	assert_int_equal(f->samples[0].raw[2], 999);
	assert_int_equal(f->samples[1].raw[0], -8);
	assert_int_equal(f->samples[1].raw[1], -2);
	assert_near(f->samples[1].value[2], 997, 0);
	/* first frame: step back at 52 Hz from the last sample's time */
	assert_true(f->samples[35].timestamp_ns == 2000000000u);
	assert_true(f->samples[0].timestamp_ns ==
		    2000000000u - 35 * (1000000000u / 52));
	free(f);
}

static void test_acc_delta0(void **state)
{
	const float factor = 2.44e-4f;
	struct pmd_frame_format fmt = { .factor = factor, .previous_timestamp_ns = 100 };
	struct pmd_data_frame *f = frame_new();
	static const int32_t first[3] = { 1905, 27376, -29282 };
	static const int32_t second[3] = { 1905 + 190, 27376 - 105, -29282 - 85 };
	static const int32_t last[3] = { 12274, 20173, -32449 };

	assert_int_equal(frame(acc_delta0_57, &fmt, f, NULL), 0);
	assert_true(f->compressed);
	assert_int_equal(f->n_samples, 57);
	for (int ch = 0; ch < 3; ch++) {
		assert_int_equal(f->samples[0].raw[ch], first[ch]);
		assert_int_equal(f->samples[1].raw[ch], second[ch]);
		assert_int_equal(f->samples[56].raw[ch], last[ch]);
		/* "type 0" delta frames carry G: x factor x 1000 -> mG */
		assert_near(f->samples[0].value[ch], first[ch] * factor * 1000.0, 0.01);
	}
	/* the SDK test's range check: |value| <= 8 G */
	for (size_t i = 0; i < f->n_samples; i++)
		for (int ch = 0; ch < 3; ch++)
			assert_true(fabsf(f->samples[i].value[ch]) <= 8000);
	/* spread between the previous frame (100 ns) and this one */
	assert_true(f->samples[0].timestamp_ns ==
		    100 + (uint64_t)llround((2000000000.0 - 100) / 57));
	assert_true(f->samples[56].timestamp_ns == 2000000000u);
	for (size_t i = 1; i < f->n_samples; i++)
		assert_true(f->samples[i].timestamp_ns > f->samples[i - 1].timestamp_ns);
	free(f);
}

/* model/AccDataTest.kt "compressed data type 1" (Verity Sense, issue #331) */
static void test_acc_delta1(void **state)
{
	struct pmd_data_frame *f = frame_new();
	struct pmd_frame_format fmt = { .factor = 1.0f };
	static const char v[] = "02 65 00 00 00 00 00 00 00 81 f1 ff 14 00 f0 03 06 01 7b 0f 08";

	assert_int_equal(frame(v, &fmt, f, NULL), 0);
	assert_true(f->timestamp_ns == 101);
	assert_int_equal(f->n_samples, 2);
	assert_near(f->samples[0].value[0], -15, 0);
	assert_near(f->samples[0].value[1], 20, 0);
	assert_near(f->samples[0].value[2], 1008, 0);
	assert_near(f->samples[1].value[0], -20, 0);
	assert_near(f->samples[1].value[1], 17, 0);
	assert_near(f->samples[1].value[2], 1008, 0);

	/* factor from the start response is applied to 0x81 frames */
	fmt.factor = 0.5f;
	assert_int_equal(frame(v, &fmt, f, NULL), 0);
	assert_near(f->samples[0].value[2], 504, 0);
	assert_int_equal(f->samples[0].raw[2], 1008);

	/* nonsense factors mean "no scaling" */
	fmt.factor = NAN;
	assert_int_equal(frame(v, &fmt, f, NULL), 0);
	assert_near(f->samples[1].value[0], -20, 0);
	assert_int_equal(frame(v, NULL, f, NULL), 0);
	assert_near(f->samples[1].value[0], -20, 0);
	free(f);
}

/* Expected raw value of one channel of one sample. */
struct raw_want {
	size_t sample;
	unsigned ch;
	int32_t raw;
};

/* Decode a raw frame (no format) into f: it must succeed with n_samples and these raws. */
static void check_raw_frame(const char *s, struct pmd_data_frame *f, size_t n_samples,
			    const struct raw_want *want, size_t n_want)
{
	assert_int_equal(frame(s, NULL, f, NULL), 0);
	assert_int_equal(f->n_samples, n_samples);
	for (size_t i = 0; i < n_want; i++)
		assert_int_equal(f->samples[want[i].sample].raw[want[i].ch], want[i].raw);
}

static void test_acc_raw0_raw2(void **state)
{
	struct pmd_data_frame *f = frame_new();
	/* raw 0: 3 x int8 mG */
	static const struct raw_want raw0[] = {
		{ 0, 0, 127 }, { 0, 1, -128 }, { 0, 2, -1 }, { 1, 2, -2 },
	};
	/* raw 2: 3 x int24 mG, sign extension from bit 23 */
	static const struct raw_want raw2[] = {
		{ 0, 0, 8388607 }, { 0, 1, -8388608 }, { 0, 2, -1 },
	};

	check_raw_frame("02 00 00 00 00 00 00 00 00 00 7f 80 ff 01 00 fe",
			f, 2, raw0, ELEMENTSOF(raw0));
	check_raw_frame("02 00 00 00 00 00 00 00 00 02 ff ff 7f 00 00 80 ff ff ff",
			f, 1, raw2, ELEMENTSOF(raw2));
	free(f);
}

/* model/EcgDataTest.kt: ECG raw type 0, int24 uV */
static void test_ecg(void **state)
{
	struct pmd_data_frame *f = frame_new();
	static const struct raw_want ecg[] = { { 0, 0, -32766 }, { 1, 0, 32770 } };

	check_raw_frame("00 00 94 35 77 00 00 00 00 00 02 80 ff 02 80 00",
			f, 2, ecg, ELEMENTSOF(ecg));
	assert_int_equal(f->channels, 1);
	assert_string_equal(f->unit, "uV");
	free(f);
}

static void test_gyro(void **state)
{
	struct pmd_data_frame *f = frame_new();
	struct pmd_frame_format fmt = { .factor = 0.25f };

	/* gyro delta 0x80: reference (4, -8, 400), one 2-bit delta (1, -1, 0) */
	assert_int_equal(frame("05 00 00 00 00 00 00 00 00 80 04 00 f8 ff 90 01 02 01 0d",
			       &fmt, f, NULL), 0);
	assert_string_equal(f->unit, "deg/s");
	assert_int_equal(f->n_samples, 2);
	assert_near(f->samples[0].value[0], 1, 0);
	assert_near(f->samples[0].value[1], -2, 0);
	assert_near(f->samples[0].value[2], 100, 0);
	assert_int_equal(f->samples[1].raw[0], 5);
	assert_int_equal(f->samples[1].raw[1], -9);
	assert_int_equal(f->samples[1].raw[2], 400);
	free(f);
}

static void test_unsupported_and_malformed(void **state)
{
	struct pmd_data_frame *f = frame_new();
	struct proto_error e = {};

	/* PPI (model/PpiDataTest.kt) is not decoded here: a clean refusal */
	assert_int_equal(frame("03 00 00 00 00 00 00 00 00 00 80 80 80 80 80 ff 00 01 00 01 00 00",
			       NULL, f, &e), -EOPNOTSUPP);
	assert_int_equal(e.offset, 9);
	/* gyro raw and float delta 0x81 are not what the devices send */
	assert_int_equal(frame("05 00 00 00 00 00 00 00 00 01", NULL, f, &e), -EOPNOTSUPP);
	/* header cut off */
	assert_int_equal(frame("02 00 94 35 77 00 00 00", NULL, f, &e), -EBADMSG);
	assert_int_equal(e.offset, 1);
	assert_int_equal(frame("02 00 94 35 77 00 00 00 00", NULL, f, &e), -EBADMSG);
	assert_int_equal(e.offset, 9);
	/* a partial raw sample at the end: 1 sample + 5 bytes */
	assert_int_equal(frame(ACC_HEADER_T2E9 " 01 01 00 02 00 03 00 04 00 05 00 06",
			       NULL, f, &e), -EBADMSG);
	assert_int_equal(e.offset, 16);
	/* bad delta frame: reported offsets are frame offsets */
	assert_int_equal(frame(ACC_HEADER_T2E9 " 81 f1 ff 14 00 f0 03 06 01 7b 0f",
			       NULL, f, &e), -EBADMSG);
	assert_int_equal(e.offset, 18);
	free(f);
}

/* Spec "Delta frame sample example" (PMD specification, commit b18dfc58) */
static void test_delta_spec_example(void **state)
{
	int32_t rows[8][PMD_CHANNELS_MAX];
	uint8_t buf[32];
	size_t len = hex("d0 ff 65 01 e4 0f 08 02 fc 07 ff 0c 13 f2", buf, sizeof(buf)), n;
	static const int32_t want[3][3] = {
		{ -48, 357, 4068 }, { -52, 364, 4067 }, { -40, 383, 4053 },
	};

	assert_int_equal(pmd_delta_decode(buf, len, 3, 16, rows, 8, &n, NULL), 0);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++)
		for (int ch = 0; ch < 3; ch++)
			assert_int_equal(rows[i][ch], want[i][ch]);

	/* the spec's own count 0x1D (29) with two deltas' bytes: truncated */
	buf[7] = 0x1d;
	assert_int_equal(pmd_delta_decode(buf, len, 3, 16, rows, 8, &n, NULL), -EBADMSG);
}

/* Test-side encoder: LSB-first bit packing of deltas (independent of proto). */
struct bitw {
	uint8_t *p;
	size_t bit;
};

static void put_bits(struct bitw *w, uint32_t v, unsigned bits)
{
	for (unsigned i = 0; i < bits; i++, w->bit++)
		if (v >> i & 1)
			w->p[w->bit / 8] |= (uint8_t)(1u << (w->bit % 8));
}

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

/*
 * Every delta width 1..32 (16-bit and 24-bit references), 1..4 channels,
 * several blocks of different widths in one frame, extremes of every
 * width for sign extension. Decoded samples must equal the running sums.
 */
/* A reference of 12-bit resolution in two bytes is signed in 12 bits. */
static void test_delta_ref_resolution(void **state)
{
	static const uint8_t ref12[] = { 0x00, 0x08, 0xff, 0x07, 0x01, 0x00 };
	int32_t rows[4][PMD_CHANNELS_MAX];
	size_t n;

	assert_int_equal(pmd_delta_decode(ref12, sizeof(ref12), 3, 12, rows, 4, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rows[0][0], -2048);
	assert_int_equal(rows[0][1], 2047);
	assert_int_equal(rows[0][2], 1);
}

static void test_delta_roundtrip(void **state)
{
	static int32_t rows[PMD_SAMPLES_MAX][PMD_CHANNELS_MAX];
	static int32_t want[PMD_SAMPLES_MAX][PMD_CHANNELS_MAX];
	uint8_t buf[2048];

	for (unsigned res = 16; res <= 24; res += 8)
		for (unsigned ch = 1; ch <= PMD_CHANNELS_MAX; ch++)
			for (unsigned bits = 1; bits <= 32; bits++) {
				size_t ref_bytes = res / 8, len = 0, n, total = 1;
				uint32_t acc[PMD_CHANNELS_MAX];
				struct proto_error e = {};
				uint8_t *p;

				memset(buf, 0, sizeof(buf));
				for (unsigned c = 0; c < ch; c++) {
					int32_t ref = (int32_t)(rng() % 2000) - 1000;

					for (size_t b = 0; b < ref_bytes; b++)
						buf[len++] = (uint8_t)((uint32_t)ref >> (8 * b));
					acc[c] = (uint32_t)ref;
					want[0][c] = ref;
				}

				/* three blocks: this width, width 1, this width again */
				for (int blk = 0; blk < 3; blk++) {
					unsigned w = blk == 1 ? 1 : bits, count = 1 + rng() % 7;
					struct bitw bw = { buf + len + 2, 0 };

					buf[len] = (uint8_t)w;
					buf[len + 1] = (uint8_t)count;
					for (unsigned k = 0; k < count; k++, total++)
						for (unsigned c = 0; c < ch; c++) {
							/* min, max and random deltas of width w */
							int64_t lo = -((int64_t)1 << (w - 1));
							int64_t hi = ((int64_t)1 << (w - 1)) - 1;
							int64_t d = k == 0 ? lo : k == 1 ? hi :
								lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));

							put_bits(&bw, (uint32_t)d, w);
							acc[c] += (uint32_t)d;
							want[total][c] = (int32_t)acc[c];
						}
					len += 2 + (bw.bit + 7) / 8;
				}

				p = dup_exact(buf, len);
				assert_int_equal(pmd_delta_decode(p, len, ch, res, rows,
								  PMD_SAMPLES_MAX, &n, &e), 0);
				assert_int_equal(n, total);
				for (size_t i = 0; i < n; i++)
					for (unsigned c = 0; c < ch; c++)
						if (rows[i][c] != want[i][c])
							fail_msg("res %u ch %u bits %u: sample %zu ch %u = %d, want %d",
								 res, ch, bits, i, c, rows[i][c], want[i][c]);

				/* every shorter length fails cleanly, never overreads */
				for (size_t l = 0; l < len; l++) {
					int r = pmd_delta_decode(p, l, ch, res, rows,
								 PMD_SAMPLES_MAX, &n, &e);

					/* a cut exactly at a block boundary is a shorter valid frame */
					if (r == 0)
						assert_true(n < total);
					else
						assert_int_equal(r, -EBADMSG);
				}
				free(p);
			}
}

/* A malformed input: its hex and the error offset it must report (ANY_OFFSET: unchecked). */
struct bad_input {
	const char *hex;
	size_t offset;
};

#define ANY_OFFSET SIZE_MAX

/* Each input must be refused by parse with -EBADMSG (and its offset). */
static void check_bad_inputs(const struct bad_input *bad, size_t n,
			     int (*parse)(const uint8_t *p, size_t len, struct proto_error *e))
{
	for (size_t i = 0; i < n; i++) {
		struct proto_error e = {};
		uint8_t buf[64];
		size_t len = hex(bad[i].hex, buf, sizeof(buf));

		assert_int_equal(parse(buf, len, &e), -EBADMSG);
		if (bad[i].offset != ANY_OFFSET)
			assert_int_equal(e.offset, bad[i].offset);
	}
}

/* One channel of 16-bit references into 4 rows, as test_delta_invalid decodes. */
static int delta_1x16_4rows(const uint8_t *p, size_t len, struct proto_error *e)
{
	int32_t rows[4][PMD_CHANNELS_MAX];
	size_t n;

	return pmd_delta_decode(p, len, 1, 16, rows, 4, &n, e);
}

static void test_delta_invalid(void **state)
{
	int32_t rows[4][PMD_CHANNELS_MAX];
	struct proto_error e = {};
	uint8_t buf[64];
	size_t len, n;
	static const struct bad_input bad[] = {
		/* delta width 0 and 33 are refused at the block header */
		{ "01 00 00 05", 2 },
		{ "01 00 21 01 00 00 00 00 00", ANY_OFFSET },
		/* more samples than the caller's rows */
		{ "01 00 08 04 01 02 03 04", ANY_OFFSET },
		/* a lone header byte */
		{ "01 00 08", 2 },
	};

	check_bad_inputs(bad, ELEMENTSOF(bad), delta_1x16_4rows);
	len = hex("01 00 08", buf, sizeof(buf));
	/* reference cut off */
	assert_int_equal(pmd_delta_decode(buf, 1, 1, 16, rows, 4, &n, &e), -EBADMSG);
	assert_int_equal(pmd_delta_decode(NULL, 0, 1, 16, rows, 4, &n, &e), -EBADMSG);
	/* bad arguments */
	assert_int_equal(pmd_delta_decode(buf, len, 0, 16, rows, 4, &n, &e), -EINVAL);
	assert_int_equal(pmd_delta_decode(buf, len, 5, 16, rows, 4, &n, &e), -EINVAL);
	assert_int_equal(pmd_delta_decode(buf, len, 1, 0, rows, 4, &n, &e), -EINVAL);
	assert_int_equal(pmd_delta_decode(buf, len, 1, 33, rows, 4, &n, &e), -EINVAL);
	/* a zero-count block is legal and adds nothing */
	len = hex("01 00 08 00", buf, sizeof(buf));
	assert_int_equal(pmd_delta_decode(buf, len, 1, 16, rows, 4, &n, &e), 0);
	assert_int_equal(n, 1);
}

/* Every length 0..64 of every header combination: no crash, no overread. */
static void test_frame_all_lengths(void **state)
{
	struct pmd_data_frame *f = frame_new();

	for (unsigned type = 0; type < 8; type++)
		for (unsigned ft = 0; ft < 4; ft++)
			for (unsigned c = 0; c < 2; c++)
				for (size_t len = 0; len <= 64; len++) {
					uint8_t buf[64], *p;

					for (size_t i = 0; i < sizeof(buf); i++)
						buf[i] = (uint8_t)(i * 37 + 5);
					buf[0] = (uint8_t)type;
					buf[9] = (uint8_t)(ft | (c ? 0x80 : 0));
					p = dup_exact(buf, len);
					(void)pmd_data_frame_parse(p, len, NULL, f, NULL);
					free(p);
				}
	free(f);
}

/* 4 zero raw-1 ACC samples at t = 2000 ns, after a frame at prev (ns). */
static void frame_at_2000(struct pmd_frame_format *fmt, uint64_t prev, struct pmd_data_frame *f)
{
	fmt->previous_timestamp_ns = prev;
	assert_int_equal(frame("02 d0 07 00 00 00 00 00 00 01"
			       " 00 00 00 00 00 00 00 00 00 00 00 00"
			       " 00 00 00 00 00 00 00 00 00 00 00 00", fmt, f, NULL), 0);
	assert_int_equal(f->n_samples, 4);
	assert_true(f->samples[3].timestamp_ns == 2000);
}

/* 36 samples at 200 Hz span 180 ms (180000000 ns). */
static void test_frames_missed(void **state)
{
	const uint64_t t = 10000000000ULL, span = 180000000ULL;

	assert_int_equal(pmd_frames_missed(t - span, t, 36, 200), 0);
	/* a clock 0.5 % fast, or up to half a frame late: spread over */
	assert_int_equal(pmd_frames_missed(t - span * 3 / 2, t, 36, 200), 0);
	/* one frame lost: 2 spans; two: 3; 1.6 spans is still one */
	assert_int_equal(pmd_frames_missed(t - 2 * span, t, 36, 200), 1);
	assert_int_equal(pmd_frames_missed(t - 3 * span, t, 36, 200), 2);
	assert_int_equal(pmd_frames_missed(t - span * 8 / 5, t, 36, 200), 1);
	/* nothing to compare with */
	assert_int_equal(pmd_frames_missed(0, t, 36, 200), 0);
	assert_int_equal(pmd_frames_missed(t - 2 * span, t, 36, 0), 0);
	assert_int_equal(pmd_frames_missed(t - 2 * span, t, 0, 200), 0);
	assert_int_equal(pmd_frames_missed(t, t, 36, 200), 0);
	assert_int_equal(pmd_frames_missed(t + span, t, 36, 200), 0);
}

static void test_timestamps(void **state)
{
	struct pmd_data_frame *f = frame_new();
	struct pmd_frame_format fmt = {};

	/* no sample rate: spread over (1000, 2000] */
	frame_at_2000(&fmt, 1000, f);
	assert_true(f->samples[0].timestamp_ns == 1250);
	assert_true(f->samples[1].timestamp_ns == 1500);
	assert_true(f->samples[2].timestamp_ns == 1750);

	/* clock went back: treated as a first frame at the sample rate */
	fmt.sample_rate_hz = 1000000000 / 100;	/* 100 ns per sample */
	frame_at_2000(&fmt, 5000, f);
	assert_true(f->samples[0].timestamp_ns == 1700);

	/*
	 * At 100 ns a sample the 4 span 400 ns. From 1400 (a rate a little
	 * off, 1.5 x the span): spread, 150 ns apart. From 1000 (a frame
	 * lost between, 2.5 x): stepped back at the rate, the hole before.
	 */
	frame_at_2000(&fmt, 1400, f);
	assert_true(f->samples[0].timestamp_ns == 1550);
	assert_true(f->samples[2].timestamp_ns == 1850);
	frame_at_2000(&fmt, 1000, f);
	assert_true(f->samples[0].timestamp_ns == 1700);
	assert_true(f->samples[1].timestamp_ns == 1800);
	free(f);
}

static int settings_parse(const uint8_t *p, size_t len, struct proto_error *e)
{
	struct pmd_settings s;

	return pmd_settings_parse(p, len, &s, e);
}

/* PmdSettingTest.kt */
static void test_settings(void **state)
{
	struct pmd_settings s;
	struct proto_error e = {};
	uint8_t buf[64];
	size_t len = hex("00 01 34 00 01 01 10 00 02 04 f5 00 f4 01 e8 03 d0 07 04 01 03",
			 buf, sizeof(buf));
	static const uint32_t ranges[] = { 245, 500, 1000, 2000 };
	static const struct bad_input bad[] = {
		{ "ff ff ff", 0 }, { "04 01 03 04 01 03", 3 }, { "00 02 34 00 1a", 4 },
		{ "04 21", ANY_OFFSET },
	};

	assert_int_equal(pmd_settings_parse(buf, len, &s, &e), 0);
	assert_int_equal(s.sample_rate_hz.count, 1);
	assert_int_equal(s.sample_rate_hz.values[0], 52);
	assert_int_equal(s.resolution_bits.values[0], 16);
	assert_int_equal(s.range.count, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(s.range.values[i], ranges[i]);
	assert_int_equal(s.channels.values[0], 3);
	assert_false(s.present & (1u << PMD_SETTING_FACTOR));
	assert_true(s.factor == 1.0f);

	/* FACTOR: float32 2^-12 (0x39800000), as a Verity start response carries */
	len = hex("05 01 00 00 80 39", buf, sizeof(buf));
	assert_int_equal(pmd_settings_parse(buf, len, &s, &e), 0);
	assert_true(s.present & (1u << PMD_SETTING_FACTOR));
	assert_true(s.factor == 0x1p-12f);

	/* range in milli-units (u32) and security (16 bytes) */
	len = hex("03 01 40 42 0f 00 06 01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
		  buf, sizeof(buf));
	assert_int_equal(pmd_settings_parse(buf, len, &s, &e), 0);
	assert_int_equal(s.range_milliunit.values[0], 1000000);
	assert_int_equal(s.security[15], 0x0f);

	/* empty list is valid */
	assert_int_equal(pmd_settings_parse(buf, 0, &s, &e), 0);
	assert_int_equal(s.present, 0);

	/* unknown type, repeated type, truncated group, too many values */
	check_bad_inputs(bad, ELEMENTSOF(bad), settings_parse);
	len = hex("05 01 00 00", buf, sizeof(buf));
	assert_int_equal(pmd_settings_parse(buf, len, &s, &e), -EBADMSG);

	for (size_t l = 0; l <= 64; l++)
		for (unsigned t = 0; t < 8; t++) {
			uint8_t *p = lead_value(t, 1, 1, l);

			(void)pmd_settings_parse(p, l, &s, NULL);
			free(p);
		}
}

static int cp_response_parse(const uint8_t *p, size_t len, struct proto_error *e)
{
	struct pmd_cp_response c;

	return pmd_cp_response_parse(p, len, &c, e);
}

/* BlePmdClientControlPointResponseTest.kt and notes/ble.md examples */
static void test_cp_response(void **state)
{
	struct pmd_cp_response c;
	struct proto_error e = {};
	uint8_t buf[64];
	size_t len;
	static const struct bad_input bad[] = { { "f0 01 02", 3 }, { "0f 01 02 00 00", 0 } };

	len = hex("f0 01 02 00 00 ff ff ff", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &c, &e), 0);
	assert_false(c.stopped_by_device);
	assert_int_equal(c.op_code, PMD_OP_GET_SETTINGS);
	assert_int_equal(c.measurement_type, PMD_MEASUREMENT_ACC);
	assert_int_equal(c.status, PMD_STATUS_SUCCESS);
	assert_false(c.more);
	assert_int_equal(c.n_params, 3);
	assert_int_equal(c.params[2], 0xff);

	/* polar-ble-sdk #331/#443: start ACC response */
	len = hex("f0 02 02 00 00", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &c, &e), 0);
	assert_int_equal(c.op_code, PMD_OP_START);
	assert_int_equal(c.n_params, 0);

	/* an error status without the "more" byte */
	len = hex("f0 02 02 06", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &c, &e), 0);
	assert_int_equal(c.status, PMD_STATUS_ALREADY_IN_STATE);
	assert_string_equal(pmd_status_to_string(c.status), "already-in-state");
	/* ... and with a non-zero byte there: still the whole answer */
	len = hex("f0 02 02 08 01", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &c, &e), 0);
	assert_int_equal(c.status, PMD_STATUS_INVALID_SAMPLE_RATE);
	assert_false(c.more);

	/* server-initiated: measurement stopped by the device */
	len = hex("01 02 05", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &c, &e), 0);
	assert_true(c.stopped_by_device);
	assert_int_equal(c.n_params, 2);

	check_bad_inputs(bad, ELEMENTSOF(bad), cp_response_parse);
	assert_int_equal(pmd_cp_response_parse(NULL, 0, &c, &e), -EBADMSG);

	for (size_t l = 0; l <= 64; l++) {
		uint8_t *p = lead_value(0, 0, 0xf0, l);

		(void)pmd_cp_response_parse(p, l, &c, NULL);
		free(p);
	}
}

static void test_cp_multipart(void **state)
{
	struct pmd_cp_assembler a;
	struct pmd_cp_response part, whole;
	struct pmd_settings s;
	uint8_t buf[64];
	size_t len;

	pmd_cp_assembler_init(&a);
	len = hex("f0 01 02 00 01 00 01 34 00", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &part, NULL), 0);
	assert_true(part.more);
	assert_int_equal(pmd_cp_assembler_add(&a, &part, &whole), 0);
	len = hex("f0 01 02 00 00 01 01 10 00", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &part, NULL), 0);
	assert_int_equal(pmd_cp_assembler_add(&a, &part, &whole), 1);
	assert_int_equal(whole.n_params, 8);
	assert_false(whole.more);
	assert_int_equal(pmd_settings_parse(whole.params, whole.n_params, &s, NULL), 0);
	assert_int_equal(s.sample_rate_hz.values[0], 52);
	assert_int_equal(s.resolution_bits.values[0], 16);

	/* a part of another op does not continue the pending response */
	len = hex("f0 01 02 00 01 00 01 34 00", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &part, NULL), 0);
	assert_int_equal(pmd_cp_assembler_add(&a, &part, &whole), 0);
	len = hex("f0 02 02 00 00", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &part, NULL), 0);
	assert_int_equal(pmd_cp_assembler_add(&a, &part, &whole), -EBADMSG);
	/* ...and the assembler is usable again */
	assert_int_equal(pmd_cp_assembler_add(&a, &part, &whole), 1);
	assert_int_equal(whole.op_code, PMD_OP_START);

	/* overflow of the merged parameters is refused */
	pmd_cp_assembler_init(&a);
	memset(&part, 0, sizeof(part));
	part.op_code = 1;
	part.more = true;
	part.n_params = 300;
	assert_int_equal(pmd_cp_assembler_add(&a, &part, &whole), 0);
	assert_int_equal(pmd_cp_assembler_add(&a, &part, &whole), -EBADMSG);
}

/* notes/ble.md 1.7 examples (polar-ble-sdk #331/#443, bleakheart) */
static void test_requests(void **state)
{
	uint8_t buf[PMD_REQUEST_MAX], want[32];
	size_t len, wlen;

	assert_int_equal(pmd_request_start(PMD_MEASUREMENT_ACC, &(struct pmd_start_params) {
		.sample_rate_hz = 52, .resolution_bits = 16, .range = 8, .channels = 3 },
		buf, sizeof(buf), &len), 0);
	wlen = hex("02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03", want, sizeof(want));
	assert_int_equal(len, wlen);
	assert_memory_equal(buf, want, len);

	assert_int_equal(pmd_request_start(PMD_MEASUREMENT_ACC, &(struct pmd_start_params) {
		.sample_rate_hz = 200, .resolution_bits = 16, .range = 2 },
		buf, sizeof(buf), &len), 0);
	wlen = hex("02 02 00 01 c8 00 01 01 10 00 02 01 02 00", want, sizeof(want));
	assert_int_equal(len, wlen);
	assert_memory_equal(buf, want, len);

	assert_int_equal(pmd_request_start(PMD_MEASUREMENT_ECG, &(struct pmd_start_params) {
		.sample_rate_hz = 130, .resolution_bits = 14 }, buf, sizeof(buf), &len), 0);
	wlen = hex("02 00 00 01 82 00 01 01 0e 00", want, sizeof(want));
	assert_int_equal(len, wlen);
	assert_memory_equal(buf, want, len);

	assert_int_equal(pmd_request_stop(PMD_MEASUREMENT_ACC, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(buf[0], 0x03);
	assert_int_equal(buf[1], 0x02);
	assert_int_equal(pmd_request_get_settings(PMD_MEASUREMENT_ACC, buf, sizeof(buf), &len), 0);
	assert_int_equal(buf[0], 0x01);
	assert_int_equal(buf[1], 0x02);

	/* recording bit, bad arguments, short buffer (nothing written) */
	assert_int_equal(pmd_request_start(PMD_MEASUREMENT_ACC, &(struct pmd_start_params) {
		.recording = true }, buf, sizeof(buf), &len), 0);
	assert_int_equal(buf[1], 0x82);
	assert_int_equal(pmd_request_stop(64, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(pmd_request_start(PMD_MEASUREMENT_ACC, &(struct pmd_start_params) {
		.sample_rate_hz = 70000 }, buf, sizeof(buf), &len), -EINVAL);
	assert_int_equal(pmd_request_start(PMD_MEASUREMENT_ACC, &(struct pmd_start_params) {
		.channels = 256 }, buf, sizeof(buf), &len), -EINVAL);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(pmd_request_start(PMD_MEASUREMENT_ACC, &(struct pmd_start_params) {
		.sample_rate_hz = 52, .resolution_bits = 16 }, buf, 5, &len), -ENOBUFS);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(pmd_request_stop(PMD_MEASUREMENT_ACC, buf, 1, &len), -ENOBUFS);
}

static void test_names(void **state)
{
	assert_string_equal(pmd_measurement_type_to_string(PMD_MEASUREMENT_ACC), "acc");
	assert_string_equal(pmd_measurement_type_to_string(PMD_MEASUREMENT_GYRO), "gyro");
	assert_null(pmd_measurement_type_to_string(4));
	assert_null(pmd_measurement_type_to_string(200));
	assert_string_equal(pmd_op_to_string(PMD_OP_START), "start");
	assert_null(pmd_op_to_string(0));
	assert_null(pmd_status_to_string(15));
	assert_string_equal(pmd_setting_type_to_string(PMD_SETTING_FACTOR), "factor");
	assert_null(pmd_setting_type_to_string(_PMD_SETTING_MAX));
}

static void test_json(void **state)
{
	struct pmd_data_frame *f = frame_new();
	struct pmd_cp_response c;
	struct json_object *o, *v, *s0;
	uint8_t buf[32];
	size_t len;

	assert_int_equal(frame(acc_delta0_57, &(struct pmd_frame_format) { .factor = 2.44e-4f },
			       f, NULL), 0);
	assert_int_equal(pmd_data_frame_to_json(f, PROTO_JSON_RAW, &o), 0);
	assert_true(json_object_object_get_ex(o, "samples", &v));
	assert_int_equal(json_object_array_length(v), 57);
	s0 = json_object_array_get_idx(v, 0);
	assert_true(json_object_object_get_ex(s0, "x", &v));
	assert_near(json_object_get_double(v), 1905 * 2.44e-4 * 1000, 0.01);
	assert_true(json_object_object_get_ex(s0, "raw", &v));
	assert_int_equal(json_object_get_int(json_object_array_get_idx(v, 2)), -29282);
	json_object_put(o);

	/* a NaN factor in a start response is written as null, not NaN */
	len = hex("f0 02 02 00 00 05 01 00 00 c0 7f", buf, sizeof(buf));
	assert_int_equal(pmd_cp_response_parse(buf, len, &c, NULL), 0);
	assert_int_equal(pmd_cp_response_to_json(&c, 0, &o), 0);
	assert_true(json_object_object_get_ex(o, "settings", &v));
	assert_true(json_object_object_get_ex(v, "factor", &v));
	assert_null(v);
	assert_non_null(strstr(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
				  "\"factor\":null"));
	json_object_put(o);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/proto/pmd/acc-raw1-36-samples", test_acc_raw1, NULL, NULL, NULL },
		{ "/proto/pmd/acc-delta0-57-samples", test_acc_delta0, NULL, NULL, NULL },
		{ "/proto/pmd/acc-delta1-verity-factor", test_acc_delta1, NULL, NULL, NULL },
		{ "/proto/pmd/acc-raw0-raw2-sign", test_acc_raw0_raw2, NULL, NULL, NULL },
		{ "/proto/pmd/ecg-raw0", test_ecg, NULL, NULL, NULL },
		{ "/proto/pmd/gyro-delta0-factor", test_gyro, NULL, NULL, NULL },
		{ "/proto/pmd/unsupported-malformed", test_unsupported_and_malformed, NULL, NULL, NULL },
		{ "/proto/pmd/delta-spec-example", test_delta_spec_example, NULL, NULL, NULL },
		{ "/proto/pmd/delta-widths-1-32-multiblock", test_delta_roundtrip, NULL, NULL, NULL },
		{ "/proto/pmd/delta-reference-12-bit", test_delta_ref_resolution, NULL, NULL, NULL },
		{ "/proto/pmd/delta-invalid", test_delta_invalid, NULL, NULL, NULL },
		{ "/proto/pmd/frame-all-lengths", test_frame_all_lengths, NULL, NULL, NULL },
		{ "/proto/pmd/timestamps", test_timestamps, NULL, NULL, NULL },
		{ "/proto/pmd/frames-missed", test_frames_missed, NULL, NULL, NULL },
		{ "/proto/pmd/settings", test_settings, NULL, NULL, NULL },
		{ "/proto/pmd/cp-response", test_cp_response, NULL, NULL, NULL },
		{ "/proto/pmd/cp-multipart", test_cp_multipart, NULL, NULL, NULL },
		{ "/proto/pmd/requests", test_requests, NULL, NULL, NULL },
		{ "/proto/pmd/names", test_names, NULL, NULL, NULL },
		{ "/proto/pmd/json", test_json, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
