#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Contract test of ble/ against build/bluez-sim on a private dbus-daemon:
# every sensor kind is discovered, connected, subscribed and decoded, and
# the simulator's subscription counts match ours (issue #5, "Tests").
source "$(dirname "$0")/lib/env.sh"

source "$(dirname "$0")/lib/ble.sh"
ble_require "ble stream"

# sim_stat ADDRESS KEY: one value of GetStats.
sim_stat() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short call \
		io.gaitkeeper.BluezSim /io/gaitkeeper/BluezSim \
		io.gaitkeeper.BluezSim1 GetStats s "$1" |
		jq -r ".data[0].$2.data"
}

# q [jq options] FILTER: FILTER over each complete JSON line of $OUT (the
# driver may be writing the last one right now).
q() {
	local f=${*: -1}
	jq -R "${@:1:$#-1}" "fromjson? | $f" "$OUT"
}

# last_info ALIAS KEY: KEY of the newest "info" line of ALIAS.
last_info() {
	kill -USR1 "$DRV_PID" 2>/dev/null
	sleep 0.3
	q -r --arg a "$1" "select(.event == \"info\" and .alias == \$a) | .$2" | tail -1
}

# has_event ALIAS EVENT [JQ-CONDITION]: some line matches.
has_event() {
	[ -n "$(q -c --arg a "$1" "select(.event == \"$2\" and .alias == \$a${3:+ and ($3)})" | head -1)" ]
}

no_event() {
	[ -z "$(q -c "select(.event == \"$1\"${2:+ and ($2)})" | head -1)" ]
}

is_eq() {
	[ "$1" = "$2" ] || { echo "# got '$1', want '$2'"; return 1; }
}

streaming() {
	has_event "$1" state '.state == "streaming" and .available'
}

state_path() {
	q -r --arg a "$1" 'select(.event == "state" and .alias == $a) | .state' |
		uniq | tr '\n' ' '
}

# imu_rate ALIAS: IMU samples per second of ALIAS from its first to its
# newest imu line (driver time t_ms), rounded.
imu_rate() {
	jq -R -n --arg a "$1" '[inputs | fromjson? | select(.event == "imu" and .alias == $a)] |
		if length < 2 then 0 else
		((.[-1].total - .[0].total) * 1000 / (.[-1].t_ms - .[0].t_ms) | round) end' "$OUT"
}

# sample_rate ALIAS: samples per second of ALIAS by the samples' own times,
# over the last >= 2 s of imu lines (0 without two such lines).
sample_rate() {
	jq -R -n --arg a "$1" '[inputs | fromjson? | select(.event == "imu" and .alias == $a)] |
		if length < 2 then 0 else .[-1] as $b |
		(map(select(.t_ms <= $b.t_ms - 2000)) | last) as $a |
		if $a == null or $b.t_last_us <= $a.t_last_us then 0 else
		(($b.total - $a.total) * 1000000 / ($b.t_last_us - $a.t_last_us) | round) end end' "$OUT"
}

in_range() {
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ] || { echo "# got $1, want $2..$3"; return 1; }
}

# pmd_writes ADDRESS: every WriteValue to ADDRESS's PMD control point (the
# only characteristic a Polar device lets us write), as hex, "|"-separated.
pmd_writes() {
	local dev=/org/bluez/hci0/dev_${1//:/_}/
	jq -R -r --arg d "$dev" 'def hex: [.[] | "0123456789abcdef"[(. / 16 | floor):(. / 16 | floor) + 1]
			+ "0123456789abcdef"[(. % 16):(. % 16) + 1]] | join(" ");
		fromjson? | select(.type == "method_call" and .member == "WriteValue" and
			(.path | startswith($d))) | .payload.data[0] | hex' "$gk_tmp/calls.json" |
		paste -sd '|'
}

# has_debug ALIAS REGEX: a debug line of ALIAS matches.
has_debug() {
	[ -n "$(q -c --arg a "$1" --arg re "$2" \
		'select(.event == "debug" and .alias == $a and (.message | test($re)))' | head -1)" ] ||
		{ echo "# no debug line of $1 matching: $2"; return 1; }
}

gk_start_dbus || { gk_skip "ble stream" "no dbus-daemon"; gk_done; exit; }

H10=A0:9E:1A:00:00:01
VERITY=A0:9E:1A:00:00:02
POD=C0:FF:EE:00:00:03
HRS=C0:FF:EE:00:00:04
STRYD=C0:FF:EE:00:00:05
MILL=C0:FF:EE:00:00:06

gk_bg "$SIM" --speed-mps 3.0 --loop \
	--device polar-h10,$H10,"Polar H10 0A1B2C3D" \
	--device polar-verity-sense,$VERITY,"Polar Sense B5C6D7E8" \
	--device footpod,$POD,"RunPod 1" \
	--device heart-rate,$HRS,"HRM Strap" \
	--device power,$STRYD,"Stryd" \
	--device treadmill,$MILL,"Treadmill T1" 2> "$gk_tmp/sim.err"
gk_check "simulator owns io.gaitkeeper.BluezSim" gk_wait_for 10 sim_ready

# Every call to org.bluez, for the discovery and PMD contract checks below.
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" monitor --json=short \
	--match "type='method_call',destination='org.bluez'" > "$gk_tmp/calls.json" 2>&1 &
gk_pids+=("$!")
CALLS_MON=$!
sleep 0.5

OUT=$gk_tmp/driver.jsonl
gk_bg "$DRV" --imu-every 5 \
	--sensor alias=h10,kind=polar-h10,address=$H10,rate=200 \
	--sensor alias=verity,kind=polar-verity-sense,pattern=Polar\ Sense\ *,gyro=1,rate=200 \
	--sensor alias=pod,kind=footpod,address=${POD,,},multiplier=1 \
	--sensor alias=strap,kind=heart-rate,address=$HRS \
	--sensor alias=stryd,kind=power,pattern=Stryd* \
	--sensor alias=mill,kind=treadmill,address=$MILL \
	> "$OUT" 2> "$gk_tmp/driver.err"
DRV_PID=$gk_last_pid

for a in h10 verity pod strap stryd mill; do
	gk_check "$a: streaming" gk_wait_for 30 streaming $a
done
# Let every stream run a few nominal periods before checking values.
sleep 4

# The path through the state machine is the documented one.
path=$(state_path h10)
echo "# h10 states: $path"
gk_check "h10: (idle ->) discovering -> connecting -> resolving -> subscribing -> streaming" \
	grep -Eq '^(idle )?discovering connecting resolving subscribing streaming' <<< "$path"

# Decoded values (the simulator runs at 3.0 m/s).
gk_check "h10: IMU samples in g (0.2..8), no gyro" \
	has_event h10 imu '.n > 0 and .gyro_dps == null and .acc_mean_norm_g > 0.2 and .acc_mean_norm_g < 8'
gk_check "h10: IMU sample times never go backwards" no_event imu '.monotonic | not'
gk_check "h10: ~200 Hz (>= 150 samples per second streamed)" \
	has_event h10 imu '.total >= 150 * 3'
gk_check "h10: IMU sample times close to now (< 2 s old)" \
	has_event h10 imu '.age_ms >= -50 and .age_ms < 2000'
gk_check "h10: heart rate with RR intervals" \
	has_event h10 heart_rate '.bpm >= 40 and .bpm <= 220 and (.rr_ms | length) >= 0'
gk_check "verity: IMU samples paired with gyro" \
	has_event verity imu '.n > 0 and .n_gyro > 0 and .gyro_dps != null'
gk_check "verity: nearly all samples have a gyro partner" \
	has_event verity imu '.total > 100 and .total_gyro >= .total * 0.8'
gk_check "verity: matched by name pattern" is_eq "$(last_info verity address)" $VERITY
gk_check "pod: RSC speed ~3.0 m/s, cadence plausible" \
	has_event pod rsc '.speed_mps > 2.5 and .speed_mps < 3.5 and .cadence_spm > 100 and .cadence_spm < 230'
gk_check "strap: heart rate in range" \
	has_event strap heart_rate '.bpm >= 40 and .bpm <= 220'
gk_check "stryd: running power" has_event stryd power '.power_w > 0 and .power_w < 1000'
gk_check "mill: treadmill speed ~3.0 m/s" \
	has_event mill treadmill '.speed_mps > 2.5 and .speed_mps < 3.5'
gk_check "battery level reported" \
	has_event pod battery '.battery_pct >= 0 and .battery_pct <= 100'
gk_check "no malformed payloads from a healthy simulator" no_event malformed

# PMD settings: before each start the sensor is asked what it offers
# (get-settings, op 0x01) and the start takes the offered rate nearest the
# configured one. The Verity Sense (outside SDK mode) offers 52 Hz only: at
# rate=200 the built-in table would ask for 208 Hz, which it refuses.
gk_check "verity: get-settings ACC, start ACC 52 Hz/16 bit/8 G/3 ch, same for gyro (2000 dps)" \
	is_eq "$(pmd_writes $VERITY)" \
	"01 02|02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03|01 05|02 05 00 01 34 00 01 01 10 00 02 01 d0 07 04 01 03"
gk_check "verity: says what was configured, offered and used" \
	has_debug verity "^PMD acc: 200 Hz configured, sensor offers 52, using 52 "
gk_check "verity: streams ~52 Hz (IMU samples per second)" in_range "$(imu_rate verity)" 45 60
gk_check "h10: get-settings ACC, then start ACC 200 Hz/16 bit/8 G (no channels: not offered)" \
	is_eq "$(pmd_writes $H10)" "01 02|02 02 00 01 c8 00 01 01 10 00 02 01 08 00"
gk_check "h10: says what was configured, offered and used" \
	has_debug h10 "^PMD acc: 200 Hz configured, sensor offers 25/50/100/200, using 200 "
gk_check "h10: streams ~200 Hz (IMU samples per second)" in_range "$(imu_rate h10)" 170 230

# Discovery: LE only, the kinds' advertised services; stopped before every
# Connect of the same client (scanning degrades connection setup).
calls() {
	jq -R -c 'fromjson? | select(.type == "method_call")' "$gk_tmp/calls.json"
}
gk_check "SetDiscoveryFilter: Transport le, DuplicateData, the kinds' UUIDs" \
	test -n "$(calls | jq -c 'select(.member == "SetDiscoveryFilter") | .payload.data[0] |
		select(.Transport.data == "le" and .DuplicateData.data == true and
		       (.UUIDs.data | index("0000180d-0000-1000-8000-00805f9b34fb") and
			index("0000feee-0000-1000-8000-00805f9b34fb") and
			index("00001814-0000-1000-8000-00805f9b34fb") and
			index("00001818-0000-1000-8000-00805f9b34fb") and
			index("00001826-0000-1000-8000-00805f9b34fb")))' | head -1)"
connects_while_scanning() {
	calls | jq -s '[group_by(.sender)[] |
		reduce .[] as $c ({on: false, bad: 0};
			if $c.member == "StartDiscovery" then .on = true
			elif $c.member == "StopDiscovery" then .on = false
			elif $c.member == "Connect" and .on then .bad += 1
			else . end) | .bad] | add // 0'
}
gk_check "no Connect while our discovery runs" is_eq "$(connects_while_scanning)" 0
gk_check "six Connect calls, serialised" \
	is_eq "$(calls | jq -s '[.[] | select(.member == "Connect")] | length')" 6

# Our subscriptions are the simulator's, one per characteristic.
check_subs() {
	local alias=$1 addr=$2 want=$3 ours theirs
	ours=$(last_info "$alias" subscriptions)
	theirs=$(sim_stat "$addr" subscriptions)
	[ "$ours" = "$want" ] && [ "$theirs" = "$want" ] || {
		echo "# $alias: ours=$ours sim=$theirs want=$want"
		return 1
	}
}
gk_check "h10: 3 subscriptions (HR, PMD CP, PMD data)" check_subs h10 $H10 3
gk_check "pod: 1 subscription" check_subs pod $POD 1
gk_check "strap: 1 subscription" check_subs strap $HRS 1
gk_check "mill: 1 subscription" check_subs mill $MILL 1
gk_check "h10: PMD data through AcquireNotify" is_eq "$(sim_stat $H10 acquire_notify)" 1
gk_check "h10: PMD streaming in the simulator" is_eq "$(sim_stat $H10 pmd_streaming)" true
gk_check "verity: PMD streaming in the simulator" is_eq "$(sim_stat $VERITY pmd_streaming)" true
for a in h10 verity pod strap stryd mill; do
	gk_check "$a: connected exactly once" is_eq "$(last_info $a connects)" 1
done
gk_check "no sensor ever went stale" no_event state '.state == "stale"'
gk_check "discovery stopped once every sensor streams" \
	is_eq "$(busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.bluez \
		/org/bluez/hci0 org.bluez.Adapter1 Discovering)" "b false"

# Without AcquireNotify the PMD data goes through StartNotify.
# On exit the driver releases its sensors: BlueZ would keep the links up.
# Watched on the bus: the simulator drops calls whose sender has already
# left (its privilege check looks the sender up), real bluetoothd does not.
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" monitor \
	--match "type='method_call',interface='org.bluez.Device1',member='Disconnect'" \
	> "$gk_tmp/monitor.txt" 2>&1 &
MON_PID=$!
gk_pids+=("$MON_PID")
sleep 0.5
kill "$DRV_PID"
wait "$DRV_PID" 2>/dev/null
gk_check "driver exits cleanly on SIGTERM" test $? -eq 0
released() {
	[ "$(grep -c 'Member=Disconnect' "$gk_tmp/monitor.txt")" -ge 6 ]
}
gk_check "on exit it disconnects all six sensors" gk_wait_for 5 released
kill "$MON_PID" 2>/dev/null
# ... which the simulator dropped: take the H10's link down, so that its
# ACC stream (200 Hz) stops and the next client's start is not answered
# "already in state".
h10_down() { [ "$(sim_stat $H10 connected)" = false ]; }
sim_call Disconnect s $H10 2>/dev/null
gk_check "the H10's link is down" gk_wait_for 10 h10_down
OUT=$gk_tmp/driver2.jsonl
gk_bg "$DRV" --sensor alias=h10,kind=polar-h10,address=$H10,acquire=0,rate=60 \
	> "$OUT" 2> "$gk_tmp/driver2.err"
DRV_PID=$gk_last_pid
gk_check "h10 with StartNotify only: streaming" gk_wait_for 30 streaming h10
sleep 3
gk_check "h10 with StartNotify only: IMU samples" has_event h10 imu '.n > 0'
gk_check "h10 at rate=60: the offered rate nearest, 50 Hz" \
	has_debug h10 "^PMD acc: 60 Hz configured, sensor offers 25/50/100/200, using 50 "
gk_check "h10 at rate=60: started at 50 Hz" \
	is_eq "$(pmd_writes $H10 | tr '|' '\n' | tail -2 | paste -sd '|')" \
	"01 02|02 02 00 01 32 00 01 01 10 00 02 01 08 00"
gk_check "h10 at rate=60: streams ~50 Hz (IMU samples per second)" in_range "$(imu_rate h10)" 42 58
gk_check "h10 with StartNotify only: no new AcquireNotify" \
	is_eq "$(sim_stat $H10 acquire_notify)" 1
gk_check "h10 with StartNotify only: 3 StartNotify subscriptions" \
	is_eq "$(last_info h10 subscriptions)/$(sim_stat $H10 subscriptions)" 3/3

# A second client on the same, already connected H10: AcquireNotify is
# refused (InProgress: the first client has a StartNotify session), so it
# falls back to StartNotify; the PMD start answers "already in state".
FIRST_PID=$DRV_PID
OUT=$gk_tmp/driver3.jsonl
# It asks for 25 Hz; the stream keeps the first client's 50 Hz, and ble/
# follows the rate of the sensor's frame times (asked-for times would fall
# ever further behind: 40 ms apart for samples 20 ms apart).
gk_bg "$DRV" --sensor alias=h10,kind=polar-h10,address=$H10,acquire=1,rate=25 \
	> "$OUT" 2> "$gk_tmp/driver3.err"
DRV_PID=$gk_last_pid
gk_check "second client: streaming through the fallback" gk_wait_for 30 streaming h10
sleep 1
gk_check "second client: IMU samples" has_event h10 imu '.n > 0'
gk_check "second client: asked 25 Hz, answered already in state" \
	has_debug h10 '^PMD acc started \(already-in-state'
follows_50() {
	has_debug h10 '^PMD acc: the sensor streams at 50 Hz, not the 25 Hz started; following it$'
}
gk_check "second client: follows the stream's own 50 Hz" gk_wait_for 15 follows_50
sleep 4
gk_check "second client: sample times at ~50 Hz" in_range "$(sample_rate h10)" 45 55
gk_check "second client: newest sample at most 2 s old, not in the future" \
	in_range "$(q -r --arg a h10 'select(.event == "imu" and .alias == $a) | .age_ms' | tail -1)" -50 2000
gk_check "second client: no AcquireNotify granted (refused, InProgress)" \
	is_eq "$(sim_stat $H10 acquire_notify)" 1
gk_check "second client: the fallback is in the debug output" \
	has_event h10 debug '.message | test("AcquireNotify refused .*InProgress")'

gk_check "second client: 3 subscriptions of its own" \
	is_eq "$(last_info h10 subscriptions)" 3
gk_check "both clients' sessions in the simulator" \
	is_eq "$(sim_stat $H10 subscriptions)" 6
kill "$FIRST_PID"

# A sensor that does not answer get-settings in time (every reply and
# indication 3 s late; we wait 2 s) is started from the built-in table:
# the H10 at rate=60 gets 50 Hz and streams; the Verity Sense at rate=200
# gets 208 Hz, which it refuses, and the state says why.
kill "$DRV_PID"
wait "$DRV_PID" 2>/dev/null
# Links of clients that left stay up (their Disconnect was dropped): drop them.
sim_call Disconnect s $H10 2>/dev/null
sim_call Disconnect s $VERITY 2>/dev/null
polar_down() { h10_down && [ "$(sim_stat $VERITY connected)" = false ]; }
gk_check "no-settings run: both Polar links are down first" gk_wait_for 10 polar_down
sim_call SetLatency u 3000
OUT=$gk_tmp/driver4.jsonl
gk_bg "$DRV" --connect-timeout-ms 30000 --subscribe-timeout-ms 40000 \
	--sensor alias=h10,kind=polar-h10,address=$H10,rate=60 \
	--sensor alias=verity,kind=polar-verity-sense,address=$VERITY,rate=200 \
	> "$OUT" 2> "$gk_tmp/driver4.err"
DRV_PID=$gk_last_pid
gk_check "no get-settings answer: h10 still streams" gk_wait_for 60 streaming h10
gk_check "no get-settings answer: h10 says so" \
	has_debug h10 '^PMD acc: no settings from the sensor \(no answer within 2000 ms\), using the built-in rate table$'
gk_check "no get-settings answer: h10 at rate=60 gets 50 Hz from the table" \
	has_debug h10 "^PMD acc: 60 Hz configured, sensor offers no rates, using 50 from the built-in table"
refused() {
	[ -n "$(q -c --arg re '^PMD start acc: invalid-sample-rate \(asked 208 Hz from the built-in table' \
		'select(.event == "state" and .alias == "verity" and (.reason | test($re)))' | head -1)" ]
}
gk_check "no get-settings answer: verity's refused 208 Hz start is the state reason" \
	gk_wait_for 60 refused
q -r 'select(.event == "state" and .alias == "verity" and (.reason | test("PMD"))) | "# " + .reason' | head -1
sim_call SetLatency u 0

gk_done
