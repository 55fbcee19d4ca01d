// SPDX-License-Identifier: GPL-2.0-or-later
/* Tests for common/utf8: what D-Bus accepts, and cutting and mending text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/utf8.h"

/* Unicode table 3-7's edges, and the noncharacters sd-bus refuses. */
static void test_char_len(void **state)
{
	assert_int_equal(gk_utf8_char_len("a"), 1);
	assert_int_equal(gk_utf8_char_len(""), 0);
	assert_int_equal(gk_utf8_char_len("\xc3\xa9"), 2);		/* é */
	assert_int_equal(gk_utf8_char_len("\xc0\xaf"), 0);		/* overlong '/' */
	assert_int_equal(gk_utf8_char_len("\xe0\x9f\xbf"), 0);		/* overlong */
	assert_int_equal(gk_utf8_char_len("\xed\xa0\x80"), 0);		/* surrogate */
	assert_int_equal(gk_utf8_char_len("\xe2\x82\xac"), 3);		/* € */
	assert_int_equal(gk_utf8_char_len("\xef\xbf\xbe"), 0);		/* U+FFFE */
	assert_int_equal(gk_utf8_char_len("\xef\xb7\x90"), 0);		/* U+FDD0 */
	assert_int_equal(gk_utf8_char_len("\xf0\x9f\x8f\x83"), 4);	/* runner */
	assert_int_equal(gk_utf8_char_len("\xf4\x90\x80\x80"), 0);	/* > U+10FFFF */
	assert_int_equal(gk_utf8_char_len("\xc3"), 0);			/* cut short */
	assert_int_equal(gk_utf8_char_len("\xe9t"), 0);			/* Latin-1 é */
}

static void test_dup(void **state)
{
	char *v = gk_utf8_dup_valid("ch\xe9st \xc3\xa9");
	char *e = gk_utf8_dup_escaped("ch\xe9st \xc3\xa9\xff");

	assert_string_equal(v, "ch\xef\xbf\xbdst \xc3\xa9");
	assert_string_equal(e, "ch\\xe9st \xc3\xa9\\xff");
	free(v);
	free(e);
}

/* A cut never ends inside a character; a stray byte counts as one. */
static void test_prefix(void **state)
{
	const char *s = "ab\xc3\xa9" "c";	/* a b é c: 5 bytes */

	assert_int_equal(gk_utf8_prefix(s, 0), 0);
	assert_int_equal(gk_utf8_prefix(s, 2), 2);
	assert_int_equal(gk_utf8_prefix(s, 3), 2);	/* not half an é */
	assert_int_equal(gk_utf8_prefix(s, 4), 4);
	assert_int_equal(gk_utf8_prefix(s, 99), 5);
	assert_int_equal(gk_utf8_prefix("a\xe9z", 2), 2);
	assert_int_equal(gk_utf8_prefix("\xf0\x9f\x8f\x83", 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/utf8/char-len", test_char_len, NULL, NULL, NULL },
		{ "/utf8/dup", test_dup, NULL, NULL, NULL },
		{ "/utf8/prefix", test_prefix, NULL, NULL, NULL },
	};

	return _cmocka_run_group_tests("utf8", tests, 3, NULL, NULL);
}
