#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A treadmill's belt speed wins over a footpod's only while the belt sends
# it: when the treadmill goes quiet (switched off, out of range) the
# footpod's speed is the session's again. Before, one belt speed was enough
# to ignore the footpod's for the rest of the daemon's life: live speed_mps,
# step_length_m and the distance stayed null. Also the treadmill's heart rate
# is what its last record says: the simulator's records carry one for their
# first 25 s only, and the belt's sensor state then reads null (before, the
# last one stayed for good). A strap that leaves shows no battery or RSSI.
# Private dbus-daemon, bluez-sim with a Polar H10,
# a footpod and a treadmill (3 m/s), mosquitto.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

gk_require_built "$GKD" "$SIM"
gkd_need dbus mosquitto

H10=A0:9E:1A:00:00:01
POD=C0:FF:EE:00:00:02
BELT=E4:5F:01:00:00:03
gkd_start_sim --loop --speed-mps 3.0 --treadmill-hr-s 25 --device "polar-h10,$H10,Polar H10 BG" \
	--device "footpod,$POD,Pod BG" --device "treadmill,$BELT,BG Treadmill"
cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "bg";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; };
form = { auto_session = false; };
sensors = (
  { alias = "chest"; kind = "polar-h10"; address = "$H10"; },
  { alias = "pod"; kind = "footpod"; address = "$POD"; },
  { alias = "belt"; kind = "treadmill"; address = "$BELT"; }
);
CFG
gkd_subscribe bg
gkd_start_notify
start_daemon
gk_check "daemon READY" gk_wait_for 10 grep -q 'READY=1' "$notify_log"
streaming() { grep -q "Sensor '$1' is streaming" "$dlog"; }
all_stream() { streaming chest && streaming pod && streaming belt; }
gk_check "the three sensors stream" gk_wait_for 40 all_stream
# belt_hr_after LINE PATTERN: a sensor/belt/state after line LINE of the log whose
# heart rate matches PATTERN; prints its line number
belt_hr_after() {
	tail -n +"$1" "$sub_log" | grep -n -F ' gaitkeeper/bg/sensor/belt/state ' |
		grep -E "\"heart_rate_bpm\":$2[,}]" | head -1 | cut -d: -f1
}
hr_line=""
gk_check "the treadmill's heart rate in its sensor state" \
	gk_wait_for 20 bash -c "tail -n +1 $sub_log | grep -F ' gaitkeeper/bg/sensor/belt/state ' |
		grep -qE '\"heart_rate_bpm\":[0-9.]+[,}]'"
hr_line=$(belt_hr_after 1 '[0-9.]+')
export -f belt_hr_after
export sub_log
gk_check "... null once its records carry none (25 s on)" \
	gk_wait_for 30 bash -c "[ -n \"\$(belt_hr_after $((hr_line + 0)) null)\" ]"
dbus_call StartSession > /dev/null
# speed_in_live FROM: run/live lines after line FROM of the log, at least 3, all with a
# speed
speed_in_live() {
	tail -n +"$1" "$sub_log" | grep -F ' gaitkeeper/bg/run/live ' | cut -d' ' -f3- |
		python3 -c '
import json, sys
v = [json.loads(l)["speed_mps"] for l in sys.stdin]
print("# speeds: %s" % v)
sys.exit(0 if len(v) >= 3 and None not in v else 1)'
}
sleep 4
gk_check "speeds in run/live with the belt" speed_in_live 1
sim_call SetSilent sb "$BELT" true
gk_check "the belt goes stale" gk_wait_for 10 grep -q "Sensor 'belt' is unavailable" "$dlog"
sleep 8	# the belt's last speed is stale for the form core too
from=$(($(wc -l < "$sub_log") + 1))
sleep 4
gk_check "the footpod's speeds in run/live with the belt gone" speed_in_live "$from"
# A strap that is gone has no battery level or RSSI to show: BlueZ removed its
# Battery1 with the link and no discovery hears it (before, sensor/chest/state
# kept 87 % and its last RSSI as if current).
# chest_state PY-CONDITION: the last sensor/chest/state (as s) meets it
chest_state() {
	grep -F ' gaitkeeper/bg/sensor/chest/state ' "$sub_log" | tail -1 | cut -d' ' -f3- |
		python3 -c "import json, sys; s = json.load(sys.stdin); sys.exit(0 if $1 else 1)"
}
gk_check "sensor/chest/state while streaming: battery 87 %, an RSSI" \
	chest_state 's["battery_pct"] == 87 and s["rssi_dbm"] is not None'
sim_call SetAdvertising sb "$H10" false
gk_check "the chest strap goes" gk_wait_for 10 grep -q "Sensor 'chest' is unavailable" "$dlog"
gk_check "sensor/chest/state once it is gone: battery_pct and rssi_dbm null" \
	gk_wait_for 5 chest_state \
	's["state"] != "streaming" and s["battery_pct"] is None and s["rssi_dbm"] is None'
kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
