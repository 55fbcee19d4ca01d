#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The wall clock steps back a minute under a running session (NTP correcting
# a Raspberry Pi that has no real-time clock): the session's duration is
# measured on the monotonic clock and goes on counting. Before, DurationMs was
# the difference of two wall-clock times and wrapped to 1.8e19 ms, and
# `gaitctl status` printed a duration of millions of hours.
# tests/lib/clock-step.so (LD_PRELOAD) steps the daemon's CLOCK_REALTIME only.
# Private dbus-daemon, no broker, no sensors.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

PRELOAD=$GK_BUILD/tests/lib/clock-step.so
GAITCTL=$GK_BUILD/gaitctl
gk_require_built "$GKD" "$GAITCTL" "$PRELOAD"
PRELOAD=$(realpath "$PRELOAD")
gkd_need dbus

cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "clock";
sensors = ();
CFG
step=$gk_tmp/clock-step
GKD_ENV=(LD_PRELOAD="$PRELOAD" GK_CLOCK_STEP_FILE="$step"
	 ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0")
gkd_start_notify
start_daemon
gk_check "daemon READY" gk_wait_for 10 grep -q 'READY=1' "$notify_log"
gk_check "session started" dbus_call StartSession
duration_ms() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property io.gaitkeeper.Gaitkeeper1 \
		/io/gaitkeeper/Gaitkeeper1/session io.gaitkeeper.Gaitkeeper1.Session DurationMs |
		awk '{print $2}'
}
sleep 2
echo -60 > "$step"
sleep 3
d=$(duration_ms)
gk_check "DurationMs counts on across the step (${d:-none} ms after ~5 s)" \
	bash -c "[ -n '$d' ] && [ '$d' -ge 3000 ] && [ '$d' -le 20000 ]"
"$GAITCTL" status > "$gk_tmp/status.out" 2>&1
gk_check "gaitctl status shows a sane duration" \
	bash -c "grep -qE 'running since [0-9:]+ \\(0:0[0-9]' '$gk_tmp/status.out'"
sed 's/^/# /' "$gk_tmp/status.out"
kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
