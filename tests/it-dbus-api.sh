#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The D-Bus API of the real gaitkeeperd (docs/dbus.md) on a private bus with
# the shipped policy (systemd/io.gaitkeeper.Gaitkeeper1.conf) loaded, the
# daemon running as user gaitkeeperd, bluez-sim owning org.bluez: methods,
# properties, signals, errors, and refusal of callers outside group
# gaitkeeper, once by the bus policy and once by the daemon's own check.
#
# The users the policy names (gaitkeeperd, group gaitkeeper) are added in a
# private mount namespace over bind-mounted copies of /etc/passwd and
# /etc/group: the machine's user database is never changed.
if [ -z "${GK_IN_NS:-}" ] && [ "$(id -u)" = 0 ] &&
	unshare --mount --propagation private true 2> /dev/null; then
	GK_IN_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1

GKD=$GK_BUILD/gaitkeeperd
SIM=$GK_BUILD/bluez-sim
GAITCTL=$GK_BUILD/gaitctl
gk_require_built "$GKD" "$SIM" "$GAITCTL" "$GK_BUILD/tests/dbus-api-driver"
if [ "${GK_IN_NS:-}" != 1 ] || [ ! -d "$gk_tmp" ]; then
	gk_skip "mount namespace for the policy users" "needs root and unshare --mount"
	gk_done
	exit 1
fi

# ---- users: gaitkeeperd (service), gkop (member of gaitkeeper), gkpeer (not) --
free_id() {
	local id=$1
	while getent passwd "$id" > /dev/null || getent group "$id" > /dev/null; do
		id=$((id + 1))
	done
	echo "$id"
}
uid_svc=$(free_id 64900)
uid_op=$(free_id $((uid_svc + 1)))
uid_peer=$(free_id $((uid_op + 1)))
gid_op=$(free_id $((uid_peer + 1)))
cp /etc/passwd "$gk_tmp/passwd"
cp /etc/group "$gk_tmp/group"
printf '%s\n' "gaitkeeperd:x:$uid_svc:$uid_svc::/nonexistent:/usr/sbin/nologin" \
	"gkop:x:$uid_op:65534::/nonexistent:/usr/sbin/nologin" \
	"gkpeer:x:$uid_peer:65534::/nonexistent:/usr/sbin/nologin" >> "$gk_tmp/passwd"
printf '%s\n' "gaitkeeperd:x:$uid_svc:" "gaitkeeper:x:$gid_op:gkop" >> "$gk_tmp/group"
mount --bind "$gk_tmp/passwd" /etc/passwd && mount --bind "$gk_tmp/group" /etc/group
gk_check "test users exist in the namespace only" getent group gaitkeeper

as_svc() { setpriv --reuid=gaitkeeperd --regid=gaitkeeperd --clear-groups "$@"; }
# A logged-in operator: supplementary groups from the user database.
as_op() { setpriv --reuid=gkop --regid=nogroup --init-groups "$@"; }
# The same user with no supplementary groups: only the member list says so.
as_op_bare() { setpriv --reuid=gkop --regid=nogroup --clear-groups "$@"; }
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
# Not in the member list, but the process carries the group (SO_PEERGROUPS).
as_peer_group() { setpriv --reuid=gkpeer --regid=nogroup --groups="$gid_op" "$@"; }
export -f as_nobody

chmod 0755 "$gk_tmp"	# the socket is reached by the users above
mkdir -p "$gk_tmp/dbus.d" && cp systemd/io.gaitkeeper.Gaitkeeper1.conf "$gk_tmp/dbus.d/"
gk_start_dbus 2> "$gk_tmp/dbus.log" || { gk_not_ok "private dbus-daemon"; gk_done; exit 1; }
DBUS_PID=$gk_last_pid
gk_start_mosquitto || { gk_not_ok "mosquitto"; gk_done; exit 1; }

H10=A0:9E:1A:00:00:01
POD=C8:FD:19:00:00:02
# bluez-sim is an sd-bus server: without SD_BUS_VTABLE_UNPRIVILEGED on its
# methods it answers only callers of its own uid, so it runs as gaitkeeperd.
gk_bg setpriv --reuid=gaitkeeperd --regid=gaitkeeperd --clear-groups "$SIM" --loop --speed-mps 3.0 \
	--device "polar-h10,$H10,Polar H10 DB" --device "footpod,$POD,Stryd DB" \
	2> "$gk_tmp/sim.log"
gk_wait_for 10 busctl --system status org.bluez > /dev/null ||
	{ gk_not_ok "bluez-sim on the private bus"; gk_done; exit 1; }

# The bus refuses the name to anyone but gaitkeeperd, root included.
timeout 10 "$GK_BUILD/tests/dbus-api-driver" < /dev/null > "$gk_tmp/root-own.out" 2>&1
gk_check "policy: root may not own io.gaitkeeper.Gaitkeeper1" \
	grep -q 'error name: org.freedesktop.DBus.Error.AccessDenied' "$gk_tmp/root-own.out"

cfg=$gk_tmp/gaitkeeper.conf
state=$gk_tmp/state
mkdir -p "$state" && chown gaitkeeperd:gaitkeeperd "$state" && chmod 0700 "$state"
printf '%s\n' 'node = "dbusit";' \
	"mqtt = { uri = \"$GK_MQTT_URI\"; keepalive_s = 5; };" \
	'form = { auto_session = false; };' \
	'alerts = { pain_level = 4.0; };' \
	'sensors = (' \
	"  { alias = \"chest\"; kind = \"polar-h10\"; address = \"$H10\"; mount = \"chest\"; }," \
	'  { alias = "pod-1"; kind = "footpod"; name = "Stryd*"; }' \
	');' > "$cfg"
chmod 0644 "$cfg"

# Signals, as root over the whole run (a monitor sees everything).
gk_bg busctl --system monitor --json=short \
	--match="type='signal',sender='io.gaitkeeper.Gaitkeeper1'" > "$gk_tmp/signals.json" 2>&1
gk_bg setpriv --reuid=gaitkeeperd --regid=gaitkeeperd --clear-groups \
	"$GKD" --config "$cfg" --state-dir "$state" --stderr --debug=ble > "$gk_tmp/daemon.log" 2>&1
GKD_PID=$gk_last_pid
gk_check "gaitkeeperd owns io.gaitkeeper.Gaitkeeper1 as user gaitkeeperd" gk_wait_for 10 \
	bash -c "busctl --system status io.gaitkeeper.Gaitkeeper1 | grep -qx 'UID=$uid_svc'"

B=(busctl --system)
OBJ=(io.gaitkeeper.Gaitkeeper1 /io/gaitkeeper/Gaitkeeper1 io.gaitkeeper.Gaitkeeper1)
SES=(io.gaitkeeper.Gaitkeeper1 /io/gaitkeeper/Gaitkeeper1/session io.gaitkeeper.Gaitkeeper1.Session)
SEN=(io.gaitkeeper.Gaitkeeper1 /io/gaitkeeper/Gaitkeeper1/sensor)
prop() { "${B[@]}" get-property "${OBJ[@]}" "$1" 2> /dev/null; }
sprop() { "${B[@]}" get-property "${SES[@]}" "$1" 2> /dev/null; }
nprop() { "${B[@]}" get-property "${SEN[0]}" "${SEN[1]}/$1" io.gaitkeeper.Gaitkeeper1.Sensor "$2" 2> /dev/null; }
prop_is() { test "$(prop "$1")" = "$2"; }
sprop_is() { test "$(sprop "$1")" = "$2"; }

# ---- properties -----------------------------------------------------------------
gk_check "Node is the configured node" prop_is Node 's "dbusit"'
gk_check "Version is set" bash -c "busctl --system get-property ${OBJ[*]} Version | grep -q '^s \"[0-9]'"
gk_check "SensorsTotal is 2" prop_is SensorsTotal "u 2"
gk_check "BrokerConnected becomes true" gk_wait_for 15 prop_is BrokerConnected "b true"
if gk_wait_for 40 prop_is SensorsStreaming "u 2"; then
	gk_ok "SensorsStreaming reaches 2"
else
	gk_not_ok "SensorsStreaming reaches 2 ($(prop SensorsStreaming))"
	tail -15 "$gk_tmp/daemon.log" | sed 's/^/# daemon: /'
fi
gk_check "Status says what it does" bash -c "busctl --system get-property ${OBJ[*]} Status | grep -q 'sensors streaming'"
gk_check "sensor object path escapes the alias (pod-1 -> pod_2d1)" \
	test "$(nprop pod_2d1 Alias)" = 's "pod-1"'
gk_check "sensor Kind" test "$(nprop chest Kind)" = 's "polar-h10"'
gk_check "sensor Mount: as configured, chest" test "$(nprop chest Mount)" = 's "chest"'
gk_check "sensor Available" test "$(nprop chest Available)" = "b true"
gk_check "sensor LastSeenMs is recent epoch ms" bash -c \
	"[[ \$(busctl --system get-property ${SEN[0]} ${SEN[1]}/chest io.gaitkeeper.Gaitkeeper1.Sensor LastSeenMs) =~ ^t\ 1[0-9]{12}$ ]]"
gk_check "sensor ImuFramesLost: 0, the simulator drops no frames here" \
	test "$(nprop chest ImuFramesLost)" = "t 0"
gk_check "sensor ImuFramesLost: 0 for the footpod (no IMU)" \
	test "$(nprop pod_2d1 ImuFramesLost)" = "t 0"
gk_check "sensor ImuGyroFramesLost: 0 for the H10 (no gyro) and the footpod (no IMU)" \
	bash -c '[ "$1" = "t 0" ] && [ "$2" = "t 0" ]' _ \
	"$(nprop chest ImuGyroFramesLost)" "$(nprop pod_2d1 ImuGyroFramesLost)"
gk_check "session idle before StartSession" sprop_is State 's "idle"'
gk_check "anyone reads properties (nobody: GetAll)" \
	as_nobody "${B[@]}" call io.gaitkeeper.Gaitkeeper1 /io/gaitkeeper/Gaitkeeper1 \
	org.freedesktop.DBus.Properties GetAll s io.gaitkeeper.Gaitkeeper1
gk_check "anyone lists sensors (nobody: GetManagedObjects)" \
	as_nobody "${B[@]}" call io.gaitkeeper.Gaitkeeper1 /io/gaitkeeper/Gaitkeeper1 \
	org.freedesktop.DBus.ObjectManager GetManagedObjects

# Strings the daemon does not make itself (config values, BlueZ's, truncated
# texts) may be invalid UTF-8, which sd-bus cannot send: a failed reload's
# error quoting a Latin-1 value made Status, and so GetAll and gaitctl status,
# unreadable ("Invalid argument"). Config errors now write such a byte as
# \xHH (config/: they go to MQTT JSON too); any other invalid text still goes
# out with U+FFFD (the 'where' checks below).
cp "$cfg" "$gk_tmp/good.conf"
{ grep -v '^form = ' "$gk_tmp/good.conf"
  printf 'form = { auto_session = false; imu_sensor = "ch\xe9st"; };\n'; } > "$cfg"
kill -HUP "$GKD_PID"
status_has() { busctl --system get-property "${OBJ[@]}" Status 2> /dev/null | grep -qF "$1"; }
gk_check "a failed reload quoting a Latin-1 value: Status readable, with \\xe9" \
	gk_wait_for 10 status_has 'xe9st'
"$GAITCTL" status > "$gk_tmp/status-latin1.txt" 2>&1
rc=$?
gk_check "... and gaitctl status shows it (exit $rc)" grep -q '^Status: .*reload failed' \
	"$gk_tmp/status-latin1.txt"
cp "$gk_tmp/good.conf" "$cfg"
kill -HUP "$GKD_PID"
gk_wait_for 10 bash -c "! busctl --system get-property ${OBJ[*]} Status | grep -q 'reload failed'"
# A reload runs within one pass of the daemon's loop: coalesced, State read
# "running" again and no client saw the documented "reloading".
reload_states() { python3 -c '
import json, sys
states = []
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("path") == "/io/gaitkeeper/Gaitkeeper1" and m.get("member") == "PropertiesChanged":
        st = m["payload"]["data"][1].get("State")
        if st:
            states.append(st["data"])
sys.exit(not ("reloading" in states and states[-1] == "running"))' "$gk_tmp/signals.json"; }
gk_check "SIGHUP: PropertiesChanged says State 'reloading', then 'running'" \
	gk_wait_for 5 reload_states

# ---- refusals by the bus policy -------------------------------------------------------
# dbus-send prints the error's message: the bus says "Rejected send message",
# the daemon "Caller is neither root nor in group 'gaitkeeper'".
DS=(dbus-send --system --print-reply --dest=io.gaitkeeper.Gaitkeeper1 /io/gaitkeeper/Gaitkeeper1)
as_nobody "${DS[@]}" io.gaitkeeper.Gaitkeeper1.StartSession > "$gk_tmp/nobody.out" 2>&1
sed 's/^/# nobody StartSession: /' "$gk_tmp/nobody.out"
gk_check "bus policy refuses StartSession from nobody" grep -q 'AccessDenied: Rejected send message' "$gk_tmp/nobody.out"
as_nobody "${DS[@]}" io.gaitkeeper.Gaitkeeper1.ReportPain uint32:3 string:lower-back > "$gk_tmp/nobody2.out" 2>&1
gk_check "bus policy refuses ReportPain from nobody" grep -q 'AccessDenied: Rejected send message' "$gk_tmp/nobody2.out"
as_nobody "${DS[@]}" org.freedesktop.DBus.Properties.Set string:io.gaitkeeper.Gaitkeeper1 \
	string:Node variant:string:x > "$gk_tmp/set.out" 2>&1
gk_check "bus policy refuses Properties.Set from nobody" grep -q 'AccessDenied: Rejected send message' "$gk_tmp/set.out"
as_op_bare "${DS[@]}" io.gaitkeeper.Gaitkeeper1.StopSession > "$gk_tmp/bare.out" 2>&1
gk_check "bus policy goes by the caller's groups: gkop without them is refused" \
	grep -q 'AccessDenied: Rejected send message' "$gk_tmp/bare.out"

# ---- methods -----------------------------------------------------------------------
"${B[@]}" call "${OBJ[@]}" StopSession > "$gk_tmp/stop0.out" 2>&1
gk_check "StopSession without a session: NotRunning" grep -q 'No session is running' "$gk_tmp/stop0.out"
gk_check "StartSession by operator gkop" \
	as_op "${B[@]}" call "${OBJ[@]}" StartSession
gk_check "session State becomes running" gk_wait_for 5 sprop_is State 's "running"'
gk_check "StartTimeMs is set" bash -c "[[ \$(busctl --system get-property ${SES[*]} StartTimeMs) =~ ^t\ 1[0-9]{12}$ ]]"
"${B[@]}" call "${OBJ[@]}" StartSession > "$gk_tmp/start2.out" 2>&1
gk_check "StartSession twice: AlreadyRunning" grep -q 'already running' "$gk_tmp/start2.out"
"${B[@]}" call "${OBJ[@]}" ReportPain us 11 knee > "$gk_tmp/pain11.out" 2>&1
gk_check "ReportPain level 11: InvalidArgs" grep -q 'out of range 0-10' "$gk_tmp/pain11.out"
"${B[@]}" call "${OBJ[@]}" ReportPain us 3 elbow > "$gk_tmp/elbow.out" 2>&1
gk_check "ReportPain where 'elbow': InvalidArgs" grep -q "Unknown pain location 'elbow'" "$gk_tmp/elbow.out"
# A long 'where' is quoted up to 64 bytes, cut before a character: cut inside
# one, the error was not valid UTF-8, sd-bus could not send it and the caller
# waited 25 s for a reply.
where=$(printf '%063d' 0 | tr 0 a)é
"${B[@]}" --timeout=5 call "${OBJ[@]}" ReportPain us 3 "$where" > "$gk_tmp/utf8.out" 2>&1
gk_check "ReportPain, 'where' of 63 bytes + 'é': InvalidArgs, quoting 63 bytes" \
	grep -q "Unknown pain location 'a\{63\}\.\.\.'" "$gk_tmp/utf8.out"
"${B[@]}" --timeout=5 call "${OBJ[@]}" SetPainWhere s "$where" > "$gk_tmp/utf8-where.out" 2>&1
gk_check "SetPainWhere, the same: InvalidArgs" \
	grep -q "Unknown pain location 'a\{63\}\.\.\.'" "$gk_tmp/utf8-where.out"
as_peer_group "${DS[@]}" io.gaitkeeper.Gaitkeeper1.ReportPain uint32:1 string:foot > "$gk_tmp/peer0.out" 2>&1
sed 's/^/# gkpeer with the group: /' "$gk_tmp/peer0.out"
gk_check "operator by supplementary group only (SO_PEERGROUPS)" grep -q '^method return' "$gk_tmp/peer0.out"
gk_check "ReportPain 2 hip by root" "${B[@]}" call "${OBJ[@]}" ReportPain us 2 hip
gk_check "ReportPain 6 lower-back by gkop" as_op "${B[@]}" call "${OBJ[@]}" ReportPain us 6 lower-back
as_nobody "${B[@]}" --json=short call "${OBJ[@]}" GetSummary b false > "$gk_tmp/sum0.json" 2>&1
gk_check "GetSummary(false) by nobody: the running session as a JSON object" \
	python3 -c 'import json,sys; s=json.loads(json.load(open(sys.argv[1]))["data"][0]); sys.exit(not isinstance(s, dict))' \
	"$gk_tmp/sum0.json"
as_nobody "$GAITCTL" summary > "$gk_tmp/sum0.txt" 2>&1
gk_check "gaitctl summary while it runs: since when, in a sentence" \
	grep -Eq '^Session running since [0-9]{2}:[0-9]{2}:[0-9]{2} \(0:0[0-9]:[0-9]{2} so far\), (running|walking|standing|unknown) now\.$' \
	"$gk_tmp/sum0.txt"

# ---- signals and coalesced PropertiesChanged -------------------------------------------
sig_count() { grep -c "\"member\":\"$1\"" "$gk_tmp/signals.json"; }
live_at_least() { [ "$(sig_count LiveMetrics)" -ge "$1" ]; }
gk_check "LiveMetrics signals arrive (>= 3)" gk_wait_for 40 live_at_least 3
gk_check "LiveMetrics carries cadence_spm" grep -q '"member":"LiveMetrics".*cadence_spm' "$gk_tmp/signals.json"
gk_check "pain 6 >= alerts.pain_level 4 raises AlertRaised at once" \
	gk_wait_for 5 grep -q '"member":"AlertRaised"' "$gk_tmp/signals.json"
gk_check "ActiveAlerts lists it" bash -c "busctl --system get-property ${SES[*]} ActiveAlerts | grep -q '^a(tsssdds) [1-9]'"
gk_check "PropertiesChanged for the session" \
	grep -q '"path":"/io/gaitkeeper/Gaitkeeper1/session".*"member":"PropertiesChanged"' "$gk_tmp/signals.json"
live=$(sig_count LiveMetrics)
t0=$SECONDS
sleep 5
rate_n=$(( $(sig_count LiveMetrics) - live ))
gk_check "LiveMetrics at about 1 Hz ($rate_n in $((SECONDS - t0)) s)" test "$rate_n" -ge 3 -a "$rate_n" -le 7
# Coalesced: one PropertiesChanged per object per loop pass, not one per field.
pc=$(grep '"path":"/io/gaitkeeper/Gaitkeeper1/session"' "$gk_tmp/signals.json" | grep -c PropertiesChanged)
nl=$(sig_count LiveMetrics)
gk_check "session PropertiesChanged coalesced ($pc for $nl live frames)" \
	test "$nl" -ge 3 -a "$pc" -ge 1 -a "$pc" -le $((nl * 2 + 10))
# The session so far: Steps grows, DistanceM (the footpod's speed) is known.
steps0=$(sprop Steps)
sleep 3
steps1=$(sprop Steps)
dist=$(sprop DistanceM)
gk_check "session Steps grows ($steps0 -> $steps1), DistanceM known ($dist)" python3 -c '
import sys
a, b, d = (x.split()[1] for x in sys.argv[1:4])
sys.exit(not (0 < int(a) < int(b) and d != "nan" and float(d) > 0))' "$steps0" "$steps1" "$dist"

# The location of the reports that name none ("": Home Assistant's number, MQTT cmd/pain)
gk_check "PainWhere is 'other' until set" prop_is PainWhere 's "other"'
"${B[@]}" call "${OBJ[@]}" SetPainWhere s elbow > "$gk_tmp/where-elbow.out" 2>&1
gk_check "SetPainWhere 'elbow': InvalidArgs" grep -q "Unknown pain location 'elbow'" \
	"$gk_tmp/where-elbow.out"
as_nobody "${DS[@]}" io.gaitkeeper.Gaitkeeper1.SetPainWhere string:knee \
	> "$gk_tmp/where-nobody.out" 2>&1
gk_check "bus policy refuses SetPainWhere from nobody" \
	grep -q 'AccessDenied: Rejected send message' "$gk_tmp/where-nobody.out"
gk_check "SetPainWhere knee by gkop" as_op "${B[@]}" call "${OBJ[@]}" SetPainWhere s knee
gk_check "PainWhere becomes knee" gk_wait_for 5 prop_is PainWhere 's "knee"'
gk_check "... with PropertiesChanged" gk_wait_for 5 grep -q \
	'"path":"/io/gaitkeeper/Gaitkeeper1".*"member":"PropertiesChanged".*PainWhere' \
	"$gk_tmp/signals.json"
# A state directory the daemon cannot write: SetPainWhere fails as the daemon
# did (before: AccessDenied "Caller is neither root nor in group", to root).
chmod 0500 "$state"
"${DS[@]}" io.gaitkeeper.Gaitkeeper1.SetPainWhere string:ankle > "$gk_tmp/where-ro.out" 2>&1
chmod 0700 "$state"
sed 's/^/# read-only state, root SetPainWhere: /' "$gk_tmp/where-ro.out"
gk_check "SetPainWhere, state not writable: Failed 'Permission denied'" grep -q \
	'Error org.freedesktop.DBus.Error.Failed: Request failed: Permission denied' \
	"$gk_tmp/where-ro.out"
gk_check "... and PainWhere stays knee" prop_is PainWhere 's "knee"'
gk_check "ReportPain 5 with where '' by gkop" as_op "${B[@]}" call "${OBJ[@]}" ReportPain us 5 ""
as_nobody "$GAITCTL" status > "$gk_tmp/status-where.txt" 2>&1
gk_check "gaitctl status: 'Pain at:  knee'" grep -q '^Pain at: *knee,' "$gk_tmp/status-where.txt"
gk_check "gaitctl pain 7 with no --where (gkop)" as_op "$GAITCTL" pain 7
gk_check "StopSession (root)" "${B[@]}" call "${OBJ[@]}" StopSession
gk_check "SessionEnded signal with the summary" gk_wait_for 10 grep -q '"member":"SessionEnded"' "$gk_tmp/signals.json"
gk_check "session State back to idle" gk_wait_for 5 sprop_is State 's "idle"'
"${B[@]}" --json=short call "${OBJ[@]}" GetSummary b true > "$gk_tmp/last.json" 2>&1
gk_check "GetSummary(true): the finished session with the pain reports" python3 -c '
import json, sys
s = json.loads(json.load(open(sys.argv[1]))["data"][0])
text = json.dumps(s)
sys.exit(0 if isinstance(s, dict) and "lower-back" in text and "hip" in text else 1)' "$gk_tmp/last.json"
gk_check "... the reports without a location are at PainWhere's (5 by D-Bus, 7 by gaitctl: knee)" \
	python3 -c '
import json, sys
s = json.loads(json.load(open(sys.argv[1]))["data"][0])
def reports(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "pain" and isinstance(v, list):
                yield from v
            else:
                yield from reports(v)
    elif isinstance(o, list):
        for v in o:
            yield from reports(v)
sys.exit(0 if all(any(p.get("level") == n and p.get("where") == "knee" for p in reports(s))
                  for n in (5, 7)) else 1)' "$gk_tmp/last.json"

# Pain reported between runs belongs to the run before it: the next session's
# history counts it (the first session's own worst report was 6).
gk_check "ReportPain 7 knee with no session running" "${B[@]}" call "${OBJ[@]}" ReportPain us 7 knee
gk_check "daemon logs it as after the last session" gk_wait_for 5 \
	grep -q 'Pain 7 (knee) recorded after the last session' "$gk_tmp/daemon.log"
# MQTT pain/last (retained) is the last report recorded, between sessions too.
pain_last() {
	mosquitto_sub -h 127.0.0.1 -p "$GK_MQTT_PORT" -t gaitkeeper/dbusit/pain/last \
		--retained-only -C 1 -W 2 2> /dev/null
}
pain_last_is() { pain_last | grep -q "^{\"level\":$1,\"where\":\"$2\",\"ts\":[0-9]*,\"seq\":"; }
gk_check "... and publishes it on MQTT pain/last (retained: 7 knee)" \
	gk_wait_for 5 pain_last_is 7 knee
last=$(pain_last)
"${B[@]}" call "${OBJ[@]}" ReportPain us 11 knee > /dev/null 2>&1
"${B[@]}" call "${OBJ[@]}" ReportPain us 3 elbow > /dev/null 2>&1
sleep 0.5	# had either gone out, the broker would have it by now
gk_check "refused reports (11, 'elbow') leave pain/last as it was" \
	bash -c '[ -n "$1" ] && [ "$(mosquitto_sub -h 127.0.0.1 -p "$2" \
		-t gaitkeeper/dbusit/pain/last --retained-only -C 1 -W 2)" = "$1" ]' _ \
	"$last" "$GK_MQTT_PORT"
ended=$(sig_count SessionEnded)
"${B[@]}" call "${OBJ[@]}" StartSession
"${B[@]}" call "${OBJ[@]}" StopSession
gk_wait_for 10 test "$(sig_count SessionEnded)" -gt "$ended"
"${B[@]}" --json=short call "${OBJ[@]}" GetSummary b true > "$gk_tmp/last2.json" 2>&1
gk_check "next summary's history: max_pain_last5 7 (the after-run report)" python3 -c '
import json, sys
s = json.loads(json.load(open(sys.argv[1]))["data"][0])
h = s.get("history") or {}
print("# history:", json.dumps(h)[:300])
sys.exit(0 if h.get("max_pain_last5") == 7 and h.get("main_pain_site") else 1)' "$gk_tmp/last2.json"
as_nobody "$GAITCTL" summary --last > "$gk_tmp/last2.txt" 2>&1
sed 's/^/# /' "$gk_tmp/last2.txt" | tail -6
gk_check "gaitctl summary --last: the report with the history, after-run pain counted" bash -c "
	grep -q '^Session [0-9-]* [0-9:]* to [0-9:]*, ' '$gk_tmp/last2.txt' &&
	grep -q '^History (2 sessions stored)\$' '$gk_tmp/last2.txt' &&
	grep -q '^  pain in [12] of the last 5 sessions, at most 7/10, mostly ' '$gk_tmp/last2.txt'"

# ---- introspection matches docs/io.gaitkeeper.Gaitkeeper1.xml ------------------------------
GK_INTROSPECT_LIVE=1 tests/dbus-api/introspect.sh > "$gk_tmp/live.xml" 2> /dev/null
gk_check "live introspection equals docs/io.gaitkeeper.Gaitkeeper1.xml" \
	diff -u docs/io.gaitkeeper.Gaitkeeper1.xml "$gk_tmp/live.xml"

# ---- the daemon's own check, with the bus policy out of the way ---------------------------
rm "$gk_tmp/dbus.d/io.gaitkeeper.Gaitkeeper1.conf"
kill -HUP "$DBUS_PID"
sleep 1
as_nobody "${DS[@]}" io.gaitkeeper.Gaitkeeper1.StartSession > "$gk_tmp/nobody3.out" 2>&1
sed 's/^/# without policy, nobody StartSession: /' "$gk_tmp/nobody3.out"
gk_check "without the policy, gaitkeeperd itself refuses nobody" \
	grep -q "neither root nor in group 'gaitkeeper'" "$gk_tmp/nobody3.out"
setpriv --reuid=gkpeer --regid=nogroup --clear-groups "${DS[@]}" \
	io.gaitkeeper.Gaitkeeper1.ReportPain uint32:1 string:foot > "$gk_tmp/peer.out" 2>&1
gk_check "...and gkpeer without the group" grep -q "neither root nor in group" "$gk_tmp/peer.out"
gk_check "...but serves gkop by the group's member list alone" \
	as_op_bare "${B[@]}" call "${OBJ[@]}" StartSession

# ---- gone -----------------------------------------------------------------------------------
kill "$GKD_PID"
gk_wait_for 10 bash -c "! busctl --system status io.gaitkeeper.Gaitkeeper1 > /dev/null 2>&1"
"$GAITCTL" status > /dev/null 2>&1
rc=$?
gk_check "gaitctl exits 69 when gaitkeeperd is not on the bus (got $rc)" test "$rc" -eq 69
if grep -qE 'AddressSanitizer|runtime error|Assertion' "$gk_tmp/daemon.log"; then
	gk_not_ok "daemon log clean of sanitizer reports"
	grep -E 'AddressSanitizer|runtime error|Assertion' "$gk_tmp/daemon.log" | head -5 | sed 's/^/# /'
else
	gk_ok "daemon log clean of sanitizer reports"
fi
gk_done
