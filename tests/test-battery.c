// SPDX-License-Identifier: GPL-2.0-or-later
/* Table tests for the Battery Level 0x2A19 decoder. */
#include "proto/battery.h"
#include "tests/lib/proto-test.h"

static void test_battery_levels(void **state)
{
	/* BAS v1.0: uint8 percent, 0..100; 101..255 reserved */
	for (unsigned v = 0; v < 256; v++) {
		uint8_t b = (uint8_t)v;
		struct battery_level l = { .battery_level_pct = 999 };
		struct proto_error e = {};
		int r = battery_level_parse(&b, 1, &l, &e);

		if (v <= 100) {
			assert_int_equal(r, 0);
			assert_int_equal(l.battery_level_pct, v);
			assert_int_equal(l.trailing, 0);
		} else {
			assert_int_equal(r, -EBADMSG);
			assert_int_equal(e.offset, 0);
			assert_int_equal(l.battery_level_pct, 999);
		}
	}
}

static void test_battery_lengths(void **state)
{
	for (size_t len = 0; len <= 64; len++) {
		uint8_t *p = lead_value(0, 0, 42, len);
		struct battery_level l;
		int r;

		r = battery_level_parse(p, len, &l, NULL);
		free(p);
		assert_int_equal(r, len ? 0 : -EBADMSG);
		if (len)
			assert_int_equal(l.trailing, len - 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/proto/battery/every-value", test_battery_levels, NULL, NULL, NULL },
		{ "/proto/battery/every-length", test_battery_lengths, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
