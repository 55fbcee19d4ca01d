/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bounds-checked little-endian cursor over untrusted wire bytes. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Every decoder of outside bytes reads through this cursor. Invariant:
 * pos <= len. A read that does not fit returns -EBADMSG and leaves pos
 * where it was, so pos is then the byte offset of the failing field.
 */
struct reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;			/* invariant: pos <= len */
};

static inline void reader_init(struct reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = buf ? len : 0;
	r->pos = 0;
}

static inline size_t reader_remaining(const struct reader *r)
{
	return r->len - r->pos;
}

/* Borrow the next n bytes; *ret points into the caller's buffer. */
static inline int reader_take(struct reader *r, size_t n, const uint8_t **ret)
{
	if (n > r->len - r->pos)	/* not pos + n > len: that can wrap */
		return -EBADMSG;	/* pos stays put */

	*ret = r->buf + r->pos;
	r->pos += n;
	return 0;
}

static inline int reader_skip(struct reader *r, size_t n)
{
	const uint8_t *p;

	return reader_take(r, n, &p);
}

static inline int reader_u8(struct reader *r, uint8_t *ret)
{
	const uint8_t *p;

	if (reader_take(r, 1, &p) < 0)
		return -EBADMSG;

	*ret = p[0];
	return 0;
}

static inline int reader_s8(struct reader *r, int8_t *ret)
{
	const uint8_t *p;

	if (reader_take(r, 1, &p) < 0)
		return -EBADMSG;

	*ret = (int8_t)p[0];
	return 0;
}

static inline int reader_le16(struct reader *r, uint16_t *ret)
{
	const uint8_t *p;

	if (reader_take(r, 2, &p) < 0)
		return -EBADMSG;

	*ret = (uint16_t)(p[0] | (unsigned)p[1] << 8);
	return 0;
}

static inline int reader_sle16(struct reader *r, int16_t *ret)
{
	uint16_t v;

	if (reader_le16(r, &v) < 0)
		return -EBADMSG;

	*ret = (int16_t)v;		/* two's complement, gnu17 defines it */
	return 0;
}

static inline int reader_le24(struct reader *r, uint32_t *ret)
{
	const uint8_t *p;

	if (reader_take(r, 3, &p) < 0)
		return -EBADMSG;

	*ret = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
	return 0;
}

static inline int reader_sle24(struct reader *r, int32_t *ret)
{
	uint32_t v;

	if (reader_le24(r, &v) < 0)
		return -EBADMSG;

	/* Sign-extend bit 23 without shifting into the sign bit. */
	*ret = (int32_t)(v ^ 0x800000u) - 0x800000;
	return 0;
}

static inline int reader_le32(struct reader *r, uint32_t *ret)
{
	const uint8_t *p;

	if (reader_take(r, 4, &p) < 0)
		return -EBADMSG;

	*ret = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
	return 0;
}

static inline int reader_sle32(struct reader *r, int32_t *ret)
{
	uint32_t v;

	if (reader_le32(r, &v) < 0)
		return -EBADMSG;

	*ret = (int32_t)v;
	return 0;
}

static inline int reader_le64(struct reader *r, uint64_t *ret)
{
	const uint8_t *p;
	uint64_t v = 0;

	if (reader_take(r, 8, &p) < 0)
		return -EBADMSG;

	for (unsigned i = 8; i > 0; i--)
		v = v << 8 | p[i - 1];
	*ret = v;
	return 0;
}

/* IEEE 754 binary32, little-endian (PMD conversion factor). */
static inline int reader_float32(struct reader *r, float *ret)
{
	uint32_t v;
	float f;

	if (reader_le32(r, &v) < 0)
		return -EBADMSG;

	memcpy(&f, &v, sizeof(f));
	*ret = f;
	return 0;
}
