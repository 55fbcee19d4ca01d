#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make run`: gaitkeeper on one machine, nothing installed, nothing real
# touched. A private dbus-daemon, mosquitto on a free loopback port, bluez-sim
# replaying a real outdoor run (data/demo/, GPL-3 licence note there) as a
# waist IMU (Polar H10) plus footpod, heart-rate strap and treadmill, gaitkeeperd with
# tools/demo/demo.conf, and `gaitctl watch` showing live metrics and alerts;
# then the session summary. Ctrl-C ends the run early (summary still shown);
# everything started here is stopped on exit.
#
#   tools/demo/run-demo.sh [--ci] [--no-build]
#   DEMO_SECONDS   length of the watched run (default 150; --ci: 60)
#   DEMO_FROM      seconds into the recording to start at (default 145: 150 s of
#                  steady running, the baseline learnt from 10 to 40 s; the
#                  recording's walk at 4:55 would need a belt turned down,
#                  which the simulated treadmill does not do)
#   DEMO_SCALE     bluez-sim --time-scale (default 1: real time; gaitkeeperd
#                  times 1 Hz sensors by arrival, so keep 1 for sane metrics)
#   DEMO_PAIN_AT   seconds into the run to report pain 5 at the lower back
#                  through `gaitctl pain` (default: 2/3 of the run; 0 = never)
set -u
ci=0
build=1
for a in "$@"; do
	case $a in
	--ci) ci=1 ;;
	--no-build) build=0 ;;
	-h | --help)
		sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
		exit 0 ;;
	*) echo "run-demo: unknown option '$a'" >&2; exit 64 ;;
	esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
if [ "$build" = 1 ]; then
	make -s deps || exit 1
	make -s -j2 all > /dev/null || { echo "run-demo: build failed" >&2; exit 1; }
fi

source tests/lib/env.sh		# gk_start_dbus, gk_start_mosquitto, cleanup trap
# The services in sessions of their own: a Ctrl-C ends `gaitctl watch` only,
# and the session is then stopped and its summary shown as after a full run.
GK_BG_SETSID=1
B=$root/${GK_BUILD:-build}
seconds=${DEMO_SECONDS:-$([ "$ci" = 1 ] && echo 60 || echo 150)}
scale=${DEMO_SCALE:-1}
pain_at=${DEMO_PAIN_AT:-$((seconds * 2 / 3))}
log=$gk_tmp/demo.log
say() { echo "run-demo: $*" >&2; }

for b in gaitkeeperd gaitctl bluez-sim; do
	[ -x "$B/$b" ] || { say "$B/$b is missing (make all)"; exit 1; }
done

say "private bus, broker and simulated sensors in $gk_tmp"
gk_start_dbus 2>> "$log" || { say "dbus-daemon did not start"; exit 1; }
gk_start_mosquitto || { say "mosquitto did not start"; exit 1; }
# The recording from DEMO_FROM on, t_s from 0 again (trace CSV: data/README.md).
from=${DEMO_FROM:-145}
awk -F, -v from="$from" 'BEGIN { OFS = "," } NR == 1 { print; next }
	$1 >= from { $1 = sprintf("%.2f", $1 - from); print }' \
	data/demo/hip-run-5min30.csv > "$gk_tmp/run.csv"
gk_bg "$B/bluez-sim" --trace "$gk_tmp/run.csv" --loop --time-scale "$scale" \
	--speed-mps 2.9 \
	--device "polar-h10,A0:9E:1A:D0:00:01,Polar H10 DEMO" \
	--device "footpod,C8:FD:19:D0:00:02,Stryd DEMO" \
	--device "heart-rate,E4:5F:01:D0:00:03,HRM DEMO" \
	--device "treadmill,F0:E1:D2:D0:00:04,Treadmill DEMO" 2>> "$gk_tmp/sim.log"
gk_wait_for 10 busctl --system status org.bluez > /dev/null 2>&1 ||
	{ say "bluez-sim did not start:"; cat "$gk_tmp/sim.log" >&2; exit 1; }

sed "s|@MQTT_URI@|$GK_MQTT_URI|" tools/demo/demo.conf > "$gk_tmp/demo.conf"
mkdir -p "$gk_tmp/state"
gk_bg "$B/gaitkeeperd" --config "$gk_tmp/demo.conf" --state-dir "$gk_tmp/state" --stderr \
	2>> "$gk_tmp/gaitkeeperd.log"
GKD_PID=$gk_last_pid
gk_wait_for 10 "$B/gaitctl" status > /dev/null 2>&1 ||
	{ say "gaitkeeperd did not come up:"; tail "$gk_tmp/gaitkeeperd.log" >&2; exit 1; }

say "waiting for the sensors to stream"
streaming() {
	"$B/gaitctl" status --json 2> /dev/null | python3 -c \
		'import json,sys; s=json.load(sys.stdin); sys.exit(s["sensors_streaming"] < s["sensors_total"])'
}
gk_wait_for 60 streaming || say "not every sensor streams; carrying on ($("$B/gaitctl" status | grep Sensors))"
"$B/gaitctl" session start > /dev/null || { say "could not start a session"; exit 1; }
say "session started; watching for ${seconds}s (Ctrl-C ends it early)"

# The operator side of the demo: a pain report at pain_at, as a runner would.
if [ "$pain_at" -gt 0 ]; then
	(sleep "$pain_at" && "$B/gaitctl" pain 5 --where lower-back > /dev/null) &
	gk_pids+=($!)
fi

interrupted=0
trap 'interrupted=1' INT
if [ "$ci" = 1 ]; then
	"$B/gaitctl" watch --json --duration "$seconds" | tee "$gk_tmp/watch.jsonl"
else
	"$B/gaitctl" watch --duration "$seconds"
fi
trap 'exit 130' INT

[ "$interrupted" = 1 ] && say "interrupted: ending the session"
"$B/gaitctl" session stop > /dev/null || say "stopping the session failed"
gk_wait_for 10 "$B/gaitctl" summary --last > /dev/null 2>&1
echo
if [ "$ci" = 1 ]; then
	echo "summary:"
	"$B/gaitctl" summary --last --json
else
	echo "Session summary (gaitctl summary --last):"
	"$B/gaitctl" summary --last
fi
rc=$?
say "stopping gaitkeeperd, bluez-sim, mosquitto and the bus"
exit $rc
