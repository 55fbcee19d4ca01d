#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gaitkeeperd against a broker that drops every resumed session right after
# its CONNACK (tests/lib/bad-broker.py: mosquitto did so once after a
# restart, finding what Paho resent of the session malformed). The first
# connection holds the daemon's QoS 1 messages unacknowledged (a pain report
# raises an alert meanwhile), the next ones say "session present" and close
# after the first PUBLISH. The daemon must not stay in that loop, nor sit
# "connected" on a closed link: after two sessions dropped within 5 s it
# connects with a clean start, and everything must-deliver reaches the broker.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh
gk_require_built "$GKD"

gkd_need dbus
port=$(gk_free_port)
blog=$gk_tmp/bad-broker.log
: > "$blog"
gk_bg python3 tests/lib/bad-broker.py "$port" "$blog"
gk_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" ||
	{ gk_not_ok "bad broker listening"; gk_done; exit 1; }

cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "bad";
log_level = "debug";
mqtt = { uri = "mqtt://127.0.0.1:$port"; keepalive_s = 5; };
sensors = ();
CFG
gkd_start_notify
start_daemon
gk_check "daemon READY" gk_wait_for 10 grep -q 'READY=1' "$notify_log"
gk_check "first session: QoS 1 messages held unacknowledged" gk_wait_for 10 \
	grep -q "Connected to MQTT broker" "$dlog"
dbus_call ReportPain us 6 knee > /dev/null
gk_check "the held session ends" gk_wait_for 10 grep -q '^held ' "$blog"
gk_check "resumed sessions dropped right after CONNACK" gk_wait_for 20 \
	bash -c "[ \$(grep -c '^dropped' '$blog') -ge 2 ]"
gk_check "the daemon starts a clean session after two quick drops" gk_wait_for 20 \
	grep -q 'starting a clean one' "$dlog"
gk_check "clean session accepted" gk_wait_for 10 grep -q '^clean$' "$blog"
gk_check "the alert raised while held is delivered (QoS 1)" gk_wait_for 20 \
	grep -q '^publish 1 gaitkeeper/bad/alert$' "$blog"
gk_check "pain/last delivered" gk_wait_for 10 grep -q '^publish 1 gaitkeeper/bad/pain/last$' "$blog"
gk_check "gateway availability online again" gk_wait_for 10 \
	grep -q '^publish 1 gaitkeeper/bad/status$' "$blog"
drops=$(grep -c '^dropped' "$blog")
sleep 6
still_up() {
	[ "$(grep -c '^dropped' "$blog")" -eq "$drops" ] && ! grep -q '^clean session closed' "$blog"
}
gk_check "connected and stays so ($drops sessions dropped)" still_up
no_client_id_alarm() { ! grep -q 'Another client uses our client id' "$dlog"; }
gk_check "not taken for another client with our client id" no_client_id_alarm
kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
