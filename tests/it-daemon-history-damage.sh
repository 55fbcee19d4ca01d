#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One damaged byte in the session history (state/digests, up to 90 sessions
# that the load and pain advice is drawn from) costs that record only: the
# records after it are found again, the damage is said in the log and the
# file as it was is kept as digests.damaged before the next session rewrites
# it. Before, one bad length prefix silently dropped every record after it
# and the next session's rewrite made the loss permanent. Private
# dbus-daemon, no broker, no sensors; sessions started and stopped by D-Bus.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh
gk_require_built "$GKD"
gkd_need dbus

cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "hist";
sensors = ();
CFG
st=$gk_tmp/state
# stored FILE: how many digest records FILE holds (their magic, GKDG)
stored() {
	python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(b"GKDG"))' "$1" \
		2>/dev/null
}
three() { [ "$(stored "$st/digests")" = 3 ]; }
sessions() {
	for ((i = 0; i < $1; i++)); do
		dbus_call StartSession > /dev/null && sleep 1 && dbus_call StopSession > /dev/null
	done
}
up() { gk_wait_for 10 busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" status \
	io.gaitkeeper.Gaitkeeper1 > /dev/null; }
gkd_start_notify
start_daemon
gk_check "daemon on the bus" up
sessions 3
gk_check "3 sessions stored" gk_wait_for 5 three
kill -TERM "$GKD_PID"
gk_check "daemon stopped" wait "$GKD_PID"
# a bit flipped in the first record's length prefix, as a bad sector would
python3 -c '
import sys
f = open(sys.argv[1], "r+b"); b = bytearray(f.read()); b[2] ^= 1; f.seek(0); f.write(b)' \
	"$st/digests"
cp "$st/digests" "$gk_tmp/digests.flipped"
start_daemon
gk_check "daemon on the bus again" up
sessions 1
gk_check "the 2 undamaged records kept and the new one added ($(stored "$st/digests") stored)" three
gk_check "the damage is said in the log" grep -q \
	'Session history (digests) damaged: 2 record(s) read' "$dlog"
gk_check "the damaged file is kept as it was" cmp -s "$gk_tmp/digests.flipped" \
	"$st/digests.damaged"
kill -TERM "$GKD_PID"
gk_check "daemon stopped cleanly" wait "$GKD_PID"
gk_done
