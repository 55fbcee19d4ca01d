#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Soak (R5): gaitkeeperd with four simulated sensors streaming (Polar H10 ACC at
# 200 Hz, footpod, heart-rate strap, treadmill) and a session running, with a
# fault every SOAK_FAULT_EVERY s: a broker restart, BLE link losses
# (bluez-sim Disconnect) and a silent sensor (SetSilent, so the data watchdog
# takes the link down). RSS, fds and CPU are sampled every SOAK_SAMPLE s.
# Checks: every fault recovers; the daemon's fd count is back to its first
# steady value after each recovery (no fd leak); RSS growth from SOAK_REF s
# to the end within a bound; no CPU creep; the same process throughout;
# availability and state keep flowing to a durable subscriber.
#   SOAK_SECONDS (150; `make soak` 1800), SOAK_REF (60), SOAK_FAULT_EVERY (15),
#   SOAK_SAMPLE (2), SOAK_DOC (write the figures there), SOAK_KEEP (keep logs there)
# Real dbus-daemon, mosquitto and bluez-sim on private addresses.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

DUR=${SOAK_SECONDS:-150}
REF=${SOAK_REF:-60}
EVERY=${SOAK_FAULT_EVERY:-15}
SAMPLE=${SOAK_SAMPLE:-2}
gk_require_built "$GKD" "$SIM"
if [ "$DUR" -lt $((REF + 3 * EVERY)) ] 2> /dev/null; then
	gk_not_ok "SOAK_SECONDS ($DUR) must be at least SOAK_REF + 3 x SOAK_FAULT_EVERY"
	gk_done
	exit 1
fi

gkd_need dbus mosquitto

H10=A0:9E:1A:50:00:01
POD=C8:FD:19:50:00:02
HRM=E4:5F:01:50:00:03
BELT=F0:E1:D2:50:00:04
gkd_start_sim --trace data/demo/hip-run-5min30.csv --loop --speed-mps 2.9 \
	--device "polar-h10,$H10,Polar H10 SOAK" \
	--device "footpod,$POD,Stryd SOAK" \
	--device "heart-rate,$HRM,HRM SOAK" \
	--device "treadmill,$BELT,Treadmill SOAK"

cfg=$gk_tmp/soak.conf
cat > "$cfg" <<EOF
node = "soak";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; step_events = true; };
form = { auto_session = false; };
sensors = (
  { alias = "imu"; kind = "polar-h10"; address = "$H10"; mount = "waist"; rate_hz = 200; },
  { alias = "pod"; kind = "footpod"; address = "$POD"; },
  { alias = "hr"; kind = "heart-rate"; address = "$HRM"; },
  { alias = "belt"; kind = "treadmill"; address = "$BELT"; }
);
EOF

# A durable QoS 1 subscriber: must-deliver messages reach it across the
# broker restarts (mosquitto persists its session).
sub_log=$gk_tmp/sub.log
start_sub() {
	gk_bg stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -V mqttv5 -q 1 -c \
		-i gk-soak-sub -x 3600 -t 'gaitkeeper/soak/#' -F '@s.@N %t %p' \
		>> "$sub_log" 2>> "$gk_tmp/sub.err"
	SUB_PID=$gk_last_pid
}
start_sub
gkd_start_notify
# quarantine_size_mb=0: under make sanitize, let ASan reuse freed memory so
# that RSS means something (no effect on a normal build).
GKD_ENV=("ASAN_OPTIONS=quarantine_size_mb=0:${ASAN_OPTIONS:-}")
start_daemon
gkd_start=$(awk '{print $22}' "/proc/$GKD_PID/stat")

# fig KEY VALUE [NOTE]: a "# figure:" line, kept for the docs (SOAK_DOC).
figs=$gk_tmp/figures.txt
fig() {
	echo "# figure: $1=$2${3:+ ($3)}"
	echo "$1|$2|${3:-}" >> "$figs"
}
status_now() { grep -ao 'STATUS=[^|]*' "$notify_log" | tail -1; }
healthy() { [ "$(status_now)" = "STATUS=4/4 sensors streaming, broker connected" ]; }
# changed_since EPOCH: a STATUS= other than healthy was sent since then.
changed_since() {
	awk -v t="$1" '$1 >= t' "$notify_log" | grep -ao 'STATUS=[^|]*' |
		grep -qvx 'STATUS=4/4 sensors streaming, broker connected'
}
fds() { ls "/proc/$GKD_PID/fd" 2> /dev/null | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$GKD_PID/status"; }

gk_check "all four sensors stream and the broker is connected" gk_wait_for 60 healthy
dbus_call StartSession > /dev/null
gk_check "session started" gk_wait_for 10 \
	grep -q ' gaitkeeper/soak/session/state {"state":"running"' "$sub_log"
sleep 3
t_start=$(date +%s)
fd0=$(fds)
fig fds_steady "$fd0" "open fds once all four sensors stream"
fig threads "$(ls /proc/"$GKD_PID"/task | wc -l)"

# Samples: seconds since t_start, RSS KiB, fds, CPU ticks (all threads).
samples=$gk_tmp/samples.txt
sampler() {
	while kill -0 "$GKD_PID" 2> /dev/null; do
		echo "$(($(date +%s) - t_start)) $(rss) $(fds)" \
			"$(awk '{print $14 + $15}' "/proc/$GKD_PID/stat")" >> "$samples"
		sleep "$SAMPLE"
	done
}
gk_bg sampler

restart_broker() {
	kill -TERM "$GK_MOSQUITTO_PID"
	wait "$GK_MOSQUITTO_PID" 2> /dev/null
	gk_wait_for 10 changed_since "$1"
	sleep 2
	gk_run_mosquitto
}
# The faults, in turn: a broker restart first, so that the warm-up before
# SOAK_REF has run every recovery path once.
faults=(broker "disconnect $H10" "disconnect $POD" "silent $HRM" "disconnect $BELT"
	"disconnect $HRM")
declare -A offline_expected=([imu]=0 [pod]=0 [hr]=0 [belt]=0)
alias_of() {
	case $1 in
	"$H10") echo imu ;; "$POD") echo pod ;; "$HRM") echo hr ;; "$BELT") echo belt ;;
	esac
}
n_faults=0
fd_bad=0
rec_fail=0
rec_max=0
fd_report=""
next=10
while [ $((next + 10)) -le "$DUR" ]; do
	now=$(($(date +%s) - t_start))
	[ "$now" -lt "$next" ] && sleep $((next - now))
	now=$(($(date +%s) - t_start))
	f=${faults[$((n_faults % ${#faults[@]}))]}
	n_faults=$((n_faults + 1))
	t0=$(date +%s%N)
	t0s=$(date +%s.%N)
	case $f in
	broker)
		restart_broker "$t0s" ;;
	disconnect*)
		sim_call Disconnect s "${f#disconnect }" > /dev/null
		a=$(alias_of "${f#disconnect }")
		offline_expected[$a]=$((offline_expected[$a] + 1)) ;;
	silent*)
		sim_call SetSilent sb "${f#silent }" true > /dev/null
		a=$(alias_of "${f#silent }")
		offline_expected[$a]=$((offline_expected[$a] + 1))
		gk_wait_for 15 changed_since "$t0s"
		sim_call SetSilent sb "${f#silent }" false > /dev/null ;;
	esac
	if gk_wait_for 10 changed_since "$t0s" && gk_wait_for 45 healthy; then
		ms=$((($(date +%s%N) - t0) / 1000000))
		[ "$ms" -gt "$rec_max" ] && rec_max=$ms
		echo "# fault $n_faults at ${now}s: $f, recovered in $ms ms"
		echo "${f%% *} $ms" >> "$gk_tmp/recoveries.txt"
	else
		rec_fail=$((rec_fail + 1))
		echo "# fault $n_faults at ${now}s: $f, not seen or not recovered: $(status_now)"
	fi
	# Sockets of the old link close asynchronously: give them a moment.
	back() { [ "$(fds)" -eq "$fd0" ]; }
	if ! gk_wait_for 10 back; then
		fd_bad=$((fd_bad + 1))
		fd_report="$fd_report ${f%% *}:$(fds)"
	fi
	next=$((next + EVERY))
done
# Let the last recovery settle, then the end sample.
now=$(($(date +%s) - t_start))
[ "$now" -lt "$DUR" ] && sleep $((DUR - now))
echo "$(($(date +%s) - t_start)) $(rss) $(fds) $(awk '{print $14 + $15}' "/proc/$GKD_PID/stat")" \
	>> "$samples"

gk_check "$n_faults faults, every one recovered (slowest ${rec_max} ms)" test "$rec_fail" -eq 0
gk_check "fd count back to $fd0 after every recovery${fd_report:+ (not after:$fd_report)}" \
	test "$fd_bad" -eq 0
gk_check "the same daemon process throughout (never restarted)" \
	test "$(awk '{print $22}' "/proc/$GKD_PID/stat" 2> /dev/null)" = "$gkd_start"

# RSS: R5 compares the end with minute 1 (SOAK_REF). Single samples wobble
# with allocator arenas, so both sides are the highest sample of a window:
# up to SOAK_REF, and the last third of the run.
read -r rss_ref rss_end rss_growth rss_last cpu1 cpu2 < <(python3 - "$samples" "$REF" "$DUR" \
	"$(getconf CLK_TCK)" <<'PY'
import sys
rows = [list(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 4]
ref, dur, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
early = [r[1] for r in rows if r[0] <= ref]
late = [r[1] for r in rows if r[0] >= ref + (dur - ref) * 2 // 3]
a, b = max(early), max(late)
# CPU of the two halves after the reference point (% of one core).
mid = ref + (dur - ref) // 2
def cpu(lo, hi):
    s = [r for r in rows if lo <= r[0] <= hi]
    return (s[-1][3] - s[0][3]) / hz / max(1, s[-1][0] - s[0][0]) * 100
print(a, b, b - a, rows[-1][1] - [r[1] for r in rows if r[0] >= ref][0], "%.3f" % cpu(ref, mid),
      "%.3f" % cpu(mid, dur + 5))
PY
)
fig soak_seconds "$DUR" "faults every ${EVERY} s; RSS reference at ${REF} s"
fig faults "$n_faults" "$(awk '{n[$1]++}
	END {for (k in n) {printf "%s%s %d", s, k, n[k]; s = ", "}}' "$gk_tmp/recoveries.txt" 2> /dev/null)"
for kind in broker disconnect silent; do
	m=$(awk -v k="$kind" '$1 == k && $2 > m {m = $2} END {print m + 0}' \
		"$gk_tmp/recoveries.txt" 2> /dev/null)
	fig "recovery_max_ms_$kind" "$m" "fault to 4/4 streaming and broker connected again"
done
fig fd_mismatches_after_recovery "$fd_bad" \
	"recoveries after which the fd count did not return to $fd0"
fig rss_kib_ref "$rss_ref" "highest sample up to ${REF} s"
fig rss_kib_end "$rss_end" "highest sample in the last third"
fig rss_growth_kib "$rss_growth" "R5: <= 256"
fig rss_growth_point_kib "$rss_last" "last sample - first sample after ${REF} s"
fig cpu_pct_first_half "$cpu1" "% of one core, from ${REF} s to the middle"
fig cpu_pct_second_half "$cpu2" "% of one core, middle to end"
# ASan's allocator and shadow memory grow with use: a looser bound there.
limit=256
if ldd "$GKD" 2> /dev/null | grep -q libasan; then
	limit=8192
fi
gk_check "RSS growth from ${REF}s to the end ${rss_growth} KiB (<= $limit)" \
	test "$rss_growth" -le "$limit"
# Creep: the second half may not cost clearly more than the first (faults
# land in both; a loaded CI machine adds noise, hence the slack).
gk_check "no CPU creep: ${cpu2} % after ${cpu1} % of a core" \
	python3 -c "import sys; sys.exit(0 if $cpu2 <= 1.5 * $cpu1 + 0.5 else 1)"

# Availability and state kept flowing.
count_since() {	# count_since SECONDS-AGO TOPIC-SUFFIX [PAYLOAD-PREFIX]
	awk -v since="$(($(date +%s) - $1))" -v t="gaitkeeper/soak/$2" -v p="${3:-}" \
		'$1 >= since && $2 == t && index($3, p) == 1 {n++} END {print n + 0}' "$sub_log"
}
for a in imu pod hr belt; do
	on=$(awk -v t="gaitkeeper/soak/sensor/$a/availability" '$2 == t && $3 == "online"' \
		"$sub_log" | wc -l)
	off=$(awk -v t="gaitkeeper/soak/sensor/$a/availability" '$2 == t && $3 == "offline"' \
		"$sub_log" | wc -l)
	want=${offline_expected[$a]}
	gk_check "sensor $a: availability offline $off and online $on times (faults: $want)" \
		test "$off" -ge "$want" -a "$on" -ge $((want + 1))
	gk_check "sensor $a: state still published (last 15 s)" \
		test "$(count_since 15 "sensor/$a/state")" -ge 3
done
gk_check "run/live still flowing (last 15 s: $(count_since 15 run/live))" \
	test "$(count_since 15 run/live)" -ge 5
gk_check "run/step still flowing (last 15 s: $(count_since 15 run/step))" \
	test "$(count_since 15 run/step)" -ge 10
gk_check "status online after the last broker restart" \
	test "$(awk '$2 == "gaitkeeper/soak/status" {s = $3} END {print s}' "$sub_log")" = online

kill -TERM "$GKD_PID"
wait "$GKD_PID"
gk_check "clean exit after the soak" test $? -eq 0
gk_check "no crash or sanitizer report in the daemon log" \
	bash -c "! grep -qE 'Sanitizer|runtime error|Segmentation' '$dlog'"
fig checks_failed "$gk_failed" "of $gk_n"
# SOAK_KEEP=DIR: keep the subscriber log, samples, daemon and notify logs.
if [ -n "${SOAK_KEEP:-}" ]; then
	mkdir -p "$SOAK_KEEP" && cp "$sub_log" "$samples" "$dlog" "$notify_log" "$figs" \
		"$gk_tmp/recoveries.txt" "$SOAK_KEEP/"
fi
# make soak: the figures go into docs/reliability.md.
if [ -n "${SOAK_DOC:-}" ]; then
	python3 tools/bench/soak-doc.py "$SOAK_DOC" "$figs" "$(ldd "$GKD" | grep -c libasan)" ||
		gk_not_ok "figures written to $SOAK_DOC"
fi
gk_done
