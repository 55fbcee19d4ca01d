#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The MQTT link watchdog (docs/reliability.md, "The link"). Paho once closed
# its socket without calling connectionLost, and the daemon sat "connected"
# and silent for good. Here tests/lib/paho-no-lost.so (LD_PRELOAD) withholds
# that callback from Paho, so every loss of the broker is such a one: the
# daemon must see it from Paho's own state within two 1 s ticks, reconnect
# when the broker is back, and deliver the alert spooled meanwhile. Without
# the watchdog no check after the broker's stop passes. Private dbus-daemon,
# mosquitto, no sensors.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

PRELOAD=$GK_BUILD/tests/lib/paho-no-lost.so
gk_require_built "$GKD" "$PRELOAD"
PRELOAD=$(realpath "$PRELOAD")
gkd_need dbus mosquitto

cfg=$gk_tmp/gaitkeeper.conf
# a long keepalive: the loss must be seen by the watchdog, not by a ping
cat > "$cfg" <<CFG
node = "nolost";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 60; };
sensors = ();
CFG

# A durable subscriber (its session outlives the broker's restart).
sub_log=$gk_tmp/sub.log
start_sub() {
	gk_bg stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -V mqttv5 -q 1 \
		-c -i gk-it-nolost -x 3600 -t 'gaitkeeper/nolost/#' \
		-F '%q %t %p' >> "$sub_log" 2>> "$gk_tmp/sub.err"
	SUB_PID=$gk_last_pid
}
start_sub

# ASan (make sanitize) wants its runtime first; the shim only forwards to Paho.
GKD_ENV=(LD_PRELOAD="$PRELOAD"
	 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
gkd_start_notify
start_daemon
gk_check "daemon READY" gk_wait_for 10 grep -q 'READY=1' "$notify_log"
gk_check "Paho runs without a connectionLost callback" gk_wait_for 10 \
	grep -q 'paho-no-lost: connectionLost withheld' "$dlog"
gk_check "connected, online" gk_wait_for 10 \
	grep -q ' gaitkeeper/nolost/status online' "$sub_log"

kill -TERM "$GK_MOSQUITTO_PID"; wait "$GK_MOSQUITTO_PID" 2>/dev/null
stop_ts=$(date +%s.%N)
gk_check "the lost link seen from Paho's state" gk_wait_for 10 \
	grep -q 'Lost the connection to MQTT broker .*(Paho reports the link down)' "$dlog"
took=$(python3 -c "import time; print(round(time.time() - $stop_ts, 1))")
# two 1 s pump ticks after the loss, up to a tick's phase before the first:
# 3 s, plus 1 s for a loaded machine (3.4 s seen with two builds running)
gk_check "seen within 4 s of the broker's stop ($took s)" \
	python3 -c "import sys; sys.exit(0 if $took <= 4.0 else 1)"
dbus_call ReportPain us 7 knee > /dev/null
gk_run_mosquitto
reconnected() { [ "$(grep -c 'Connected to MQTT broker' "$dlog")" -ge 2 ]; }
gk_check "reconnected when the broker is back" gk_wait_for 20 reconnected
kill "$SUB_PID" 2>/dev/null
start_sub
gk_check "the pain alert raised in the outage delivered" gk_wait_for 20 \
	grep -q ' gaitkeeper/nolost/alert .*"kind":"pain"' "$sub_log"
kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
