// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim's run model: the cadence a looped trace gives its RSC, CPS and HR sensors. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/macro.h"
#include "tools/bluez-sim/sim.h"

/*
 * A looped run never stops: right after each join (before the pass's second
 * step) the steps of the pass before still count. Without the loop the run
 * ends with the trace. The synthetic trace runs 60 s at 150 + 6 x speed spm.
 */
static void test_cadence_across_the_loop(void **state)
{
	struct trace *t = NULL;
	double d, spm = 150 + 6 * 3.2, ts;

	assert_int_equal(trace_synthetic(3.2, &t), 0);
	d = trace_duration(t);
	for (double sim_s = 1; sim_s < 3 * d; sim_s += 0.01) {
		double c;

		assert_true(trace_time(t, sim_s, true, &ts));
		c = trace_cadence_spm(t, ts, true);
		if (fabs(c - spm) > 0.02 * spm)
			fail_msg("looped: %.1f spm at %.2f s of the trace (%.2f s), want %.1f", c,
				 ts, sim_s, spm);
	}
	/* Not looped: the same trace time at the start has no steps before it. */
	assert_true(trace_cadence_spm(t, 0.05, false) == 0);
	assert_false(trace_time(t, d + 2, false, &ts));
	assert_true(trace_cadence_spm(t, ts + 2, false) == 0);
	trace_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/sim/trace/cadence-across-the-loop", test_cadence_across_the_loop, NULL, NULL,
		  NULL },
	};

	return _cmocka_run_group_tests("sim-trace", tests, ELEMENTSOF(tests), NULL, NULL);
}
