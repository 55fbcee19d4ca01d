#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Lost IMU notifications end to end: private dbus-daemon, bluez-sim with a Polar
# H10 (chest) and an FTMS treadmill at 3 m/s, mosquitto. A session runs while
# the simulator drops 5 % of the H10's PMD frames (SetFrameLoss), as a congested
# link loses them; the sensor clock runs on, so the daemon's samples have holes.
# The session summary says how much was lost (imu_holes, imu_lost_s, agreeing
# with the frames the simulator dropped) and counts the steps the holes took
# (steps_estimated), cadence and contact time are still measured, `gaitctl
# report` prints the loss, and sensor/<id>/state and the D-Bus Sensor property
# ImuFramesLost count every dropped frame. A Polar Verity
# Sense (hip, gyro on; standing by, the H10 feeds the form core) loses 5 % of
# its ACC and gyro frames alike: imu_frames_lost / ImuFramesLost count its ACC
# frames and imu_gyro_frames_lost / ImuGyroFramesLost its gyro frames, each
# the simulator's own count. Then both IMUs fall silent for a while in a second
# session: the belt runs on, and the steps are counted from the held cadence.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

GAITCTL=$GK_BUILD/gaitctl
gk_require_built "$GKD" "$SIM" "$GAITCTL"

gkd_need dbus mosquitto

H10=A0:9E:1A:00:00:01
BELT=E4:5F:01:00:00:03
VS=A0:9E:1A:00:00:02
gkd_start_sim --loop --speed-mps 3.0 \
	--device "polar-h10,$H10,Polar H10 LOSS" \
	--device "polar-verity-sense,$VS,Polar Sense LOSS" \
	--device "treadmill,$BELT,LOSS Treadmill"

cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<EOF
node = "loss";
log_level = "debug";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; };
form = { auto_session = false; imu_sensor = "chest"; };
sensors = (
  { alias = "chest"; kind = "polar-h10"; address = "$H10"; },
  { alias = "hip"; kind = "polar-verity-sense"; address = "$VS"; gyro = true; },
  { alias = "belt"; kind = "treadmill"; address = "$BELT"; }
);
EOF

gkd_subscribe loss
gkd_start_notify
pub() { gkd_pub loss "$@"; }
# sim_lost [ADDRESS [KEY]]: the simulator's count of dropped PMD frames
# (GetStats KEY, default frames_lost: ACC and gyro) of ADDRESS (default the H10).
sim_lost() {
	sim_call GetStats s "${1:-$H10}" | python3 -c '
import re, sys
m = re.search(r"\"%s\" t (\d+)" % sys.argv[1], sys.stdin.read())
print(m.group(1) if m else -1)' "${2:-frames_lost}"
}
frames_lost() { sim_lost "$H10"; }

start_daemon
gk_check "daemon READY" gk_wait_for 5 grep -q 'READY=1' "$notify_log"
gk_check "chest strap and treadmill stream" gk_wait_for 40 bash -c \
	"grep -q \"Sensor 'chest' is streaming\" '$dlog' && grep -q \"Sensor 'belt' is streaming\" '$dlog'"
gk_check "Verity Sense streams" gk_wait_for 20 grep -q "Sensor 'hip' is streaming" "$dlog"
refused() { ! sim_call SetFrameLoss su "$H10" 1001 2> "$gk_tmp/refused.err"; }
gk_check "SetFrameLoss over 1000 per mille refused" refused

pub cmd/session/start '{"request_id":"loss"}'
gk_check "session started" gk_wait_for 10 grep -q '"request_id":"loss","ok":true' "$sub_log"
sleep 3
lost0=$(frames_lost)
sim_call SetFrameLoss su "$H10" 50
sim_call SetFrameLoss su "$VS" 50
sleep 30
sim_call SetFrameLoss su "$H10" 0
sim_call SetFrameLoss su "$VS" 0
lost1=$(frames_lost)
sleep 3
lost=$(( lost1 - lost0 ))
gk_check "the simulator dropped H10 frames ($lost)" test "$lost" -ge 5
pub cmd/session/stop '{"request_id":"loss-stop"}'
gk_check "session summary published" gk_wait_for 10 \
	grep -q ' gaitkeeper/loss/session/summary ' "$sub_log"
grep -F ' gaitkeeper/loss/session/summary ' "$sub_log" | tail -1 | cut -d' ' -f3- \
	> "$gk_tmp/summary.json"

# A lost H10 frame is 36 samples at 200 Hz (180 ms); adjacent losses make one
# longer hole, so holes <= frames and the time lost is the frames' time less
# one sample period per hole.
gk_check "summary imu_holes and imu_lost_s match the $lost dropped frames" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
lost = int(sys.argv[2])
holes, lost_s = s["imu_holes"], s["imu_lost_s"]
want = lost * 0.18
print("# imu_holes %d, imu_lost_s %.1f, frames %d (%.1f s)" % (holes, lost_s, lost, want))
sys.exit(0 if 1 <= holes <= lost and abs(lost_s - want) <= 0.2 + 0.01 * holes else 1)' \
	"$gk_tmp/summary.json" "$lost"
# A 180 ms hole can take at most one contact at these cadences (>= 300 ms a
# step); those taken are counted from the step time around them, so the
# session's steps stay what its duration and cadence say (within 4 %; the 7 or
# so a run's holes take are 6-7 % of its steps).
gk_check "steps in the holes counted: 1..$lost estimated, steps = duration x cadence" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
lost = int(sys.argv[2])
est, n = s["steps_estimated"], s["steps"]
want = s["running_s"] * s["metrics"]["cadence_spm"]["median"] / 60
print("# steps %d (%d estimated), running %.1f s x cadence: %.0f" % (n, est, s["running_s"], want))
sys.exit(0 if 1 <= est <= lost and abs(n - want) <= 0.04 * want else 1)' \
	"$gk_tmp/summary.json" "$lost"
gk_check "cadence and contact time still measured (median, from the steps between holes)" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["summary"]["metrics"]
c, g = m["cadence_spm"]["median"], m["gct_ms"]["median"]
print("# cadence %s spm, gct %s ms" % (c, g))
sys.exit(0 if c and 140 <= c <= 200 and g and 150 <= g <= 350 else 1)' "$gk_tmp/summary.json"
# state_key ALIAS KEY: KEY of the last sensor/ALIAS/state, as JSON ("missing" if absent).
state_key() {
	grep -F " gaitkeeper/loss/sensor/$1/state " "$sub_log" | tail -1 | cut -d' ' -f3- |
		python3 -c 'import json, sys
print(json.dumps(json.loads(sys.stdin.read() or "{}").get(sys.argv[1], "missing")))' "$2"
}
# bus_prop ALIAS PROPERTY: a property of the sensor's D-Bus object ("t 3").
bus_prop() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property io.gaitkeeper.Gaitkeeper1 \
		"/io/gaitkeeper/Gaitkeeper1/sensor/$1" io.gaitkeeper.Gaitkeeper1.Sensor \
		"$2" 2> /dev/null
}
# sensor/<id>/state: the chest strap counts every frame the simulator dropped
# (from the gaps in the frames' timestamps); the belt has no IMU.
state_frames_lost() { state_key "$1" imu_frames_lost; }
chest_frames_lost_is() { [ "$(state_frames_lost chest)" = "$1" ]; }
total=$(frames_lost)
gk_check "sensor/chest/state imu_frames_lost is the simulator's $total" \
	gk_wait_for 5 chest_frames_lost_is "$total"
gk_check "sensor/belt/state imu_frames_lost is null" test "$(state_frames_lost belt)" = null
# D-Bus: the Sensor object's ImuFramesLost is the same count; 0 for the belt.
bus_frames_lost() { bus_prop "$1" ImuFramesLost; }
chest_bus_frames_lost_is() { [ "$(bus_frames_lost chest)" = "t $1" ]; }
gk_check "D-Bus chest ImuFramesLost is the simulator's $total" \
	gk_wait_for 5 chest_bus_frames_lost_is "$total"
gk_check "D-Bus belt ImuFramesLost is 0 (no IMU)" test "$(bus_frames_lost belt)" = "t 0"

# The Verity Sense: its ACC and gyro streams each lost frames, counted apart.
# (Its drops began at its first frame after SetFrameLoss; none before.)
vs_gyro=$(sim_lost "$VS" gyro_frames_lost)
vs_acc=$(( $(sim_lost "$VS") - vs_gyro ))
gk_check "the simulator dropped Verity ACC ($vs_acc) and gyro ($vs_gyro) frames" \
	test "$vs_acc" -ge 1 -a "$vs_gyro" -ge 1
state_key_is() { [ "$(state_key "$1" "$2")" = "$3" ]; }
gk_check "sensor/hip/state imu_gyro_frames_lost is the simulator's $vs_gyro" \
	gk_wait_for 5 state_key_is hip imu_gyro_frames_lost "$vs_gyro"
gk_check "sensor/hip/state imu_frames_lost is the simulator's $vs_acc (ACC only)" \
	gk_wait_for 5 state_key_is hip imu_frames_lost "$vs_acc"
gk_check "sensor/chest/state imu_gyro_frames_lost is 0 (an H10 has no gyro)" \
	state_key_is chest imu_gyro_frames_lost 0
gk_check "sensor/belt/state imu_gyro_frames_lost is null" \
	state_key_is belt imu_gyro_frames_lost null
bus_prop_is() { [ "$(bus_prop "$1" "$2")" = "t $3" ]; }
gk_check "D-Bus hip ImuGyroFramesLost is the simulator's $vs_gyro" \
	gk_wait_for 5 bus_prop_is hip ImuGyroFramesLost "$vs_gyro"
gk_check "D-Bus hip ImuFramesLost is the simulator's $vs_acc" \
	bus_prop_is hip ImuFramesLost "$vs_acc"
gk_check "D-Bus chest and belt ImuGyroFramesLost are 0" \
	bash -c '[ "$1" = "t 0" ] && [ "$2" = "t 0" ]' _ \
	"$(bus_prop chest ImuGyroFramesLost)" "$(bus_prop belt ImuGyroFramesLost)"
"$GAITCTL" report "$gk_tmp/summary.json" > "$gk_tmp/report.txt" 2>&1
gk_check "gaitctl report prints the loss" grep -q '^  IMU data lost: .* s in .* hole' \
	"$gk_tmp/report.txt"

# ---- an IMU dropout on the treadmill: the belt runs on, so do the steps ------
# Both IMUs fall silent for 8 s (no failover); the data watchdog takes them
# down and they reconnect. With no footpod, the steps of the dropout come from
# the IMU's cadence held while the belt keeps its 3 m/s (steps_estimated);
# before, they were lost (about 25 % of this session's).
pub cmd/session/start '{"request_id":"drop"}'
gk_check "second session started" gk_wait_for 10 grep -q '"request_id":"drop","ok":true' "$sub_log"
sleep 12
sim_call SetSilent sb "$H10" true
sim_call SetSilent sb "$VS" true
gk_check "chest strap flagged when silent" gk_wait_for 10 \
	grep -q "Sensor 'chest' is unavailable" "$dlog"
sleep 6
sim_call SetSilent sb "$H10" false
sim_call SetSilent sb "$VS" false
chest_back() { [ "$(grep -c "Sensor 'chest' is streaming" "$dlog")" -ge 2 ]; }
gk_check "chest strap streams again" gk_wait_for 30 chest_back
sleep 6
pub cmd/session/stop '{"request_id":"drop-stop"}'
two_summaries() { [ "$(grep -cF ' gaitkeeper/loss/session/summary ' "$sub_log")" -ge 2 ]; }
gk_check "second session summary published" gk_wait_for 10 two_summaries
grep -F ' gaitkeeper/loss/session/summary ' "$sub_log" | tail -1 | cut -d' ' -f3- \
	> "$gk_tmp/summary-drop.json"
gk_check "dropout steps counted from the held cadence: steps = duration x cadence" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
est, n = s["steps_estimated"], s["steps"]
want = s["running_s"] * s["metrics"]["cadence_spm"]["median"] / 60
print("# steps %d (%d estimated), running %.1f s x cadence: %.0f" % (n, est, s["running_s"], want))
sys.exit(0 if est >= 15 and abs(n - want) <= 0.06 * want else 1)' "$gk_tmp/summary-drop.json"

kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
