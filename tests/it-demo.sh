#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make run` in its CI form (tools/demo/run-demo.sh --ci): the real recording
# through bluez-sim into gaitkeeperd, watched over D-Bus with gaitctl. Checks
# that live metrics, an alert and a session summary appear, and that nothing
# the demo started outlives it.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
for b in gaitkeeperd gaitctl bluez-sim; do
	if [ ! -x "$GK_BUILD/$b" ]; then
		gk_skip "demo binaries" "$GK_BUILD/$b not built"
		gk_done
		exit 1
	fi
done

out=$gk_tmp/demo.out
# Every process the demo starts inherits this marker; afterwards no process
# on the machine may still carry it (other users' demos don't).
mark="GK_DEMO_MARK=$gk_tmp"
env "$mark" DEMO_SECONDS=${DEMO_SECONDS:-35} DEMO_PAIN_AT=15 GK_BUILD=$GK_BUILD \
	timeout 150 tools/demo/run-demo.sh --ci --no-build > "$out" 2> "$gk_tmp/demo.err"
rc=$?
gk_check "run-demo.sh --ci exits 0 (got $rc)" test "$rc" -eq 0
[ "$rc" -eq 0 ] || sed 's/^/# /' "$gk_tmp/demo.err" | tail -20

python3 - "$out" > "$gk_tmp/facts" <<'PY'
import json, sys
live, cadence, alerts, summary = 0, [], [], None
lines = open(sys.argv[1]).read().splitlines()
for i, line in enumerate(lines):
    if line == "summary:" and i + 1 < len(lines):
        summary = json.loads(lines[i + 1])
        break
    if not line.startswith("{"):
        continue
    ev = json.loads(line)
    if ev.get("event") == "live":
        live += 1
        c = ev["metrics"].get("cadence_spm")
        if c is not None and ev["quality"].get("cadence_spm") == "good":
            cadence.append(c)
    elif ev.get("event") == "alert_raised":
        alerts.append(ev["kind"])
print("live", live)
print("cadence_good", len(cadence))
print("cadence_median", sorted(cadence)[len(cadence) // 2] if cadence else 0)
print("alerts", len(alerts), ",".join(alerts))
print("summary", 1 if isinstance(summary, dict) else 0)
print("summary_steps", (summary or {}).get("steps") or 0)
print("summary_alerts", (summary or {}).get("alerts_total") or 0)
PY
sed 's/^/# /' "$gk_tmp/facts"
fact() { awk -v k="$1" '$1 == k { print $2 }' "$gk_tmp/facts"; }
gk_check "live metrics at about 1 Hz ($(fact live) frames)" test "$(fact live)" -ge 20
gk_check "cadence from the recording with good quality ($(fact cadence_good) frames)" \
	test "$(fact cadence_good)" -ge 10
# The recording runs at 155-161 steps/min (data/demo/README.md).
gk_check "median cadence in 145-170 spm ($(fact cadence_median))" \
	python3 -c "import sys; sys.exit(not 145 <= float(sys.argv[1]) <= 170)" "$(fact cadence_median)"
gk_check "at least one alert raised ($(awk '$1 == "alerts" { print $3 }' "$gk_tmp/facts"))" \
	test "$(fact alerts)" -ge 1
gk_check "session summary printed" test "$(fact summary)" = 1
gk_check "summary counts steps ($(fact summary_steps))" test "$(fact summary_steps)" -ge 50
gk_check "summary counts the alerts ($(fact summary_alerts))" test "$(fact summary_alerts)" -ge 1
# The same document as text (what `make run` shows at the end): gaitctl report.
awk 'p { print; exit } $0 == "summary:" { p = 1 }' "$out" > "$gk_tmp/summary.json"
"$GK_BUILD/gaitctl" report "$gk_tmp/summary.json" > "$gk_tmp/report.txt" 2>&1
gk_check "gaitctl report on the daemon's summary exits 0" test $? -eq 0
sed 's/^/# /' "$gk_tmp/report.txt" | head -40
# (some steps may be the footpod's, before the H10 streams: "(N estimated)")
gk_check "report: session line and step count" grep -Eq \
	"^  .*$(fact summary_steps) steps( \([0-9]+ estimated\))?, $(fact summary_alerts) alert" \
	"$gk_tmp/report.txt"
gk_check "report: cadence row with median, p10 - p90 and band shares" \
	grep -Eq '^  cadence +spm +1[4-7][0-9]\.[0-9] +[0-9.]+ - [0-9.]+ +[0-9]+% / +[0-9]+% / +[0-9]+%$' \
	"$gk_tmp/report.txt"
gk_check "report: the raised alert kinds, the pain report and advice" bash -c "
	grep -q '^Alerts' '$gk_tmp/report.txt' &&
	grep -Eq '^  (overstriding|not upright|pain|bouncing) +[0-9]+ times?, ' '$gk_tmp/report.txt' &&
	grep -q '^  at 0:1[0-9]: [0-9]*/10, ' '$gk_tmp/report.txt' &&
	grep -q '^  - ' '$gk_tmp/report.txt'"
"$GK_BUILD/gaitctl" report /nonexistent/summary.json > /dev/null 2>&1
gk_check "report: a missing file exits 66" test $? -eq 66
echo '{"state":"running"}' | "$GK_BUILD/gaitctl" report - > /dev/null 2> "$gk_tmp/running.err"
rc=$?
gk_check "report: a running session's document exits 65 ($rc) and says why" bash -c \
	"[ $rc -eq 65 ] && grep -q 'no finished session' '$gk_tmp/running.err'"
sleep 0.5
left=$(grep -lzx "$mark" /proc/[0-9]*/environ 2>/dev/null | wc -l)
gk_check "nothing left running after the demo" test "$left" -eq 0
gk_done
