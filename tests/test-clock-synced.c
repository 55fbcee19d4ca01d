// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * gateway/state's clock_synced. adjtimex() is this file's own (it takes the
 * place of libc's in this binary): the kernel's answers, and the EPERM of
 * the shipped unit's system-call filter, which before read as "synchronised".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

#include "daemon/context.h"

static int fake_r, fake_status;

int adjtimex(struct timex *tx)
{
	if (fake_r < 0) {
		errno = EPERM;
		return -1;
	}
	tx->status = fake_status;
	return fake_r;
}

static void test_clock_synced(void **state)
{
	char flag[] = "/tmp/gk-clock-flag.XXXXXX";
	int fd = mkstemp(flag);

	assert_true(fd >= 0);
	close(fd);

	fake_r = TIME_OK;
	fake_status = 0;
	assert_int_equal(clock_synced_flag(flag), 1);
	fake_status = STA_UNSYNC;
	assert_int_equal(clock_synced_flag(flag), 0);
	fake_r = TIME_ERROR;
	fake_status = 0;
	assert_int_equal(clock_synced_flag(flag), 0);

	/* refused (seccomp): timesyncd's flag says yes; without it, unknown */
	fake_r = -1;
	assert_int_equal(clock_synced_flag(flag), 1);
	unlink(flag);
	assert_int_equal(clock_synced_flag(flag), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/daemon/clock-synced", test_clock_synced, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("daemon/clock", tests, NULL, NULL);
}
