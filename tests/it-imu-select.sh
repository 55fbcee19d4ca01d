#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Which IMU sensor feeds the form core, end to end: private dbus-daemon,
# bluez-sim with a Polar H10 (chest, listed first) and a Verity Sense (sacrum),
# mosquitto. The sacrum clip is preferred by mount; when it vanishes mid-session
# the form core fails over to the chest strap after form.imu_failover_s, and
# returns once the clip streams steadily again. Each switch is logged, on
# gateway/state (form_sensor) and on D-Bus (FormSensor); the session carries on.
# Then form.imu_sensor pins the chest strap, and bad values are refused.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

gk_require_built "$GKD" "$SIM"

gkd_need dbus mosquitto

H10=A0:9E:1A:00:00:01
VS=A0:9E:1A:00:00:02
POD=C8:FD:19:00:00:03
FAILOVER_S=4
gkd_start_sim --loop --speed-mps 3.0 \
	--device "polar-h10,$H10,Polar H10 IMU" \
	--device "polar-verity-sense,$VS,Polar Sense IMU" \
	--device "footpod,$POD,Stryd IMU"

cfg=$gk_tmp/gaitkeeper.conf
# write_config [EXTRA FORM KEYS]: the chest strap is listed before the sacrum clip.
write_config() {
	cat > "$cfg" <<EOF
node = "imu";
log_level = "debug";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; };
form = { auto_session = false; imu_failover_s = $FAILOVER_S; $1 };
sensors = (
  { alias = "chest"; kind = "polar-h10"; address = "$H10"; },
  { alias = "sacrum"; kind = "polar-verity-sense"; address = "$VS"; mount = "sacrum"; },
  { alias = "pod"; kind = "footpod"; address = "$POD"; }
);
EOF
}
write_config

LEAN_HA=homeassistant/sensor/gaitkeeper_imu/run_trunk_lean_deg/config
gkd_subscribe imu -t "$LEAN_HA"
gkd_start_notify

pub() { gkd_pub imu "$@"; }
form_sensor_prop() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property io.gaitkeeper.Gaitkeeper1 \
		/io/gaitkeeper/Gaitkeeper1 io.gaitkeeper.Gaitkeeper1 FormSensor
}
prop_is() { [ "$(form_sensor_prop)" = "s \"$1\"" ]; }
# gw_form_sensor: form_sensor of the newest gateway/state ("null" when none yet).
gw_form_sensor() {
	grep -F ' gaitkeeper/imu/gateway/state ' "$sub_log" | tail -1 | cut -d' ' -f3- |
		python3 -c 'import json,sys; print(json.loads(sys.stdin.read() or "{}").get("form_sensor", "null"))'
}
gw_is() { [ "$(gw_form_sensor)" = "$1" ]; }
# epoch_ms_of_gw ALIAS: ts of the first gateway/state naming ALIAS after line $2 of the log.
gw_ts_after() {
	tail -n +"$2" "$sub_log" | grep -F ' gaitkeeper/imu/gateway/state ' |
		python3 -c '
import json, sys
for line in sys.stdin:
    p = json.loads(line.split(" ", 2)[2])
    if p.get("form_sensor") == sys.argv[1]:
        print(p["ts"]); break' "$1"
}
# lean_name_is NAME: the newest Home Assistant config of run_trunk_lean_deg names it NAME
# (pelvic tilt on the sacrum clip, trunk lean on the chest strap).
lean_name_is() {
	grep -F " $LEAN_HA " "$sub_log" | tail -1 | cut -d' ' -f3- |
		python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.stdin.read() or "{}").get("name") == sys.argv[1] else 1)' "$1"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
lines() { wc -l < "$sub_log"; }
# live_imu_after LINE: a run/live after LINE of the log has a ground contact time,
# which only IMU steps give (cadence may come from the footpod). The step window
# is emptied on a switch, so after one it comes from the new sensor.
live_imu_after() {
	tail -n +"$1" "$sub_log" | grep -F ' gaitkeeper/imu/run/live ' |
		python3 -c '
import json, sys
sys.exit(0 if any(json.loads(l.split(" ", 2)[2]).get("gct_ms") is not None
                  for l in sys.stdin) else 1)'
}

# ---- start: the sacrum clip is preferred although listed second -------------
start_daemon
gk_check "daemon READY" gk_wait_for 5 grep -q 'READY=1' "$notify_log"
gk_check "start-up log names the sacrum clip, chosen by mount" grep -q \
	"Form core fed by IMU sensor 'sacrum' (sacrum, preferred by mount)" "$dlog"
gk_check "D-Bus FormSensor is 'sacrum'" gk_wait_for 5 prop_is sacrum
gk_check "gateway/state form_sensor is sacrum" gk_wait_for 15 gw_is sacrum
gk_check "Home Assistant entity named 'Pelvic tilt' for the sacrum clip" \
	gk_wait_for 10 lean_name_is "Pelvic tilt"
gk_check "both IMU sensors stream" gk_wait_for 40 bash -c \
	"grep -q \"Sensor 'chest' is streaming\" '$dlog' && grep -q \"Sensor 'sacrum' is streaming\" '$dlog'"

pub cmd/session/start '{"request_id":"imu"}'
gk_check "session started" gk_wait_for 10 grep -q '"request_id":"imu","ok":true' "$sub_log"
gk_check "run/live has IMU metrics from the sacrum clip" gk_wait_for 30 live_imu_after 1
sleep 2
gk_check "no switch while the preferred sensor streams" \
	test "$(grep -c 'form core now fed by\|form core fed by it again' "$dlog")" -eq 0

# ---- the sacrum clip vanishes: fail-over to the chest strap ---------------------
mark=$(lines)
vanish_ms=$(now_ms)
sim_call SetAdvertising sb "$VS" false
gk_check "sacrum clip gone (unavailable)" gk_wait_for 15 \
	grep -q "Sensor 'sacrum' is unavailable" "$dlog"
gk_check "fail-over logged" gk_wait_for 20 grep -q \
	"IMU sensor 'sacrum' sent no data for $FAILOVER_S s: form core now fed by 'chest' (chest)" \
	"$dlog"
gk_check "gateway/state form_sensor is chest" gk_wait_for 5 gw_is chest
gk_check "D-Bus FormSensor is 'chest'" gk_wait_for 5 prop_is chest
gk_check "Home Assistant entity renamed 'Trunk lean' for the chest strap" \
	gk_wait_for 5 lean_name_is "Trunk lean"
switch_ms=$(gw_ts_after chest "$mark")
delay_ms=$(( ${switch_ms:-0} - vanish_ms ))
# Not before the sacrum data stopped for FAILOVER_S (its last frame may be up to 1 s
# older than the vanish), and not much later than FAILOVER_S + a 1 s tick (load margin).
gk_check "fail-over after ${delay_ms} ms (>= $((FAILOVER_S - 1)) s, <= $((FAILOVER_S + 8)) s)" \
	test "$delay_ms" -ge $(( (FAILOVER_S - 1) * 1000 )) -a "$delay_ms" -le $(( (FAILOVER_S + 8) * 1000 ))
gk_check "form core fed by the chest strap: run/live has IMU metrics again" \
	gk_wait_for 30 live_imu_after "$(( $(lines) + 1 ))"
gk_check "the session kept running through the switch" \
	test "$(grep -c ' gaitkeeper/imu/session/summary ' "$sub_log")" -eq 0

# ---- it comes back: return once it streamed steadily for FAILOVER_S ----------------
mark=$(lines)
sim_call SetAdvertising sb "$VS" true
gk_check "sacrum clip streams again" gk_wait_for 40 bash -c \
	"[ \$(grep -c \"Sensor 'sacrum' is streaming\" '$dlog') -ge 2 ]"
back_ms=$(now_ms)
gk_check "return logged" gk_wait_for 20 grep -q \
	"IMU sensor 'sacrum' (sacrum) streamed steadily for $FAILOVER_S s: form core fed by it again instead of 'chest'" \
	"$dlog"
gk_check "gateway/state form_sensor is sacrum again" gk_wait_for 5 gw_is sacrum
gk_check "D-Bus FormSensor is 'sacrum' again" gk_wait_for 5 prop_is sacrum
gk_check "Home Assistant entity named 'Pelvic tilt' again" \
	gk_wait_for 5 lean_name_is "Pelvic tilt"
return_ms=$(gw_ts_after sacrum "$mark")
rdelay_ms=$(( ${return_ms:-0} - back_ms ))
# back_ms is when the test saw "streaming" (the first data came a little before).
gk_check "return ${rdelay_ms} ms after it streamed again (>= $((FAILOVER_S - 2)) s)" \
	test "$rdelay_ms" -ge $(( (FAILOVER_S - 2) * 1000 ))
gk_check "run/live has IMU metrics from the sacrum clip again" \
	gk_wait_for 30 live_imu_after "$(( $(lines) + 1 ))"
gk_check "exactly two switches" \
	test "$(grep -c 'form core now fed by\|form core fed by it again' "$dlog")" -eq 2

failover_ts=$(gw_ts_after chest 1)
pub cmd/session/stop '{"request_id":"imu-stop"}'
summaries() { [ "$(grep -c ' gaitkeeper/imu/session/summary ' "$sub_log")" -eq "$1" ]; }
gk_check "one session over both sensors: one summary" gk_wait_for 10 summaries 1
# summary_spans T1 T2: it began before T1, ended after T2 (epoch ms), counted steps
# and its duration is the whole span.
summary_spans() {
	grep -F ' gaitkeeper/imu/session/summary ' "$sub_log" | tail -1 | cut -d' ' -f3- |
		python3 -c '
import json, sys
s = json.loads(sys.stdin.read())
t1, t2 = int(sys.argv[1]), int(sys.argv[2])
span = (s["ended_ts"] - s["started_ts"]) / 1000
ok = (s["started_ts"] < t1 and s["ended_ts"] > t2 and s["steps"] > 0 and
      abs(s["duration_s"] - span) < 2)
print("summary: %.1f s over %.1f s, %d steps" % (s["duration_s"], span, s["steps"]),
      file=sys.stderr)
sys.exit(0 if ok else 1)' "$1" "$2"
}
gk_check "its summary spans the fail-over and the return" \
	summary_spans "${failover_ts:-0}" "${return_ms:-0}"

kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"

# ---- form.imu_sensor pins the chest strap ---------------------------------------
write_config 'imu_sensor = "chest";'
: > "$notify_log"
start_daemon
gk_check "restarted daemon READY" gk_wait_for 5 grep -q 'READY=1' "$notify_log"
gk_check "form.imu_sensor names the chest strap" grep -q \
	"Form core fed by IMU sensor 'chest' (chest, form.imu_sensor)" "$dlog"
gk_check "D-Bus FormSensor is 'chest'" gk_wait_for 5 prop_is chest
gk_check "Home Assistant entity renamed 'Trunk lean' for the chest strap" \
	gk_wait_for 5 lean_name_is "Trunk lean"
kill -TERM "$GKD_PID"
wait "$GKD_PID"

# ---- bad values: a clear error, no start ---------------------------------------
# refused TEXT: --check-config fails and names the problem.
refused() {
	local out rc
	out=$("$GKD" --check-config "$cfg" 2>&1)
	rc=$?
	[ "$rc" -ne 0 ] && grep -qF "$1" <<< "$out"
}
write_config 'imu_sensor = "pod";'
gk_check "form.imu_sensor naming a footpod refused" \
	refused "form.imu_sensor: 'pod' is a footpod, which has no IMU"
write_config 'imu_sensor = "ankle";'
gk_check "form.imu_sensor naming no sensor refused" \
	refused "form.imu_sensor: no sensor has the alias 'ankle'"
FAILOVER_S=1
write_config
gk_check "form.imu_failover_s = 1 refused" refused "form.imu_failover_s: 1 s is too short"
FAILOVER_S=0
write_config
accepted() { "$GKD" --check-config "$cfg" > /dev/null 2>&1; }
gk_check "form.imu_failover_s = 0 (never switch) accepted" accepted

gk_done
