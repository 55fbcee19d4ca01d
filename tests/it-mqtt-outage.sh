#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Alerts across broker outages, with the real mosquitto behind a relay that
# cuts gaitkeeperd's link on cue (tests/lib/mqtt-cut.py); the subscriber is
# on the broker itself and sees every message. "alert" is must-deliver: what
# was raised in an outage comes after it, each message once, also for those
# in flight when the link died and an outage over the 30 s in-flight timeout
# (the spool's slots age only while connected: before, each went out twice).
# Home Assistant's event entity reads "alert/event", which carries an alert
# only while it is fresh: live, or after an outage shorter than 10 s, never
# the backlog of a long one. Private dbus-daemon, no sensors.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

gk_require_built "$GKD"
gkd_need dbus mosquitto

RELAY_PORT=$(gk_free_port)
relay_log=$gk_tmp/relay.log
gk_bg python3 tests/lib/mqtt-cut.py "$RELAY_PORT" "$GK_MQTT_PORT" "$relay_log"
RELAY_PID=$gk_last_pid
gk_wait_for 10 grep -q ' up$' "$relay_log" ||
	{ gk_not_ok "relay listening"; gk_done; exit 1; }
# relay MODE: hold (nothing passes), down (closed, refused), up; waits until applied
relay() {
	local n sig
	n=$(grep -c " $1\$" "$relay_log")
	case $1 in hold) sig=USR1 ;; down) sig=USR2 ;; up) sig=HUP ;; esac
	kill -"$sig" "$RELAY_PID"
	gk_wait_for 5 bash -c "[ \$(grep -c ' $1\$' '$relay_log') -gt $n ]"
}

cfg=$gk_tmp/gaitkeeper.conf
# A long keepalive: a held link must not be noticed by a missing PINGRESP.
cat > "$cfg" <<CFG
node = "cut";
mqtt = { uri = "mqtt://127.0.0.1:$RELAY_PORT"; keepalive_s = 60; };
form = { auto_session = false; };
alerts = { pain_level = 4.0; };
sensors = ();
CFG

gkd_subscribe cut -t 'homeassistant/event/#'
# the MQTT 5 message expiry of what comes on alert/event ("-" where none)
gk_bg stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -V mqttv5 -q 1 \
	-t gaitkeeper/cut/alert/event -F '%E-' > "$gk_tmp/expiry.log" 2>> "$gk_tmp/sub.err"
gkd_start_notify
start_daemon
connects() { grep -c 'Connected to MQTT broker' "$dlog"; }
connected() { [ "$(connects)" -ge "$1" ]; }
gk_check "connected through the relay" gk_wait_for 15 connected 1
t_connect=$(date +%s.%N)
gk_check "a session started" gk_wait_for 5 dbus_call StartSession
# The topic Home Assistant's "Form alert" event entity reads, from its config.
ev_config=homeassistant/event/gaitkeeper_cut/run_alert/config
ev_state_topic() {
	awk -v t="$ev_config" '$2 == t { $1 = $2 = ""; print }' "$sub_log" | tail -1 |
		jq -er .state_topic
}
gk_check "the event entity announced" gk_wait_for 10 ev_state_topic
ev=$(ev_state_topic)
ev=${ev#gaitkeeper/cut/}
gk_check "... it reads alert/event, not the must-deliver alert ($ev)" test "$ev" = alert/event

# n TOPIC: messages on gaitkeeper/cut/TOPIC so far
n() { awk -v t="gaitkeeper/cut/$1" '$2 == t' "$sub_log" | wc -l; }
# more TOPIC COUNT: more than COUNT of them
more() { [ "$(n "$1")" -gt "$2" ]; }
# pain LEVEL: a pain report over D-Bus; past the first, it clears the pain
# alert and raises a new one (two messages on alert)
pain() { dbus_call ReportPain us "$1" knee > /dev/null; }
# seqs TOPIC: the seq of each message on it, one a line
seqs() {
	awk -v t="gaitkeeper/cut/$1" '$2 == t { $1 = $2 = ""; print }' "$sub_log" |
		jq -r .seq
}
# wait_since T S: sleep until S seconds after epoch time T
wait_since() { sleep "$(python3 -c "import time; print(max(0, $1 + $2 - time.time()))")"; }

# ---- live: both topics, the same alert -------------------------------------
a0=$(n alert) e0=$(n "$ev")
pain 5
gk_check "a live alert on alert" gk_wait_for 5 more alert "$a0"
gk_check "... and on the event entity's ($ev)" gk_wait_for 5 more "$ev" "$e0"
same_alert() {
	python3 - "$sub_log" "gaitkeeper/cut/$ev" <<'PY'
import json, sys
last = {}
for l in open(sys.argv[1], errors="replace"):
    p = l.rstrip("\n").split(" ", 2)
    if len(p) == 3 and p[1] in ("gaitkeeper/cut/alert", sys.argv[2]):
        last[p[1]] = json.loads(p[2])
a, e = last["gaitkeeper/cut/alert"], last[sys.argv[2]]
drop = ("ts", "seq")
sys.exit(0 if e["event_type"] == "pain" and
         {k: v for k, v in a.items() if k not in drop} ==
         {k: v for k, v in e.items() if k not in drop} else 1)
PY
}
gk_check "... the same message but its ts and seq (event_type pain)" same_alert
qos_of() { awk -v t="gaitkeeper/cut/$1" '$2 == t { print $1 }' "$sub_log" | tail -1; }
gk_check "... alert QoS 1, the event entity's QoS 0 (never sent again late)" \
	test "$(qos_of alert) $(qos_of "$ev")" = "1 0"
expiry=$(tail -1 "$gk_tmp/expiry.log")
gk_check "... with a message expiry of at most 10 s (${expiry:-none})" \
	bash -c "[[ '$expiry' =~ ^[0-9]+-\$ ]] && [ ${expiry%-} -ge 1 ] && [ ${expiry%-} -le 10 ]"

# ---- a short outage: what was raised in it is still fresh -------------------
# An outage within 5 s of a connect is a "quick drop": two in a row would
# make the next session a clean one. Keep clear of that.
wait_since "$t_connect" 6
a0=$(n alert) e0=$(n "$ev")
relay down
gk_check "short outage: the link lost" gk_wait_for 5 grep -q 'Lost the connection to MQTT' "$dlog"
pain 6
relay up
gk_check "... back within seconds" gk_wait_for 10 connected 2
t_connect=$(date +%s.%N)
gk_check "... the alert raised in it delivered on alert (cleared + raised)" \
	gk_wait_for 10 more alert $((a0 + 1))
gk_check "... and, fresh, on the event entity's too" gk_wait_for 5 more "$ev" $((e0 + 1))

# ---- a long outage, alerts in flight when the link died ---------------------
wait_since "$t_connect" 6
a0=$(n alert) e0=$(n "$ev")
alert_seq0=$(seqs alert | tail -1)
relay hold
t_hold=$(date +%s.%N)
for lvl in 7 8 9; do pain "$lvl"; done	# 6 messages sent, none acknowledged
sleep 1
relay down
gk_check "long outage: the link lost" gk_wait_for 5 bash -c \
	"[ \$(grep -c 'Lost the connection to MQTT' '$dlog') -ge 2 ]"
for lvl in 5 6; do pain "$lvl"; done	# 4 messages spooled
# past the 30 s in-flight timeout, counted from when the held ones went out
wait_since "$t_hold" 33
relay up
gk_check "back after $(python3 -c "print(round($(date +%s.%N) - $t_hold))") s" \
	gk_wait_for 15 connected 3
gk_check "... with the session resumed (Paho sends its in-flight messages again)" \
	bash -c "grep 'Connected to MQTT broker' '$dlog' | tail -1 | grep -q 'session resumed'"
gk_check "... the 10 alert messages raised in the outage delivered" \
	gk_wait_for 15 more alert $((a0 + 9))
sleep 2	# a duplicate would come with the resent flows, at once
outage_seqs=$(seqs alert | awk -v s="$alert_seq0" '$1 > s')
dups=$(sort -n <<< "$outage_seqs" | uniq -d | wc -l)
echo "# figure: alert_duplicates_after_33s_outage=$dups of $(wc -l <<< "$outage_seqs") messages"
gk_check "... each once ($dups duplicates)" test "$dups" -eq 0
gk_check "... no seq missing" bash -c "[ \"\$(sort -nu <<< '$outage_seqs' | wc -l)\" -eq 10 ]"
stale=$(( $(n "$ev") - e0 ))
gk_check "... none of them on the event entity's ($stale there)" test "$stale" -eq 0
gk_check "... the stale ones said in the log" grep -q \
	"alert event(s) from while the broker was away not sent on 'alert/event': over 10 s old" \
	"$dlog"

# ---- live again ----------------------------------------------------------------
a0=$(n alert) e0=$(n "$ev")
pain 4
gk_check "a live alert after the outage: on alert" gk_wait_for 5 more alert $((a0 + 1))
gk_check "... and on the event entity's" gk_wait_for 5 more "$ev" $((e0 + 1))

kill -TERM "$GKD_PID"
gk_check "clean exit" wait "$GKD_PID"
gk_check "no crash or sanitizer report" bash -c "! grep -qE 'Sanitizer|runtime error' '$dlog'"
gk_done
