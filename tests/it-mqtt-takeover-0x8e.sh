#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A broker that says another client took our session: MQTT 5 DISCONNECT with
# reason 0x8E, as brokers other than mosquitto 2.0.11 send when a second
# client (a twin gateway with the same node) connects with our client id.
# mosquitto 2.0.11 closes silently instead (it-mqtt-client-id.sh), so the
# 0x8E path is driven by tests/lib/bad-broker.py --takeover: CONNACK, then
# 0x8E after 0.5 s, for as long as the flag file exists; from the second
# connect on, no PUBACK (those messages are in flight when the session goes).
# The two 0x8E are the two forms a broker may send: with an empty property
# list, then without one.
# The daemon must name its client id in one error per 0x8E, come back only at
# the backoff's cap (4-8 s, common/backoff.h; not 0.25 s and up, and no early
# reconnect from its probe), never ask for a clean start meanwhile, and lose
# nothing: a pain alert raised during the episode is delivered once the
# broker stops taking the session. The hold lasts 5 minutes, but it only
# slows reconnects, so delivery comes at the next connect (within the cap).
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh
gk_require_built "$GKD"

gkd_need dbus
port=$(gk_free_port)
blog=$gk_tmp/bad-broker.log
flag=$gk_tmp/take-over
: > "$blog"
touch "$flag"
gk_bg python3 tests/lib/bad-broker.py --takeover "$flag" --disconnect e0028e00,e0018e \
	"$port" "$blog"
gk_wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" ||
	{ gk_not_ok "bad broker listening"; gk_done; exit 1; }

cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "twin";
log_level = "debug";
mqtt = { uri = "mqtt://127.0.0.1:$port"; };
sensors = ();
CFG
start_daemon
takeovers() { grep -c ' takeover 0x8e$' "$blog"; }
connects() { grep -c ' connect ' "$blog"; }
gk_check "connected, then the broker sends DISCONNECT 0x8E" gk_wait_for 10 \
	bash -c "grep -q ' takeover 0x8e$' '$blog'"
# disconnected now: the alert waits in the spool, then rides the next session
gk_check "a pain report is taken during the takeover" gk_wait_for 5 \
	dbus_call ReportPain us 6 knee
alarm="another client took our session (DISCONNECT 0x8E) (1 times). Another client uses our"
alarm="$alarm client id 'gaitkeeper-twin'"
gk_check "the first 0x8E: an error naming the client id" gk_wait_for 3 \
	grep -qF "$alarm" "$dlog"
gk_check "the daemon reconnects" gk_wait_for 10 bash -c "[ \$(grep -c ' connect ' '$blog') -ge 2 ]"
# the lines the daemon wrote between its first and its second session
first_episode() {
	awk '/Connected to MQTT broker/ { n++ } n == 1' "$dlog" |
		grep -c 'Another client uses our client id'
}
gk_check "said once before it connects again ($(first_episode) error lines)" \
	[ "$(first_episode)" = 1 ]
gk_check "a second 0x8E" gk_wait_for 10 bash -c "[ \$(grep -c ' takeover 0x8e$' '$blog') -ge 2 ]"
held_alert() { grep -q ' held 1 gaitkeeper/twin/alert$' "$blog"; }
gk_check "the alert went out on a taken-over session, unacknowledged" held_alert
rm -f "$flag"
gk_check "the broker stops taking the session: the alert is delivered" gk_wait_for 12 \
	grep -q ' publish 1 gaitkeeper/twin/alert$' "$blog"
gk_check "and pain/last" gk_wait_for 5 grep -q ' publish 1 gaitkeeper/twin/pain/last$' "$blog"

# Each reconnect after a 0x8E waits the cap: [4, 8] s drawn by common/backoff.
# The CONNECT reaches the broker 1.1-1.3 s after that (measured: Paho 1.3.12's
# own latency from MQTTAsync_connect(), seen with the fast backoff too), hence
# up to 11 s. The first backoff steps are 0.25-0.5 s, and the probe would
# reconnect within 1 s of the broker answering.
gaps=$(awk '/ takeover 0x8e$/ { t = $1 } / connect / && t { printf "%.1f ", $1 - t; t = 0 }' \
	"$blog")
at_cap() {
	local g n=0
	for g in $gaps; do
		awk -v g="$g" 'BEGIN { exit !(g >= 3.9 && g <= 11) }' || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}
gk_check "reconnects after 0x8E at the cap: ${gaps}s (each 3.9-11 s, at least 2)" at_cap
delays=$(sed -n 's/.*Reconnecting in \([0-9]*\) ms$/\1/p' "$dlog" | tr '\n' ' ')
drawn_at_cap() {
	local d n=0
	for d in $delays; do
		[ "$d" -ge 4000 ] && [ "$d" -le 8000 ] || return 1
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
}
gk_check "backoff delays drawn at the cap: ${delays}ms (each 4000-8000)" drawn_at_cap
no_clean() { ! grep -q ' connect clean=1' "$blog"; }
gk_check "no clean start during the hold ($(connects) connects)" no_clean
one_per_0x8e() {
	[ "$(grep -c 'Another client uses our client id' "$dlog")" = "$(takeovers)" ]
}
gk_check "one error per 0x8E, either form ($(takeovers) sent)" one_per_0x8e
n=$(connects)
sleep 2
gk_check "then it stays connected" [ "$(connects)" = "$n" ]
kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
