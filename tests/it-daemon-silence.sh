#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every sensor falls silent after an automatic session's running (the strap
# out of range, the treadmill off): the session still ends auto_stop_s later,
# dated back to when the running stopped, and its summary is published. The
# form core's clock is its inputs' times; the daemon's 1 s tick moves it on
# (form_engine_advance()). Before, the session stayed open until the next
# data. Private dbus-daemon, bluez-sim with a Polar H10 and a treadmill at
# 3 m/s, mosquitto.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

gk_require_built "$GKD" "$SIM"
gkd_need dbus mosquitto

H10=A0:9E:1A:00:00:01
BELT=E4:5F:01:00:00:03
gkd_start_sim --loop --speed-mps 3.0 \
	--device "polar-h10,$H10,Polar H10 QUIET" \
	--device "treadmill,$BELT,QUIET Treadmill"

cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "quiet";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; };
form = { auto_session = true; auto_start_s = 3.0; auto_stop_s = 8.0; };
sensors = (
  { alias = "chest"; kind = "polar-h10"; address = "$H10"; },
  { alias = "belt"; kind = "treadmill"; address = "$BELT"; }
);
CFG
gkd_subscribe quiet
gkd_start_notify
start_daemon
gk_check "daemon READY" gk_wait_for 5 grep -q 'READY=1' "$notify_log"
gk_check "automatic session started" gk_wait_for 40 \
	grep -q ' gaitkeeper/quiet/session/state {"state":"running".*"automatic":true' "$sub_log"
sleep 12
silent_ts=$(date +%s.%N)
sim_call SetSilent sb "$H10" true
sim_call SetSilent sb "$BELT" true
gk_check "summary published with every sensor silent" gk_wait_for 30 \
	grep -q ' gaitkeeper/quiet/session/summary ' "$sub_log"
took=$(python3 -c "import time; print(round(time.time() - $silent_ts, 1))")
grep -F ' gaitkeeper/quiet/session/summary ' "$sub_log" | tail -1 | cut -d' ' -f3- \
	> "$gk_tmp/summary.json"
gk_check "the session ends at the running's end, not at the silence's ($took s after it)" \
	python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print("# duration %.1f s, running %.1f s, steps %d" % (s["duration_s"], s["running_s"], s["steps"]))
sys.exit(0 if s["running_s"] >= 10 and s["duration_s"] <= s["running_s"] + 6 else 1)' \
	"$gk_tmp/summary.json"
kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
