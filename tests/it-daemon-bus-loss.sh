#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The system bus dies under a running session (dbus-daemon restarted or
# crashed). sd-bus does not reconnect, and BLE and the D-Bus API go with the
# bus: gaitkeeperd stops as for SIGTERM (the session's summary and "offline"
# published) and exits with a failure, so that systemd's Restart=on-failure
# starts it on the new bus; `gaitctl watch` says so and exits 69. Before,
# both kept running deaf for good. Then a daemon started with no bus at all
# brings BLE and its D-Bus API up once the bus comes. Private dbus-daemon,
# mosquitto, no sensors.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

GAITCTL=$GK_BUILD/gaitctl
gk_require_built "$GKD" "$GAITCTL"
gkd_need dbus
DBUS_PID=$gk_last_pid
gkd_need mosquitto

cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "busloss";
mqtt = { uri = "$GK_MQTT_URI"; };
sensors = ();
CFG
gkd_subscribe busloss
gkd_start_notify
start_daemon
gk_check "daemon READY" gk_wait_for 10 grep -q 'READY=1' "$notify_log"
gk_check "online" gk_wait_for 10 grep -q ' gaitkeeper/busloss/status online' "$sub_log"
gk_check "session started over D-Bus" dbus_call StartSession
"$GAITCTL" watch --json > "$gk_tmp/watch.out" 2> "$gk_tmp/watch.err" &
WATCH_PID=$!
gk_pids+=("$WATCH_PID")
gk_check "gaitctl watch running" gk_wait_for 10 grep -q '"event"' "$gk_tmp/watch.out"

kill -KILL "$DBUS_PID"
gk_check "the daemon says it lost the bus" gk_wait_for 10 \
	grep -q 'Lost the system bus, stopping so that the service is started again' "$dlog"
# exit_status PID: its exit status once it has exited, else "none" (then killed)
exit_status() {
	if kill -0 "$1" 2>/dev/null; then
		kill -KILL "$1"
		echo none
	else
		wait "$1"
		echo $?
	fi
}
failed_with() { [ "$1" != none ] && [ "$1" "$2" "$3" ]; }
exited() { ! kill -0 "$GKD_PID" 2>/dev/null; }
gk_check "the daemon exits" gk_wait_for 15 exited
rc=$(exit_status "$GKD_PID")
gk_check "... with a failure, for Restart=on-failure (exit status $rc)" failed_with "$rc" -ne 0
gk_check "the running session's summary published on the way out" \
	grep -q ' gaitkeeper/busloss/session/summary ' "$sub_log"
gk_check "offline published on the way out" \
	grep -q ' gaitkeeper/busloss/status offline' "$sub_log"
watch_exited() { ! kill -0 "$WATCH_PID" 2>/dev/null; }
gk_check "gaitctl watch exits" gk_wait_for 10 watch_exited
rc=$(exit_status "$WATCH_PID")
gk_check "... with 69 (EX_UNAVAILABLE; status $rc)" failed_with "$rc" -eq 69
gk_check "... saying so" grep -q 'gaitctl: watch: lost the system bus' "$gk_tmp/watch.err"
gk_check "... and that gaitkeeperd is gone (running false)" \
	grep -q '"running":false' "$gk_tmp/watch.out"

# No bus at start (dbus not up yet): the daemon runs without BLE and the D-Bus
# API, says it tries again, and brings both up once the bus is there. Before,
# it ran without them for good.
start_daemon
gk_check "no bus at start: READY anyway (MQTT goes on)" \
	gk_wait_for 10 grep -q 'READY=1' "$notify_log"
gk_check "... saying it tries again" \
	gk_wait_for 10 grep -q 'No system bus, running without BLE and D-Bus, trying again' "$dlog"
rm -f "$gk_tmp/system_bus_socket"
gk_check "the bus comes up" gk_start_dbus
gk_check "the daemon takes it up" \
	gk_wait_for 15 grep -q 'The system bus is there now' "$dlog"
gk_check "... and owns its name, answering calls" gk_wait_for 10 dbus_call StartSession
kill -TERM "$GKD_PID"
gk_check "it exits" gk_wait_for 15 exited
rc=$(exit_status "$GKD_PID")
gk_check "... cleanly (exit status $rc)" failed_with "$rc" -eq 0
gk_done
