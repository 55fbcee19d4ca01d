// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fault injection for tests/it-daemon-clock-step.sh, loaded with LD_PRELOAD:
 * the wall clock (CLOCK_REALTIME) steps by the seconds written to the file
 * $GK_CLOCK_STEP_FILE once that file appears, as NTP steps the clock of a
 * Raspberry Pi without a real-time clock. The monotonic clock is untouched.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

typedef int clock_gettime_fn(clockid_t, struct timespec *);

static long step_s(void)
{
	static long step;
	static int seen;
	const char *path = getenv("GK_CLOCK_STEP_FILE");
	FILE *f;

	if (seen || !path || access(path, R_OK) < 0)
		return step;
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%ld", &step) == 1)
			seen = 1;
		else
			step = 0;
		fclose(f);
	}
	return step;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	clock_gettime_fn *real = (clock_gettime_fn *)dlsym(RTLD_NEXT, "clock_gettime");
	int r = real ? real(id, ts) : -1;

	if (r == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += step_s();
	return r;
}
