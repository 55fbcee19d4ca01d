#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# ble/ under valgrind memcheck against build/bluez-sim: connect, stream
# (AcquireNotify fd and StartNotify), a disconnect, a silent sensor going
# stale, malformed payloads, a bluetoothd restart and a clean exit; no
# memory errors and no leaks (issue #5, "nothing leaks under valgrind").
source "$(dirname "$0")/lib/env.sh"

source "$(dirname "$0")/lib/ble.sh"
ble_require "ble valgrind"
if ! command -v valgrind > /dev/null; then
	gk_skip "ble valgrind" "valgrind not installed"
	gk_done
	exit
fi

q() {
	local f=${*: -1}
	jq -R "${@:1:$#-1}" "fromjson? | $f" "$OUT"
}

# count ALIAS STATE: state lines of ALIAS in STATE so far.
count() {
	q -c --arg a "$1" --arg s "$2" 'select(.event == "state" and .alias == $a and .state == $s)' |
		wc -l
}

# wait_count SECONDS ALIAS STATE N: until there are at least N such lines.
wait_count() {
	local limit=$1 i
	for ((i = 0; i < limit * 10; i++)); do
		[ "$(count "$2" "$3")" -ge "$4" ] && return 0
		sleep 0.1
	done
	return 1
}

gk_start_dbus || { gk_skip "ble valgrind" "no dbus-daemon"; gk_done; exit; }

H10=A0:9E:1A:00:00:31
POD=C0:FF:EE:00:00:33
STRAP=C0:FF:EE:00:00:34

gk_bg "$SIM" --loop --device polar-h10,$H10,"Polar H10 31313131" \
	--device footpod,$POD,"RunPod 33" \
	--device heart-rate,$STRAP,"HRM 34" 2> "$gk_tmp/sim.err"
gk_check "simulator ready" gk_wait_for 10 sim_ready

OUT=$gk_tmp/driver.jsonl
VG_LOG=$gk_tmp/valgrind.log
# An ASan build (make sanitize) checks itself (LSan fails the exit status on
# a leak); valgrind cannot run it.
if grep -q __asan_init "$DRV"; then
	vg=()
	what="ASan/LSan"
else
	what="valgrind"
	vg=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99
		--suppressions="$GK_ROOT/tests/valgrind.supp" --log-file="$VG_LOG")
fi
gk_bg "${vg[@]}" "$DRV" --imu-every 20 \
	--sensor alias=h10,kind=polar-h10,address=$H10 \
	--sensor alias=pod,kind=footpod,address=$POD \
	--sensor alias=strap,kind=heart-rate,address=$STRAP,acquire=0 \
	> "$OUT" 2> "$gk_tmp/driver.err"
DRV_PID=$gk_last_pid

# Under valgrind everything is slower: generous limits, no timing checks.
gk_check "h10 streaming" wait_count 60 h10 streaming 1
gk_check "pod streaming" wait_count 60 pod streaming 1
gk_check "strap streaming" wait_count 60 strap streaming 1

sim_call Disconnect s $H10
gk_check "h10 back after Disconnect (fd hang-up path)" wait_count 60 h10 streaming 2

sim_call SetSilent sb $POD true
gk_check "pod stale while silent" wait_count 30 pod stale 1
sim_call SetSilent sb $POD false
gk_check "pod back after silence" wait_count 60 pod streaming 2

sim_call InjectPayload ssay $POD 00002a53-0000-1000-8000-00805f9b34fb 3 0x01 0x00 0x03
sim_call InjectPayload ssay $H10 fb005c82-02e7-f387-1cad-8acd2d8df0c8 11 \
	0x02 0 0 0 0 0 0 0 0 0x01 0x05
gk_check "malformed payloads reported" \
	gk_wait_for 20 bash -c "grep -q '\"event\":\"malformed\"' '$OUT'"

sim_call RestartBluez u 1000
gk_check "h10 back after a bluetoothd restart" wait_count 60 h10 streaming 3
gk_check "strap back after a bluetoothd restart" wait_count 60 strap streaming 2

kill "$DRV_PID"
wait "$DRV_PID"
rc=$?
gk_check "$what: exit status 0 (no memory errors, no leaks)" test "$rc" -eq 0
gk_check "$what: empty report" test ! -s "$VG_LOG"
if [ -s "$VG_LOG" ]; then
	sed 's/^/# /' "$VG_LOG" | head -60
fi
gk_done
