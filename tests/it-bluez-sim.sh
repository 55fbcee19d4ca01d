#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# build/bluez-sim against busctl and tests/bluez-sim-probe on a private
# dbus-daemon: BlueZ 5.66 property types, discovery and its filter, Connect
# before ServicesResolved, GATT read/write, StartNotify and AcquireNotify,
# PMD frames decoded independently (pmd-check.py), every control method.
source "$(dirname "$0")/lib/env.sh"

SIM=$GK_BUILD/bluez-sim
PROBE=$GK_BUILD/bluez-sim-probe
PMD_CHECK=$GK_ROOT/tests/bluez-sim-probe/pmd-check.py
TRACE=/work/shared/data/sacral-treadmill/trial_04.csv
[ -r "$TRACE" ] || TRACE=$GK_ROOT/data/sacral-treadmill/trial_04.csv
for bin in "$SIM" "$PROBE"; do
	if [ ! -x "$bin" ]; then
		gk_skip "bluez-sim" "$bin not built"
		gk_done
		exit
	fi
done
gk_start_dbus || { gk_skip "bluez-sim" "no dbus-daemon"; gk_done; exit; }

BUS=$DBUS_SYSTEM_BUS_ADDRESS
H10=A0:9E:1A:00:00:01
VERITY=A0:9E:1A:00:00:02
POD=C4:00:00:00:00:03
POD2=C4:00:00:00:00:07
HRS=C4:00:00:00:00:04
STRYD=C4:00:00:00:00:05
MILL=C4:00:00:00:00:06
PMD_CP=fb005c81-02e7-f387-1cad-8acd2d8df0c8
PMD_DATA=fb005c82-02e7-f387-1cad-8acd2d8df0c8
dev_path() { echo "/org/bluez/hci0/dev_${1//:/_}"; }

bc() { busctl --address="$BUS" "$@"; }
sim_call() { bc call io.gaitkeeper.BluezSim /io/gaitkeeper/BluezSim io.gaitkeeper.BluezSim1 "$@"; }
sim_ready() { bc status io.gaitkeeper.BluezSim > /dev/null 2>&1; }
# stat ADDRESS KEY: one GetStats value ("u 3" -> "3").
stat() {
	sim_call GetStats s "$1" | tr ' ' '\n' |
		awk -v k="\"$2\"" 'f == 1 { f = 2; next } f == 2 { print; exit } $0 == k { f = 1 }'
}
# prop PATH IFACE NAME: "TYPE VALUE" of a property.
prop() { bc get-property org.bluez "$1" "$2" "$3" 2>/dev/null; }
# char_of ADDRESS UUID-PREFIX: object path of a characteristic.
char_of() {
	local p
	for p in $(bc tree --list org.bluez 2>/dev/null | grep "$(dev_path "$1")/service[0-9a-f]*/char[0-9a-f]*$"); do
		prop "$p" org.bluez.GattCharacteristic1 UUID | grep -q "\"$2" && { echo "$p"; return 0; }
	done
	return 1
}
probe() { "$PROBE" "$@" 2>&1; }
# sigs PATH IFACE: ".Name property SIG" and ".Name method IN OUT" lines.
sigs() {
	bc introspect org.bluez "$1" "$2" |
		awk '$2 == "property" { print $1, $2, $3 } $2 == "method" { print $1, $2, $3, $4 }'
}
# has_sigs "SIGS" LINE...: every LINE is among SIGS.
has_sigs() {
	local all=$1 l
	shift
	for l in "$@"; do
		grep -qxF -- "$l" <<< "$all" || { echo "# missing '$l'"; return 1; }
	done
}
is_eq() { [ "$1" = "$2" ] || { echo "# got '$1', want '$2'"; return 1; }; }
has() { grep -q -- "$2" <<< "$1" || { echo "# no '$2' in:"; sed 's/^/#   /' <<< "$1" | head -20; return 1; }; }
hasnt() { ! grep -q -- "$2" <<< "$1" || { echo "# unexpected '$2'"; return 1; }; }

start_sim() {
	gk_bg "$SIM" "$@" 2>> "$gk_tmp/sim.err"
	SIM_PID=$gk_last_pid
	gk_wait_for 10 sim_ready
}

# ---- run 0: options, --bus, --no-adapter, a three-axis 100 Hz trace -----------------------
out=$("$SIM" --device bogus,$H10,x 2>&1)
gk_check "bad --device kind: error, non-zero exit" bash -c \
	"! '$SIM' --device bogus,$H10,x 2> /dev/null && grep -q \"unknown device kind 'bogus'\" <<< \"\$1\"" _ "$out"
printf 't_s,ax_g,az_g\n0,0,1\n0.01,0,abc\n' > "$gk_tmp/bad.csv"
out=$("$SIM" --trace "$gk_tmp/bad.csv" --device footpod,$POD,p 2>&1)
gk_check "bad trace row: file:line named" has "$out" "bad.csv:3: field 3 is not a plain decimal number: 'abc'"
HIP=/work/shared/data/outdoor-hip-ankle/hip.csv
[ -r "$HIP" ] || HIP=$TRACE
env -u DBUS_SYSTEM_BUS_ADDRESS "$SIM" --bus "$BUS" --no-adapter --trace "$HIP" --time-scale 60 \
	--disconnect-delay-ms 600 --power-off-delay-ms 300 \
	--device footpod,$POD,RunPod --device heart-rate,$HRS,HRM --device footpod,$POD2,Pod2 \
	2>> "$gk_tmp/sim.err" &
SIM_PID=$!
gk_pids+=("$SIM_PID")
gk_check "--bus ADDRESS without DBUS_SYSTEM_BUS_ADDRESS" gk_wait_for 20 sim_ready
gk_check "--no-adapter: org.bluez owned, no adapter" bash -c \
	"busctl --address='$BUS' status org.bluez > /dev/null && ! busctl --address='$BUS' tree --list org.bluez | grep -q hci0"
sim_call RestartBluez u 100
gk_wait_for 5 bash -c "busctl --address='$BUS' status org.bluez > /dev/null 2>&1"
gk_check "RestartBluez without adapter: still none" bash -c \
	"! busctl --address='$BUS' tree --list org.bluez | grep -q hci0"
sim_call AddAdapter
out=$(probe scan wait-device $POD 5 stopscan connect $POD notify $POD 2a53 300 15)
# The run starts standing: RSC says so (flags 03, speed 0, cadence 0), then runs.
gk_check "RSC while the runner stands in the hip trace: walking, 0 m/s, 0 spm" has "$out" "^value 030000000000"
running_cadence() {
	local v c
	for v in $(awk '/^value 070003/ { print $2 }' <<< "$1"); do
		c=$((16#${v:6:2}))
		[ $c -ge 130 ] && [ $c -le 210 ] && return 0
	done
	return 1
}
gk_check "RSC while running in the hip trace: 3 m/s, 130-210 spm" running_cadence "$out"
# --disconnect-delay-ms: Device1.Disconnect keeps the link, notifications flow.
probe notify $POD 2a53 1 5 sleep 3000 > "$gk_tmp/dd.out" &
pr=$!
gk_wait_for 5 grep -q '^value' "$gk_tmp/dd.out"
t=$(date +%s%N)
( sleep 0.2; grep -c '^value' "$gk_tmp/dd.out" > "$gk_tmp/dd.n0" ) &
( sleep 0.2; probe notify $POD 2a53 0 1 > "$gk_tmp/dd.sn" ) &
bc call org.bluez "$(dev_path $POD)" org.bluez.Device1 Disconnect
ms=$((($(date +%s%N) - t) / 1000000))
wait $!
gk_check "StartNotify while the device is disconnecting: NotConnected" \
	has "$(cat "$gk_tmp/dd.sn")" "^error notify org.bluez.Error.NotConnected"
gk_check "--disconnect-delay-ms 600: Disconnect replied after ${ms} ms" test $ms -ge 600
gk_check "notifications flow while Disconnect is pending" \
	test "$(grep -c '^value' "$gk_tmp/dd.out")" -gt "$(cat "$gk_tmp/dd.n0")"
gk_check "then Connected false" is_eq "$(prop "$(dev_path $POD)" org.bluez.Device1 Connected)" "b false"
wait $pr
probe connect $POD > /dev/null
( sleep 0.2; bc call org.bluez "$(dev_path $POD)" org.bluez.Device1 Disconnect ) &
pr=$!
sleep 0.4
out=$(probe connect $POD)
wait $pr
gk_check "Connect during a pending Disconnect: ok on the dying link" bash -c \
	"grep -q '^connect-reply' <<< \"\$1\" && grep -q 'not-resolved' <<< \"\$1\"" _ "$out"
# Powered=false as bluetoothd 5.66 (adapter.c property_set_mode): the temporary
# (never connected) HRM goes at once, PowerState on-disabling, the link drops,
# and only when the power-off is done (--power-off-delay-ms 300) comes the
# reply, then Powered=false. Before, the reply came at once, ahead of them all.
gk_wait_for 5 bash -c "! busctl --address='$BUS' get-property org.bluez $(dev_path $POD) \
	org.bluez.Device1 Connected | grep -q true"
# Pod2: found, then away; a Connect to it, cancelled, still makes it permanent
# (dev_connect() clears the temporary flag before it tries).
probe scan wait-device $POD2 5 > /dev/null
sim_call SetAdvertising sb $POD2 false
bc call org.bluez "$(dev_path $POD2)" org.bluez.Device1 Connect > /dev/null 2>&1 &
pr=$!
sleep 0.3
bc call org.bluez "$(dev_path $POD2)" org.bluez.Device1 Disconnect
wait $pr
out=$(probe scan wait-device $HRS 5 connect $POD power off 1500)
gk_check "Powered=false keeps a device a Connect was tried on (not temporary)" \
	hasnt "$out" "^removed $(dev_path $POD2)\$"
line() { grep -n -m1 -- "$1" <<< "$out" | cut -d: -f1; }
l_rm=$(line "^removed $(dev_path $HRS)\$")
l_conn=$(grep -n -- "^changed $(dev_path $POD) Connected" <<< "$out" | tail -1 | cut -d: -f1)
l_reply=$(line "^power-reply")
l_pow=$(line "^changed /org/bluez/hci0 Powered")
echo "# removed HRM line $l_rm, Connected line $l_conn, reply line $l_reply, Powered line $l_pow"
gk_check "Powered=false: temporary device removed, link down, reply, then Powered" \
	test -n "$l_rm" -a -n "$l_conn" -a -n "$l_reply" -a -n "$l_pow" -a \
	"${l_rm:-0}" -lt "${l_conn:-0}" -a "${l_conn:-0}" -lt "${l_reply:-0}" -a \
	"${l_reply:-0}" -lt "${l_pow:-0}"
reply_ms=$(awk '/^power-reply/ { print $2; exit }' <<< "$out")
gk_check "Powered=false answered when done: ${reply_ms:-never} ms >= 300 ms, ok" \
	bash -c "grep -q '^power-reply [0-9]* ok' <<< \"\$1\" && [ \"\$2\" -ge 300 ]" _ "$out" "${reply_ms:-0}"
bc set-property org.bluez /org/bluez/hci0 org.bluez.Adapter1 Powered b true
sim_call Quit
wait $SIM_PID

# ---- run 1: every kind on the recorded treadmill trial -----------------------------
start_sim --trace "$TRACE" --loop --speed-mps 3.2 --incline-pct 1 --temporary-timeout 3 \
	--connect-timeout-ms 2000 \
	--device polar-h10,$H10,"Polar H10 0A1B2C3D" \
	--device polar-verity-sense,$VERITY,"Polar Sense B5C6D7E8" \
	--device footpod,$POD,"RunPod" --device heart-rate,$HRS,"HRM Strap" \
	--device power,$STRYD,"Stryd" --device treadmill,$MILL,"Treadmill T1"
gk_check "ready: io.gaitkeeper.BluezSim owned after org.bluez" \
	bash -c "busctl --address='$BUS' status org.bluez > /dev/null"

gk_check "Adapter1 signatures as BlueZ" has_sigs "$(sigs /org/bluez/hci0 org.bluez.Adapter1)" \
	".Address property s" ".Powered property b" ".Discovering property b" \
	".Alias property s" ".UUIDs property as" ".Class property u" \
	".StartDiscovery method - -" ".SetDiscoveryFilter method a{sv} -" \
	".RemoveDevice method o -" ".GetDiscoveryFilters method - as"
gk_check "/org/bluez has AgentManager1 and ProfileManager1" bash -c \
	"busctl --address='$BUS' call org.bluez /org/bluez org.bluez.AgentManager1 RegisterAgent os /a NoInputNoOutput &&
	 busctl --address='$BUS' introspect org.bluez /org/bluez | grep -q '^org.bluez.ProfileManager1 '"
gk_check "GetDiscoveryFilters" has "$(bc call org.bluez /org/bluez/hci0 org.bluez.Adapter1 GetDiscoveryFilters)" \
	'as 7 "UUIDs" "RSSI" "Pathloss" "Transport" "DuplicateData" "Discoverable" "Pattern"'

# Discovery with a filter: only what a device advertises counts.
out=$(probe filter 1826 scan sleep 1200)
gk_check "filter 0x1826 finds the treadmill" has "$out" "added $(dev_path $MILL)$"
gk_check "filter 0x1826 hides the others" hasnt "$out" "added $(dev_path $H10)$"
gk_check "discovery stops when its client leaves" \
	gk_wait_for 3 bash -c "busctl --address='$BUS' get-property org.bluez /org/bluez/hci0 org.bluez.Adapter1 Discovering | grep -q false"
out=$(probe filter $PMD_CP,fb005c80-02e7-f387-1cad-8acd2d8df0c8 scan sleep 1200)
gk_check "H10 does not advertise the 128-bit PMD service" hasnt "$out" "added $(dev_path $H10)$"
out=$(probe filter 180d scan wait-device $H10 3 wait-device $VERITY 3 wait-device $HRS 3 sleep 300)
gk_check "filter 0x180d finds H10, Verity Sense and the strap" has "$out" "found $HRS"
gk_check "temporary device removed after --temporary-timeout" \
	gk_wait_for 6 bash -c "! busctl --address='$BUS' tree --list org.bluez | grep -q '$(dev_path $HRS)$'"
out=$(bc call org.bluez /org/bluez/hci0 org.bluez.Adapter1 SetDiscoveryFilter 'a{sv}' 1 Colour s red 2>&1)
gk_check "SetDiscoveryFilter rejects unknown keys" has "$out" "Invalid arguments"
out=$(bc call org.bluez /org/bluez/hci0 org.bluez.Adapter1 StopDiscovery 2>&1)
gk_check "StopDiscovery without a session fails" has "$out" "No discovery started"

out=$(probe scan wait-device $H10 3 wait-device $POD 3 wait-device $STRYD 3 wait-device $MILL 3 \
	wait-device $VERITY 3 wait-device $HRS 3 stopscan connect $H10 connect $POD connect $STRYD \
	connect $MILL connect $VERITY connect $HRS)
gk_check "all devices discovered and connected" has "$out" "found $MILL rssi -"
reply=$(awk '/^connect-reply/ { print $2; exit }' <<< "$out")
resolved=$(awk '/^resolved/ { print $2; exit }' <<< "$out")
gk_check "Connect replies before ServicesResolved (${reply} ms < ${resolved} ms)" \
	test "${reply:-9999}" -lt 1000 -a "${resolved:-0}" -ge $((${reply:-0} + 200))
gk_check "GATT objects exported before ServicesResolved" bash -c \
	"grep -n 'added $(dev_path $H10)/service000c/char000d$\|changed $(dev_path $H10) ServicesResolved' <<< '$out' | head -1 | grep -q added"

# RSSI (n, read by wait-device above) exists only while a discovery hears
# the device: gone once the last discovery stopped (discovery_cleanup).
gk_check "RSSI gone once discovery stopped (Get, GetManagedObjects)" bash -c \
	"! busctl --address='$BUS' get-property org.bluez $(dev_path $MILL) org.bluez.Device1 RSSI \
		2> /dev/null && ! busctl --address='$BUS' --json=short call org.bluez / \
		org.freedesktop.DBus.ObjectManager GetManagedObjects | grep -q '\"RSSI\"'"
P=$(dev_path $H10)
gk_check "Device1 signatures as BlueZ" has_sigs "$(sigs "$P" org.bluez.Device1)" \
	".Address property s" ".AddressType property s" ".Name property s" ".Alias property s" \
	".UUIDs property as" ".ManufacturerData property a{qv}" \
	".ServiceData property a{sv}" ".Connected property b" ".ServicesResolved property b" \
	".Paired property b" ".Trusted property b" ".Blocked property b" ".Adapter property o" \
	".Appearance property q" ".AdvertisingFlags property ay" ".Connect method - -" \
	".Disconnect method - -" ".Pair method - -"
gk_check "ManufacturerData is Polar's a{qv}" has "$(prop "$P" org.bluez.Device1 ManufacturerData)" 'a{qv} 1 107 ay'
gk_check "Battery1 Percentage y on a connected device" has "$(prop "$P" org.bluez.Battery1 Percentage)" '^y [0-9]'
gk_check "UUIDs include PMD once resolved" has "$(prop "$P" org.bluez.Device1 UUIDs)" 'fb005c80-02e7'
HRM_CHAR=$(char_of $H10 00002a37)
gk_check "BlueZ object path scheme" is_eq "$HRM_CHAR" "$P/service000c/char000d"
gk_check "GattCharacteristic1 signatures as BlueZ" \
	has_sigs "$(sigs "$HRM_CHAR" org.bluez.GattCharacteristic1)" \
	".UUID property s" ".Service property o" ".Value property ay" ".Notifying property b" \
	".NotifyAcquired property b" ".Flags property as" ".MTU property q" \
	".ReadValue method a{sv} ay" ".WriteValue method aya{sv} -" \
	".AcquireNotify method a{sv} hq" ".StartNotify method - -" ".StopNotify method - -"
gk_check "GattService1 signatures as BlueZ" has_sigs "$(sigs "$P/service000c" org.bluez.GattService1)" \
	".UUID property s" ".Device property o" ".Primary property b" ".Includes property ao"
gk_check "indicate-only characteristic has Notifying but no NotifyAcquired" bash -c \
	"grep -q '^.Notifying ' <<< \"\$1\" && ! grep -q '^.NotifyAcquired ' <<< \"\$1\"" _ \
	"$(sigs "$(char_of $H10 $PMD_CP)" org.bluez.GattCharacteristic1)"
gk_check "CCCD is a GattDescriptor1" has "$(prop "$HRM_CHAR/desc000f" org.bluez.GattDescriptor1 UUID)" '00002902-'
gk_check "MTU q 232 on the H10" is_eq "$(prop "$HRM_CHAR" org.bluez.GattCharacteristic1 MTU)" "q 232"
# dev_connect() on a connected LE device: success at once, nothing changes
# (AlreadyConnected is BR/EDR's).
gk_check "Connect when connected: success, still connected" bash -c \
	"busctl --address='$BUS' call org.bluez '$P' org.bluez.Device1 Connect &&
	 busctl --address='$BUS' get-property org.bluez '$P' org.bluez.Device1 Connected |
	 grep -q true"

# Reads.
out=$(probe read $POD 2a54 read $MILL 2ad4 read $H10 $PMD_CP read $VERITY $PMD_CP read $STRYD 2a65)
gk_check "RSC Feature readable" has "$out" "read 1f00"
gk_check "Supported Speed Range readable" has "$out" "read 6400d0070a00"
gk_check "PMD features: H10 ECG+ACC, Verity PPG ACC PPI GYRO MAG" has "$out" "read 0f6e02"
gk_check "PMD features of the H10" has "$out" "read 0f0500"
out=$(probe read $H10 2a37)
gk_check "ReadValue on notify-only: NotPermitted" has "$out" "org.bluez.Error.NotPermitted Read not permitted"

# Writes: control points need indications first (ATT 0xFD).
out=$(probe write $POD 2a55 0104 2>&1)
gk_check "SC CP without indications: ATT 0xfd" has "$out" "ATT error: 0xfd"
out=$(probe notify $POD 2a55 0 1 write $POD 2a55 04 sleep 300)
gk_check "SC CP request supported locations" has "$out" "value 100401010203"
out=$(probe notify $MILL 2ad9 0 1 write $MILL 2ad9 02e803 sleep 300)
gk_check "FTMS CP without control: 80 02 05" has "$out" "value 800205"
out=$(probe notify $MILL 2ada 0 1 notify $MILL 2ad9 0 1 write $MILL 2ad9 00 write $MILL 2ad9 02e803 sleep 300)
gk_check "FTMS CP request control, set speed 10 km/h" has "$out" "value 800201"

# StartNotify: PropertiesChanged per notification, decoded values.
out=$(probe notify $POD 2a53 3 6)
rsc=$(awk '/^value/ { v = $2 } END { print v }' <<< "$out")
gk_check "RSC: running, 3.2 m/s (819/256), cadence > 120 spm" bash -c \
	"[ \"\${1:0:6}\" = 073303 ] && [ \$((16#\${1:6:2})) -gt 120 ]" _ "$rsc"
out=$(probe notify $HRS 2a37 2 4)
hrm=$(awk '/^value/ { v = $2 } END { print v }' <<< "$out")
gk_check "HRM flags 0x16 or 0x06 with 8-bit HR (got $hrm)" bash -c "[[ '$hrm' =~ ^(16|06)[0-9a-f]{2} ]]"
out=$(probe notify $STRYD 2a63 2 4)
cps=$(awk '/^value/ { v = $2 } END { print v }' <<< "$out")
gk_check "CPS power from speed and incline: 70 kg x 3.2 m/s = 255 W (got $cps)" \
	bash -c "w=\$((16#\${1:6:2}\${1:4:2})); [ \${1:0:4} = 0000 ] && [ \$w -ge 250 ] && [ \$w -le 260 ]" _ "$cps"
out=$(probe notify $MILL 2acd 2 4)
gk_check "Treadmill Data: flags 0x040c, FTMS target 10.00 km/h, incline 1.0 %, ramp 0.6 deg" \
	has "$out" "value 0c04e803......0a000600"
mill=$(awk '/^value 0c04/ { print $2; exit }' <<< "$out")

# Cross-check: the simulator's own encoders against proto/ via gaitctl decode.
GAITCTL=$GK_BUILD/gaitctl
decodes() {	# decodes CHAR HEX JQ-CONDITION
	local j
	j=$("$GAITCTL" decode "$1" "$2") || { echo "# gaitctl decode $1 $2 failed"; return 1; }
	jq -e "$3" <<< "$j" > /dev/null || { echo "# $j"; return 1; }
}
if [ -x "$GAITCTL" ] && command -v jq > /dev/null; then
	gk_check "proto/ decodes the sim's RSC: 3.2 m/s, running, stride = speed / cadence" \
		decodes 2a53 "$rsc" '(.speed_mps - 3.2 | fabs) < 0.01 and .running and
			((.stride_length_m - 3.2 * 60 / .cadence_per_min) | fabs) < 0.02'
	gk_check "proto/ decodes the sim's HRM: contact, RR" \
		decodes 2a37 "$hrm" '.sensor_contact == "detected" and .heart_rate_bpm > 60'
	gk_check "proto/ decodes the sim's CPS power" decodes 2a63 "$cps" '.power_w >= 250 and .power_w <= 260'
	gk_check "proto/ decodes the sim's treadmill data" decodes 2acd "$mill" \
		'.speed_kmh == 10 and .inclination_pct == 1 and .ramp_angle_deg == 0.6 and .elapsed_time_s > 0'
else
	gk_skip "proto/ cross-check" "build/gaitctl or jq missing"
fi
# Inject only once the probe's StartNotify is done: nothing is queued before.
probe notify $MILL 2ada 2 8 > "$gk_tmp/same.out" &
pr=$!
gk_wait_for 5 grep -q '^notify ok' "$gk_tmp/same.out"
sim_call InjectPayload ssay $MILL 2ada 2 4 1 > /dev/null
sim_call InjectPayload ssay $MILL 2ada 2 4 1 > /dev/null
wait $pr
out=$(cat "$gk_tmp/same.out")
gk_check "PropertiesChanged for every notification even if unchanged" \
	is_eq "$(grep -c '^value 0401$' <<< "$out")" 2
gk_check "Notifying b false again after the client left" \
	gk_wait_for 3 bash -c "busctl --address='$BUS' get-property org.bluez '$(char_of $MILL 00002ada)' org.bluez.GattCharacteristic1 Notifying | grep -q false"

# AcquireNotify.
out=$(probe acquire $HRS 2a37 2 5)
gk_check "AcquireNotify: fd with MTU, one packet per notification" has "$out" "^packet 16"
out=$(probe acquire $H10 $PMD_CP 1 1)
gk_check "AcquireNotify on indicate-only: NotSupported" has "$out" "NotSupported"
probe acquire $HRS 2a37 1 5 sleep 3000 > "$gk_tmp/acq.out" &
acq=$!
gk_wait_for 5 grep -q packet "$gk_tmp/acq.out"
out=$(probe acquire $HRS 2a37 1 1)
gk_check "second AcquireNotify: NotPermitted" has "$out" "org.bluez.Error.NotPermitted"
out=$(probe notify $HRS 2a37 1 1)
gk_check "StartNotify while acquired: NotPermitted" has "$out" "org.bluez.Error.NotPermitted Notify acquired"
gk_check "NotifyAcquired b true" is_eq "$(prop "$(char_of $HRS 00002a37)" org.bluez.GattCharacteristic1 NotifyAcquired)" "b true"
gk_check "subscriptions counts the acquired fd" is_eq "$(stat $HRS subscriptions)" 1
wait $acq
probe notify $HRS 2a37 1 5 sleep 3000 > "$gk_tmp/ntf.out" &
ntf=$!
gk_wait_for 5 grep -q '^value' "$gk_tmp/ntf.out"
out=$(probe acquire $HRS 2a37 1 1)
gk_check "AcquireNotify while StartNotify'd: InProgress" has "$out" "org.bluez.Error.InProgress"
wait $ntf

# ---- control interface -------------------------------------------------------------
out=$(sim_call GetStats s $H10)
gk_check "GetStats a{sv} with the contract keys and types" bash -c '
	for k in "connects\" u" "connected\" b" "subscriptions\" u" "start_notify\" u" \
		"acquire_notify\" u" "notifications\" t" "pmd_streaming\" b" \
		"frames_lost\" t" "gyro_frames_lost\" t"; do
		grep -q "\"$k" <<< "$1" || { echo "# $k"; exit 1; }
	done' _ "$out"
n0=$(stat $HRS notifications)
sim_call SetSilent sb $HRS true
out=$(probe notify $HRS 2a37 1 3)
gk_check "SetSilent: connected, no notifications" bash -c \
	"grep -q 'error notify got 0' <<< '$out' && [ \"\$(busctl --address='$BUS' get-property org.bluez '$(dev_path $HRS)' org.bluez.Device1 Connected)\" = 'b true' ]"
sim_call SetSilent sb $HRS false
out=$(probe notify $HRS 2a37 1 3)
gk_check "SetSilent false: notifications again" has "$out" "^value"
gk_check "notifications counter grows" test "$(stat $HRS notifications)" -gt "$n0"

printf '16480054010000\n\n  0600\nff\n' > "$gk_tmp/payloads.txt"
sim_call SetSilent sb $HRS true
probe notify $HRS 2a37 3 8 > "$gk_tmp/file.out" &
pr=$!
gk_wait_for 5 grep -q '^notify ok' "$gk_tmp/file.out"
sim_call InjectFile sss $HRS 2a37 "$gk_tmp/payloads.txt"
wait $pr
out=$(cat "$gk_tmp/file.out")
sim_call SetSilent sb $HRS false
gk_check "InjectFile: each non-empty line, in order" is_eq "$(grep '^value' <<< "$out" | tr '\n' ' ')" \
	"value 16480054010000 value 0600 value ff "
printf 'zz\n' > "$gk_tmp/bad.txt"
out=$(sim_call InjectFile sss $HRS 2a37 "$gk_tmp/bad.txt" 2>&1)
gk_check "InjectFile rejects a bad line" has "$out" "bad.txt:1"
out=$(sim_call InjectPayload ssay $HRS 2a99 1 0 2>&1)
gk_check "InjectPayload unknown characteristic" has "$out" "has no characteristic"

sim_call SetLatency u 400
t=$(date +%s%N)
bc call org.bluez "$(char_of $POD 00002a54)" org.bluez.GattCharacteristic1 ReadValue 'a{sv}' 0 > /dev/null
ms=$((($(date +%s%N) - t) / 1000000))
sim_call SetLatency u 0
gk_check "SetLatency 400: ReadValue took ${ms} ms" test "$ms" -ge 400

probe acquire $H10 2a37 1 5 wait-hup 5 > "$gk_tmp/hup.out" &
acq=$!
gk_wait_for 5 grep -q packet "$gk_tmp/hup.out"
c0=$(stat $H10 connects)
sim_call Disconnect s $H10
wait $acq
gk_check "Disconnect: AcquireNotify fd hangs up" has "$(cat "$gk_tmp/hup.out")" "^hup"
gk_check "Disconnect: Connected false, ServicesResolved false" bash -c \
	"[ \"\$(busctl --address='$BUS' get-property org.bluez '$P' org.bluez.Device1 Connected ServicesResolved | tr '\n' ' ')\" = 'b false b false ' ]"
gk_check "Disconnect: GATT objects kept ([GATT] Cache = always)" bash -c "busctl --address='$BUS' tree --list org.bluez | grep -q '$P/service'"
gk_check "Disconnect: device object kept (once connected)" bash -c "busctl --address='$BUS' tree --list org.bluez | grep -q '$P$'"
out=$(probe connect $H10)
gk_check "reconnect on the same path, connects counted" bash -c \
	"grep -q resolved <<< '$out' && [ $(stat $H10 connects) = $((c0 + 1)) ]"

# Cache = always: a StartNotify session outlives the link and is registered
# again on reconnect (gatt-client.c btd_gatt_client_connected); no
# InterfacesAdded for the cached objects.
HRM_P=$(char_of $H10 00002a37)
probe notify $H10 2a37 1 5 sleep 2500 connect $H10 sleep 2500 > "$gk_tmp/keep.out" &
pr=$!
gk_wait_for 5 grep -q '^value' "$gk_tmp/keep.out"
sn0=$(stat $H10 start_notify)
sim_call Disconnect s $H10
gk_check "Cache = always: session kept while disconnected (subscriptions 1)" \
	is_eq "$(stat $H10 subscriptions)" 1
gk_check "Cache = always: Notifying stays true while disconnected" \
	is_eq "$(prop "$HRM_P" org.bluez.GattCharacteristic1 Notifying)" "b true"
out=$(probe notify $H10 2a37 0 1 notify $H10 2a37 0 1)
gk_check "Cache = always: StartNotify while disconnected ok, again InProgress" bash -c \
	"grep -q '^notify ok' <<< \"\$1\" && grep -q '^error notify org.bluez.Error.InProgress' <<< \"\$1\"" _ "$out"
gk_check "Cache = always: ReadValue while disconnected: Failed Not connected" \
	has "$(probe read $H10 2a38)" "^error read org.bluez.Error.Failed Not connected"
gk_check "Cache = always: AcquireNotify while disconnected: Failed Not connected" \
	has "$(probe acquire $H10 2a37 1 1)" "^error acquire org.bluez.Error.Failed Not connected"
wait $pr
out=$(cat "$gk_tmp/keep.out")
gk_check "Cache = always: values again after reconnect without a new StartNotify" bash -c \
	"sed -n '/^connect-reply/,\$p' <<< \"\$1\" | grep -q '^value'" _ "$out"
gk_check "Cache = always: reconnect re-registered, no new StartNotify counted" \
	is_eq "$(stat $H10 start_notify)" "$((sn0 + 1))"
gk_check "Cache = always: no InterfacesAdded for cached GATT objects on reconnect" \
	hasnt "$out" "^added .*$P/service"
gk_check "sessions end when their client leaves" is_eq "$(stat $H10 subscriptions)" 0

sim_call SetAdvertising sb $H10 false
gk_check "SetAdvertising false drops the link" is_eq "$(prop "$P" org.bluez.Device1 Connected)" "b false"
t=$(date +%s%N)
out=$(probe connect $H10)
ms=$((($(date +%s%N) - t) / 1000000))
gk_check "Connect to a silent radio: Failed le-connection-abort-by-local" \
	has "$out" "error connect org.bluez.Error.Failed le-connection-abort-by-local"
gk_check "... after the connect timeout (--connect-timeout-ms 2000): ${ms} ms" \
	test "$ms" -ge 1900 -a "$ms" -lt 4000
# A Connect stays pending while the device is away and completes when it
# advertises again (bluetoothd keeps the LE connection attempt ~30 s).
probe connect $H10 > "$gk_tmp/pending.out" &
pr=$!
sleep 0.4
out=$(probe connect $H10)
gk_check "Connect while one is pending: Failed, already in progress" \
	has "$out" "error connect org.bluez.Error.Failed Operation already in progress"
sleep 0.4
sim_call SetAdvertising sb $H10 true
wait $pr
out=$(cat "$gk_tmp/pending.out")
ms=$(awk '/^connect-reply/ { print $2 }' <<< "$out")
gk_check "pending Connect completes when the device returns: reply after ${ms:-?} ms" \
	bash -c "grep -q '^resolved' <<< \"\$1\" && [ \"\${2:-0}\" -ge 700 ] && [ \"\${2:-0}\" -lt 1900 ]" _ "$out" "$ms"
bc call org.bluez "$P" org.bluez.Device1 Disconnect
out=$(probe connect $H10)
gk_check "SetAdvertising true: Connect works" has "$out" "^resolved"

# PMD stream over StartNotify (Value PropertiesChanged), then stop.
out=$(probe notify $H10 $PMD_CP 0 1 write $H10 $PMD_CP 0202000164000101100002010800 \
	notify $H10 $PMD_DATA 3 5)
gk_check "PMD start response f0 02 02 00 00" has "$out" "^value f002020000$"
gk_check "PMD ACC frames over StartNotify" has "$out" "^value 02.\{16\}01"
START=0202000164000101100002010800
out=$(probe notify $H10 $PMD_CP 0 1 write $H10 $PMD_CP 0302 write $H10 $PMD_CP 0302 \
	write $H10 $PMD_CP 0202000133000101100002010800 write $H10 $PMD_CP 0202000164000101 \
	write $H10 $PMD_CP $START write $H10 $PMD_CP $START write $H10 $PMD_CP 0209 \
	write $H10 $PMD_CP 0302 sleep 300)
gk_check "PMD stop: success, then already in state" bash -c \
	"grep -q '^value f003020000$' <<< \"\$1\" && grep -q '^value f003020600$' <<< \"\$1\"" _ "$out"
gk_check "PMD bad rate: invalid sample rate (08)" has "$out" "^value f002020800$"
gk_check "PMD truncated setting: invalid length (04)" has "$out" "^value f002020400$"
gk_check "PMD start twice: already in state (06)" has "$out" "^value f002020600$"
gk_check "PMD measurement type the H10 lacks: not supported (03)" has "$out" "^value f002090300$"
gk_check "pmd_streaming false after stop" is_eq "$(stat $H10 pmd_streaming)" "false"

sim_call RemoveDevice s $POD
gk_check "RemoveDevice: object gone" bash -c "! busctl --address='$BUS' tree --list org.bluez | grep -q '$(dev_path $POD)$'"
out=$(bc call org.bluez /org/bluez/hci0 org.bluez.Adapter1 RemoveDevice o "$(dev_path $STRYD)" 2>&1)
gk_check "Adapter1.RemoveDevice" bash -c "[ -z '$out' ] && ! busctl --address='$BUS' tree --list org.bluez | grep -q '$(dev_path $STRYD)$'"

bc set-property org.bluez /org/bluez/hci0 org.bluez.Adapter1 Powered b false
out=$(probe connect $H10)
gk_check "Powered false: Connect NotReady" has "$out" "org.bluez.Error.NotReady"
bc set-property org.bluez /org/bluez/hci0 org.bluez.Adapter1 Powered b true

probe connect $H10 > /dev/null
bc monitor --json=short org.bluez > "$gk_tmp/restart.mon" 2>/dev/null &
mon=$!
sleep 0.3
owner() { bc call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.bluez 2>/dev/null; }
owner0=$(owner)
sim_call RestartBluez u 800
gk_check "RestartBluez: org.bluez gone" bash -c "! busctl --address='$BUS' status org.bluez > /dev/null 2>&1"
gk_check "RestartBluez: control name kept" sim_ready
gk_check "RestartBluez: org.bluez back with the adapter" \
	gk_wait_for 5 bash -c "busctl --address='$BUS' get-property org.bluez /org/bluez/hci0 org.bluez.Adapter1 Powered > /dev/null"
gk_check "RestartBluez: cached H10 back, not connected" \
	gk_wait_for 3 bash -c "[ \"\$(busctl --address='$BUS' get-property org.bluez '$P' org.bluez.Device1 Connected)\" = 'b false' ]"
kill $mon 2>/dev/null; wait $mon 2>/dev/null
gk_check "RestartBluez: InterfacesRemoved emitted" grep -q InterfacesRemoved "$gk_tmp/restart.mon"
owner1=$(owner)
gk_check "RestartBluez: org.bluez has a new unique name ($owner0 -> $owner1)" \
	bash -c "[ -n \"\$1\" ] && [ -n \"\$2\" ] && [ \"\$1\" != \"\$2\" ]" _ "$owner0" "$owner1"
gk_check "RestartBluez: GATT objects only after a new connection" \
	bash -c "! busctl --address='$BUS' tree --list org.bluez | grep -q '$P/service'"

sim_call RemoveAdapter
gk_check "RemoveAdapter: /org/bluez/hci0 gone" bash -c "! busctl --address='$BUS' tree --list org.bluez | grep -q hci0"
out=$(sim_call RemoveAdapter 2>&1)
gk_check "RemoveAdapter twice: error" has "$out" "No adapter"
sim_call AddAdapter
gk_check "AddAdapter: adapter and cached device back" \
	bash -c "busctl --address='$BUS' tree --list org.bluez | grep -q '$P$'"

out=$(sim_call GetStats s 00:00:00:00:00:00 2>&1)
gk_check "control errors name the device" has "$out" "No simulated device"
sim_call Quit
wait $SIM_PID
gk_check "Quit exits 0" test $? -eq 0

# ---- run 1b: --gatt-cache no: GATT objects and sessions die with the link ----------
start_sim --gatt-cache no --device heart-rate,$HRS,"HRM Strap"
probe scan wait-device $HRS 5 stopscan connect $HRS notify $HRS 2a37 1 5 sleep 2500 > "$gk_tmp/nocache.out" &
pr=$!
gk_wait_for 8 grep -q '^value' "$gk_tmp/nocache.out"
sim_call Disconnect s $HRS
gk_check "--gatt-cache no: GATT objects removed on disconnect" \
	bash -c "! busctl --address='$BUS' tree --list org.bluez | grep -q '$(dev_path $HRS)/service'"
gk_check "--gatt-cache no: notify sessions end with the link" is_eq "$(stat $HRS subscriptions)" 0
wait $pr
out=$("$SIM" --gatt-cache sometimes --device heart-rate,$HRS,x 2>&1)
gk_check "--gatt-cache: only always or no" has "$out" "wants 'always' or 'no'"
sim_call Quit
wait $SIM_PID

# ---- run 2: a ramp trace, PMD frames decoded and checked sample by sample -------------
awk 'BEGIN { print "t_s,ax_g,ay_g,az_g,gx_dps,gy_dps,gz_dps";
	for (i = 0; i <= 12000; i++) { t = i / 200;
		printf "%.3f,%.4f,%.5f,1,%.2f,0,-5\n", t, 0.1 * t, -0.05 * t, 10 * t } }' > "$gk_tmp/ramp.csv"
start_sim --trace "$gk_tmp/ramp.csv" --time-scale 2 \
	--device polar-h10,$H10,"Polar H10 0A1B2C3D" --device polar-verity-sense,$VERITY,"Polar Sense 1"
out=$(probe scan wait-device $H10 3 wait-device $VERITY 3 stopscan connect $H10 connect $VERITY \
	notify $H10 $PMD_CP 0 1 write $H10 $PMD_CP 0202000164000101100002010800 \
	acquire $H10 $PMD_DATA 6 10)
gk_check "H10 ACC 100 Hz raw frames decode to the trace (time-scale 2)" bash -c \
	"python3 '$PMD_CHECK' 100 1 01 <<< '$out'"
out=$(probe notify $VERITY $PMD_CP 0 1 write $VERITY $PMD_CP 0202000134000101100002010800040103 \
	write $VERITY $PMD_CP 020500013400010110000201d007040103 acquire $VERITY $PMD_DATA 8 10)
gk_check "Verity ACC start response carries factor 1.0" has "$out" "^value f00202000005010000803f$"
gk_check "Verity gyro start response carries factor 2000/32768" has "$out" "^value f002050000050100007a3d$"
gk_check "Verity ACC 0x81 + gyro 0x80 delta frames decode to the trace" bash -c \
	"python3 '$PMD_CHECK' 52 0.06103515625 80,81 <<< '$out'"
if [ -x "$GAITCTL" ] && command -v jq > /dev/null; then
	frame=$(awk '/^packet 02/ { print $2; exit }' <<< "$out")
	gk_check "proto/ decodes the sim's Verity ACC delta frame: 33 samples, z 1000 mG" \
		decodes pmd-data "$frame" '.n_samples == 33 and .compressed and
			([.samples[].z] | unique) == [1000]'
	frame=$(awk '/^packet 05/ { print $2; exit }' <<< "$out")
	gk_check "proto/ decodes the sim's Verity gyro delta frame" \
		decodes pmd-data "$frame" '.n_samples == 33 and .measurement == "gyro"'
	gk_check "proto/ decodes the gyro start response factor" \
		decodes pmd-cp "$(awk '/^value f00205/ { print $2; exit }' <<< "$out")" \
		'.status == 0 and ((.settings.factor - 2000 / 32768) | fabs) < 1e-6'
fi
kill -TERM $SIM_PID
wait $SIM_PID
gk_check "SIGTERM exits 0" test $? -eq 0

# ---- run 3: a short session of every control path under valgrind -----------------------
# An ASan build (make sanitize) checks itself; valgrind cannot run it.
if grep -q __asan_init "$SIM"; then
	vg=()
	what="sanitizers"
elif command -v valgrind > /dev/null; then
	vg=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
		--error-exitcode=99 --log-file="$gk_tmp/vg.log")
	what="valgrind"
else
	vg=(missing)
fi
if [ "${vg[0]:-}" = missing ]; then
	gk_skip "valgrind session" "valgrind not installed"
else
	gk_bg "${vg[@]}" "$SIM" --trace "$gk_tmp/ramp.csv" --disconnect-delay-ms 100 \
		--power-off-delay-ms 1000 \
		--device polar-verity-sense,$VERITY,"Polar Sense 1" --device footpod,$POD,Pod \
		2>> "$gk_tmp/vg.log"
	SIM_PID=$gk_last_pid
	gk_wait_for 30 sim_ready
	probe scan wait-device $VERITY 10 wait-device $POD 10 stopscan connect $VERITY connect $POD \
		notify $POD 2a53 1 5 notify $VERITY $PMD_CP 0 1 \
		write $VERITY $PMD_CP 0202000134000101100002010800040103 \
		write $VERITY $PMD_CP 020500013400010110000201d007040103 \
		acquire $VERITY $PMD_DATA 2 10 > /dev/null
	printf '0600\n' > "$gk_tmp/one.txt"
	sim_call InjectFile sss $POD 2a53 "$gk_tmp/one.txt" > /dev/null
	sim_call SetLatency u 50
	probe read $POD 2a54 > /dev/null
	bc call org.bluez "$(dev_path $POD)" org.bluez.Device1 Disconnect
	sim_call Disconnect s $VERITY
	sim_call RestartBluez u 200
	sleep 1
	# a power-off under way when the adapter goes: its Set fails
	bc set-property org.bluez /org/bluez/hci0 org.bluez.Adapter1 Powered b false \
		2> "$gk_tmp/vg-power.err" &
	pr=$!
	sleep 0.3
	sim_call RemoveAdapter
	wait $pr
	gk_check "$what: a power-off cut short by RemoveAdapter answers Failed" \
		grep -q "No such adapter" "$gk_tmp/vg-power.err"
	sim_call AddAdapter
	sim_call Quit
	wait $SIM_PID
	rc=$?
	gk_check "$what: every control path, no errors, no leaks (exit $rc)" test $rc -eq 0
	[ $rc -eq 0 ] || sed 's/^/# /' "$gk_tmp/vg.log" | head -40
fi
gk_done
