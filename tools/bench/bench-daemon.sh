#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench-daemon: resource use and latency of the whole gaitkeeperd, with
# real neighbours on private addresses only: a private dbus-daemon, mosquitto
# on a free loopback port, build/bluez-sim with four sensors (Polar H10
# streaming ACC at 200 Hz from data/demo/hip-run-5min30.csv, footpod,
# heart-rate strap, treadmill).
#
# Run 1 (resources): the daemon with the four sensors and a running session,
# side by side with a second gaitkeeperd configured without sensors (on its
# own private bus, same broker); bluez-sim, dbus-daemon and mosquitto are
# measured in the same windows. After BENCH_WARMUP s the BENCH_SECONDS are cut
# into BENCH_WINDOWS windows; each figure is over the whole time, with the
# spread of the windows.
# Run 2 (latency): a fresh simulator; another client subscribes to the H10's
# PMD data first (as bluetoothctl could), so BlueZ refuses the daemon's
# AcquireNotify and the daemon falls back to StartNotify: every ACC frame is
# then a D-Bus signal that bench-notify-stamp sees too. The daemon publishes
# run/step (mqtt.step_events) synchronously while it processes the frame
# that completes a step, so each run/step received by the subscriber is
# paired with the last frame seen before it.
# Run 3 (BENCH_NODELAY_RUN=1, the default): run 2 again with
# build/bench-nodelay.so preloaded into the daemon, which sets TCP_NODELAY on
# its broker socket from outside (Paho does not): a cross-check that the
# daemon's own TCP_NODELAY (daemon/mqtt.c) leaves no Nagle delay.
#
#   tools/bench/bench-daemon.sh [--doc docs/performance.md]
#   BENCH_SECONDS (60; runs 2 and 3 at most 420), BENCH_WARMUP (20),
#   BENCH_WINDOWS (3), BENCH_NODELAY_RUN (1), BENCH_BROKER_NODELAY (0), GK_BUILD
# Figures: $GK_BUILD/bench/daemon.figures, section text $GK_BUILD/bench/daemon.md;
# the last line of output is "daemon-bench: key=value ...".
set -u
doc=""
while [ $# -gt 0 ]; do
	case $1 in
	--doc) doc=$2; shift 2 ;;
	*) echo "bench-daemon: unknown option '$1'" >&2; exit 64 ;;
	esac
done

source "$(dirname "$0")/../../tests/lib/env.sh"
cd "$GK_ROOT" || exit 1
B=$GK_BUILD
N=${BENCH_SECONDS:-60}
W=${BENCH_WARMUP:-20}
K=${BENCH_WINDOWS:-3}
# The latency run: bluez-sim-probe keeps its subscription for at most 600 s.
L=$((N < 420 ? N : 420))
OUT=$B/bench
mkdir -p "$OUT"
# Raw samples and logs stay in $OUT for a look afterwards.
save_raw() {
	cp "${snaps:-}" "$gk_tmp/simstats.txt" "${meta:-}" "$gk_tmp"/stamps-*.txt "$gk_tmp"/*.conf \
	"$gk_tmp"/*.log "$gk_tmp"/*.err "$gk_tmp"/*.out "$OUT/" 2> /dev/null
}
trap 'save_raw; gk_cleanup' EXIT
say() { echo "bench-daemon: $*" >&2; }
die() { say "$*"; exit 1; }
stop_pid() {
	kill -TERM "$1" 2> /dev/null
	wait "$1" 2> /dev/null
}
for b in gaitkeeperd gaitctl bluez-sim bluez-sim-probe bench-notify-stamp; do
	[ -x "$B/$b" ] || die "$B/$b is missing (make all)"
done
[ "$N" -ge "$K" ] 2>/dev/null || die "BENCH_SECONDS must be a number >= BENCH_WINDOWS"

H10=A0:9E:1A:B0:00:01
POD=C8:FD:19:B0:00:02
HRM=E4:5F:01:B0:00:03
BELT=F0:E1:D2:B0:00:04
PMD_DATA=fb005c82-02e7-f387-1cad-8acd2d8df0c8
TRACE=data/demo/hip-run-5min30.csv
snaps=$gk_tmp/snaps.txt
meta=$gk_tmp/meta.txt
: > "$snaps"
: > "$meta"

gk_start_dbus 2>> "$gk_tmp/dbus.log" || die "dbus-daemon did not start"
BUS_A=$DBUS_SYSTEM_BUS_ADDRESS
DBUS_A_PID=$gk_last_pid
gk_start_mosquitto || die "mosquitto did not start"
MOSQ_PID=$GK_MOSQUITTO_PID
# BENCH_BROKER_NODELAY=1: the broker sets TCP_NODELAY on its client sockets
# (mosquitto's set_tcp_nodelay, default false), to tell its Nagle delays from
# the daemon's.
if [ "${BENCH_BROKER_NODELAY:-0}" = 1 ]; then
	stop_pid "$MOSQ_PID"
	echo "set_tcp_nodelay true" >> "$gk_tmp/mosquitto.conf"
	gk_bg mosquitto -c "$gk_tmp/mosquitto.conf"
	MOSQ_PID=$gk_last_pid
	gk_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GK_MQTT_PORT" ||
		die "mosquitto did not restart"
fi
echo "broker_nodelay=${BENCH_BROKER_NODELAY:-0}" >> "$meta"
# A second private bus for the daemon without sensors (its own D-Bus name).
sed -e "s|$gk_tmp/system_bus_socket|$gk_tmp/bus-b.sock|" \
	-e "s|<includedir>.*</includedir>||" "$gk_tmp/dbus.conf" > "$gk_tmp/dbus-b.conf"
gk_bg dbus-daemon --config-file="$gk_tmp/dbus-b.conf" --nofork --nopidfile \
	2>> "$gk_tmp/dbus.log"
BUS_B=unix:path=$gk_tmp/bus-b.sock
gk_wait_for 10 test -S "$gk_tmp/bus-b.sock" || die "second dbus-daemon did not start"

sim_call() {
	busctl --address="$BUS_A" call io.gaitkeeper.BluezSim /io/gaitkeeper/BluezSim \
		io.gaitkeeper.BluezSim1 "$@"
}
start_sim() {
	gk_bg "$B/bluez-sim" --trace "$TRACE" --loop --speed-mps 2.9 \
		--device "polar-h10,$H10,Polar H10 BENCH" \
		--device "footpod,$POD,Stryd BENCH" \
		--device "heart-rate,$HRM,HRM BENCH" \
		--device "treadmill,$BELT,Treadmill BENCH" 2>> "$gk_tmp/sim.log"
	SIM_PID=$gk_last_pid
	gk_wait_for 10 busctl --address="$BUS_A" status io.gaitkeeper.BluezSim > /dev/null ||
		die "bluez-sim did not start: $(tail -3 "$gk_tmp/sim.log")"
}
write_config() {	# write_config FILE NODE STEP_EVENTS WITH_SENSORS
	{
		echo "node = \"$2\";"
		echo "log_level = \"info\";"
		echo "mqtt = { uri = \"$GK_MQTT_URI\"; keepalive_s = 30; step_events = $3; };"
		echo "form = { auto_session = false; };"
		if [ "$4" = 1 ]; then
			cat <<EOF
sensors = (
  { alias = "imu"; kind = "polar-h10"; address = "$H10"; mount = "waist"; rate_hz = 200; },
  { alias = "pod"; kind = "footpod"; address = "$POD"; },
  { alias = "hr"; kind = "heart-rate"; address = "$HRM"; },
  { alias = "belt"; kind = "treadmill"; address = "$BELT"; }
);
EOF
		fi
	} > "$1"
}
start_gkd() {	# start_gkd BUS CONFIG STATE-DIR LOG; sets GKD_PID
	mkdir -p "$3"
	gk_bg env DBUS_SYSTEM_BUS_ADDRESS="$1" "$B/gaitkeeperd" --config "$2" \
		--state-dir "$3" --stderr 2>> "$4"
	GKD_PID=$gk_last_pid
}
streaming() {
	DBUS_SYSTEM_BUS_ADDRESS=$BUS_A "$B/gaitctl" status --json 2> /dev/null |
		python3 -c 'import json, sys; s = json.load(sys.stdin)
sys.exit(not (s["sensors_total"] == 4 and s["sensors_streaming"] == 4))'
}

# snap LABEL ROLE=PID...: one line per process: label, time, role, CPU ticks
# (utime+stime, all threads), context switches (all threads), VmRSS KiB,
# VmHWM KiB, open fds, threads.
snap() {
	local label=$1 now rp role pid
	shift
	now=$(date +%s.%N)
	for rp in "$@"; do
		role=${rp%%=*}
		pid=${rp#*=}
		[ -d "/proc/$pid" ] || { echo "$label $now $role gone" >> "$snaps"; continue; }
		echo "$label $now $role $(awk '{print $14 + $15}' "/proc/$pid/stat")" \
			"$(cat /proc/"$pid"/task/*/status 2> /dev/null |
				awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s}')" \
			"$(awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {print r, h}' "/proc/$pid/status")" \
			"$(ls "/proc/$pid/fd" | wc -l) $(ls "/proc/$pid/task" | wc -l)" >> "$snaps"
	done
}
# sim_stats LABEL: bluez-sim's notification counters (sent) and AcquireNotify totals.
sim_stats() {
	local a out
	for a in $H10 $POD $HRM $BELT; do
		out=$(sim_call GetStats s "$a" 2> /dev/null)
		echo "$1 $(date +%s.%N) sim-$a $(echo "$out" | grep -o '"notifications" t [0-9]*' |
			awk '{print $3}') $(echo "$out" | grep -o '"acquire_notify" u [0-9]*' |
			awk '{print $3}')" >> "$gk_tmp/simstats.txt"
	done
}

{
	echo "seconds=$N"
	echo "warmup=$W"
	echo "windows=$K"
	echo "hz=$(getconf CLK_TCK)"
	echo "nproc=$(nproc)"
	echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
	echo "kernel=$(uname -r)"
	echo "date=$(date -u +%Y-%m-%d)"
	echo "load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "build=$B"
	echo "asan=$(ldd "$B/gaitkeeperd" 2> /dev/null | grep -c libasan)"
} >> "$meta"

# ---- run 1: resources ----------------------------------------------------
start_sim
gk_bg stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -t 'gaitkeeper/#' \
	-F '@s.@N %t' > "$gk_tmp/sub1.log" 2>> "$gk_tmp/sub.err"
SUB1_PID=$gk_last_pid
write_config "$gk_tmp/bench.conf" bench false 1
write_config "$gk_tmp/idle.conf" idle false 0
start_gkd "$BUS_A" "$gk_tmp/bench.conf" "$gk_tmp/state-bench" "$gk_tmp/gkd.log"
GKD_MAIN=$GKD_PID
start_gkd "$BUS_B" "$gk_tmp/idle.conf" "$gk_tmp/state-idle" "$gk_tmp/idle.log"
GKD_IDLE=$GKD_PID
say "run 1: waiting for 4/4 sensors streaming"
gk_wait_for 60 streaming || die "not all sensors stream: $(tail -5 "$gk_tmp/gkd.log")"
DBUS_SYSTEM_BUS_ADDRESS=$BUS_A "$B/gaitctl" session start > /dev/null ||
	die "could not start a session"
say "run 1: session running; warm-up ${W}s, then ${N}s in $K windows"
sleep "$W"
roles=(daemon="$GKD_MAIN" idle="$GKD_IDLE" bluez-sim="$SIM_PID" dbus-daemon="$DBUS_A_PID"
	mosquitto="$MOSQ_PID")
snap w0 "${roles[@]}"
sim_stats w0
for k in $(seq "$K"); do
	sleep "$(python3 -c "print($N / $K)")"
	snap "w$k" "${roles[@]}"
	sim_stats "w$k"
done
kill -0 "$GKD_MAIN" 2> /dev/null || die "the daemon died during run 1"
echo "load_run1=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$meta"
stop_pid "$GKD_MAIN"
stop_pid "$GKD_IDLE"
stop_pid "$SIM_PID"
stop_pid "$SUB1_PID"

# ---- run 2: latency --------------------------------------------------------
# The two clocks of the measurement (the frame watcher and the subscriber) run
# SCHED_FIFO when allowed, so that on a busy machine they are not woken late:
# a late frame stamp would pair a step with the frame before (+180 ms), a
# late subscriber would add its own wait.
RT=""
if chrt -f 50 true 2> /dev/null; then
	RT="chrt -f 50"
fi
echo "rt_clocks=${RT:-no}" >> "$meta"
# latency_run TAG [PRELOAD]: one latency run; files $gk_tmp/stamps-TAG.txt,
# $gk_tmp/sub-TAG.log, meta TAG_t0/TAG_t1, snapshots TAG0/TAG1.
latency_run() {
	local tag=$1 preload=${2:-} stamp_pid sub_pid gkd probe_pid
	start_sim
	gk_bg stdbuf -oL "$B/bluez-sim-probe" scan wait-device "$H10" 10 stopscan \
		connect "$H10" notify "$H10" "$PMD_DATA" 100000 \
		$((L + W + 120 > 600 ? 600 : L + W + 120)) > "$gk_tmp/probe-$tag.out" \
		2> "$gk_tmp/probe-$tag.err"
	probe_pid=$gk_last_pid
	gk_bg $RT "$B/bench-notify-stamp" "$H10" "$PMD_DATA" > "$gk_tmp/stamps-$tag.txt" \
		2> "$gk_tmp/stamp-$tag.err"
	stamp_pid=$gk_last_pid
	gk_wait_for 30 grep -q watching "$gk_tmp/stamp-$tag.err" ||
		die "no PMD data characteristic: $(cat "$gk_tmp/stamp-$tag.err")"
	# The probe's StartNotify must be in place before the daemon subscribes.
	probe_subscribed() { sim_call GetStats s "$H10" | grep -q '"start_notify" u [1-9]'; }
	gk_wait_for 20 probe_subscribed ||
		die "the probe did not subscribe: $(tail -3 "$gk_tmp/probe-$tag.out")"
	gk_bg $RT stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" \
		-t "gaitkeeper/$tag/#" -F '@s.@N %t' > "$gk_tmp/sub-$tag.log" 2>> "$gk_tmp/sub.err"
	sub_pid=$gk_last_pid
	write_config "$gk_tmp/$tag.conf" "$tag" true 1
	if [ -n "$preload" ]; then
		gk_bg env DBUS_SYSTEM_BUS_ADDRESS="$BUS_A" LD_PRELOAD="$preload" \
			"$B/gaitkeeperd" --config "$gk_tmp/$tag.conf" \
			--state-dir "$gk_tmp/state-$tag" --stderr 2>> "$gk_tmp/gkd-$tag.log"
		gkd=$gk_last_pid
	else
		start_gkd "$BUS_A" "$gk_tmp/$tag.conf" "$gk_tmp/state-$tag" "$gk_tmp/gkd-$tag.log"
		gkd=$GKD_PID
	fi
	say "$tag: waiting for 4/4 sensors streaming"
	gk_wait_for 60 streaming || die "not all sensors stream ($tag): $(tail -5 "$gk_tmp/gkd-$tag.log")"
	DBUS_SYSTEM_BUS_ADDRESS=$BUS_A "$B/gaitctl" session start > /dev/null ||
		die "could not start a session ($tag)"
	say "$tag: latency for ${L}s after ${W}s"
	sleep "$W"
	snap "${tag}0" daemon-$tag="$gkd" dbus-daemon-$tag="$DBUS_A_PID"
	sim_stats "${tag}0"
	echo "${tag}_t0=$(date +%s.%N)" >> "$meta"
	sleep "$L"
	echo "${tag}_t1=$(date +%s.%N)" >> "$meta"
	snap "${tag}1" daemon-$tag="$gkd" dbus-daemon-$tag="$DBUS_A_PID"
	sim_stats "${tag}1"
	kill -0 "$gkd" 2> /dev/null || die "the daemon died during $tag"
	stop_pid "$gkd"
	stop_pid "$stamp_pid"
	stop_pid "$sub_pid"
	stop_pid "$probe_pid"
	stop_pid "$SIM_PID"
}
mkdir -p "$gk_tmp/state-lat" "$gk_tmp/state-nodelay"
latency_run lat
# Run 3: the same with TCP_NODELAY forced on the daemon's broker socket from
# outside (tools/bench/nodelay.c, LD_PRELOAD), a cross-check of the daemon's own.
if [ "${BENCH_NODELAY_RUN:-1}" = 1 ] && [ -f "$B/bench-nodelay.so" ]; then
	latency_run nodelay "$PWD/$B/bench-nodelay.so"
fi
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$meta"

python3 tools/bench/bench-report.py --meta "$meta" --snaps "$snaps" \
	--simstats "$gk_tmp/simstats.txt" --sub1 "$gk_tmp/sub1.log" --tmp "$gk_tmp" \
	--md "$OUT/daemon.md" --figures "$OUT/daemon.figures" ||
	die "report failed"
if [ -n "$doc" ]; then
	python3 form/doc-section.py "$doc" "Whole daemon" "$OUT/daemon.md"
	say "wrote the 'Whole daemon' section of $doc"
fi
tail -1 "$OUT/daemon.figures"
