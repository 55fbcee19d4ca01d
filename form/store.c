// SPDX-License-Identifier: GPL-2.0-or-later
/* form storage: versioned, checksummed byte forms of the baseline and the digest. */
#include <math.h>
#include <string.h>

#include "common/crc32.h"
#include "common/macro.h"
#include "form/form.h"

/*
 * Layout (all little-endian, doubles as IEEE-754 bit patterns):
 *   magic[4] version u8 x u8 y u8 reserved u8 length u32 | body | crc32 u32
 * length is the total byte count; the CRC-32 (IEEE 802.3) covers all bytes
 * before it. Loaders validate the blob whole once, then read the body.
 */
#define BASELINE_MAGIC "GKBL"
#define DIGEST_MAGIC "GKDG"
#define HEADER_SIZE 12u

/* ---- writer --------------------------------------------------------- */

struct writer {
	uint8_t *buf;
	size_t cap;
	size_t pos;			/* invariant: pos <= cap */
	bool overflow;
};

static void put_bytes(struct writer *w, const void *p, size_t n)
{
	if (n > w->cap - w->pos) {
		w->overflow = true;
		return;
	}
	memcpy(w->buf + w->pos, p, n);
	w->pos += n;
}

static void put_le(struct writer *w, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	put_bytes(w, b, n);
}

static void put_f64(struct writer *w, double x)
{
	uint64_t u;

	memcpy(&u, &x, sizeof(u));
	put_le(w, u, 8);
}

/* ---- reader --------------------------------------------------------- */

struct cursor {
	const uint8_t *buf;
	size_t len;
	size_t pos;			/* invariant: pos <= len */
};

static int take_le(struct cursor *c, unsigned n, uint64_t *ret)
{
	uint64_t v = 0;

	if (n > c->len - c->pos)	/* not pos + n > len: that can wrap */
		return -EBADMSG;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)c->buf[c->pos + i] << (8 * i);
	c->pos += n;
	*ret = v;
	return 0;
}

static int take_f64(struct cursor *c, double *ret)
{
	uint64_t u;
	int r = take_le(c, 8, &u);

	if (r < 0)
		return r;
	memcpy(ret, &u, sizeof(*ret));
	return 0;
}

/* NAN (unknown) or finite within [lo, hi]. */
static bool value_ok(double x, double lo, double hi)
{
	return isnan(x) || (isfinite(x) && x >= lo && x <= hi);
}

/* Returns the version (min_version..max_version) or a negative errno. */
static int check_envelope(const uint8_t *buf, size_t len, const char *magic,
			  uint8_t min_version, uint8_t max_version, size_t max)
{
	uint32_t total, crc;

	if (!buf || len < HEADER_SIZE + 4 || len > max)
		return -EBADMSG;
	if (memcmp(buf, magic, 4) != 0)
		return -EBADMSG;
	total = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 |
		(uint32_t)buf[11] << 24;
	if (total != len)
		return -EBADMSG;
	crc = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 |
		(uint32_t)buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24;
	if (crc != gk_crc32(0, buf, len - 4))
		return -EBADMSG;
	if (buf[4] < min_version || buf[4] > max_version)
		return -EPROTONOSUPPORT;
	return buf[4];
}

static int finish(struct writer *w, size_t *ret_len)
{
	uint32_t total;

	if (w->overflow)
		return -ENOBUFS;
	total = (uint32_t)(w->pos + 4);
	w->buf[8] = (uint8_t)total;
	w->buf[9] = (uint8_t)(total >> 8);
	w->buf[10] = (uint8_t)(total >> 16);
	w->buf[11] = (uint8_t)(total >> 24);
	put_le(w, gk_crc32(0, w->buf, w->pos), 4);
	if (w->overflow)
		return -ENOBUFS;
	*ret_len = w->pos;
	return 0;
}

/* ---- baseline ------------------------------------------------------- */

/* The baseline's doubles in storage order, with their accepted range. */
#define BASELINE_FIELDS(X)                                              \
	X(speed_mps, 0, 15)                                             \
	X(cadence_spm, 30, 300)                                         \
	X(gct_ms, 0, 1000)                                              \
	X(gct_balance_pct, 0, 100)                                      \
	X(vertical_oscillation_mm, 0, 500)                              \
	X(trunk_lean_deg, -90, 90)                                      \
	X(pelvic_drop_deg, 0, 90)                                       \
	X(lateral_sway_pct, 0, 100)                                     \
	X(braking_mps, 0, 10)                                           \
	X(impact_g, 0, 64)                                              \
	X(heart_rate_bpm, 20, 260)
/* ... and the ones version 2 added */
#define BASELINE_FIELDS_V2(X)                                           \
	X(incline_pct, -45, 45)

int form_baseline_check(const struct form_baseline *b)
{
	if (!b || b->steps == 0 || (unsigned)b->mount >= _FORM_MOUNT_MAX)
		return -EINVAL;
#define X(f, lo, hi)                                                    \
	if (!value_ok(b->f, lo, hi))                                    \
		return -ERANGE;
	BASELINE_FIELDS(X)
	BASELINE_FIELDS_V2(X)
#undef X
	return 0;
}

int form_baseline_save(const struct form_baseline *b, uint8_t *buf, size_t cap,
		       size_t *ret_len)
{
	struct writer w = { .buf = buf, .cap = cap };

	if (!b || !buf || !ret_len)
		return -EINVAL;
	if (b->mount < 0 || b->mount >= _FORM_MOUNT_MAX)
		return -EINVAL;
	if (cap < FORM_BASELINE_SIZE)
		return -ENOBUFS;

	put_bytes(&w, BASELINE_MAGIC, 4);
	put_le(&w, FORM_BASELINE_VERSION, 1);
	put_le(&w, (uint64_t)b->mount, 1);
	put_le(&w, 0, 2);
	put_le(&w, 0, 4);		/* length, filled in by finish() */
	put_le(&w, b->steps, 4);
#define X(f, lo, hi) put_f64(&w, b->f);
	BASELINE_FIELDS(X)
	BASELINE_FIELDS_V2(X)
#undef X
	return finish(&w, ret_len);
}

int form_baseline_load(const uint8_t *buf, size_t len, struct form_baseline *ret)
{
	struct cursor c = { .buf = buf, .len = len - 4, .pos = HEADER_SIZE };
	struct form_baseline b = { .incline_pct = NAN };
	uint64_t u;
	int r, version;

	if (!ret)
		return -EINVAL;
	version = check_envelope(buf, len, BASELINE_MAGIC, 1, FORM_BASELINE_VERSION,
				 FORM_BASELINE_SIZE);
	if (version < 0)
		return version;
	if (buf[5] >= _FORM_MOUNT_MAX || buf[6] || buf[7])
		return -EBADMSG;
	b.mount = buf[5];

	r = take_le(&c, 4, &u);
	if (r < 0)
		return r;
	b.steps = (uint32_t)u;
#define X(f, lo, hi)                                                    \
	r = take_f64(&c, &b.f);                                         \
	if (r < 0)                                                      \
		return r;
	BASELINE_FIELDS(X)
	if (version >= 2) {
		BASELINE_FIELDS_V2(X)
	}
#undef X
	if (c.pos != c.len)
		return -EBADMSG;	/* trailing bytes */
	if (form_baseline_check(&b) < 0)
		return -EBADMSG;	/* no steps, or a value out of range */
	*ret = b;
	return 0;
}

/* ---- digest --------------------------------------------------------- */

#define DIGEST_MAX_DURATION_S FORM_DIGEST_MAX_S

bool form_digest_mount_ok(uint8_t mount)
{
	return mount < _FORM_MOUNT_MAX || mount == FORM_DIGEST_MOUNT_MIXED ||
		mount == FORM_DIGEST_MOUNT_UNKNOWN;
}

int form_digest_serialize(const struct form_digest *d, uint8_t *buf, size_t cap,
			  size_t *ret_len)
{
	struct writer w = { .buf = buf, .cap = cap };

	if (!d || !buf || !ret_len || d->n_pain > FORM_DIGEST_MAX_PAIN ||
	    !form_digest_mount_ok(d->mount))
		return -EINVAL;

	put_bytes(&w, DIGEST_MAGIC, 4);
	put_le(&w, FORM_DIGEST_VERSION, 1);
	put_le(&w, _FORM_METRIC_MAX, 1);
	put_le(&w, _FORM_ALERT_KIND_MAX, 1);
	put_le(&w, d->n_pain, 1);
	put_le(&w, 0, 4);
	put_le(&w, d->start_epoch_s, 8);
	put_le(&w, d->duration_s, 4);
	put_le(&w, d->running_s, 4);
	put_le(&w, d->steps, 4);
	put_le(&w, d->mount, 1);	/* version 2 */
	put_le(&w, 0, 3);
	put_f64(&w, d->distance_m);
	put_f64(&w, d->impact_load);
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		put_f64(&w, d->median[m]);
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		for (unsigned b = 0; b < 3; b++)
			put_f64(&w, d->band_s[m][b]);
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++)
		put_le(&w, d->alert_count[k], 2);
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++)
		put_le(&w, d->alert_s[k], 4);
	for (unsigned i = 0; i < d->n_pain; i++) {
		put_le(&w, d->pain[i].t_s, 4);
		put_le(&w, d->pain[i].level, 1);
		put_le(&w, d->pain[i].site, 1);
		put_le(&w, d->pain[i].after, 1);
		put_le(&w, 0, 1);
	}
	return finish(&w, ret_len);
}

int form_digest_parse(const uint8_t *buf, size_t len, struct form_digest *ret)
{
	struct cursor c = { .buf = buf, .len = len - 4, .pos = HEADER_SIZE };
	struct form_digest d = { .mount = FORM_DIGEST_MOUNT_UNKNOWN };
	uint64_t u;
	int r, version;

	if (!ret)
		return -EINVAL;
	version = check_envelope(buf, len, DIGEST_MAGIC, 1, FORM_DIGEST_VERSION,
				 FORM_DIGEST_SIZE);
	if (version < 0)
		return version;
	/* versions 1 and 2 carry exactly our metric and alert-kind counts */
	if (buf[5] != _FORM_METRIC_MAX || buf[6] != _FORM_ALERT_KIND_MAX ||
	    buf[7] > FORM_DIGEST_MAX_PAIN)
		return -EBADMSG;
	d.n_pain = buf[7];

#define TAKE(n, dst)                                                    \
	do {                                                            \
		r = take_le(&c, n, &u);                                 \
		if (r < 0)                                              \
			return r;                                       \
		dst = u;                                                \
	} while (0)
#define TAKE_F(dst, lo, hi)                                             \
	do {                                                            \
		r = take_f64(&c, &(dst));                               \
		if (r < 0)                                              \
			return r;                                       \
		if (!value_ok(dst, lo, hi))                             \
			return -EBADMSG;                                \
	} while (0)

	TAKE(8, d.start_epoch_s);
	TAKE(4, d.duration_s);
	TAKE(4, d.running_s);
	TAKE(4, d.steps);
	if (d.duration_s > DIGEST_MAX_DURATION_S || d.running_s > d.duration_s)
		return -EBADMSG;
	if (version >= 2) {
		uint32_t pad;

		TAKE(1, d.mount);
		TAKE(3, pad);
		if (!form_digest_mount_ok(d.mount) || pad)
			return -EBADMSG;
	}
	TAKE_F(d.distance_m, 0, 1e7);
	TAKE_F(d.impact_load, 0, 1e9);
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		TAKE_F(d.median[m], -1e6, 1e6);
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++)
		for (unsigned b = 0; b < 3; b++) {
			TAKE_F(d.band_s[m][b], 0, DIGEST_MAX_DURATION_S);
			if (isnan(d.band_s[m][b]))
				return -EBADMSG;
		}
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++)
		TAKE(2, d.alert_count[k]);
	for (unsigned k = 0; k < _FORM_ALERT_KIND_MAX; k++) {
		TAKE(4, d.alert_s[k]);
		if (d.alert_s[k] > DIGEST_MAX_DURATION_S)
			return -EBADMSG;
	}
	for (unsigned i = 0; i < d.n_pain; i++) {
		uint8_t level, site, after, pad;

		TAKE(4, d.pain[i].t_s);
		TAKE(1, level);
		TAKE(1, site);
		TAKE(1, after);
		TAKE(1, pad);
		if (level > 10 || site >= _FORM_PAIN_SITE_MAX || after > 1 || pad)
			return -EBADMSG;
		d.pain[i].level = level;
		d.pain[i].site = site;
		d.pain[i].after = after;
	}
#undef TAKE
#undef TAKE_F
	if (c.pos != c.len)
		return -EBADMSG;
	*ret = d;
	return 0;
}

size_t form_digests_parse(const uint8_t *buf, size_t len, struct form_digest *out, size_t cap,
			  size_t *ret_damaged)
{
	size_t pos = 0, n = 0, damaged = 0;

	while (len - pos >= 4 && n < cap) {
		uint32_t l = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16 |
			     (uint32_t)buf[pos + 3] << 24;

		if (l <= len - pos - 4 && form_digest_parse(buf + pos + 4, l, &out[n]) >= 0) {
			n++;
			pos += 4 + l;
			continue;
		}
		damaged++;
		for (pos++; len - pos >= 8 && memcmp(buf + pos + 4, DIGEST_MAGIC, 4) != 0; pos++)
			;
		if (len - pos < 8)
			pos = len;
	}
	if (ret_damaged)
		*ret_damaged = damaged;
	return n;
}

int form_pain_list_add(struct form_pain_report *list, uint8_t *n,
		       const struct form_pain_report *r)
{
	unsigned k = 0;

	if (*n < FORM_DIGEST_MAX_PAIN) {
		list[(*n)++] = *r;
		return 0;
	}
	for (unsigned i = 1; i < FORM_DIGEST_MAX_PAIN; i++)
		if (list[i].level < list[k].level)
			k = i;
	if (r->level <= list[k].level)
		return -ENOSPC;
	memmove(&list[k], &list[k + 1], sizeof(list[0]) * (FORM_DIGEST_MAX_PAIN - 1 - k));
	list[FORM_DIGEST_MAX_PAIN - 1] = *r;
	return 0;
}

int form_digest_add_pain(struct form_digest *d, uint32_t t_s, double level,
			 enum form_pain_site site, bool after)
{
	struct form_pain_report rep;
	int r;

	if (!d || isnan(level) || level < 0 || level > 10)
		return -ERANGE;
	if (site < 0 || site >= _FORM_PAIN_SITE_MAX)
		return -EINVAL;
	rep = (struct form_pain_report) {
		.t_s = t_s,
		.level = (uint8_t)lround(level),
		.site = (uint8_t)site,
		.after = after,
	};
	r = form_pain_list_add(d->pain, &d->n_pain, &rep);
	if (r < 0)
		return r;
	if (isnan(d->median[FORM_METRIC_PAIN]) || d->median[FORM_METRIC_PAIN] < lround(level))
		d->median[FORM_METRIC_PAIN] = (double)lround(level);
	return 0;
}
