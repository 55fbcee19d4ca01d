#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs every test program given and prints one closing line
# "N passed, N failed" over all of them.
#  - cmocka binaries (build/tests/test-*): counts from their summary lines;
#  - fuzz replays (build/tests/replay-fuzz-*): run over tests/fuzz-corpus/<name>;
#  - integration scripts (tests/it-*.sh): TAP lines "ok ..." / "not ok ...";
#    "ok ... # SKIP" counts as a failure (a missing component is not a pass);
#    the plan line "1..N" must be there and match the number of results.
# A program that crashes or exits non-zero without reporting a failure adds
# one failure. Output of each program goes to $GK_BUILD/test-logs/.
set -u
build=${GK_BUILD:-build}
logs=$build/test-logs
mkdir -p "$logs"
export GK_BUILD=$build
total_pass=0
total_fail=0
failed_names=()

run_one() {
	local prog=$1 name log rc pass fail
	name=$(basename "$prog")
	log=$logs/$name.log
	case $name in
	replay-fuzz-*)
		local corpus=tests/fuzz-corpus/${name#replay-fuzz-}
		if [ ! -d "$corpus" ]; then
			echo "FAIL $name: no corpus $corpus"
			total_fail=$((total_fail + 1)); failed_names+=("$name"); return
		fi
		set -- "$prog" "$corpus" ;;
	test-*)
		set -- "$prog" ;;
	*)
		set -- bash "$prog" ;;
	esac
	if [ -n "${GK_VALGRIND:-}" ] && [ "$1" != bash ]; then
		set -- valgrind -q --leak-check=full --error-exitcode=99 \
			--suppressions=tests/valgrind.supp "$@"
	fi
	local start=$SECONDS
	timeout --kill-after=10 "${GK_TEST_TIMEOUT:-600}" "$@" > "$log" 2>&1
	rc=$?
	if grep -aqE '^(ok|not ok)( |$)' "$log"; then
		pass=$(grep -aE '^ok( |$)' "$log" | grep -avc '# SKIP')
		fail=$(grep -acE '^not ok( |$)|^ok .*# SKIP' "$log")
		# The plan line comes last (gk_done): without it, or with another
		# count, the script stopped early or printed stray results.
		local plan
		plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | tail -1)
		if [ "${plan:-x}" != "$((pass + fail))" ]; then
			echo "not ok - TAP plan '1..${plan:-?}' but $((pass + fail)) results" >> "$log"
			fail=$((fail + 1))
		fi
	else
		pass=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' "$log" | awk '{s+=$1} END {print s+0}')
		fail=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	fi
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1	# crashed, timed out or failed without saying so
	fi
	if [ "$rc" -eq 0 ] && [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
		fail=1	# ran nothing: that is not a pass
	fi
	total_pass=$((total_pass + pass))
	total_fail=$((total_fail + fail))
	if [ "$fail" -ne 0 ]; then
		failed_names+=("$name")
		echo "FAIL $name ($pass passed, $fail failed, exit $rc, $((SECONDS - start))s) - log: $log"
		grep -aE '^\[  FAILED  \] /|^not ok|^ok .*# SKIP|ERROR|error:' "$log" | head -20 | sed 's/^/    /'
		# In CI the log is gone with the machine: the programs' last words too.
		if [ -n "${CI:-}" ]; then
			sed -n '/^# ---- last /,$p' "$log" | head -250 | sed 's/^/    /'
		fi
	else
		echo "ok   $name ($pass passed, $((SECONDS - start))s)"
	fi
}

for t in "$@"; do
	run_one "$t"
done

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
