#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two gateways with the same node (a copied SD card): the same client id, so
# each connect takes the broker session from the other, and mosquitto 2.0
# closes the old connection without a reason. Each daemon must say what is
# going on (before: "connection lost" and "starting a clean one", nothing
# about the other gateway): at least the first to see it says so and slows
# down to the backoff's cap instead of taking the session back within a
# second (the other then holds the session for seconds and may not notice). Real mosquitto, no bus, no sensors.
source "$(dirname "$0")/lib/env.sh"
cd "$GK_ROOT" || exit 1
source tests/lib/daemon.sh
gk_require_built "$GKD"

gkd_need mosquitto
cfg=$gk_tmp/gaitkeeper.conf
cat > "$cfg" <<CFG
node = "twin";
mqtt = { uri = "$GK_MQTT_URI"; };
dbus = { enabled = false; };
sensors = ();
CFG
alarm='Another client uses our client id .gaitkeeper-twin.: two gateways with the same node'
start_daemon
FIRST=$GKD_PID
gk_check "the first gateway connects" gk_wait_for 10 grep -q 'Connected to MQTT broker' "$dlog"
dlog1=$dlog
dlog=$gk_tmp/daemon2.log
gk_bg "$GKD" --config "$cfg" --state-dir "$gk_tmp/state2" --stderr 2>> "$dlog"
SECOND=$gk_last_pid
said() { grep -q "$alarm" "$dlog1" || grep -q "$alarm" "$dlog"; }
gk_check "a gateway says another client uses its client id" gk_wait_for 45 said
lost() { grep -c 'Lost the connection' "$1"; }
n1=$(lost "$dlog1")
n2=$(lost "$dlog")
sleep 12
n=$(($(lost "$dlog1") - n1 + $(lost "$dlog") - n2))
# the one that said so retakes the session at the cap (8 s, -50 % jitter) for
# 5 minutes: each retake costs the other its link, and the other's retake
# costs it its own, so about 2 losses per 4-8 s between them (before: 7 in 12 s)
gk_check "then $n link losses in 12 s between them (at most 6)" [ "$n" -le 6 ]
kill -TERM "$FIRST" "$SECOND"
gk_check "both stop cleanly" wait "$FIRST" "$SECOND"
gk_done
