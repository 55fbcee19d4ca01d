#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# gaitctl decode end to end: real payloads from straps, pods and treadmills
# (shared/notes/ble.md 1.9) give the right JSON figures; malformed ones exit
# 65 with one stderr line naming the byte offset; usage errors exit 64.
source "$(dirname "$0")/lib/env.sh"

gaitctl=$GK_BUILD/gaitctl
if [ ! -x "$gaitctl" ]; then
	gk_skip "gaitctl decode" "$gaitctl not built"
	gk_done
	exit
fi

# ok_json NAME CHAR HEX PYTHON-EXPR: exit 0, one JSON object, EXPR true for j.
ok_json() {
	local name=$1 char=$2 hex=$3 expr=$4 out rc
	out=$("$gaitctl" decode "$char" "$hex" 2>"$gk_tmp/err")
	rc=$?
	if [ "$rc" -ne 0 ]; then
		gk_not_ok "$name (exit $rc: $(cat "$gk_tmp/err"))"
		return
	fi
	if python3 -c '
import json, math, sys
j = json.loads(sys.argv[1])
assert isinstance(j, dict)
ok = eval(sys.argv[2])
if not ok:
    print(json.dumps(j), file=sys.stderr)
sys.exit(0 if ok else 1)' "$out" "$expr"; then
		gk_ok "$name"
	else
		gk_not_ok "$name: $expr"
	fi
}

# bad NAME CHAR HEX OFFSET: exit 65, exactly one stderr line with "at byte OFFSET".
bad() {
	local name=$1 char=$2 hex=$3 off=$4 rc lines
	"$gaitctl" decode "$char" "$hex" >"$gk_tmp/out" 2>"$gk_tmp/err"
	rc=$?
	lines=$(wc -l < "$gk_tmp/err")
	if [ "$rc" -eq 65 ] && [ "$lines" -eq 1 ] && [ ! -s "$gk_tmp/out" ] &&
	   grep -q "at byte $off\b" "$gk_tmp/err"; then
		gk_ok "$name"
	else
		gk_not_ok "$name (exit $rc, stderr: $(cat "$gk_tmp/err"))"
	fi
}

near='lambda a, b, e=1e-6: a is not None and abs(a - b) <= e'

# --- RSC Measurement 0x2A53 ---------------------------------------------
ok_json "rsc: ABCL all fields" 2a53 "07 00 03 12 56 00 01 00 00 f0" \
	"($near)(j['speed_mps'], 3.0) and j['cadence_per_min'] == 18 and j['running'] is True and ($near)(j['stride_length_m'], 0.86) and ($near)(j['total_distance_m'], 402653184.1, 1e-3)"
ok_json "rsc: nRF Toolbox running" 2a53 "07 80 02 50 20 03 00 10 00 00" \
	"($near)(j['speed_mps'], 2.5) and j['cadence_per_min'] == 80 and ($near)(j['stride_length_m'], 8.0) and ($near)(j['total_distance_m'], 409.6)"
ok_json "rsc: walking, absent fields are null not 0" 2a53 "00 80 02 50" \
	"j['running'] is False and j.get('stride_length_m') is None and j.get('total_distance_m') is None and j['cadence_per_min'] == 80"
ok_json "rsc: OpenTracks distance only" 2a53 "02 00 05 50 ff ff 00 01" \
	"($near)(j['speed_mps'], 5.0) and ($near)(j['total_distance_m'], 1684275.1, 1e-3) and j.get('stride_length_m') is None"
ok_json "rsc: 0x prefix and upper case CHAR" 0x2A53 "00 00 03 aa" \
	"($near)(j['speed_mps'], 3.0) and j['cadence_per_min'] == 170"
bad "rsc: 2 bytes rejected at byte 1" 2a53 "00 80" 1
bad "rsc: stride promised, cut off at byte 4" 2a53 "03 80 02 50 20" 4
ok_json "rsc feature: 0d 00" 2a54 "0d 00" \
	"j['stride_length_supported'] and j['walking_running_supported'] and j['calibration_supported'] and not j['total_distance_supported']"
bad "rsc feature: 1 byte" 2a54 "0d" 0

# --- Heart Rate Measurement 0x2A37 ----------------------------------------
ok_json "hrm: 85 bpm, no energy, no RR" 2a37 "00 55" \
	"j['heart_rate_bpm'] == 85 and j.get('energy_expended_kj') is None and j.get('rr_ms') is None"
ok_json "hrm: uint16 rate, energy, three RR" 2a37 "1f 01 01 32 01 01 00 02 01 ff ff" \
	"j['heart_rate_bpm'] == 257 and j['energy_expended_kj'] == 306 and len(j['rr_ms']) == 3 and ($near)(j['rr_ms'][2], 65535 * 1000 / 1024)"
ok_json "hrm: Polar H7 RR 1041 -> 1016.6 ms" 2a37 "16 3c 11 04" \
	"j['heart_rate_bpm'] == 60 and j['sensor_contact'] == 'detected' and ($near)(j['rr_ms'][0], 1016.6, 0.05)"
ok_json "hrm: SmartGattLib two RR" 2a37 "16 48 54 01 ec 02" \
	"j['heart_rate_bpm'] == 72 and ($near)(j['rr_ms'][0], 332.03125) and ($near)(j['rr_ms'][1], 730.46875)"
ok_json "hrm: RR flag, no RR bytes -> []" 2a37 "17 01 01" "j['rr_ms'] == []"
bad "hrm: odd RR byte" 2a37 "10 3c 11 04 01" 4

# --- Cycling Power Measurement 0x2A63 -------------------------------------
ok_json "cps: 40 W" 2a63 "00 00 28 00" \
	"j['power_w'] == 40 and j.get('accumulated_torque_nm') is None and j.get('wheel_revolutions') is None"
ok_json "cps: crank torque and revolutions" 2a63 "2c 00 00 00 9f 00 0c 00 e5 42" \
	"j['power_w'] == 0 and ($near)(j['accumulated_torque_nm'], 4.97, 0.01) and j['accumulated_torque_source'] == 'crank' and j['crank_revolutions'] == 12 and ($near)(j['last_crank_event_s'], 16.724, 0.001)"
ok_json "cps: real trainer, wheel data at 1/2048 s" 2a63 "14 00 49 00 77 31 55 06 00 00 8f 7c" \
	"j['power_w'] == 73 and ($near)(j['accumulated_torque_nm'], 395.72, 0.01) and j['wheel_revolutions'] == 1621 and ($near)(j['last_wheel_event_s'], 15.570, 0.001)"
bad "cps: power cut off" 2a63 "00 00 28" 2

# --- Treadmill Data 0x2ACD -------------------------------------------------
ok_json "treadmill: walking pad (issue #3)" 2acd "84 24 c8 00 0d 00 00 00 00 ff ff ff 19 00 1c 00 00" \
	"($near)(j['speed_kmh'], 2.0) and j['total_distance_m'] == 13 and j.get('energy_per_hour_kcal') is None and j.get('energy_per_minute_kcal') is None and j['elapsed_time_s'] == 25 and j['vendor_bytes'] == '1c0000' and j.get('average_speed_kmh') is None and j.get('heart_rate_bpm') is None and j.get('inclination_pct') is None"
ok_json "treadmill: KingSmith KS-HD-Z1D" 2acd "84 24 2c 01 96 00 00 0c 00 00 00 00 78 00" \
	"($near)(j['speed_kmh'], 3.0) and j['total_distance_m'] == 150 and j['total_energy_kcal'] == 12 and j['elapsed_time_s'] == 120 and j.get('vendor_bytes') is None"
ok_json "treadmill: speed, average, heart rate" 2acd "02 01 e2 04 b0 04 9b" \
	"($near)(j['speed_kmh'], 12.5) and ($near)(j['average_speed_kmh'], 12.0) and j['heart_rate_bpm'] == 155"
ok_json "treadmill: More Data part, incline -> no speed" 2acd "09 00 19 00 f1 ff" \
	"j['more_data'] is True and j.get('speed_kmh') is None and ($near)(j['inclination_pct'], 2.5) and ($near)(j['ramp_angle_deg'], -1.5)"
ok_json "treadmill: all fields, uint16 pace" 2acd "fe 1f 20 03 ee 02 88 13 00 ce ff 1e 00 64 00 32 00 2c 01 36 01 f4 01 58 02 0a 8c 55 08 07 58 02 9c ff fa 00" \
	"($near)(j['speed_kmh'], 8.0) and ($near)(j['average_speed_kmh'], 7.5) and j['total_distance_m'] == 5000 and ($near)(j['inclination_pct'], -5.0) and j['elapsed_time_s'] == 1800 and j['heart_rate_bpm'] == 140 and j['pace_width'] == 'uint16' and j['power_output_w'] == 250"
bad "treadmill: distance cut off at byte 4" 2acd "04 00 64 00 01" 4

# --- FTMS speed range, status; battery ---------------------------------
ok_json "speed range 0-10 km/h by 0.1" 2ad4 "00 00 e8 03 0a 00" \
	"($near)(j['maximum_speed_kmh'], 10.0) and ($near)(j['minimum_increment_kmh'], 0.1)"
ok_json "machine status: target speed 5 km/h" 2ada "05 f4 01" \
	"j['event'] == 'target_speed_changed' and ($near)(j['target_speed_kmh'], 5.0)"
ok_json "machine status: paused by user" 2ada "02 02" \
	"j['event'] == 'stopped_or_paused_by_user' and j['control'] == 2"
bad "machine status: empty" 2ada "" 0
ok_json "battery 100 %" 2a19 "64" "j['battery_level_pct'] == 100"
bad "battery 101 reserved" 2a19 "65" 0

# --- Polar PMD -------------------------------------------------------------
ok_json "pmd data: H10 ACC raw type 1" pmd-data "02 00 94 35 77 00 00 00 00 01 f7 ff ff ff e7 03 f8 ff fe ff e5 03" \
	"j['timestamp_ns'] == 2000000000 and j['unit'] == 'mG' and [(s['x'], s['y'], s['z']) for s in j['samples']] == [(-9, -1, 999), (-8, -2, 997)]"
ok_json "pmd data: Verity delta type 1" pmd-data "02 65 00 00 00 00 00 00 00 81 f1 ff 14 00 f0 03 06 01 7b 0f 08" \
	"[(s['x'], s['y'], s['z']) for s in j['samples']] == [(-15, 20, 1008), (-20, 17, 1008)]"
ok_json "pmd data: ECG raw" pmd-data "00 00 94 35 77 00 00 00 00 00 02 80 ff 02 80 00" \
	"[s['ecg_uv'] for s in j['samples']] == [-32766, 32770]"
bad "pmd data: header cut off" pmd-data "02 00 94 35" 1
bad "pmd data: partial sample" pmd-data "02 00 94 35 77 00 00 00 00 01 f7 ff ff" 10
ok_json "pmd cp: get-settings response" pmd-cp "f0 01 02 00 00 ff ff ff" \
	"j['op'] == 'get-settings' and j['measurement'] == 'acc' and j['status_name'] == 'success' and j['more'] is False and j['parameters'] == 'ffffff'"
ok_json "pmd cp: start response with factor" pmd-cp "f0 02 02 00 00 05 01 00 00 80 39" \
	"($near)(j['settings']['factor'], 2 ** -12, 1e-12)"
bad "pmd cp: unknown response code" pmd-cp "0f 01 02 00" 0

# --- usage ---------------------------------------------------------------
"$gaitctl" decode 2a99 "00 00" >/dev/null 2>&1
gk_check "unknown CHAR exits 64" test $? -eq 64
"$gaitctl" decode 2a53 "0g" >/dev/null 2>&1
gk_check "bad hex exits 64" test $? -eq 64
"$gaitctl" decode 2a53 >/dev/null 2>&1
gk_check "missing HEX exits 64" test $? -eq 64
out=$("$gaitctl" decode 2a53 00 00 03 aa)
gk_check "HEX in several arguments" test "$out" = \
	'{"speed_mps":3,"cadence_per_min":170,"stride_length_m":null,"total_distance_m":null,"running":false}'

gk_done
