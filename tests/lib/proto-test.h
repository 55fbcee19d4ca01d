// SPDX-License-Identifier: GPL-2.0-or-later
/* Helpers shared by the proto decoder unit tests (cmocka): hex input, exact copies, tables. */
#pragma once

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/parse.h"

/* cmocka 1.1 has no assert_double_equal: print both values on failure. */
#define assert_near(a, b, eps)							\
	do {									\
		double _a = (a), _b = (b);					\
		if (!(fabs(_a - _b) <= (eps)))					\
			fail_msg("%s = %.17g, expected %.17g", #a, _a, _b);	\
	} while (0)

/* Exact-size heap copy: ASan and valgrind see any read past n. */
static inline uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

/* A flags bit and the bytes its field takes when the bit is set and when it is clear. */
struct flag_field {
	uint32_t flag;
	size_t set, clear;
};

/* Expected length of a value: fixed bytes plus each field's size for these flags. */
static inline size_t fields_len(size_t fixed, const struct flag_field *fields, size_t n,
				uint32_t flags)
{
	size_t len = fixed;

	for (size_t i = 0; i < n; i++)
		len += flags & fields[i].flag ? fields[i].set : fields[i].clear;
	return len;
}

/*
 * Exact-size heap copy of a len-byte value (len <= 64): fill bytes, the first
 * n_lead of them replaced by lead, little-endian (a flags field, an opcode).
 * free() it.
 */
static inline uint8_t *lead_value(uint32_t lead, size_t n_lead, uint8_t fill, size_t len)
{
	uint8_t buf[64];

	assert_true(len <= sizeof(buf) && n_lead <= sizeof(lead));
	memset(buf, fill, sizeof(buf));
	for (size_t i = 0; i < n_lead; i++)
		buf[i] = (uint8_t)(lead >> (8 * i));
	return dup_exact(buf, len);
}

/* Decode hex text into buf (cap bytes); the text must be valid. Returns the length. */
static inline size_t hex(const char *s, uint8_t *buf, size_t cap)
{
	size_t len;

	assert_int_equal(parse_hex(s, buf, cap, &len), 0);
	return len;
}

/* Exact-size heap copy of the bytes spelled by hex (at most cap bytes); free() it. */
static inline uint8_t *hex_dup_exact(const char *s, size_t cap, size_t *ret_len)
{
	uint8_t *buf = malloc(cap ? cap : 1), *p;

	assert_non_null(buf);
	*ret_len = hex(s, buf, cap);
	p = dup_exact(buf, *ret_len);
	free(buf);
	return p;
}

/*
 * Run a table of cases (each struct starts with its test name; the case is the
 * test's state) followed by extra tests, as one cmocka group.
 */
static inline int run_case_table(const char *group, const void *cases, size_t n_cases,
				 size_t case_size, CMUnitTestFunction test_case,
				 const struct CMUnitTest *extra, size_t n_extra)
{
	struct CMUnitTest *tests = calloc(n_cases + n_extra, sizeof(*tests));
	int r;

	if (!tests)
		return -1;
	for (size_t i = 0; i < n_cases; i++) {
		const void *c = (const char *)cases + i * case_size;

		tests[i] = (struct CMUnitTest) {
			*(const char *const *)c, test_case, NULL, NULL, (void *)c
		};
	}
	for (size_t i = 0; i < n_extra; i++)
		tests[n_cases + i] = extra[i];
	r = _cmocka_run_group_tests(group, tests, n_cases + n_extra, NULL, NULL);
	free(tests);
	return r;
}

/* cases: an array of structs whose first member is `const char *name`. */
#define RUN_CASE_TABLE(group, cases, test_case, extra)				\
	({									\
		_Static_assert(offsetof(__typeof__((cases)[0]), name) == 0,	\
			       "case name must come first");			\
		run_case_table(group, cases, sizeof(cases) / sizeof((cases)[0]),	\
			       sizeof((cases)[0]), test_case, extra,		\
			       sizeof(extra) / sizeof((extra)[0]));		\
	})
