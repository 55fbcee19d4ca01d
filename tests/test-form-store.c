// SPDX-License-Identifier: GPL-2.0-or-later
/* Form storage (baseline, digest) and the history analysis over digests. */
#include <json.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "form/form.h"

static const struct form_baseline sample_baseline = {
	.mount = FORM_MOUNT_CHEST, .steps = 540, .speed_mps = 3.1, .cadence_spm = 168.5,
	.gct_ms = 244, .gct_balance_pct = NAN, .vertical_oscillation_mm = 88,
	.trunk_lean_deg = 1.5, .pelvic_drop_deg = NAN, .lateral_sway_pct = 18.5,
	.braking_mps = 0.31,
	.impact_g = 3.2, .heart_rate_bpm = 151, .incline_pct = 1.5,
};

/*
 * sample_baseline as version 1 wrote it (before incline_pct), bytes taken
 * from form_baseline_save() at commit 5d16974: what a daemon updated from
 * that version finds in its state directory.
 */
static const uint8_t baseline_v1[] = {
	0x47, 0x4b, 0x42, 0x4c, 0x01, 0x02, 0x00, 0x00, 0x6c, 0x00, 0x00, 0x00,
	0x1c, 0x02, 0x00, 0x00, 0xcd, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0x08, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x65, 0x40, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x80, 0x6e, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x56, 0x40, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xf8, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x32, 0x40, 0xd7, 0xa3, 0x70, 0x3d,
	0x0a, 0xd7, 0xd3, 0x3f, 0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0x09, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x62, 0x40, 0xdd, 0xb2, 0xfa, 0xed,
};

static void test_baseline_roundtrip(void **state)
{
	uint8_t buf[FORM_BASELINE_SIZE];
	struct form_baseline b;
	size_t len;

	assert_int_equal(form_baseline_save(&sample_baseline, buf, sizeof(buf), &len), 0);
	/* 12 header + 4 steps + 12 doubles + 4 CRC */
	assert_int_equal(len, 116);
	assert_memory_equal(buf, "GKBL", 4);
	assert_int_equal(buf[4], 2);
	assert_int_equal(form_baseline_load(buf, len, &b), 0);
	assert_int_equal(b.mount, FORM_MOUNT_CHEST);
	assert_int_equal(b.steps, 540);
	assert_true(b.cadence_spm == 168.5 && b.heart_rate_bpm == 151);
	assert_true(b.incline_pct == 1.5);
	assert_true(isnan(b.pelvic_drop_deg) && isnan(b.gct_balance_pct));
	assert_int_equal(form_baseline_save(&sample_baseline, buf, 64, &len), -ENOBUFS);
}

static void test_baseline_bad(void **state)
{
	uint8_t buf[FORM_BASELINE_SIZE], bad[FORM_BASELINE_SIZE];
	struct form_baseline b = { .steps = 7 }, out = b;
	size_t len;

	assert_int_equal(form_baseline_save(&sample_baseline, buf, sizeof(buf), &len), 0);
	/* empty, truncated, one byte more */
	assert_int_equal(form_baseline_load(buf, 0, &out), -EBADMSG);
	assert_int_equal(form_baseline_load(buf, len - 1, &out), -EBADMSG);
	assert_int_equal(form_baseline_load(buf, len + 1, &out), -EBADMSG);
	/* any flipped bit fails the CRC */
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, buf, len);
		bad[i] ^= 0x10;
		assert_true(form_baseline_load(bad, len, &out) < 0);
	}
	assert_int_equal(out.steps, 7);		/* untouched on failure */

	/* a valid envelope around bad values: out-of-range cadence */
	b = sample_baseline;
	b.cadence_spm = 900;
	assert_int_equal(form_baseline_save(&b, buf, sizeof(buf), &len), 0);
	assert_int_equal(form_baseline_load(buf, len, &out), -EBADMSG);
	b = sample_baseline;
	b.gct_ms = INFINITY;
	assert_int_equal(form_baseline_save(&b, buf, sizeof(buf), &len), 0);
	assert_int_equal(form_baseline_load(buf, len, &out), -EBADMSG);
	b = sample_baseline;
	b.steps = 0;
	assert_int_equal(form_baseline_save(&b, buf, sizeof(buf), &len), 0);
	assert_int_equal(form_baseline_load(buf, len, &out), -EBADMSG);
}

/* A correct CRC-32 over a stored blob changed on purpose. */
static void reseal(uint8_t *buf, size_t len)
{
	uint32_t crc = 0xffffffffu;

	for (size_t i = 0; i < len - 4; i++) {
		crc ^= buf[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	crc = ~crc;
	for (int k = 0; k < 4; k++)
		buf[len - 4 + k] = (uint8_t)(crc >> (8 * k));
}

static void test_baseline_version(void **state)
{
	uint8_t buf[FORM_BASELINE_SIZE];
	size_t len;
	struct form_baseline out;
	struct form_baseline b = sample_baseline, v1;

	/* version 1 still loads, every value as it was, the incline unknown */
	assert_int_equal(form_baseline_load(baseline_v1, sizeof(baseline_v1), &v1), 0);
	b.incline_pct = NAN;
	assert_int_equal(v1.mount, b.mount);
	assert_int_equal(v1.steps, b.steps);
	assert_true(v1.speed_mps == b.speed_mps && v1.cadence_spm == b.cadence_spm &&
		    v1.gct_ms == b.gct_ms && v1.vertical_oscillation_mm == b.vertical_oscillation_mm &&
		    v1.trunk_lean_deg == b.trunk_lean_deg && v1.lateral_sway_pct == b.lateral_sway_pct &&
		    v1.braking_mps == b.braking_mps && v1.impact_g == b.impact_g &&
		    v1.heart_rate_bpm == b.heart_rate_bpm);
	assert_true(isnan(v1.gct_balance_pct) && isnan(v1.pelvic_drop_deg) &&
		    isnan(v1.incline_pct));

	assert_int_equal(form_baseline_save(&sample_baseline, buf, sizeof(buf), &len), 0);
	buf[4] = 3;		/* a future version with a correct CRC */
	reseal(buf, len);
	assert_int_equal(form_baseline_load(buf, len, &out), -EPROTONOSUPPORT);
}

static void digest_fill(struct form_digest *d, uint64_t start, double cadence, double braking,
			uint8_t pain)
{
	memset(d, 0, sizeof(*d));
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		d->median[m] = NAN;
	d->start_epoch_s = start;
	d->duration_s = 2400;
	d->running_s = 1800;
	d->steps = 5000;
	d->distance_m = NAN;
	d->impact_load = 5000 * 3.1;
	d->median[FORM_METRIC_CADENCE] = cadence;
	d->median[FORM_METRIC_BRAKING] = braking;
	d->median[FORM_METRIC_GCT] = 250;
	d->band_s[FORM_METRIC_GCT][1] = 1700;
	d->alert_count[FORM_ALERT_OVERSTRIDING] = 1;
	d->alert_s[FORM_ALERT_OVERSTRIDING] = 95;
	if (pain)
		assert_int_equal(form_digest_add_pain(d, 3600, pain, FORM_PAIN_SITE_LOWER_BACK,
						      true), 0);
}

static void test_digest_roundtrip(void **state)
{
	uint8_t buf[FORM_DIGEST_SIZE];
	struct form_digest d, out;
	size_t len;

	digest_fill(&d, 1700000000, 162, 0.35, 6);
	assert_int_equal(form_digest_add_pain(&d, 100, 2, FORM_PAIN_SITE_KNEE, false), 0);
	assert_int_equal(form_digest_serialize(&d, buf, sizeof(buf), &len), 0);
	assert_true(len <= FORM_DIGEST_SIZE);
	assert_int_equal(form_digest_parse(buf, len, &out), 0);
	assert_true(out.start_epoch_s == 1700000000 && out.running_s == 1800);
	assert_int_equal(out.n_pain, 2);
	assert_int_equal(out.pain[0].level, 6);
	assert_true(out.pain[0].after);
	assert_int_equal(out.pain[1].site, FORM_PAIN_SITE_KNEE);
	assert_true(out.median[FORM_METRIC_CADENCE] == 162 && isnan(out.median[FORM_METRIC_SPEED]));
	assert_true(out.median[FORM_METRIC_PAIN] == 6);
	assert_int_equal(out.alert_count[FORM_ALERT_OVERSTRIDING], 1);

	/* corrupted, truncated, or internally inconsistent blobs */
	buf[20] ^= 1;
	assert_int_equal(form_digest_parse(buf, len, &out), -EBADMSG);
	buf[20] ^= 1;
	assert_int_equal(form_digest_parse(buf, len - 3, &out), -EBADMSG);
	d.running_s = d.duration_s + 1;
	assert_int_equal(form_digest_serialize(&d, buf, sizeof(buf), &len), 0);
	assert_int_equal(form_digest_parse(buf, len, &out), -EBADMSG);
	assert_int_equal(form_digest_serialize(&d, buf, 100, &len), -ENOBUFS);

	/* full pain list: no room for one no worse; a worse one replaces the mildest */
	digest_fill(&d, 0, 160, 0.3, 0);
	for (unsigned i = 0; i < FORM_DIGEST_MAX_PAIN; i++)
		assert_int_equal(form_digest_add_pain(&d, i, i == 3 ? 2 : 3,
						      FORM_PAIN_SITE_HIP, false), 0);
	assert_int_equal(form_digest_add_pain(&d, 9, 2, FORM_PAIN_SITE_HIP, false), -ENOSPC);
	assert_int_equal(form_digest_add_pain(&d, 9, 11, FORM_PAIN_SITE_HIP, false), -ERANGE);
	assert_int_equal(form_digest_add_pain(&d, 10, 7, FORM_PAIN_SITE_LOWER_BACK, true), 0);
	assert_int_equal(d.n_pain, FORM_DIGEST_MAX_PAIN);
	assert_int_equal(d.pain[3].t_s, 4);	/* the level 2 at 3 s is gone */
	assert_int_equal(d.pain[FORM_DIGEST_MAX_PAIN - 1].t_s, 10);
	assert_int_equal(d.pain[FORM_DIGEST_MAX_PAIN - 1].level, 7);
	assert_int_equal(d.pain[FORM_DIGEST_MAX_PAIN - 1].site, FORM_PAIN_SITE_LOWER_BACK);
	assert_true(d.pain[FORM_DIGEST_MAX_PAIN - 1].after);
	assert_int_equal(d.median[FORM_METRIC_PAIN], 7);
}

/*
 * digest_fill(1700000000, 162, 0.35, 6) as version 1 wrote it (before the
 * mount), bytes from form_digest_serialize() at commit feec513: what a
 * daemon updated from that version finds in its state directory.
 */
static const uint8_t digest_v1[] = {
	0x47, 0x4b, 0x44, 0x47, 0x01, 0x0f, 0x07, 0x01, 0x46, 0x02, 0x00, 0x00,
	0x00, 0xf1, 0x53, 0x65, 0x00, 0x00, 0x00, 0x00, 0x60, 0x09, 0x00, 0x00,
	0x08, 0x07, 0x00, 0x00, 0x88, 0x13, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xf8, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46, 0xce, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x64, 0x40, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x40, 0x6f, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xf8, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xf8, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f, 0x66, 0x66, 0x66, 0x66,
	0x66, 0x66, 0xd6, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x7f, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0xf8, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x40,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x90, 0x9a, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x5f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0x00, 0x06, 0x01,
	0x01, 0x00, 0x64, 0xc8, 0x68, 0x88,
};

/*
 * A file of framed digests (form_digests_parse()): all three read back; with
 * a bit flipped in the first length, or in the second record's bytes, the
 * other two are still found; a file of junk gives none and no crash.
 */
static void test_digests_file(void **state)
{
	uint8_t file[3 * (FORM_DIGEST_SIZE + 4)], junk[600];
	struct form_digest d, out[4];
	size_t pos = 0, len, damaged, at[3];

	for (unsigned i = 0; i < 3; i++) {
		digest_fill(&d, 1700000000 + i * 86400, 160 + i, 0.3, 0);
		assert_int_equal(form_digest_serialize(&d, file + pos + 4, FORM_DIGEST_SIZE, &len),
				 0);
		file[pos] = len & 0xff;
		file[pos + 1] = (len >> 8) & 0xff;
		file[pos + 2] = file[pos + 3] = 0;
		at[i] = pos;
		pos += 4 + len;
	}
	assert_int_equal(form_digests_parse(file, pos, out, 4, &damaged), 3);
	assert_int_equal(damaged, 0);
	assert_int_equal(form_digests_parse(file, pos, out, 2, NULL), 2);

	file[at[0] + 2] ^= 1;		/* the first length: 65 KiB too long */
	assert_int_equal(form_digests_parse(file, pos, out, 4, &damaged), 2);
	assert_true(damaged >= 1);
	assert_true(out[0].start_epoch_s == 1700086400 && out[1].start_epoch_s == 1700172800);
	file[at[0] + 2] ^= 1;
	file[at[1] + 30] ^= 1;		/* the second record's bytes: its CRC fails */
	assert_int_equal(form_digests_parse(file, pos, out, 4, &damaged), 2);
	assert_true(out[0].start_epoch_s == 1700000000 && out[1].start_epoch_s == 1700172800);

	for (unsigned i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	assert_int_equal(form_digests_parse(junk, sizeof(junk), out, 4, &damaged), 0);
	assert_int_equal(form_digests_parse(junk, 3, out, 4, &damaged), 0);
}

static void test_digest_version(void **state)
{
	uint8_t buf[FORM_DIGEST_SIZE];
	struct form_digest d, out;
	size_t len;

	/* version 1 still loads, every value as it was, the mount unknown */
	assert_int_equal(form_digest_parse(digest_v1, sizeof(digest_v1), &out), 0);
	assert_int_equal(out.mount, FORM_DIGEST_MOUNT_UNKNOWN);
	assert_true(out.start_epoch_s == 1700000000 && out.duration_s == 2400 &&
		    out.running_s == 1800 && out.steps == 5000);
	assert_true(out.median[FORM_METRIC_CADENCE] == 162 &&
		    out.median[FORM_METRIC_BRAKING] == 0.35 && out.median[FORM_METRIC_GCT] == 250);
	assert_true(out.band_s[FORM_METRIC_GCT][1] == 1700 && out.impact_load == 5000 * 3.1);
	assert_true(out.alert_count[FORM_ALERT_OVERSTRIDING] == 1 &&
		    out.alert_s[FORM_ALERT_OVERSTRIDING] == 95);
	assert_true(out.n_pain == 1 && out.pain[0].level == 6 && out.pain[0].after &&
		    out.pain[0].site == FORM_PAIN_SITE_LOWER_BACK);

	/* version 2 keeps the mount, "mixed" and "unknown" too */
	digest_fill(&d, 1700000000, 162, 0.35, 6);
	assert_int_equal(d.mount, FORM_MOUNT_SACRUM);
	for (unsigned m = 0; m < _FORM_MOUNT_MAX + 2; m++) {
		d.mount = m < _FORM_MOUNT_MAX ? m :
			m == _FORM_MOUNT_MAX ? FORM_DIGEST_MOUNT_MIXED : FORM_DIGEST_MOUNT_UNKNOWN;
		assert_int_equal(form_digest_serialize(&d, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, sizeof(digest_v1) + 4);
		assert_int_equal(form_digest_parse(buf, len, &out), 0);
		assert_int_equal(out.mount, d.mount);
	}

	/* no other mount byte, no padding, however well sealed */
	d.mount = _FORM_MOUNT_MAX;
	assert_int_equal(form_digest_serialize(&d, buf, sizeof(buf), &len), -EINVAL);
	d.mount = FORM_MOUNT_CHEST;
	assert_int_equal(form_digest_serialize(&d, buf, sizeof(buf), &len), 0);
	buf[32] = _FORM_MOUNT_MAX;	/* after the header, start, duration, running, steps */
	reseal(buf, len);
	assert_int_equal(form_digest_parse(buf, len, &out), -EBADMSG);
	buf[32] = FORM_MOUNT_CHEST;
	buf[34] = 1;
	reseal(buf, len);
	assert_int_equal(form_digest_parse(buf, len, &out), -EBADMSG);
	buf[34] = 0;
	reseal(buf, len);
	assert_int_equal(form_digest_parse(buf, len, &out), 0);
	buf[4] = 3;		/* a future version */
	reseal(buf, len);
	assert_int_equal(form_digest_parse(buf, len, &out), -EPROTONOSUPPORT);
}

#define DAY 86400u

static void test_history(void **state)
{
	struct form_digest d[12];
	struct form_history_report h;
	uint64_t now = 1800000000;
	struct json_object *o = NULL;

	/*
	 * 12 sessions, one every 3 days back from now, 30 min running each.
	 * Painful ones (back pain 5) had cadence 158 and braking 0.42; the
	 * others 168 and 0.30. The last five: pain in 3.
	 */
	for (unsigned i = 0; i < 12; i++) {
		bool painful = i % 3 == 0 || i >= 9;

		digest_fill(&d[i], now - (11 - i) * 3 * DAY, painful ? 158 : 168,
			    painful ? 0.42 : 0.30, painful ? 5 : 0);
	}
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.sessions, 12);
	/* within 7 days: sessions at 0, 3, 6 days ago = 3 x 30 min */
	assert_true(fabs(h.load_7d_min - 90) < 1e-9);
	/* within 28 days: 0..27 days ago = 10 sessions = 300 min, 75 per week */
	assert_true(fabs(h.load_28d_weekly_min - 75) < 1e-9);
	assert_true(fabs(h.acute_chronic_ratio - 1.2) < 1e-9);
	assert_false(h.advice[FORM_ADVICE_CROSS_TRAINING]);
	/* last five: i = 7..11, painful: 9, 10, 11 */
	assert_int_equal(h.pain_sessions_last5, 3);
	assert_int_equal(h.max_pain_last5, 5);
	assert_true(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	assert_int_equal(h.main_pain_site, FORM_PAIN_SITE_LOWER_BACK);
	assert_true(h.n_pointers >= 2);
	assert_int_equal(h.pointers[0].metric, FORM_METRIC_CADENCE);
	assert_int_equal(h.pointers[0].direction, -1);
	assert_int_equal(h.pointers[1].metric, FORM_METRIC_BRAKING);
	assert_int_equal(h.pointers[1].direction, 1);
	assert_non_null(strstr(h.pointer_text,
			       "your back pain followed runs with lower cadence and more braking"));
	assert_true(h.advice[FORM_ADVICE_SHORTER_STEPS]);
	assert_true(h.advice[FORM_ADVICE_STRETCH_LOWER_BACK]);
	assert_int_equal(form_history_report_to_json(&h, &o), 0);
	assert_non_null(json_object_object_get(o, "pointer_text"));
	json_object_put(o);

	/* a load spike: 5 long sessions this week after a quiet month */
	for (unsigned i = 0; i < 12; i++) {
		digest_fill(&d[i], now - (11 - i) * 3 * DAY, 168, 0.3, 0);
		d[i].running_s = i >= 10 ? 3600 : 600;
	}
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	/* 7 d: i = 9 (10 min), 10, 11 (60 min each) = 130; 28 d: 7 x 10 + 120 = 190 / 4 */
	assert_true(fabs(h.load_7d_min - 130) < 1e-9);
	assert_true(h.acute_chronic_ratio > 1.3);
	assert_true(h.advice[FORM_ADVICE_CROSS_TRAINING]);
	assert_false(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	assert_int_equal(h.n_pointers, 0);
	assert_string_equal(h.pointer_text, "");
	/* no pain reported: no main site (null), not "other" */
	assert_int_equal(h.main_pain_site, _FORM_PAIN_SITE_INVALID);
	assert_int_equal(form_history_report_to_json(&h, &o), 0);
	{
		struct json_object *v = o;

		assert_true(json_object_object_get_ex(o, "main_pain_site", &v));
		assert_null(v);
	}
	json_object_put(o);
	o = NULL;

	/*
	 * A new user: five hour-long runs in the 6 days since the first one.
	 * Over 4 weeks that would be a 4x spike; the history covers 6 days:
	 * the weekly mean is over one week, there is no ratio yet, and so no
	 * cross-training for it.
	 */
	for (unsigned i = 0; i < 5; i++) {
		digest_fill(&d[i], now - (4 - i) * 3 * DAY / 2, 168, 0.3, 0);
		d[i].running_s = 3600;
	}
	assert_int_equal(form_history_analyze(d, 5, now, NULL, &h), 0);
	assert_true(fabs(h.history_days - 6) < 1e-9);
	assert_true(fabs(h.load_7d_min - 300) < 1e-9);
	assert_true(fabs(h.load_28d_weekly_min - 300) < 1e-9);
	assert_true(isnan(h.acute_chronic_ratio));
	assert_false(h.advice[FORM_ADVICE_CROSS_TRAINING]);
	assert_int_equal(form_history_report_to_json(&h, &o), 0);
	{
		struct json_object *v = o;

		assert_true(json_object_object_get_ex(o, "acute_chronic_ratio", &v));
		assert_null(v);
	}
	json_object_put(o);
	o = NULL;
	/* one session, today: the week is the history */
	assert_int_equal(form_history_analyze(&d[4], 1, now, NULL, &h), 0);
	assert_true(fabs(h.history_days) < 1e-9);
	assert_true(fabs(h.load_28d_weekly_min - 60) < 1e-9);
	assert_true(isnan(h.acute_chronic_ratio));
	/*
	 * Three weeks of the same 30 min a day (20 days back to today): steady,
	 * ratio 210 / (630 / (20 / 7)) = 0.95. Over 4 weeks it read 1.33, a
	 * spike, and cross-training.
	 */
	{
		struct form_digest daily[21];

		for (unsigned i = 0; i < 21; i++)
			digest_fill(&daily[i], now - (20 - i) * DAY, 168, 0.3, 0);
		assert_int_equal(form_history_analyze(daily, 21, now, NULL, &h), 0);
		assert_true(fabs(h.history_days - 20) < 1e-9);
		assert_true(fabs(h.load_7d_min - 210) < 1e-9);
		assert_true(fabs(h.acute_chronic_ratio - 210 / (630 / (20 / 7.0))) < 1e-9);
		assert_false(h.advice[FORM_ADVICE_CROSS_TRAINING]);
		/*
		 * A session with no wall clock (start 0) is in no time window:
		 * counted as 1970 it stretched the history to 28 days, and the
		 * ratio to 2.3, cross-training.
		 */
		daily[0].start_epoch_s = 0;
		assert_int_equal(form_history_analyze(daily, 21, now, NULL, &h), 0);
		assert_true(fabs(h.history_days - 19) < 1e-9);
		assert_true(fabs(h.load_7d_min - 210) < 1e-9);
		assert_true(fabs(h.acute_chronic_ratio - 210 / (600 / (19 / 7.0))) < 1e-9);
		assert_false(h.advice[FORM_ADVICE_CROSS_TRAINING]);
	}

	/* one severe report is enough */
	assert_int_equal(form_digest_add_pain(&d[11], 0, 8, FORM_PAIN_SITE_KNEE, true), 0);
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.pain_sessions_last5, 1);
	assert_true(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);

	/*
	 * The edges of "repeatedly or severe": painful sessions (a report of
	 * 3 or more) 2 of the last 5, with 3 more before them, and at most 6:
	 * not yet. Mild reports (2) in the other three do not make them
	 * painful. A third painful one among the last five, or one 7, does.
	 */
	for (unsigned i = 0; i < 12; i++) {
		bool painful = i == 2 || i == 4 || i == 6 || i == 8 || i == 10;

		digest_fill(&d[i], now - (11 - i) * 3 * DAY, 168, 0.3, painful ? 6 : 2);
	}
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.pain_sessions_last5, 2);
	assert_int_equal(h.max_pain_last5, 6);
	assert_false(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	assert_true(h.advice[FORM_ADVICE_LISTEN_TO_BODY]);
	digest_fill(&d[11], now, 168, 0.3, 3);
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.pain_sessions_last5, 3);
	assert_true(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	digest_fill(&d[11], now, 168, 0.3, 7);
	digest_fill(&d[10], now - 3 * DAY, 168, 0.3, 2);
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.pain_sessions_last5, 2);
	assert_int_equal(h.max_pain_last5, 7);
	assert_true(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	/* "severe" is the engine's pain_severe_level, as in the session's advice */
	{
		struct form_params p;

		form_params_default(&p);
		p.pain_severe_level = 8;
		assert_int_equal(form_history_analyze(d, 12, now, &p, &h), 0);
		assert_false(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
		p.pain_severe_level = 7;
		assert_int_equal(form_history_analyze(d, 12, now, &p, &h), 0);
		assert_true(h.advice[FORM_ADVICE_SEE_PROFESSIONAL]);
	}

	/*
	 * Two sensors: a chest strap on the painful days, a waist clip on the
	 * others. The straps' lean and impact differ (the chest's 6 deg and
	 * 2.2 g, the waist's 2 deg and 3.4 g) and so does the cadence (158
	 * against 168). Cadence is one quantity on any mount: a pointer. Lean
	 * and impact are compared only within a mount, where they do not
	 * differ: none, nor from the sessions whose mounts mixed.
	 */
	for (unsigned i = 0; i < 12; i++) {
		bool painful = i % 2 == 0;

		digest_fill(&d[i], now - (11 - i) * 3 * DAY, painful ? 158 : 168, 0.3,
			    painful ? 5 : 0);
		d[i].mount = painful ? FORM_MOUNT_CHEST : FORM_MOUNT_WAIST;
		d[i].median[FORM_METRIC_TRUNK_LEAN] = painful ? 6 : 2;
		d[i].median[FORM_METRIC_IMPACT] = painful ? 2.2 : 3.4;
	}
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.n_pointers, 1);
	assert_int_equal(h.pointers[0].metric, FORM_METRIC_CADENCE);
	assert_string_equal(h.pointer_text, "your back pain followed runs with lower cadence "
			    "(a pattern to look at, not a diagnosis)");
	/* within one mount the same lean difference is a pointer */
	for (unsigned i = 0; i < 12; i++)
		d[i].mount = i < 8 ? FORM_MOUNT_CHEST : FORM_DIGEST_MOUNT_MIXED;
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.n_pointers, 3);
	assert_int_equal(h.pointers[1].metric, FORM_METRIC_TRUNK_LEAN);
	assert_int_equal(h.pointers[1].direction, 1);
	assert_true(h.pointers[1].painful_median == 6 && h.pointers[1].painfree_median == 2);
	assert_int_equal(h.pointers[2].metric, FORM_METRIC_IMPACT);
	/* ... but not when only the mixed sessions hold a painful/pain-free pair */
	for (unsigned i = 0; i < 12; i++)
		d[i].mount = i < 8 ? FORM_DIGEST_MOUNT_MIXED : (i % 2 ? FORM_MOUNT_WAIST :
								  FORM_MOUNT_CHEST);
	assert_int_equal(form_history_analyze(d, 12, now, NULL, &h), 0);
	assert_int_equal(h.n_pointers, 1);

	assert_int_equal(form_history_analyze(NULL, 0, now, NULL, &h), 0);
	assert_int_equal(form_history_analyze(NULL, 3, now, NULL, &h), -EINVAL);
	assert_int_equal(form_history_analyze(d, FORM_HISTORY_MAX + 1, now, NULL, &h), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/form/store/baseline-roundtrip", test_baseline_roundtrip, NULL, NULL, NULL },
		{ "/form/store/baseline-bad", test_baseline_bad, NULL, NULL, NULL },
		{ "/form/store/baseline-version", test_baseline_version, NULL, NULL, NULL },
		{ "/form/store/digest-roundtrip", test_digest_roundtrip, NULL, NULL, NULL },
		{ "/form/store/digests-file", test_digests_file, NULL, NULL, NULL },
		{ "/form/store/digest-version", test_digest_version, NULL, NULL, NULL },
		{ "/form/history/load-pain-pointers", test_history, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
