# SPDX-License-Identifier: GPL-2.0-or-later
# Shared set-up for integration tests (tests/it-*.sh), sourced by them.
# Starts real components on private addresses only: a private dbus-daemon
# (system-bus flavour, exported as DBUS_SYSTEM_BUS_ADDRESS) and mosquitto on
# a free loopback port. Never touches the machine's own buses or services.
# Output is TAP: ok N - name / not ok N - name.

GK_BUILD=${GK_BUILD:-build}
GK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
gk_tmp=$(mktemp -d "${TMPDIR:-/tmp}/gk-it.XXXXXX")
gk_pids=()
gk_n=0
gk_failed=0

# SIGTERM everything, then SIGKILL what is still there after 10 s: a
# mosquitto_sub whose broker went first sits in its reconnect loop and ignores
# SIGTERM, and a plain wait then hangs the test until the runner's timeout.
gk_cleanup() {
	local p i alive
	for p in "${gk_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for ((i = 0; i < 100; i++)); do
		alive=0
		for p in "${gk_pids[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for p in "${gk_pids[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			echo "# cleanup: pid $p ($(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | cut -c1-60)) ignored SIGTERM for 10 s: SIGKILL"
			kill -KILL "$p" 2>/dev/null
		fi
	done
	for p in "${gk_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	# A failed script says what its programs said last: CI keeps only the output.
	if [ "${gk_failed:-0}" -gt 0 ]; then
		for f in "$gk_tmp"/*.log "$gk_tmp"/*.err; do
			[ -s "$f" ] || continue
			echo "# ---- last 30 lines of $(basename "$f") ----"
			tail -n 30 "$f" | sed 's/^/# /'
		done
	fi
	# GK_KEEP_TMP=DIR: keep this run's files (logs, configs) under DIR.
	if [ -n "${GK_KEEP_TMP:-}" ]; then
		mkdir -p "$GK_KEEP_TMP" && cp -a "$gk_tmp" "$GK_KEEP_TMP/" 2>/dev/null
	fi
	rm -rf "$gk_tmp"
}
trap gk_cleanup EXIT
trap 'exit 130' INT TERM

# gk_bg CMD...: start CMD in the background, killed at exit. Sets gk_last_pid.
# GK_BG_SETSID=1: in a session of its own, so that a Ctrl-C at the terminal
# (SIGINT to the foreground process group) does not reach it (`make run`).
gk_bg() {
	if [ "${GK_BG_SETSID:-0}" = 1 ]; then
		setsid "$@" &
	else
		"$@" &
	fi
	gk_last_pid=$!
	gk_pids+=("$gk_last_pid")
}

gk_ok() {
	gk_n=$((gk_n + 1))
	echo "ok $gk_n - $*"
}

gk_not_ok() {
	gk_n=$((gk_n + 1))
	gk_failed=$((gk_failed + 1))
	echo "not ok $gk_n - $*"
}

# gk_check NAME CMD...: one TAP line from CMD's exit status.
gk_check() {
	local name=$1
	shift
	if "$@"; then
		gk_ok "$name"
	else
		gk_not_ok "$name"
	fi
}

# gk_skip NAME REASON: a missing component; the runner counts it as failed.
gk_skip() {
	gk_n=$((gk_n + 1))
	echo "ok $gk_n - $1 # SKIP $2"
}

gk_done() {
	echo "1..$gk_n"
	[ "$gk_failed" -eq 0 ]
}

# gk_require_built BIN...: end the script (skipped, so counted as failed)
# unless every BIN is an executable that the build made.
gk_require_built() {
	local b
	for b in "$@"; do
		if [ ! -x "$b" ]; then
			gk_skip "binaries" "$b not built"
			gk_done
			exit 1
		fi
	done
}

# gk_wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
gk_wait_for() {
	local deadline
	deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	# A deadline, not a count of tries: a slow check cannot stretch the wait.
	while :; do
		"$@" 2>/dev/null && return 0
		[ $(($(date +%s%N) / 1000000)) -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

gk_free_port() {
	python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# gk_start_dbus: a private bus with the system bus's type, an allow-all
# policy except where a test loads extra policy from $gk_tmp/dbus.d.
gk_start_dbus() {
	mkdir -p "$gk_tmp/dbus.d"
	cat > "$gk_tmp/dbus.conf" <<XML
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$gk_tmp/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
  ${GK_DBUS_EXTRA_POLICY:-}
  <includedir>$gk_tmp/dbus.d</includedir>
</busconfig>
XML
	gk_bg dbus-daemon --config-file="$gk_tmp/dbus.conf" --nofork --nopidfile
	export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$gk_tmp/system_bus_socket"
	gk_wait_for 10 test -S "$gk_tmp/system_bus_socket"
}

# sim_call METHOD SIGNATURE ARGS...: a call on bluez-sim's control interface
# (io.gaitkeeper.BluezSim1, docs/bluez-sim.md) on the private bus.
sim_call() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call io.gaitkeeper.BluezSim \
		/io/gaitkeeper/BluezSim io.gaitkeeper.BluezSim1 "$@"
}

# gk_start_mosquitto: sets GK_MQTT_PORT and GK_MQTT_URI.
gk_start_mosquitto() {
	GK_MQTT_PORT=$(gk_free_port)
	mkdir -p "$gk_tmp/mosquitto"
	cat > "$gk_tmp/mosquitto.conf" <<CONF
listener $GK_MQTT_PORT 127.0.0.1
allow_anonymous true
user $(id -un)
persistence true
persistence_location $gk_tmp/mosquitto/
log_dest file $gk_tmp/mosquitto.log
CONF
	GK_MQTT_URI="mqtt://127.0.0.1:$GK_MQTT_PORT"
	export GK_MQTT_PORT GK_MQTT_URI
	gk_run_mosquitto
}

# gk_run_mosquitto: (re)start mosquitto from the config gk_start_mosquitto wrote
# (its persistence keeps sessions and retained messages across a restart); sets
# GK_MOSQUITTO_PID; fails unless it listens within 10 s.
gk_run_mosquitto() {
	gk_bg mosquitto -c "$gk_tmp/mosquitto.conf"
	GK_MOSQUITTO_PID=$gk_last_pid
	gk_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$GK_MQTT_PORT"
}
