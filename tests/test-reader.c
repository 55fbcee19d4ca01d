// SPDX-License-Identifier: GPL-2.0-or-later
/* Unit tests for proto/reader.h: widths, sign extension, no advance on failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/reader.h"

static const uint8_t bytes[] = { 0x01, 0x80, 0xff, 0x7f, 0x00, 0x80, 0x12, 0x34, 0x56 };

static void test_widths(void **state)
{
	struct reader r;
	uint8_t u8;
	uint16_t u16;
	int16_t s16;
	uint32_t u32;
	int32_t s32;
	uint64_t u64;

	reader_init(&r, bytes, sizeof(bytes));
	assert_int_equal(reader_u8(&r, &u8), 0);
	assert_int_equal(u8, 0x01);
	assert_int_equal(reader_le16(&r, &u16), 0);
	assert_int_equal(u16, 0xff80);
	r.pos = 1;
	assert_int_equal(reader_sle16(&r, &s16), 0);
	assert_int_equal(s16, -128);		/* 0xff80 */
	r.pos = 2;
	assert_int_equal(reader_sle16(&r, &s16), 0);
	assert_int_equal(s16, 0x7fff);
	r.pos = 3;
	assert_int_equal(reader_le24(&r, &u32), 0);
	assert_int_equal(u32, 0x80007f);
	r.pos = 3;
	assert_int_equal(reader_sle24(&r, &s32), 0);
	assert_int_equal(s32, 0x80007f - 0x1000000);	/* bit 23 set: negative */
	r.pos = 1;
	assert_int_equal(reader_le32(&r, &u32), 0);
	assert_int_equal(u32, 0x007fff80);
	r.pos = 0;
	assert_int_equal(reader_le64(&r, &u64), 0);
	assert_true(u64 == UINT64_C(0x341280007fff8001));
	assert_int_equal(r.pos, 8);
	assert_int_equal(reader_remaining(&r), 1);
}

static void test_sle24_edges(void **state)
{
	static const struct {
		uint8_t b[3];
		int32_t v;
	} cases[] = {
		{ { 0x00, 0x00, 0x00 }, 0 },
		{ { 0xff, 0xff, 0x7f }, 8388607 },
		{ { 0x00, 0x00, 0x80 }, -8388608 },
		{ { 0xff, 0xff, 0xff }, -1 },
		{ { 0xfe, 0xff, 0xff }, -2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reader r;
		int32_t v;

		reader_init(&r, cases[i].b, 3);
		assert_int_equal(reader_sle24(&r, &v), 0);
		assert_int_equal(v, cases[i].v);
	}
}

static void test_no_advance(void **state)
{
	struct reader r;
	uint64_t u64;
	uint32_t u32 = 0xdeadbeef;
	uint16_t u16;
	float f;

	reader_init(&r, bytes, 3);
	r.pos = 2;
	assert_int_equal(reader_le16(&r, &u16), -EBADMSG);
	assert_int_equal(r.pos, 2);
	assert_int_equal(reader_le24(&r, &u32), -EBADMSG);
	assert_int_equal(u32, 0xdeadbeef);	/* output untouched */
	assert_int_equal(reader_le64(&r, &u64), -EBADMSG);
	assert_int_equal(reader_float32(&r, &f), -EBADMSG);
	assert_int_equal(reader_skip(&r, SIZE_MAX), -EBADMSG);	/* no wrap */
	assert_int_equal(r.pos, 2);
	assert_int_equal(reader_skip(&r, 1), 0);
	assert_int_equal(reader_skip(&r, 1), -EBADMSG);
	assert_int_equal(reader_skip(&r, 0), 0);
	assert_int_equal(r.pos, 3);
}

static void test_null_buffer(void **state)
{
	struct reader r;
	uint8_t u8;

	reader_init(&r, NULL, 10);	/* no buffer: nothing to read */
	assert_int_equal(reader_remaining(&r), 0);
	assert_int_equal(reader_u8(&r, &u8), -EBADMSG);
}

static void test_float32(void **state)
{
	/* 2.44140625e-4 = 2^-12 = 0x39800000 */
	static const uint8_t f[] = { 0x00, 0x00, 0x80, 0x39 };
	struct reader r;
	float v;

	reader_init(&r, f, sizeof(f));
	assert_int_equal(reader_float32(&r, &v), 0);
	assert_true(v == 0x1p-12f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/proto/reader/widths", test_widths, NULL, NULL, NULL },
		{ "/proto/reader/sle24-edges", test_sle24_edges, NULL, NULL, NULL },
		{ "/proto/reader/no-advance-on-failure", test_no_advance, NULL, NULL, NULL },
		{ "/proto/reader/null-buffer", test_null_buffer, NULL, NULL, NULL },
		{ "/proto/reader/float32", test_float32, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
