#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Contract test of ble/ against build/bluez-sim: every sensor-side fault is
# noticed and recovered (issue #5): Disconnect, SetSilent (stale within 3
# nominal periods), SetAdvertising off/on, InjectPayload (malformed,
# counted), SetLatency; no subscription lost or doubled afterwards.
# Prints the measured times as "# figure NAME MS" lines; with --markdown
# it ends with the table docs/reliability.md "## BLE" shows.
source "$(dirname "$0")/lib/env.sh"

MARKDOWN=${1:-}
source "$(dirname "$0")/lib/ble.sh"
ble_require "ble faults"


# count_events ALIAS EVENT COND
count_events() {
	q -c --arg a "$1" "select(.event == \"$2\" and .alias == \$a and ($3))" | wc -l
}

# wait_after SECONDS SINCE_MS ALIAS EVENT COND: poll; echo wall_ms or fail.

streaming_cond='.state == "streaming" and .available'
down_cond='.state != "streaming" and (.available | not)'

gk_start_dbus || { gk_skip "ble faults" "no dbus-daemon"; gk_done; exit; }

H10=A0:9E:1A:00:00:11
POD=C0:FF:EE:00:00:13
HRS=C0:FF:EE:00:00:14
RSC_UUID=00002a53-0000-1000-8000-00805f9b34fb
PMD_DATA_UUID=fb005c82-02e7-f387-1cad-8acd2d8df0c8

gk_bg "$SIM" "${SIM_OPTS[@]}" --speed-mps 3.2 --loop \
	--device polar-h10,$H10,"Polar H10 11111111" \
	--device footpod,$POD,"RunPod 13" \
	--device heart-rate,$HRS,"HRM 14" 2> "$gk_tmp/sim.err"
gk_check "simulator ready" gk_wait_for 10 sim_ready

OUT=$gk_tmp/driver.jsonl
gk_bg "$DRV" --imu-every 10 \
	--sensor alias=h10,kind=polar-h10,address=$H10 \
	--sensor alias=pod,kind=footpod,address=$POD \
	--sensor alias=strap,kind=heart-rate,address=$HRS \
	> "$OUT" 2> "$gk_tmp/driver.err"
DRV_PID=$gk_last_pid

t0=$(now_ms)
for a in h10 pod strap; do
	t=$(wait_after 30 "$t0" $a state "$streaming_cond")
	gk_check "$a: streaming at start" test -n "$t"
done
sleep 2

# -- Disconnect (footpod: Connected=false; H10: also the AcquireNotify HUP) --
for a in pod h10; do
	addr=$POD
	[ $a = h10 ] && addr=$H10
	t0=$(now_ms)
	sim_call Disconnect s $addr
	kept=$(gatt_objects $addr)
	if [ "$GATT_CACHE" = always ]; then
		gk_check "$a: GATT objects kept across the disconnect (Cache = always)" test "$kept" -gt 0
	else
		gk_check "$a: GATT objects removed with the link (Cache = no)" test "$kept" -eq 0
	fi
	t=$(wait_after 5 "$t0" $a state "$down_cond")
	within "disconnect_noticed_${a}_ms" "$([ -n "$t" ] && echo $((t - t0)))" 1000
	t=$(wait_after 15 "$t0" $a state "$streaming_cond")
	within "disconnect_recovered_${a}_ms" "$([ -n "$t" ] && echo $((t - t0)))" 10000
done
gk_check "h10: the reason names the disconnect or the socket hang-up" \
	test "$(count_events h10 state '.state == "backoff" and (.reason | test("disconnected|hung up"))')" -ge 1
gk_check "strap untouched by the others' faults" \
	test "$(count_events strap state '.state == "streaming"')" -eq 1

# -- SetSilent: connected but no notifications -> stale within 3 periods --
for a in pod h10; do
	addr=$POD
	[ $a = h10 ] && addr=$H10
	sleep 1
	t0=$(now_ms)
	sim_call SetSilent sb $addr true
	t=$(wait_after 8 "$t0" $a state '.state == "stale"')
	# from the call: up to one period had passed since the last payload
	within "silent_to_stale_${a}_ms" "$([ -n "$t" ] && echo $((t - t0)))" 4500
	# ble/'s own measure, in the reason: silence when it was flagged
	silence=$(q -r --arg a $a --argjson t "$t0" 'select(.wall_ms >= $t and
		.event == "state" and .alias == $a and .state == "stale") |
		.reason | capture("no data for (?<ms>[0-9]+) ms").ms' | head -1)
	within "silence_when_stale_${a}_ms" "$silence" 3300
	gk_check "$a: stale reason says how long it was silent" \
		test "$(count_events $a state '.state == "stale" and (.reason | test("no data for [0-9]+ ms"))')" -ge 1
	# The reconnect cycle runs while it stays silent: never streaming.
	sleep 5
	gk_check "$a: not streaming while silent" \
		test -z "$(first_after $((t0 + 100)) $a state "$streaming_cond")"
	t1=$(now_ms)
	sim_call SetSilent sb $addr false
	t=$(wait_after 15 "$t1" $a state "$streaming_cond")
	within "silent_recovered_${a}_ms" "$([ -n "$t" ] && echo $((t - t1)))" 10000
done

# -- SetAdvertising off: gone for a while, then back ---------------------------
t0=$(now_ms)
sim_call SetAdvertising sb $POD false
# the simulator may already have dropped the link with the advertising
sim_call Disconnect s $POD 2> /dev/null || true
t=$(wait_after 5 "$t0" pod state "$down_cond")
gk_check "pod: noticed it went away" test -n "$t"
sleep 6
gk_check "pod: not streaming while not advertising" \
	test -z "$(first_after $((t0 + 100)) pod state "$streaming_cond")"
gk_check "pod: a Connect is pending while it is away (as on bluetoothd, ~30 s)" \
	test -n "$(first_after "$t0" pod state '.state == "connecting"')"
t1=$(now_ms)
sim_call SetAdvertising sb $POD true
t=$(wait_after 15 "$t1" pod state "$streaming_cond")
within "advertising_recovered_pod_ms" "$([ -n "$t" ] && echo $((t - t1)))" 10000

# -- InjectPayload: malformed values are counted, nothing else happens ------
before=$(last_info pod malformed)
t0=$(now_ms)
# flags promise stride length and total distance, 5 bytes (notes 1.9)
sim_call InjectPayload ssay $POD $RSC_UUID 5 0x03 0x80 0x02 0x50 0x20
sim_call InjectPayload ssay $POD $RSC_UUID 0
sim_call InjectPayload ssay $H10 $PMD_DATA_UUID 3 0x02 0x00 0x94
sim_call InjectPayload ssay $H10 $PMD_DATA_UUID 12 0x02 0 0 0 0 0 0 0 0 0x81 0xff 0xff
t=$(wait_after 5 "$t0" pod malformed '.count >= 1')
gk_check "pod: malformed payload reported" test -n "$t"
t=$(wait_after 5 "$t0" h10 malformed '.count >= 1')
gk_check "h10: malformed PMD frame reported" test -n "$t"
sleep 1.5
after=$(last_info pod malformed)
gk_check "pod: malformed counter grew by 2 (${before:-?} -> ${after:-?})" \
	test "$((after - before))" -eq 2
gk_check "h10: malformed counter counts both frames" \
	test "$(last_info h10 malformed)" -ge 2
gk_check "malformed payloads change no state" \
	test -z "$(first_after "$t0" pod state 'true')$(first_after "$t0" h10 state 'true')"
gk_check "driver still running" kill -0 "$DRV_PID"

# -- PMD: the sensor stops the measurement on its own -------------------------
PMD_CP_UUID=fb005c81-02e7-f387-1cad-8acd2d8df0c8
t0=$(now_ms)
sim_call InjectPayload ssay $H10 $PMD_CP_UUID 2 0x01 0x02
t=$(wait_after 5 "$t0" h10 state '.reason == "measurement stopped by the device"')
gk_check "h10: 'stopped by the device' indication ends the connection" test -n "$t"
within "pmd_stopped_recovered_h10_ms" "$(t=$(wait_after 15 "$t0" h10 state "$streaming_cond") &&
	echo $((t - t0)))" 10000
sleep 1

# -- Signals from anyone but org.bluez's owner are ignored ----------------
t0=$(now_ms)
dev_path=/org/bluez/hci0/dev_${POD//:/_}
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" emit "$dev_path" \
	org.freedesktop.DBus.Properties PropertiesChanged 'sa{sv}as' \
	org.bluez.Device1 2 Connected b false ServicesResolved b false 0
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" emit / \
	org.freedesktop.DBus.ObjectManager InterfacesRemoved oas "$dev_path" 1 org.bluez.Device1
sleep 1.5
gk_check "forged Connected=false / InterfacesRemoved from another sender: ignored" \
	test -z "$(first_after "$t0" pod state 'true')"

# -- SetLatency: slow bluetoothd; a reconnect still completes -----------------
sim_call SetLatency u 300
t0=$(now_ms)
sim_call Disconnect s $POD
t=$(wait_after 15 "$t0" pod state "$streaming_cond")
within "latency300_recovered_pod_ms" "$([ -n "$t" ] && echo $((t - t0)))" 10000
sleep 2
gk_check "pod: streaming with 300 ms latency, not stale" \
	test -z "$(first_after "$t0" pod state '.state == "stale"')"
sim_call SetLatency u 0
sleep 1

# -- Subscriptions after all those reconnects: neither lost nor doubled ----
check_subs() {
	local alias=$1 addr=$2 want=$3 ours theirs
	ours=$(last_info "$alias" subscriptions)
	theirs=$(sim_stat "$addr" subscriptions)
	is_eq "$ours/$theirs" "$want/$want"
}
gk_check "h10: 3 subscriptions after reconnects (ours/sim)" check_subs h10 $H10 3
gk_check "pod: 1 subscription after reconnects (ours/sim)" check_subs pod $POD 1
gk_check "strap: 1 subscription, never reconnected" check_subs strap $HRS 1
gk_check "pod: our connects = the simulator's connects" \
	is_eq "$(last_info pod connects)" "$(sim_stat $POD connects)"
gk_check "h10: our connects = the simulator's connects" \
	is_eq "$(last_info h10 connects)" "$(sim_stat $H10 connects)"
gk_check "h10: one AcquireNotify per connection" \
	is_eq "$(sim_stat $H10 acquire_notify)" "$(sim_stat $H10 connects)"
# A session the simulator keeps across a link loss (Cache = always) is only
# opened anew if ble/ stopped it on teardown: a new session per connection.
gk_check "pod: one new StartNotify session per connection (StopNotify on every teardown)" \
	is_eq "$(sim_stat $POD start_notify)" "$(sim_stat $POD connects)"
gk_check "h10: two new StartNotify sessions (HRM, PMD CP) per connection" \
	is_eq "$(sim_stat $H10 start_notify)" "$((2 * $(sim_stat $H10 connects)))"
for a in h10 pod strap; do
	gk_check "$a: streaming at the end" is_eq "$(last_info $a state)" streaming
done

kill "$DRV_PID"
wait "$DRV_PID"
gk_check "driver exits cleanly" test $? -eq 0

figures_markdown
gk_done
