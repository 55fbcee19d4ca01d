#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gaitctl's live commands against daemon/dbus-api.c served by
# build/tests/dbus-api-driver on a private bus: the driver turns stdin lines
# into the daemon's push calls, so each check knows exactly what was
# published (names, NaN -> null, sensor removal, alerts, caps) and what
# gaitctl must print. tests/it-dbus-api.sh does the same against gaitkeeperd.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
GAITCTL=$GK_BUILD/gaitctl
DRIVER=$GK_BUILD/tests/dbus-api-driver
gk_require_built "$GAITCTL" "$DRIVER"

gk_start_dbus 2> /dev/null || { gk_not_ok "private dbus-daemon"; gk_done; exit 1; }

"$GAITCTL" status > "$gk_tmp/none.out" 2>&1
rc=$?
gk_check "no service: exit 69 (got $rc)" test "$rc" -eq 69
gk_check "no service: says gaitkeeperd is not running" grep -q 'gaitkeeperd is not running' "$gk_tmp/none.out"
# --json: the failure as one JSON object on stdout, as a refused call prints it (was nothing)
for c in status sensors summary "session start" "pain 3" watch; do
	"$GAITCTL" $c --json > "$gk_tmp/none.json" 2> /dev/null
	gk_check "no service: $c --json: exit 69, {ok: false, ServiceUnknown} on stdout" \
		bash -c '[ $1 -eq 69 ] && python3 -c "
import json, sys
o = json.load(open(sys.argv[1]))
assert o[\"ok\"] is False and o[\"error\"].endswith(\".ServiceUnknown\"), o
assert \"not running\" in o[\"message\"], o" "$2"' _ $? "$gk_tmp/none.json"
done
"$GAITCTL" session > /dev/null 2>&1
gk_check "usage error: exit 64" test $? -eq 64
"$GAITCTL" watch --count x > /dev/null 2>&1
gk_check "bad --count: exit 64" test $? -eq 64
# an option's value left out: said so (was "unknown option '--where'")
"$GAITCTL" pain 3 --where 2> "$gk_tmp/novalue.err"
gk_check "pain 3 --where (no value): exit 64, 'needs a value'" \
	bash -c '[ $1 -eq 64 ] && grep -q -- "--where needs a value" "$2"' _ $? "$gk_tmp/novalue.err"
# every command's --help: its usage on stdout, exit 0, even with no service
for c in status sensors watch session pain summary report; do
	out=$("$GAITCTL" $c --help 2> /dev/null)
	gk_check "$c --help: usage, exit 0" bash -c "[ $? -eq 0 ] && [[ '${out%%$'\n'*}' == 'Usage: gaitctl $c'* ]]"
done
gk_check "--version: the daemon's version" bash -c '
	v=$("$1" --version) && d=$("$2" --version) && test "${v#gaitctl }" = "${d#gaitkeeperd }" &&
	test -n "${v#gaitctl }" && test "$v" != "${v#gaitctl }"' _ "$GAITCTL" "$GK_BUILD/gaitkeeperd"

mkfifo "$gk_tmp/in"
exec 3<> "$gk_tmp/in"		# read-write: neither open blocks
# Not gk_bg: an async command without its own redirection reads /dev/null.
"$DRIVER" <&3 > "$gk_tmp/driver.out" 2>&1 &
gk_pids+=($!)
gk_wait_for 10 grep -q '^ready' "$gk_tmp/driver.out" || { gk_not_ok "driver ready"; gk_done; exit 1; }
# send LINE: one command, wait for its answer line, left in $answer.
# (Not called in $(...): the answer count must survive the call.)
n_answers=0
send() {
	echo "$1" >&3
	n_answers=$((n_answers + 1))
	gk_wait_for 5 bash -c "[ \$(grep -c '^ok \|^error ' '$gk_tmp/driver.out') -ge $n_answers ]"
	answer=$(grep '^ok \|^error ' "$gk_tmp/driver.out" | sed -n "${n_answers}p")
}

send "gateway gym running 1 2 1 1/2 sensors streaming"
# The driver takes any counts: gyro_lost stands for ImuGyroFramesLost here.
send "sensor chest polar-h10 streaming 1 85 -60 mount=chest lost=7 gyro_lost=2"
send "sensor pod-1 footpod connecting 0 - - not seen yet"

"$GAITCTL" status > "$gk_tmp/status.txt"
gk_check "status: node" grep -q '^Node: *gym' "$gk_tmp/status.txt"
gk_check "status: broker" grep -q '^Broker: *connected' "$gk_tmp/status.txt"
gk_check "status: sensors 1/2" grep -q '^Sensors: *1/2 streaming' "$gk_tmp/status.txt"
"$GAITCTL" status --json > "$gk_tmp/status.json"
gk_check "status --json: snake_case keys and values" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
ok = (s["node"] == "gym" and s["broker_connected"] is True and s["sensors_streaming"] == 1
      and s["sensors_total"] == 2 and s["status"] == "1/2 sensors streaming"
      and s["session"]["distance_m"] is None and s["session"]["active_alerts"] == []
      and s["session"]["start_time_ms"] is None)
sys.exit(not ok)' "$gk_tmp/status.json"

"$GAITCTL" sensors --json > "$gk_tmp/sensors.json"
gk_check "sensors --json: two sensors, NaN and a time of 0 as null, the reason, the frames lost" \
	python3 -c '
import json, sys
l = {s["alias"]: s for s in json.load(open(sys.argv[1]))}
ok = (set(l) == {"chest", "pod-1"} and l["chest"]["battery_pct"] == 85
      and l["chest"]["rssi_dbm"] == -60 and l["pod-1"]["battery_pct"] is None
      and l["pod-1"]["rssi_dbm"] is None and l["pod-1"]["reason"] == "not seen yet"
      and l["pod-1"]["available"] is False and l["pod-1"]["last_seen_ms"] is None
      and l["chest"]["imu_frames_lost"] == 7 and l["pod-1"]["imu_frames_lost"] == 0
      and l["chest"]["imu_gyro_frames_lost"] == 2 and l["pod-1"]["imu_gyro_frames_lost"] == 0)
sys.exit(not ok)' "$gk_tmp/sensors.json"
"$GAITCTL" sensors > "$gk_tmp/sensors.txt"
gk_check "sensors: a table row per sensor" \
	bash -c "grep -q '^  chest .*polar-h10 .*streaming .*yes .*85%' '$gk_tmp/sensors.txt' && grep -q '^  pod-1 .*not seen yet' '$gk_tmp/sensors.txt'"
# LOST: the chest strap's 7 frames and, after a slash, the 2 gyro frames the
# driver says it lost; "-" for the footpod, which has no IMU
gk_check "sensors: LOST column, the IMU's frames lost (/gyro), - without an IMU" bash -c "
	grep -q '^  ALIAS .* SEEN  *LOST REASON\$' '$gk_tmp/sensors.txt' &&
	grep -q '^  chest .* 85% .* 7/2 *\$' '$gk_tmp/sensors.txt' &&
	grep -q '^  pod-1 .* - not seen yet\$' '$gk_tmp/sensors.txt'"

# ---- methods through gaitctl -----------------------------------------------------
gk_check "session start" bash -c "'$GAITCTL' session start | grep -qx 'Session started.'"
send "progress 312000 936.8 889"
"$GAITCTL" status > "$gk_tmp/status-run.txt"
gk_check "status: a running session's distance and steps so far" \
	grep -q '^Session:  running since .* (0:05:12, 0.94 km, 889 steps)$' "$gk_tmp/status-run.txt"
# watch counts on from DurationMs too, not from StartTimeMs: the driver's start
# (2023-11-14) stands for a wall clock stepped since the start (NTP on a
# Raspberry Pi), where the header said years while status said 0:05:12.
"$GAITCTL" watch --duration 1 > "$gk_tmp/watch-dur.txt" 2>&1
gk_check "watch: a running session's duration from DurationMs, not the wall clock" \
	grep -q '^gaitkeeper gym  session running 0:05:1[2-4], 0.94 km, 889 steps ' \
	"$gk_tmp/watch-dur.txt"
send "progress 312000 - 889"
"$GAITCTL" status > "$gk_tmp/status-run.txt"
gk_check "status: no distance without a speed source (NaN)" \
	grep -q '^Session:  running since .* (0:05:12, 889 steps)$' "$gk_tmp/status-run.txt"
"$GAITCTL" session start --json > "$gk_tmp/again.json" 2> "$gk_tmp/again.err"
rc=$?
gk_check "session start twice: exit 1, JSON error AlreadyRunning" \
	bash -c "[ $rc -eq 1 ] && grep -q '\"error\":\"io.gaitkeeper.Gaitkeeper1.Error.AlreadyRunning\"' '$gk_tmp/again.json'"
gk_check "pain: no --where leaves the location to the daemon (PainWhere)" \
	bash -c "'$GAITCTL' pain 3 > /dev/null && grep -qx 'call PAIN 3 ' '$gk_tmp/driver.out'"
gk_check "pain --where knee --json" \
	bash -c "'$GAITCTL' pain 4 --where knee --json | grep -qx '{\"ok\":true}'"
"$GAITCTL" pain 11 > /dev/null 2> "$gk_tmp/p11.err"
rc=$?
gk_check "pain 11: exit 65 with the service's message (got $rc)" \
	bash -c "[ $rc -eq 65 ] && grep -q 'out of range 0-10' '$gk_tmp/p11.err'"
"$GAITCTL" pain 2 --where elbow > /dev/null 2> "$gk_tmp/elbow.err"
gk_check "pain --where elbow: exit 65" test $? -eq 65
# A Latin-1 location cannot go on the bus at all: bad input as well (was exit 1)
"$GAITCTL" pain 2 --where $'kn\xe9e' > /dev/null 2> "$gk_tmp/latin1.err"
rc=$?
gk_check "pain --where 'kn\\xe9e' (not UTF-8): exit 65, says so (got $rc)" \
	bash -c "[ $rc -eq 65 ] && grep -q 'not valid UTF-8' '$gk_tmp/latin1.err'"
"$GAITCTL" pain -1 > /dev/null 2>&1
gk_check "pain -1: usage error 64" test $? -eq 64
"$GAITCTL" summary --json > "$gk_tmp/sum.json"
gk_check "summary --json: the running session's document" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(not (s["running"] is True and [p["where"] for p in s["pain"]] == ["", "knee"]))' \
	"$gk_tmp/sum.json"
"$GAITCTL" summary --last > /dev/null 2> "$gk_tmp/nolast.err"
gk_check "summary --last before any ended: NotFound message" grep -q 'No such session summary' "$gk_tmp/nolast.err"

# ---- watch --json: signals and property changes, in order ------------------------------
"$GAITCTL" watch --json --count 2 > "$gk_tmp/watch.jsonl" 2>&1 &
wpid=$!
gk_wait_for 5 grep -q '"event":"state"' "$gk_tmp/watch.jsonl"
send "live 1 cadence_spm=170.04:good gct_ms=-:none trunk_lean_deg=8.5:low braking_mps=0.51237"
send "raise 7 overstriding warning cadence_spm 150.1284964 160 Shorter steps"
send "sensor pod-1 footpod streaming 1 50 -70"
send "progress 320000 950.2 912"
send "sensor chest polar-h10 streaming 1 85 -60 mount=chest lost=9 gyro_lost=4"
send "remove chest"
sleep 0.3
send "live 2 cadence_spm=171:good"
gk_wait_for 5 bash -c "! kill -0 $wpid 2>/dev/null"
wait "$wpid"
gk_check "watch --count 2 exits 0 after two live frames" test $? -eq 0
gk_check "watch --json: live and alert (values with their metric's decimals), sensor events as documented" python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
kinds = [e["event"] for e in ev]
live = [e for e in ev if e["event"] == "live"]
alert = [e for e in ev if e["event"] == "alert_raised"]
sensor = [e for e in ev if e["event"] == "sensor" and e["alias"] == "pod-1"]
chest = [e for e in ev if e["event"] == "sensor" and e["alias"] == "chest"]
ok = (kinds[0] == "state" and len(live) == 2
      and live[0]["metrics"] == {"cadence_spm": 170.0, "trunk_lean_deg": 8.5, "braking_mps": 0.512}
      and live[0]["quality"] == {"cadence_spm": "good", "gct_ms": "none", "trunk_lean_deg": "low"}
      and live[0]["seq"] == 1 and live[1]["seq"] == 2
      and len(alert) == 1 and alert[0]["id"] == 7 and alert[0]["cue"] == "Shorter steps"
      and alert[0]["value"] == 150.1 and alert[0]["threshold"] == 160
      and sensor and sensor[-1]["available"] is True and sensor[-1]["battery_pct"] == 50
      and chest and chest[-1]["imu_frames_lost"] == 9
      and chest[-1]["imu_gyro_frames_lost"] == 4)
sys.exit(not ok)' "$gk_tmp/watch.jsonl"
# The session's progress too (before, no line told a session start, duration or steps)
gk_check "watch --json: a session event with the session's properties after a change" \
	python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
s = [e for e in ev if e["event"] == "session"]
sys.exit(not (s and s[-1]["state"] == "running" and s[-1]["steps"] == 912
              and s[-1]["duration_ms"] == 320000 and s[-1]["distance_m"] == 950.2
              and s[-1]["metrics"] == {"cadence_spm": 170.0, "trunk_lean_deg": 8.5,
                                       "braking_mps": 0.512}))' "$gk_tmp/watch.jsonl"
"$GAITCTL" sensors --json > "$gk_tmp/sensors2.json"
gk_check "removed sensor is gone (InterfacesRemoved)" python3 -c '
import json, sys
sys.exit([s["alias"] for s in json.load(open(sys.argv[1]))] != ["pod-1"])' "$gk_tmp/sensors2.json"
"$GAITCTL" status --json > "$gk_tmp/status2.json"
gk_check "status --json: ActiveAlerts as named objects (value rounded as on MQTT), Metrics kept" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["session"]
a = s["active_alerts"]
ok = (len(a) == 1 and a[0]["kind"] == "overstriding" and a[0]["value"] == 150.1
      and s["metrics"] == {"cadence_spm": 171})
sys.exit(not ok)' "$gk_tmp/status2.json"

# Raising an active id again updates it in place (no second row).
send "raise 7 overstriding critical cadence_spm 140 160 Shorter steps now"
"$GAITCTL" status --json > "$gk_tmp/status-upd.json"
gk_check "AlertRaised for an active id updates its ActiveAlerts row" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["session"]["active_alerts"]
sys.exit(not (len(a) == 1 and a[0]["value"] == 140 and a[0]["severity"] == "critical"))' \
	"$gk_tmp/status-upd.json"
send "raise 8 pain warning pain_level 5 4 Listen to your body"
send "clear 8 pain warning pain_level 5 4"
"$GAITCTL" status --json > "$gk_tmp/status-clr.json"
gk_check "AlertCleared drops only its id" python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))["session"]["active_alerts"]
sys.exit([x["id"] for x in a] != [7])' "$gk_tmp/status-clr.json"

# ---- watch (text): a frame with metrics, units and the alert ---------------------------
send "sensor hip polar-verity-sense streaming 1 80 -55 mount=waist"
"$GAITCTL" watch --count 1 > "$gk_tmp/watch.txt" 2>&1 &
wpid=$!
sleep 0.5
send "raise 9 pain warning pain_level 6 4 Listen to your body"
send "clear 9 pain warning pain_level 6 4 Listen to your body"
send "live 3 cadence_spm=172.4:good vertical_oscillation_mm=81:good braking_mps=0.5124:good vertical_ratio_pct=8.24:good trunk_lean_deg=3.14:good lateral_sway_pct=-0.04:good"
gk_wait_for 5 bash -c "! kill -0 $wpid 2>/dev/null"
gk_check "watch: metric with its unit" grep -q 'cadence  *172.4 spm  good' "$gk_tmp/watch.txt"
gk_check "watch: vertical oscillation in mm" grep -q 'vertical oscillation  *81.0 mm' "$gk_tmp/watch.txt"
gk_check "watch: braking as the form core prints it, in m/s" \
	grep -q 'braking  *0.512 m/s  good' "$gk_tmp/watch.txt"
gk_check "watch: the only IMU is worn on the waist, so trunk_lean_deg is pelvic tilt" \
	grep -q 'pelvic tilt  *3.1 deg  good' "$gk_tmp/watch.txt"
gk_check "watch: what rounds to zero reads 0.0, not -0.0" grep -q 'lateral sway  *0.0 %  *good' "$gk_tmp/watch.txt"
gk_check "watch: vertical ratio in %" grep -q 'vertical ratio  *8.2 %  *good' "$gk_tmp/watch.txt"
gk_check "watch: active alert listed, value and limit as the metric prints" \
	grep -q 'critical *overstriding *cadence 140.0 spm, limit 160.0 (Shorter steps now)' \
	"$gk_tmp/watch.txt"
sed "s/^/# /" "$gk_tmp/watch.txt" | tail -5
gk_check "watch: recent alert events in the same words" bash -c "
	grep -Eq '^  [0-9:]{8} RAISED  warning pain pain 6/10, limit 4: Listen to your body' '$gk_tmp/watch.txt' &&
	grep -Eq '^  [0-9:]{8} cleared warning pain pain 6/10, limit 4: Listen to your body' '$gk_tmp/watch.txt'"
gk_check "watch: before the first live frame, a bare heading (no clock, no seq)" bash -c "
	grep -q '^Live$' '$gk_tmp/watch.txt' && ! grep -q 'seq )' '$gk_tmp/watch.txt'"
gk_check "watch: not a terminal, so no escape sequences" bash -c "! grep -q $'\e' '$gk_tmp/watch.txt'"
send "remove hip"

# ---- dbus-api push-call contracts ---------------------------------------------------------
send "live 4 cadence_spm=1 cadence_spm=2"
r=$answer
gk_check "dbus_api_emit_live: duplicate name -> EINVAL ($r)" test "$r" = "error live: Invalid argument"
long=$(printf 'x%.0s' $(seq 70))
send "sensor $long footpod idle 0 - -"
r=$answer
gk_check "dbus_api_sensor_update: alias over 64 bytes -> EINVAL" test "$r" = "error sensor: Invalid argument"
# The cap is GK_MAX_SENSORS (daemon/limits.h); pod-1 is the first.
max=$(sed -n 's/^#define GK_MAX_SENSORS \([0-9]*\)u.*/\1/p' daemon/limits.h)
for i in $(seq 2 "$max"); do send "sensor s$i footpod idle 0 - -"; done
gk_check "sensors up to the cap of $max are accepted" test "$answer" = "ok sensor"
send "sensor one-too-many footpod idle 0 - -"
r=$answer
gk_check "dbus_api_sensor_update: sensor $((max + 1)) -> ENOSPC ($r)" test "$r" = "error sensor: No space left on device"
send "remove nosuch"
r=$answer
gk_check "dbus_api_sensor_remove: unknown -> ENOENT" test "$r" = "error remove: No such file or directory"

gk_check "session stop" bash -c "'$GAITCTL' session stop | grep -qx 'Session stopped.'"
"$GAITCTL" summary --last > "$gk_tmp/last.txt"
gk_check "summary --last (text): key: value lines" grep -q '^running: false' "$gk_tmp/last.txt"
"$GAITCTL" status --json > "$gk_tmp/status3.json"
gk_check "SessionEnded empties ActiveAlerts and Metrics" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["session"]
sys.exit(not (s["active_alerts"] == [] and s["metrics"] == {} and s["state"] == "idle"))' "$gk_tmp/status3.json"
"$GAITCTL" session stop > /dev/null 2>&1
gk_check "session stop without a session: exit 1" test $? -eq 1

# ---- watch across a restart of gaitkeeperd: it waits, then reads it afresh -------------
"$GAITCTL" watch --json --duration 30 > "$gk_tmp/restart.jsonl" 2>&1 &
wj=$!
"$GAITCTL" watch --duration 30 > "$gk_tmp/restart.txt" 2>&1 &
wt=$!
gk_wait_for 5 grep -q '"event":"state"' "$gk_tmp/restart.jsonl"
gk_wait_for 5 grep -q '^Live' "$gk_tmp/restart.txt"
echo quit >&3
gk_check "watch --json: gaitkeeperd left the bus: a daemon event, running false" gk_wait_for 5 \
	grep -q '{ *"running": *false, *"event": *"daemon" *}' "$gk_tmp/restart.jsonl"
gk_check "watch: the view says it is waiting" gk_wait_for 5 \
	grep -q 'gaitkeeperd is not running (not on the bus since [0-9:]*); waiting' "$gk_tmp/restart.txt"
sleep 1
gk_check "watch (text and --json) still running without it" kill -0 "$wj" "$wt"
"$GAITCTL" watch --json > /dev/null 2>&1
gk_check "watch started without gaitkeeperd: exit 69" test $? -eq 69
"$GAITCTL" watch --json --wait --duration 30 > "$gk_tmp/wait.jsonl" 2>&1 &
ww=$!
gk_check "watch --wait started without gaitkeeperd: a daemon event, running false" \
	gk_wait_for 5 grep -q '{ *"running": *false, *"event": *"daemon" *}' "$gk_tmp/wait.jsonl"
exec 3>&-
mkfifo "$gk_tmp/in2"
exec 3<> "$gk_tmp/in2"
"$DRIVER" <&3 > "$gk_tmp/driver2.out" 2>&1 &
gk_pids+=($!)
gk_wait_for 10 grep -q '^ready' "$gk_tmp/driver2.out"
echo "gateway gym2 running 1 1 1 1/1 sensors streaming" >&3
gk_wait_for 5 grep -q '^ok gateway' "$gk_tmp/driver2.out"
echo "live 5 cadence_spm=171.5:good" >&3
gk_check "watch --json: back: running true, the new daemon's state, then its live frames" \
	gk_wait_for 10 python3 -c '
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
i = next(k for k, e in enumerate(ev) if e.get("event") == "daemon" and e["running"])
st = next(e for e in ev[i:] if e["event"] == "state")
# the node as the new daemon set it after taking the name: state, or a gateway change
node = [e["gateway"]["node"] if e["event"] == "state" else e.get("node")
        for e in ev[i:] if e["event"] in ("state", "gateway")]
lv = [e for e in ev[i:] if e["event"] == "live"]
sys.exit(not (st and node[-1] == "gym2" and lv and lv[-1]["seq"] == 5))' \
	"$gk_tmp/restart.jsonl"
gk_check "watch: the view is back with the new daemon's metrics" gk_wait_for 10 \
	grep -q 'cadence  *171.5 spm' "$gk_tmp/restart.txt"
gk_check "watch --wait: then the state and the live frames of the daemon that came" \
	gk_wait_for 10 python3 -c '
import json, sys
ev = [json.loads(l)["event"] for l in open(sys.argv[1]) if l.startswith("{")]
sys.exit(not (ev[0] == "daemon" and "state" in ev and "live" in ev))' "$gk_tmp/wait.jsonl"
kill "$wj" "$wt" "$ww" 2>/dev/null

echo quit >&3
gk_done
