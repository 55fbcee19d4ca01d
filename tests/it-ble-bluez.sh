#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Contract test of ble/ against build/bluez-sim: the BlueZ side goes away
# and comes back (issue #5): bluetoothd absent at start, no adapter at
# start (boot race), RestartBluez, RemoveAdapter/AddAdapter, RemoveDevice,
# a configured adapter that is not there, a Connect slower than its timeout,
# and exit while a Connect is pending (the opt-in adapter power cycle:
# it-ble-power-cycle.sh). Prints "# figure NAME MS" lines.
source "$(dirname "$0")/lib/env.sh"

MARKDOWN=${1:-}
source "$(dirname "$0")/lib/ble.sh"
ble_require "ble bluez"



# elapsed SINCE WAIT-ARGS...: ms from SINCE to the first matching line.
elapsed() {
	local since=$1 t
	shift
	t=$(wait_after "$@") && echo $((t - since))
}

streaming_cond='.state == "streaming" and .available'
down_cond='.state != "streaming" and (.available | not)'

gk_start_dbus || { gk_skip "ble bluez" "no dbus-daemon"; gk_done; exit; }

H10=A0:9E:1A:00:00:21
POD=C0:FF:EE:00:00:23

# -- bluetoothd not running at start ---------------------------------------
OUT=$gk_tmp/driver.jsonl
gk_bg "$DRV" --sensor alias=h10,kind=polar-h10,address=$H10 \
	--sensor alias=pod,kind=footpod,pattern=RunPod* \
	> "$OUT" 2> "$gk_tmp/driver.err"
DRV_PID=$gk_last_pid
t=$(wait_after 5 0 pod state '.state == "idle" and .reason == "bluetoothd is not running"')
gk_check "no bluetoothd: idle, and the reason says so" test -n "$t"

# -- bluetoothd without an adapter (boot race), then the adapter -------------
t0=$(now_ms)
gk_bg "$SIM" "${SIM_OPTS[@]}" --no-adapter --loop \
	--device polar-h10,$H10,"Polar H10 21212121" \
	--device footpod,$POD,"RunPod 23" 2> "$gk_tmp/sim.err"
SIM_PID=$gk_last_pid
gk_check "simulator ready" gk_wait_for 10 sim_ready
t=$(wait_after 5 "$t0" pod state '.state == "idle" and (.reason | test("adapter"))')
gk_check "no adapter: idle, waiting for an adapter" test -n "$t"
t0=$(now_ms)
sim_call AddAdapter
within adapter_added_streaming_pod_ms "$(elapsed "$t0" 15 "$t0" pod state "$streaming_cond")" 10000
within adapter_added_streaming_h10_ms "$(elapsed "$t0" 15 "$t0" h10 state "$streaming_cond")" 10000
# The RSSI of the advertisement that matched reaches on_rssi (gaitctl's RSSI
# column): BlueZ sends no other once discovery pauses for the Connect.
for a in pod h10; do
	gk_check "$a: on_rssi with the advertised RSSI before streaming" \
		test -n "$(q -r --arg a "$a" \
			'select(.event == "rssi" and .alias == $a and .rssi_dbm < 0) | .rssi_dbm' |
			head -1)"
done
sleep 1

# -- bluetoothd restart --------------------------------------------------------
bluez_owner() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call org.freedesktop.DBus \
		/org/freedesktop/DBus org.freedesktop.DBus GetNameOwner s org.bluez 2>/dev/null
}
owner0=$(bluez_owner)
t0=$(now_ms)
sim_call RestartBluez u 2000
within restart_noticed_pod_ms "$(elapsed "$t0" 5 "$t0" pod state \
	'.state == "idle" and .reason == "bluetoothd is not running"')" 1000
within restart_noticed_h10_ms "$(elapsed "$t0" 5 "$t0" h10 state "$down_cond")" 1000
t1=$((t0 + 2000))
within restart_recovered_pod_ms "$(elapsed "$t1" 20 "$t1" pod state "$streaming_cond")" 10000
within restart_recovered_h10_ms "$(elapsed "$t1" 20 "$t1" h10 state "$streaming_cond")" 10000
sleep 1
owner1=$(bluez_owner)
gk_check "the restarted bluetoothd has a new unique name (${owner0#s } -> ${owner1#s })" \
	test -n "$owner0" -a -n "$owner1" -a "$owner0" != "$owner1"
gk_check "after the restart: h10 subscriptions 3/3 (ours/sim)" \
	is_eq "$(last_info h10 subscriptions)/$(sim_stat $H10 subscriptions)" 3/3
gk_check "after the restart: pod subscriptions 1/1 (ours/sim)" \
	is_eq "$(last_info pod subscriptions)/$(sim_stat $POD subscriptions)" 1/1

# -- adapter unplugged and plugged back ---------------------------------------
t0=$(now_ms)
sim_call RemoveAdapter
within adapter_removed_noticed_pod_ms "$(elapsed "$t0" 5 "$t0" pod state \
	'.state == "idle" and (.reason | test("adapter"))')" 1000
sleep 2
gk_check "no adapter: nothing streams" \
	test -z "$(first_after $((t0 + 50)) pod state "$streaming_cond")$(first_after $((t0 + 50)) h10 state "$streaming_cond")"
t1=$(now_ms)
sim_call AddAdapter
within adapter_back_recovered_pod_ms "$(elapsed "$t1" 15 "$t1" pod state "$streaming_cond")" 10000
within adapter_back_recovered_h10_ms "$(elapsed "$t1" 15 "$t1" h10 state "$streaming_cond")" 10000

# -- the device object is removed (bluetoothctl remove) -----------------------
sleep 1
t0=$(now_ms)
sim_call RemoveDevice s $POD
t=$(wait_after 5 "$t0" pod state "$down_cond")
gk_check "RemoveDevice: noticed" test -n "$t"
gk_check "RemoveDevice: the reason says removed or disconnected" \
	test -n "$(first_after "$t0" pod state '.reason | test("removed|disconnected")')"
within device_removed_recovered_pod_ms "$(elapsed "$t0" 15 "$t0" pod state "$streaming_cond")" 10000
sleep 1
gk_check "after RemoveDevice: pod subscriptions 1/1 (ours/sim)" \
	is_eq "$(last_info pod subscriptions)/$(sim_stat $POD subscriptions)" 1/1
gk_check "h10 kept streaming through the pod's removal" \
	test -z "$(first_after "$t0" h10 state 'true')"
gk_check "our connects = the simulator's connects (h10)" \
	is_eq "$(last_info h10 connects)" "$(sim_stat $H10 connects)"

kill "$DRV_PID"
wait "$DRV_PID"
gk_check "driver exits cleanly" test $? -eq 0

# -- a configured adapter that does not exist -----------------------------------
OUT=$gk_tmp/driver2.jsonl
gk_bg "$DRV" --adapter hci7 --sensor alias=pod,kind=footpod,address=$POD \
	> "$OUT" 2> "$gk_tmp/driver2.err"
DRV_PID=$gk_last_pid
t=$(wait_after 5 0 pod state '.state == "idle" and .reason == "waiting for the configured adapter"')
gk_check "--adapter hci7: idle, waiting for the configured adapter" test -n "$t"
kill "$DRV_PID"
wait "$DRV_PID"

# -- a Connect that never answers in time ------------------------------------
# bluetoothd answers 2.5 s late; our Connect timeout is 1.5 s: the attempt is
# cancelled (Disconnect) and retried; with bluetoothd fast again it connects.
sim_call SetLatency u 2500
OUT=$gk_tmp/driver4.jsonl
gk_bg "$DRV" --connect-timeout-ms 1500 --sensor alias=pod,kind=footpod,address=$POD \
	> "$OUT" 2> "$gk_tmp/driver4.err"
DRV_PID=$gk_last_pid
t=$(wait_after 20 0 pod state '.state == "backoff" and .reason == "connect: timed out"')
gk_check "Connect slower than its timeout: 'connect: timed out'" test -n "$t"
sim_call SetLatency u 0
t1=$(now_ms)
within connect_timeout_then_back_pod_ms "$(elapsed "$t1" 20 "$t1" pod state "$streaming_cond")" 10000
sleep 1
gk_check "after timed-out attempts: pod subscriptions 1/1 (ours/sim)" \
	is_eq "$(last_info pod subscriptions)/$(sim_stat $POD subscriptions)" 1/1
kill "$DRV_PID"
wait "$DRV_PID"

# -- exit while a Connect is pending ---------------------------------------------
# The footpod is away: bluetoothd's LE connection attempt stays pending. On
# exit the driver must cancel it (Disconnect), or the footpod is connected,
# and kept connected, as soon as it advertises again with nobody using it.
sim_call SetAdvertising sb $POD false
sleep 0.5
OUT=$gk_tmp/driver5.jsonl
gk_bg "$DRV" --sensor alias=pod,kind=footpod,address=$POD \
	> "$OUT" 2> "$gk_tmp/driver5.err"
DRV_PID=$gk_last_pid
t=$(wait_after 10 0 pod state '.state == "connecting"')
gk_check "absent footpod: connecting" test -n "$t"
sleep 1
kill "$DRV_PID"
wait "$DRV_PID"
gk_check "driver exits cleanly while connecting" test $? -eq 0
connects0=$(sim_stat $POD connects)
sim_call SetAdvertising sb $POD true
sleep 2
gk_check "after exit the footpod advertises again and stays unconnected" \
	is_eq "$(sim_stat $POD connected)/$(( $(sim_stat $POD connects) - connects0 ))" false/0

figures_markdown
gk_done
