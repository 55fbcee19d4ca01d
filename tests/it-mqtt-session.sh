#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gaitkeeperd's MQTT session across its own restarts and the broker's, with
# the real mosquitto: commands are for now (a retained one never runs again
# at a reconnect or a restart; one sent while the daemon is stopped is not
# run at its next start), availability after a restart is the sensor's as it
# is now (not the retained "online" of before), an oversize command is
# answered and counted, a refused command's answer names its request_id, and
# the burst of discovery configs of 8 sensors all reach the broker.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

gk_require_built "$GKD" "$SIM"
gkd_need dbus mosquitto

POD=C4:00:00:00:00:03
gkd_start_sim --loop --device "footpod,$POD,Stryd pod"

cfg=$gk_tmp/gaitkeeper.conf
# write_config [EXTRA_SENSORS]: the footpod, then the extra entries
write_config() {
	cat > "$cfg" <<EOF
node = "it";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; };
form = { auto_session = false; };
sensors = (
  { alias = "pod"; kind = "footpod"; name = "Stryd*"; }$1
);
EOF
}
write_config ""
gkd_subscribe it -t 'homeassistant/#'
gkd_start_notify

connects() { grep -c 'Connected to MQTT broker' "$dlog"; }
runs() { grep -c "MQTT command '$1': ok" "$dlog"; }
retained() {
	mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -t "gaitkeeper/it/$1" --retained-only \
		-C 1 -W 2 2> /dev/null
}
mpub() { mosquitto_pub -h 127.0.0.1 -p "$GK_MQTT_PORT" -q 1 "$@"; }
restart_broker() {
	kill "$GK_MOSQUITTO_PID"
	wait "$GK_MOSQUITTO_PID" 2> /dev/null
	gk_run_mosquitto
}
stop_daemon() {
	kill "$GKD_PID"
	wait "$GKD_PID" 2> /dev/null
}

start_daemon
gk_check "connected" gk_wait_for 10 bash -c "[ \$(grep -c 'Connected to MQTT' $dlog) -ge 1 ]"
gk_check "the footpod is online" \
	gk_wait_for 20 grep -q 'gaitkeeper/it/sensor/pod/availability online' "$sub_log"

# -- a retained command runs once ---------------------------------------------
mpub -r -t gaitkeeper/it/cmd/pain -m '{"level":6,"where":"knee"}'
gk_check "a retained pain report runs when sent" gk_wait_for 5 bash -c \
	"[ \$(grep -c \"MQTT command 'pain': ok\" $dlog) -eq 1 ]"
restart_broker
gk_check "reconnected after a broker restart" \
	gk_wait_for 15 bash -c "[ \$(grep -c 'Connected to MQTT' $dlog) -ge 2 ]"
sleep 2
stop_daemon
start_daemon
gk_check "reconnected after a daemon restart" \
	gk_wait_for 15 bash -c "[ \$(grep -c 'Connected to MQTT' $dlog) -ge 3 ]"
sleep 2
n=$(runs pain)
gk_check "... and it did not run again at either (ran $n times)" test "$n" -eq 1

# -- a command sent while the daemon is stopped is not run later --------------
stop_daemon
mpub -r -n -t gaitkeeper/it/cmd/pain	# the retained one cleared
before=$(runs session/start)
mpub -t gaitkeeper/it/cmd/session/start -m '{}'
mpub -t gaitkeeper/it/cmd/pain -m '{"level":7}'
# ... and the footpod goes away meanwhile
kill "$SIM_PID"
wait "$SIM_PID" 2> /dev/null
start_daemon
gk_check "restarted" gk_wait_for 15 bash -c "[ \$(grep -c 'Connected to MQTT' $dlog) -ge 4 ]"
sleep 3
gk_check "the session/start sent while it was stopped did not run" \
	test "$(runs session/start)" -eq "$before"
gk_check "nor the pain report" test "$(runs pain)" -eq 1
gk_check "no session is running" test "$(retained session/state | jq -r .state)" = idle

# -- availability after a restart is what it is now ---------------------------
gk_check "the footpod, gone, reads offline (not the retained online of before)" \
	test "$(retained sensor/pod/availability)" = offline
gk_check "the gateway reads online" test "$(retained status)" = online

# -- commands sent now run; refusals are answered ------------------------------
mpub -t gaitkeeper/it/cmd/pain -m '{"level":3,"request_id":"r-now"}'
gk_check "a command sent now runs" gk_wait_for 5 bash -c \
	"[ \$(grep -c \"MQTT command 'pain': ok\" $dlog) -eq 2 ]"
mpub -t gaitkeeper/it/cmd/pain -m '{"level":11,"request_id":"r-bad"}'
gk_check "a refused command's answer names its request_id" \
	gk_wait_for 5 grep -q 'gaitkeeper/it/cmd/result {.*"request_id":"r-bad".*"ok":false' \
	"$sub_log"
big=$(head -c 5000 /dev/zero | tr '\0' x)
mpub -t gaitkeeper/it/cmd/session/start -m "{\"request_id\":\"$big\"}"
gk_check "an oversize command is answered: payload too large" \
	gk_wait_for 5 grep -q 'gaitkeeper/it/cmd/result {.*payload too large' "$sub_log"
# counted since this start: the refused one above and this one
gk_check "... and counted" gk_wait_for 15 bash -c \
	"grep -o '\"commands_rejected\":[0-9]*' $sub_log | tail -1 | grep -qx '.*:2'"

# -- the discovery burst of 8 sensors ------------------------------------------
stop_daemon
extra=""
for i in 2 3 4 5 6 7 8; do
	extra+=",
  { alias = \"belt$i\"; kind = \"treadmill\"; name = \"Belt $i*\"; }"
done
write_config "$extra"
: > "$sub_log.before"
cp "$sub_log" "$sub_log.before"
start_daemon
gk_check "restarted with 8 sensors" \
	gk_wait_for 15 bash -c "[ \$(grep -c 'Connected to MQTT' $dlog) -ge 5 ]"
configs() {
	diff "$sub_log.before" "$sub_log" | sed -n 's/^> 1 \(homeassistant\/[^ ]*\/config\) .*/\1/p' |
		sort -u | wc -l
}
bursts() { diff "$sub_log.before" "$sub_log" | grep -c '^> 1 homeassistant/.*/config '; }
export -f configs bursts
export sub_log
gk_wait_for 15 bash -c "[ \$(grep -c . $gk_tmp/state/ha-topics 2> /dev/null) -gt 64 ]"
want=$(grep -c . "$gk_tmp/state/ha-topics")
gk_wait_for 20 bash -c "[ \$(configs) -ge $want ]"
n=$(configs)
echo "# figure ha_configs_delivered $n of $want"
gk_check "every discovery config reached the broker ($n of $want)" \
	test "$n" -eq "$want" -a "$want" -gt 64
gk_check "no message refused by Paho" bash -c "! grep -q 'not sent: Paho error' $dlog"
mpub -t homeassistant/status -m online
gk_wait_for 20 bash -c "[ \$(bursts) -ge $(( 2 * want )) ]"
n2=$(bursts)
gk_check "Home Assistant online: all announced again ($n2 configs in both bursts)" \
	test "$n2" -ge $(( 2 * want ))
stop_daemon
gk_check "no crash or sanitizer report" bash -c "! grep -q 'ERROR: \|runtime error' $dlog"

gk_done
