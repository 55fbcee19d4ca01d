#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The belt incline end to end: private dbus-daemon, bluez-sim with a Polar H10
# (chest) and an FTMS treadmill at 6 % and 3 m/s, mosquitto. The state
# directory holds a version 1 baseline (before incline_pct), as a daemon
# updated from that version finds it: it loads. A session learns this run's
# baseline over 30 s; its summary on session/summary carries the belt's
# incline, and the baseline the daemon stores is version 2 with it. The
# digest history holds a version 1 digest: the summary's history counts it,
# and both digests are stored back as version 2 (the old one's mount unknown).
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh

gk_require_built "$GKD" "$SIM"

gkd_need dbus mosquitto

H10=A0:9E:1A:00:00:01
BELT=E4:5F:01:00:00:03
gkd_start_sim --loop --speed-mps 3.0 --incline-pct 6 \
	--device "polar-h10,$H10,Polar H10 INC" \
	--device "treadmill,$BELT,IT Treadmill"

state=$gk_tmp/state	# start_daemon's --state-dir
cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<EOF
node = "inc";
log_level = "debug";
mqtt = { uri = "$GK_MQTT_URI"; keepalive_s = 5; };
form = { auto_session = false; warmup_s = 0.0; baseline_s = 30.0; };
sensors = (
  { alias = "chest"; kind = "polar-h10"; address = "$H10"; },
  { alias = "belt"; kind = "treadmill"; address = "$BELT"; }
);
EOF

# A chest baseline as version 1 wrote it (tests/test-form-store.c has the same
# bytes): 540 steps, 168.5 spm, no incline.
mkdir -p "$state"
printf '%b' \
'\x47\x4b\x42\x4c\x01\x02\x00\x00\x6c\x00\x00\x00\x1c\x02\x00\x00\xcd\xcc\xcc\xcc'\
'\xcc\xcc\x08\x40\x00\x00\x00\x00\x00\x10\x65\x40\x00\x00\x00\x00\x00\x80\x6e\x40'\
'\x00\x00\x00\x00\x00\x00\xf8\x7f\x00\x00\x00\x00\x00\x00\x56\x40\x00\x00\x00\x00'\
'\x00\x00\xf8\x3f\x00\x00\x00\x00\x00\x00\xf8\x7f\x00\x00\x00\x00\x00\x80\x32\x40'\
'\xd7\xa3\x70\x3d\x0a\xd7\xd3\x3f\x9a\x99\x99\x99\x99\x99\x09\x40\x00\x00\x00\x00'\
'\x00\xe0\x62\x40\xdd\xb2\xfa\xed' > "$state/baseline"
gk_check "version 1 baseline written (108 bytes)" test "$(stat -c %s "$state/baseline")" -eq 108
# One earlier session's digest as version 1 wrote it (before the mount; the
# bytes of tests/test-form-store.c's digest_v1), as the daemon keeps them: a
# u32 length, then the bytes.
python3 - "$state/digests" <<'PY'
import struct, sys
b = bytes.fromhex(
    '474b4447010f07014602000000f153650000000060090000080700008813000000000000'
    '0000f87f000000000046ce4000000000004064400000000000406f40000000000000f87f'
    '000000000000f87f000000000000f87f000000000000f87f000000000000f87f00000000'
    '0000f87f000000000000f87f000000000000f87f666666666666d63f000000000000f87f'
    '000000000000f87f000000000000f87f0000000000001840000000000000000000000000'
    '00000000000000000000000000000000000000000000000000909a400000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000000000000000000000000000'
    '000000000000000000000000000000000000000000000000010000000000000000000000'
    '00005f000000000000000000000000000000000000000000000000000000100e00000601'
    '010064c86888')
open(sys.argv[1], "wb").write(struct.pack("<I", len(b)) + b)
PY
gk_check "version 1 digest history written (586 bytes)" test "$(stat -c %s "$state/digests")" -eq 586

gkd_subscribe inc
gkd_start_notify
pub() { gkd_pub inc "$@"; }
last_payload() {
	grep -F " gaitkeeper/inc/$1 " "$sub_log" | tail -1 | cut -d' ' -f3-
}

start_daemon
gk_check "daemon READY" gk_wait_for 5 grep -q 'READY=1' "$notify_log"
gk_check "the version 1 baseline loads" gk_wait_for 5 \
	grep -q "Loaded the runner's baseline (540 steps)" "$dlog"
gk_check "no baseline warning" sh -c "! grep -q 'Stored baseline not used' '$dlog'"
gk_check "chest strap and treadmill stream" gk_wait_for 40 bash -c \
	"grep -q \"Sensor 'chest' is streaming\" '$dlog' && grep -q \"Sensor 'belt' is streaming\" '$dlog'"
gk_check "the belt's incline is published" gk_wait_for 10 \
	grep -q ' gaitkeeper/inc/sensor/belt/state .*"incline_pct":6\.0' "$sub_log"

pub cmd/session/start '{"request_id":"inc"}'
gk_check "session started" gk_wait_for 10 grep -q '"request_id":"inc","ok":true' "$sub_log"
# running from the first steps: the 30 s baseline needs about 40 s
summary_has_baseline() {
	pub cmd/session/stop '{}'
	gk_wait_for 5 grep -q ' gaitkeeper/inc/session/summary ' "$sub_log" || return 1
	last_payload session/summary | python3 -c '
import json, sys
s = json.load(sys.stdin)["summary"]
sys.exit(0 if s["baseline_learned"] else 1)'
}
sleep 45
gk_check "session summary with a learned baseline" summary_has_baseline
sum=$(last_payload session/summary)
inc=$(printf '%s' "$sum" | python3 -c '
import json, sys
print(json.load(sys.stdin)["summary"]["baseline"]["incline_pct"])')
gk_check "summary baseline.incline_pct is the belt's 6 % (got $inc)" test "$inc" = "6.0"

stored_ok() {
	python3 - "$state/baseline" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
# magic, version 2, 116 bytes; incline_pct is the last double before the CRC
ok = b[:4] == b"GKBL" and b[4] == 2 and len(b) == 116 and \
    abs(struct.unpack("<d", b[-12:-4])[0] - 6.0) < 1e-9
sys.exit(0 if ok else 1)
PY
}
gk_check "stored baseline is version 2 with incline 6 %" gk_wait_for 10 stored_ok

mount=$(printf '%s' "$sum" | python3 -c '
import json, sys
m = json.load(sys.stdin)
print(m["summary"]["mount"], m["history"]["sessions"])')
gk_check "summary mount chest, history over 2 sessions (got $mount)" test "$mount" = "chest 2"
digests_ok() {
	python3 - "$state/digests" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
recs = []
while len(b) >= 4:
    n = struct.unpack("<I", b[:4])[0]
    recs.append(b[4:4 + n])
    b = b[4 + n:]
# both version 2 now: the old one's mount unknown (0xff), this one's chest (2)
ok = len(recs) == 2 and all(r[:4] == b"GKDG" and r[4] == 2 for r in recs) and \
    recs[0][32] == 0xff and recs[1][32] == 2 and \
    struct.unpack("<Q", recs[0][12:20])[0] == 1700000000
sys.exit(0 if ok else 1)
PY
}
gk_check "stored digests: the version 1 one kept, both version 2" gk_wait_for 10 digests_ok
gk_done
