# SPDX-License-Identifier: GPL-2.0-or-later
# Shared gaitkeeperd set-up for the daemon integration tests, sourced after lib/env.sh.
# Provides: GKD, SIM, dlog, notify_log, gkd_need (private bus, broker), a
# systemd notify-socket listener (gkd_start_notify), bluez-sim on the private
# bus (gkd_start_sim),
# start_daemon (extra environment from the GKD_ENV array) and dbus_call on the
# daemon's private-bus API.

GKD=$GK_BUILD/gaitkeeperd
SIM=$GK_BUILD/bluez-sim	# gkd_start_sim
dlog=$gk_tmp/daemon.log
notify_log=$gk_tmp/notify.log
GKD_ENV=()

# gkd_need dbus|mosquitto...: start the private dbus-daemon and/or mosquitto
# (lib/env.sh), in that order; one that does not come up ends the test there
# (not ok).
gkd_need() {
	local what
	for what in "$@"; do
		case $what in
		dbus) gk_start_dbus || { gk_not_ok "private dbus-daemon"; gk_done; exit 1; } ;;
		mosquitto) gk_start_mosquitto || { gk_not_ok "mosquitto"; gk_done; exit 1; } ;;
		*) echo "gkd_need: unknown '$what'" >&2; exit 2 ;;
		esac
	done
}

# gkd_start_notify: systemd's notify socket $gk_tmp/notify.sock, read by a small
# python listener that appends "TIME MESSAGE" lines to $notify_log.
gkd_start_notify() {
	cat > "$gk_tmp/notify.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode(errors="replace").replace("\n", "|")
        f.write("%.6f %s\n" % (time.time(), msg))
PY
	gk_bg python3 "$gk_tmp/notify.py" "$gk_tmp/notify.sock" "$notify_log"
	gk_wait_for 5 test -S "$gk_tmp/notify.sock"
}

# start_daemon: gaitkeeperd on $cfg with state in $gk_tmp/state, stderr to
# $dlog. Sets START_TS (epoch seconds) and GKD_PID.
start_daemon() {
	START_TS=$(date +%s.%N)
	gk_bg env NOTIFY_SOCKET="$gk_tmp/notify.sock" "${GKD_ENV[@]}" "$GKD" --config "$cfg" \
		--state-dir "$gk_tmp/state" --stderr 2>> "$dlog"
	GKD_PID=$gk_last_pid
}

# gkd_start_sim ARGS...: bluez-sim ($SIM) with ARGS, its stderr in $gk_tmp/sim.log,
# owning its name on the private bus within 10 s, else the test ends there (not
# ok). Sets SIM_PID.
gkd_start_sim() {
	gk_bg "$SIM" "$@" 2> "$gk_tmp/sim.log"
	SIM_PID=$gk_last_pid
	gk_wait_for 10 busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status io.gaitkeeper.BluezSim \
		> /dev/null || { gk_not_ok "bluez-sim on the private bus"; gk_done; exit 1; }
}

# gkd_subscribe NODE [-t TOPIC...]: every message under gaitkeeper/NODE/# (and the
# extra topics) appended to $sub_log as "QOS TOPIC PAYLOAD", MQTT 5, QoS 1.
gkd_subscribe() {
	local node=$1
	shift
	sub_log=$gk_tmp/sub.log
	gk_bg stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -V mqttv5 -q 1 \
		-t "gaitkeeper/$node/#" "$@" -F '%q %t %p' >> "$sub_log" 2>> "$gk_tmp/sub.err"
}

# gkd_pub NODE SUFFIX PAYLOAD: publish PAYLOAD on gaitkeeper/NODE/SUFFIX, QoS 1.
gkd_pub() {
	mosquitto_pub -h 127.0.0.1 -p "$GK_MQTT_PORT" -q 1 -t "gaitkeeper/$1/$2" -m "$3"
}

dbus_call() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call io.gaitkeeper.Gaitkeeper1 \
		/io/gaitkeeper/Gaitkeeper1 io.gaitkeeper.Gaitkeeper1 "$@"
}
