#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gaitctl analyze end to end on the shipped recordings: JSON lines, exit codes, errors.
source tests/lib/env.sh
B=${GK_BUILD:-build}
T=$gk_tmp

json_ok() {	# every line is a JSON object with an "event"
	python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    assert isinstance(o, dict) and "event" in o, line
' "$1"
}

"$B/gaitctl" analyze --mount sacrum --speed-mps 3.33 data/sacral-treadmill/trial_04.csv \
	> "$T/t4.jsonl"
gk_check "analyze 5 s sacral trial exits 0" test $? -eq 0
gk_check "all lines are JSON objects" json_ok "$T/t4.jsonl"
n=$(grep -c '"event":"contact"' "$T/t4.jsonl")
gk_check "5 s trial: 14-17 contacts (got $n)" test "$n" -ge 14 -a "$n" -le 17
gk_check "first contact after the first steps, times from the first sample" \
	grep -q '^{"event":"contact","ic_s":0\.[0-9]*,"to_s":0\.[0-9]*,"side":"unknown"' "$T/t4.jsonl"
gk_check "metrics lines carry cadence" grep -q '"event":"metrics".*"cadence_spm":19[0-9]\.' \
	"$T/t4.jsonl"
gk_check "summary is the last line" sh -c "tail -1 '$T/t4.jsonl' | grep -q '^{\"event\":\"summary\"'"
gk_check "speed gives step length" grep -q '"step_length_m":1\.0[0-9]*,' "$T/t4.jsonl"

# scored against the force plate with the shared scorer's rules, if present
if [ -x ../shared/tools/score-contacts ] || [ -f ../shared/tools/score-contacts ]; then
	line=$(python3 ../shared/tools/score-contacts data/sacral-treadmill/contacts.csv \
		"$T/t4.jsonl" --trial 4 | tail -1)
	gk_check "trial 4 scored: $line" sh -c "echo '$line' | grep -q 'F1=1.000'"
fi

"$B/gaitctl" analyze --mount waist data/demo/hip-run-5min30.csv > "$T/hip.jsonl"
gk_check "outdoor demo exits 0" test $? -eq 0
gk_check "demo: running detected" grep -q '"event":"activity".*"activity":"running"' "$T/hip.jsonl"
gk_check "demo: the stop at 4:55 is seen" \
	grep -q '"event":"activity","t_s":[23][0-9][0-9]\.[0-9]*,"from":"running"' "$T/hip.jsonl"
gk_check "demo: summary with advice" grep -q '"event":"summary".*"advice":\[{"id":' "$T/hip.jsonl"
gk_check "missing values are null" grep -q '"pelvic_drop_deg":null' "$T/hip.jsonl"

# bad input: exit 65 and the line number
printf 't_s,ax_g,az_g\n0,1,2\n0.01,1,x\n' > "$T/bad.csv"
"$B/gaitctl" analyze "$T/bad.csv" > /dev/null 2> "$T/err"
gk_check "bad number: exit 65" test $? -eq 65
gk_check "bad number: message names line 3" grep -q "bad.csv:3: field 3" "$T/err"
printf 't_s,az_g\n' > "$T/bad2.csv"
"$B/gaitctl" analyze "$T/bad2.csv" > /dev/null 2> "$T/err"
gk_check "one axis: exit 65" test $? -eq 65
gk_check "one axis: header message" grep -q "bad2.csv:1: need at least two" "$T/err"
"$B/gaitctl" analyze "$T/missing.csv" > /dev/null 2>&1
gk_check "missing file: exit 66" test $? -eq 66
"$B/gaitctl" analyze --mount knee data/sacral-treadmill/trial_04.csv > /dev/null 2>&1
gk_check "unknown mount: exit 64" test $? -eq 64
"$B/gaitctl" analyze --speed-mps fast data/sacral-treadmill/trial_04.csv > /dev/null 2>&1
gk_check "bad speed: exit 64" test $? -eq 64
"$B/gaitctl" analyze --incline-pct 50 data/sacral-treadmill/trial_04.csv > /dev/null 2> "$T/err"
gk_check "bad incline: exit 64" test $? -eq 64
gk_check "bad incline: message" grep -q "bad incline '50'" "$T/err"

# a belt at 8 %: the demo run's learned baseline keeps it
"$B/gaitctl" analyze --mount waist --speed-mps 3.0 --incline-pct 8 data/demo/hip-run-5min30.csv \
	> "$T/hill.jsonl"
gk_check "incline: exits 0" test $? -eq 0
gk_check "incline: baseline learned at 8 %" \
	sh -c "tail -1 '$T/hill.jsonl' | grep -q '\"baseline\":{.*\"incline_pct\":8\.0'"
gk_check "no incline: baseline incline null" \
	sh -c "tail -1 '$T/hip.jsonl' | grep -q '\"baseline\":{.*\"incline_pct\":null'"

# the same run as a text report: gaitctl report reads analyze's JSON lines
"$B/gaitctl" report "$T/hill.jsonl" > "$T/hill.txt" 2>&1
gk_check "report on analyze output: exits 0" test $? -eq 0
gk_check "report on analyze output: cadence row with its band shares" \
	grep -Eq '^  cadence +spm +1[4-7][0-9]\.[0-9] +[0-9.]+ - [0-9.]+ +[0-9]+% / +[0-9]+% / +[0-9]+%$' "$T/hill.txt"
gk_check "report on analyze output: waist mount, so pelvic tilt" \
	grep -Eq '^  pelvic tilt +deg ' "$T/hill.txt"
gk_check "report on analyze output: steps as in the summary line" \
	grep -q "^  .*$(tail -1 "$T/hill.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["steps"])') steps" "$T/hill.txt"
head -c 300 data/sacral-treadmill/trial_04.csv | "$B/gaitctl" report > /dev/null 2> "$T/err"
rc=$?
gk_check "report on a CSV: exit 65 ($rc), says where the JSON breaks" \
	bash -c "[ $rc -eq 65 ] && grep -q 'not valid JSON at byte [0-9]' '$T/err'"
gk_done
