#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gaitkeeperd end to end: private dbus-daemon, bluez-sim owning org.bluez,
# mosquitto on a free loopback port. Checks READY=1 timing, availability,
# sensor state, live metrics, alerts, summaries, cmd/ handling, nothing
# must-deliver lost across a broker outage and a daemon SIGKILL, SIGHUP with
# a bad config, clean shutdown, and docs/mqtt.md against what is published.
# Figures go to $GK_BUILD/it-daemon-mqtt.figures (docs/reliability.md).
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

FIG=$GK_BUILD/it-daemon-mqtt.figures
gk_require_built "$GKD" "$SIM"
: > "$FIG"

gkd_need dbus mosquitto

H10=A0:9E:1A:00:00:01
POD=C8:FD:19:00:00:02
BELT=E4:5F:01:00:00:03
gkd_start_sim --loop --speed-mps 3.0 \
	--device "polar-h10,$H10,Polar H10 ABC" \
	--device "footpod,$POD,Stryd IT" \
	--device "treadmill,$BELT,IT Treadmill"

state=$gk_tmp/state	# start_daemon's --state-dir
cfg=$gk_tmp/gaitkeeper.conf
write_config() {
	cat > "$cfg" <<EOF
node = "it";
log_level = "debug";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; step_events = true; };
form = { auto_session = false; };
sensors = (
  { alias = "chest"; kind = "polar-h10"; address = "$H10"; mount = "chest"; },
  { alias = "pod"; kind = "footpod"; name = "Stryd*"; },
  { alias = "belt"; kind = "treadmill"; address = "$BELT"; }
);
EOF
}
write_config

# The durable subscriber: MQTT 5, QoS 1, a session that outlives the broker.
sub_log=$gk_tmp/sub.log
start_sub() {
	gk_bg stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -V mqttv5 -q 1 \
		-c -i gk-it-sub -x 3600 -t 'gaitkeeper/it/#' -t 'homeassistant/#' \
		-F '%q %t %p' >> "$sub_log" 2>> "$gk_tmp/sub.err"
	SUB_PID=$gk_last_pid
}
start_sub

gkd_start_notify

# last_payload TOPIC-SUFFIX: the newest payload seen on gaitkeeper/it/SUFFIX.
last_payload() {
	grep -F " gaitkeeper/it/$1 " "$sub_log" | tail -1 | cut -d' ' -f3-
}
seen() {
	grep -qF " gaitkeeper/it/$1 $2" "$sub_log"
}
json_get() {	# json_get JSON KEY -> value (python repr of JSON value)
	python3 -c 'import json,sys; v=json.loads(sys.argv[1]); print(json.dumps(v.get(sys.argv[2])))' "$1" "$2"
}
pub() {
	mosquitto_pub -h 127.0.0.1 -p "$GK_MQTT_PORT" -q 1 -t "gaitkeeper/it/$1" -m "$2"
}
count_topic() {
	grep -cF " gaitkeeper/it/$1 " "$sub_log"
}

# ---- start: READY=1 within 1 s, without waiting for anything --------------
start_daemon
gk_wait_for 5 grep -q 'READY=1' "$notify_log"
ready_ts=$(grep -m1 'READY=1' "$notify_log" | cut -d' ' -f1)
ready_ms=99999
if [ -n "$ready_ts" ]; then
	ready_ms=$(python3 -c "print(round(($ready_ts - $START_TS) * 1000))")
fi
echo "ready_ms=$ready_ms" >> "$FIG"
gk_check "READY=1 within 1 s of exec (${ready_ms} ms)" test "$ready_ms" -lt 1000
gk_check "STATUS= says what it is doing" grep -q 'STATUS=[0-9]/3 sensors streaming, broker' \
	"$notify_log"

gk_check "status online (retained birth message)" gk_wait_for 10 seen status online
gk_check "chest availability online (BLE streaming)" \
	gk_wait_for 40 seen sensor/chest/availability online
gk_check "pod availability online" gk_wait_for 30 seen sensor/pod/availability online
gk_check "belt availability online" gk_wait_for 30 seen sensor/belt/availability online
gk_check "STATUS= 3/3 sensors streaming, broker connected" \
	gk_wait_for 10 grep -q 'STATUS=3/3 sensors streaming, broker connected' "$notify_log"

has_hr() { [ "$(json_get "$(last_payload sensor/chest/state)" heart_rate_bpm)" != null ]; }
gk_check "sensor/chest/state carries heart rate" gk_wait_for 20 has_hr
gk_check "sensor/chest/state: mount chest, as configured" \
	test "$(json_get "$(last_payload sensor/chest/state)" mount)" = '"chest"'
gk_check "sensor/belt/state: no mount for a treadmill (null)" \
	test "$(json_get "$(last_payload sensor/belt/state)" mount)" = null
has_speed() { [ "$(json_get "$(last_payload sensor/belt/state)" speed_mps)" != null ]; }
gk_check "sensor/belt/state carries belt speed" gk_wait_for 20 has_speed
gk_check "HA discovery: chest heart rate entity" \
	grep -qF 'homeassistant/sensor/gaitkeeper_it/chest_heart_rate_bpm/config {' "$sub_log"
# pain/where went out with the other retained state at connect; pain/last did not.
gk_check "no pain/last before any pain report (Home Assistant's number shows unknown)" \
	bash -c "grep -qF ' gaitkeeper/it/pain/where ' '$sub_log' &&
		! grep -qF ' gaitkeeper/it/pain/last ' '$sub_log'"

# ---- a session over MQTT cmd/ ---------------------------------------------
pub cmd/session/start '{"request_id":"it-1"}'
gk_check "cmd/session/start accepted" gk_wait_for 10 \
	grep -q 'cmd/result {"command":"session/start","request_id":"it-1","ok":true' "$sub_log"
gk_check "session/state running" gk_wait_for 5 seen session/state '{"state":"running"'
gk_check "run/live while running (QoS 0)" gk_wait_for 40 \
	grep -q '^0 gaitkeeper/it/run/live {' "$sub_log"
gk_check "run/step per detected step (QoS 0, step_events on)" gk_wait_for 20 \
	grep -q '^0 gaitkeeper/it/run/step {"ic_ts":' "$sub_log"
has_cadence() { [ "$(json_get "$(last_payload run/live)" cadence_spm)" != null ]; }
gk_check "run/live has a cadence" gk_wait_for 30 has_cadence
live_before=$(count_topic run/live)
sleep 5
live_after=$(count_topic run/live)
live_rate=$(( live_after - live_before ))
echo "live_msgs_per_5s=$live_rate" >> "$FIG"
gk_check "run/live at about 1 Hz ($live_rate in 5 s)" test "$live_rate" -ge 3 -a "$live_rate" -le 7
# The session so far: its steps grow by the cadence, its distance (belt speed) is known.
progress=$(grep -F ' gaitkeeper/it/run/live ' "$sub_log" | tail -6 | cut -d' ' -f3- | python3 -c '
import json, sys
l = [json.loads(x) for x in sys.stdin]
a, b = l[0], l[-1]
dt = b["session_s"] - a["session_s"]
rate = 60 * (b["session_steps"] - a["session_steps"]) / dt if dt > 0 else 0
# a may be the first line of the session (0 steps, no distance yet): only b must be past it
ok = (b["session_steps"] > a["session_steps"] >= 0 and b["session_distance_m"]
      and b["session_distance_m"] > (a["session_distance_m"] or 0)
      and abs(rate - b["cadence_spm"]) <= 0.25 * b["cadence_spm"])
print("%s %d steps, %.0f steps/min over %.1f s (cadence %s), %s m" % (
    "ok" if ok else "bad", b["session_steps"], rate, dt, b["cadence_spm"],
    b["session_distance_m"]))' 2>&1)
gk_check "run/live session_steps grow by the cadence, session_distance_m too ($progress)" \
	test "${progress%% *}" = ok
gk_check "run/live values in the form core's decimals (cadence_spm: one)" \
	grep -Eq '^0 gaitkeeper/it/run/live .*"cadence_spm":[0-9]+(\.[0-9])?,' \
	<(grep -F ' gaitkeeper/it/run/live ' "$sub_log" | tail -1)

pub cmd/pain '{"level":5,"where":"lower-back"}'
gk_check "pain report recorded on pain/last (retained, QoS 1)" gk_wait_for 10 grep -q \
	'^1 gaitkeeper/it/pain/last {"level":5,"where":"lower-back","ts":[0-9]*,"seq":[0-9]*}$' \
	"$sub_log"
gk_check "pain report raises an alert (QoS 1)" gk_wait_for 10 \
	grep -q '^1 gaitkeeper/it/alert {.*"kind":"pain".*"event_type":"pain"' "$sub_log"
gk_check "alert/active lists it" gk_wait_for 5 grep -q 'alert/active {"alerts":\[{' "$sub_log"
gk_check "alert/active: value and threshold printed as the metric is (pain level: whole)" \
	grep -q 'alert/active {"alerts":\[{[^]]*"metric":"pain_level","value":5,"threshold":4,' "$sub_log"
pub cmd/session/start 'garbage'
gk_check "garbage command rejected with a reason" gk_wait_for 10 \
	grep -q 'cmd/result {"command":"session/start","request_id":null,"ok":false,"error":"not valid JSON"' "$sub_log"
gk_check "rejection logged" grep -q "Rejected MQTT command on 'cmd/session/start': not valid JSON" "$dlog"
pub cmd/session/start '{}'
gk_check "second start refused (busy)" gk_wait_for 10 \
	grep -q '"command":"session/start","request_id":null,"ok":false,"error":"a session is already running"' "$sub_log"

# ---- broker outage: must-deliver messages wait in the spool ----------------
kill -TERM "$GK_MOSQUITTO_PID"; wait "$GK_MOSQUITTO_PID" 2>/dev/null
alerts_before=$(count_topic alert)
for lvl in 4 6 7; do
	dbus_call ReportPain us "$lvl" knee > /dev/null
done
pain_refused() { ! dbus_call ReportPain us "$1" "$2" > /dev/null 2>&1; }
gk_check "D-Bus ReportPain 11 refused" pain_refused 11 knee
dbus_call StopSession > /dev/null
sim_call SetSilent sb "$POD" true
gk_check "pod flagged offline while the broker is down" gk_wait_for 15 \
	grep -q "Sensor 'pod' is unavailable" "$dlog"
spooled=$(python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d.count(b"GKS1"))' "$state/spool")
gk_check "must-deliver messages spooled on disk ($spooled records)" test "$spooled" -ge 5
sleep 3
restart_ts=$(date +%s.%N)
gk_run_mosquitto
reconnected() { [ "$(grep -c 'Connected to MQTT broker' "$dlog")" -ge 2 ]; }
gk_check "broker back: daemon reconnects" gk_wait_for 20 reconnected
nodelay() { [ "$(grep -c 'TCP_NODELAY set on 1 socket(s)' "$dlog")" -ge 2 ]; }
gk_check "Nagle off on the broker socket after each connect (Paho leaves it on)" \
	gk_wait_for 5 nodelay
back_ts=$(date +%s.%N)
echo "reconnect_ms=$(python3 -c "print(round(($back_ts - $restart_ts) * 1000))")" >> "$FIG"
all_alerts() { [ "$(count_topic alert)" -ge $((alerts_before + 3)) ]; }
gk_check "3 alerts raised during the outage delivered" gk_wait_for 20 all_alerts
gk_check "summary from the outage delivered (QoS 1)" gk_wait_for 20 \
	grep -q '^1 gaitkeeper/it/session/summary {' "$sub_log"
gk_check "pod offline availability delivered" gk_wait_for 20 seen sensor/pod/availability offline
last_pain_is() { last_payload pain/last | grep -q "^{\"level\":$1,\"where\":\"$2\","; }
gk_check "pain/last on reconnect: the last D-Bus ReportPain (7 knee; 11 was refused)" \
	gk_wait_for 10 last_pain_is 7 knee
seq_ok() {
	python3 - "$sub_log" "$1" <<'PY'
import json, sys
seqs = []
for line in open(sys.argv[1], errors="replace"):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) == 3 and parts[1] == "gaitkeeper/it/" + sys.argv[2]:
        seqs.append(json.loads(parts[2])["seq"])
uniq = sorted(set(seqs))
# No gap: every seq from the first to the last was received.
ok = uniq == list(range(uniq[0], uniq[-1] + 1))
print("%s: %d messages, %d unique, %d duplicates" % (sys.argv[2], len(seqs), len(uniq), len(seqs) - len(uniq)), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
gk_check "alert seq without gaps across the outage" seq_ok alert
dups=$(python3 -c '
import json,sys
s=[json.loads(l.split(" ",2)[2])["seq"] for l in open(sys.argv[1],errors="replace") if l.split(" ",2)[1:2]==["gaitkeeper/it/alert"]]
print(len(s)-len(set(s)))' "$sub_log")
echo "broker_outage_alert_duplicates=$dups" >> "$FIG"
lost=$(python3 -c '
import json,sys
s=set(json.loads(l.split(" ",2)[2])["seq"] for l in open(sys.argv[1],errors="replace") if l.split(" ",2)[1:2]==["gaitkeeper/it/alert"])
print(max(s) - min(s) + 1 - len(s))' "$sub_log")
echo "broker_outage_lost=$lost" >> "$FIG"
sim_call SetSilent sb "$POD" false

# ---- daemon SIGKILLed with a full spool: replayed after restart -------------
kill -TERM "$GK_MOSQUITTO_PID"; wait "$GK_MOSQUITTO_PID" 2>/dev/null
alerts_before=$(count_topic alert)
summaries_before=$(count_topic session/summary)
dbus_call StartSession > /dev/null
dbus_call ReportPain us 8 hip > /dev/null
dbus_call ReportPain us 9 hip > /dev/null
dbus_call StopSession > /dev/null
sleep 0.5
kill -KILL "$GKD_PID"; wait "$GKD_PID" 2>/dev/null
gk_run_mosquitto
: > "$notify_log"
start_daemon
gk_check "restarted daemon READY again" gk_wait_for 5 grep -q 'READY=1' "$notify_log"
gk_check "spool replayed at start" grep -q 'Spool: [0-9]* messages waiting from before' "$dlog"
kill_alerts() { [ "$(count_topic alert)" -ge $((alerts_before + 2)) ]; }
gk_check "alerts accepted before SIGKILL delivered after restart" gk_wait_for 20 kill_alerts
kill_summary() { [ "$(count_topic session/summary)" -ge $((summaries_before + 1)) ]; }
gk_check "summary accepted before SIGKILL delivered after restart" gk_wait_for 20 kill_summary
gk_check "alert seq still without gaps after SIGKILL" seq_ok alert
gk_check "summary seq without gaps" seq_ok session/summary
gk_check "pain/last after SIGKILL: the report made while the broker was down (9 hip)" \
	gk_wait_for 10 last_pain_is 9 hip
sdups=$(python3 -c '
import json,sys
s=[json.loads(l.split(" ",2)[2])["seq"] for l in open(sys.argv[1],errors="replace") if l.split(" ",2)[1:2]==["gaitkeeper/it/session/summary"]]
print(len(s)-len(set(s)))' "$sub_log")
echo "sigkill_summary_duplicates=$sdups" >> "$FIG"
gk_check "at most one duplicate per fault ($sdups)" test "$sdups" -le 1

# ---- SIGHUP: a bad config is reported, the old one kept ---------------------
gk_wait_for 20 seen status online
{ echo 'node = "it";'
  printf 'form = { imu_sensor = "ch\xe9st"; };\n'
  echo "mqtt = { uri = \"$GK_MQTT_URI\"; keepalive_s = 1; };"
  echo 'bogus = true;'; } > "$cfg"
: > "$notify_log"
kill -HUP "$GKD_PID"
gk_check "bad reload reported (file:line: key)" gk_wait_for 5 \
	grep -q "gaitkeeper.conf:3: mqtt.keepalive_s: 1 is out of range" "$dlog"
gk_check "old configuration kept" grep -q 'keeping the old configuration' "$dlog"
gk_check "RELOADING=1 then READY=1" gk_wait_for 5 grep -q 'READY=1' "$notify_log"
gk_check "reload error on gateway/state" gk_wait_for 5 grep -q '"config_error":"' "$sub_log"
# the error quotes a Latin-1 byte: before, it went out raw (not UTF-8, so
# not JSON text for Home Assistant); now as \xe9
latin1_error_is_json() { python3 - "$sub_log" <<'PY'
import json, sys
for raw in open(sys.argv[1], "rb"):
    if b"gateway/state" in raw and b'"config_error":"' in raw:
        state = json.loads(raw.decode("utf-8").split(" ", 2)[2])
        sys.exit(0 if "'ch\\xe9st'" in state["config_error"] else 1)
sys.exit(1)
PY
}
gk_check "... as UTF-8 JSON, the Latin-1 byte as \\xe9" latin1_error_is_json
gk_check "still running after the bad reload" kill -0 "$GKD_PID"
write_config
kill -HUP "$GKD_PID"
gk_check "good reload accepted" gk_wait_for 5 grep -q 'Reloaded configuration from' "$dlog"

# ---- docs/mqtt.md against what was really published ------------------------
mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -t 'gaitkeeper/it/#' --retained-only \
	-W 3 -F '%t' > "$gk_tmp/retained.txt" 2>/dev/null
gk_check "docs/mqtt.md examples match the published payloads" python3 - docs/mqtt.md \
	"$sub_log" "$gk_tmp/retained.txt" <<'PY'
import json, re, sys
doc = open(sys.argv[1]).read()
msgs = {}
for line in open(sys.argv[2], errors="replace"):
    parts = line.rstrip("\n").split(" ", 2)
    if len(parts) == 3:
        msgs.setdefault(parts[1], []).append((int(parts[0]), parts[2]))
retained = set(l.strip() for l in open(sys.argv[3]))
checks = re.findall(r"<!-- check: topic=(\S+) qos=(\d) retained=(\d) -->\s*```(?:json)?\n(.*?)```",
                    doc, re.S)
bad = 0
if len(checks) < 10:
    print("only %d checked examples in docs/mqtt.md" % len(checks)); bad += 1
for topic, qos, ret, example in checks:
    t = "gaitkeeper/it/" + topic
    if t not in msgs:
        print("never published: " + t); bad += 1; continue
    q, payload = msgs[t][-1]
    if q != int(qos):
        print("%s: QoS %d, documented %s" % (t, q, qos)); bad += 1
    if (t in retained) != (ret == "1"):
        print("%s: retained %s, documented %s" % (t, t in retained, ret)); bad += 1
    example = example.strip()
    if example.startswith("{"):
        want = json.loads(example); have = json.loads(payload)
        if set(want) != set(have):
            print("%s: keys differ: doc-only %s, published-only %s" %
                  (t, sorted(set(want) - set(have)), sorted(set(have) - set(want)))); bad += 1
    elif example not in [p for _, p in msgs[t]]:
        print("%s: payload %r never seen" % (t, example)); bad += 1
sys.exit(1 if bad else 0)
PY

# ---- cmd/summary/republish: the last summary again, same seq -------------
last_seq=$(json_get "$(last_payload session/summary)" seq)
n_before=$(count_topic session/summary)
pub cmd/summary/republish ''
again() { [ "$(count_topic session/summary)" -gt "$n_before" ]; }
gk_check "summary republished on request" gk_wait_for 10 again
gk_check "republished summary keeps its seq ($last_seq)" \
	test "$(json_get "$(last_payload session/summary)" seq)" = "$last_seq"

# ---- clean shutdown: running session's summary flushed, offline, exit 0 ----
summaries_before=$(count_topic session/summary)
pub cmd/session/start '{"request_id":"last"}'
gk_wait_for 10 grep -q '"request_id":"last","ok":true' "$sub_log"
stop_ts=$(date +%s.%N)
kill -TERM "$GKD_PID"
wait "$GKD_PID"
rc=$?
echo "shutdown_ms=$(python3 -c "print(round(($(date +%s.%N) - $stop_ts) * 1000))")" >> "$FIG"
gk_check "SIGTERM: exit status 0" test "$rc" -eq 0
flushed() { [ "$(count_topic session/summary)" -gt "$summaries_before" ]; }
gk_check "SIGTERM: the running session's summary was delivered" gk_wait_for 5 flushed
gk_check "SIGTERM: status offline published" gk_wait_for 5 \
	bash -c "grep -F ' gaitkeeper/it/status ' '$sub_log' | tail -1 | grep -q offline"
gk_check "no crash or sanitizer report in the daemon log" \
	bash -c "! grep -qE 'Sanitizer|runtime error|Segmentation' '$dlog'"

cat "$FIG" | sed 's/^/# figure: /'
gk_done
