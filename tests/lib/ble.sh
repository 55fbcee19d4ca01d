# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the ble/ contract tests (tests/it-ble-*.sh), after tests/lib/env.sh:
# the driver and simulator paths, their prerequisites, and helpers that call
# the simulator's control interface and read the driver's JSON lines ($OUT).

DRV=$GK_BUILD/tests/ble-driver
SIM=$GK_BUILD/bluez-sim
# The simulator's main.conf [GATT] Cache: "always" (BlueZ's default: GATT
# objects and StartNotify sessions survive a disconnect) or "no"; the
# *-nocache.sh wrappers run the same checks with "no".
GATT_CACHE=${GK_SIM_GATT_CACHE:-always}
SIM_OPTS=(--gatt-cache "$GATT_CACHE")
echo "# simulator: --gatt-cache $GATT_CACHE"

# ble_require NAME: jq, busctl and both binaries, or a SKIP (counted as a
# failure by the runner) and exit.
ble_require() {
	local bin
	if ! command -v jq > /dev/null || ! command -v busctl > /dev/null; then
		gk_skip "$1" "jq and busctl needed (Debian: jq, systemd)"
		gk_done
		exit
	fi
	for bin in "$DRV" "$SIM"; do
		if [ ! -x "$bin" ]; then
			gk_skip "$1" "$bin not built"
			gk_done
			exit
		fi
	done
}

sim_call() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call io.gaitkeeper.BluezSim \
		/io/gaitkeeper/BluezSim io.gaitkeeper.BluezSim1 "$@" > /dev/null
}

sim_stat() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --json=short call \
		io.gaitkeeper.BluezSim /io/gaitkeeper/BluezSim \
		io.gaitkeeper.BluezSim1 GetStats s "$1" |
		jq -r ".data[0].$2.data"
}

sim_ready() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" --no-pager list 2>/dev/null |
		grep -q '^io\.gaitkeeper\.BluezSim '
}

now_ms() {
	date +%s%3N
}

# q [jq options] FILTER: FILTER over each complete JSON line of $OUT (the
# driver may be writing the last one right now).
q() {
	local f=${*: -1}
	jq -R "${@:1:$#-1}" "fromjson? | $f" "$OUT"
}

# first_after SINCE_MS ALIAS EVENT JQ-CONDITION: wall_ms of the first
# matching line at or after SINCE_MS, or nothing.
first_after() {
	q -r --arg a "$2" --argjson t "$1" \
		"select(.wall_ms >= \$t and .event == \"$3\" and .alias == \$a and ($4)) | .wall_ms" |
		head -1
}

wait_after() {
	local limit=$1 t i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		t=$(first_after "$@")
		if [ -n "$t" ]; then
			echo "$t"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

last_info() {
	kill -USR1 "$DRV_PID" 2>/dev/null
	sleep 0.3
	q -r --arg a "$1" "select(.event == \"info\" and .alias == \$a) | .$2" | tail -1
}

is_eq() {
	[ "$1" = "$2" ] || { echo "# got '$1', want '$2'"; return 1; }
}

# within NAME MS LIMIT_MS: a figure line and a check.
declare -A figures limits
within() {
	local name=$1 ms=$2 limit=$3
	if [ -z "$ms" ]; then
		gk_not_ok "$name: never happened"
		return
	fi
	echo "# figure $name $ms"
	figures[$name]=$ms
	limits[$name]=$limit
	gk_check "$name: ${ms} ms <= ${limit} ms" test "$ms" -le "$limit"
}

# figures_markdown: with --markdown ($MARKDOWN), the figures within() took, as
# TAP comment lines holding a markdown table (ble/ble-figures.sh reads them).
figures_markdown() {
	local k
	[ "$MARKDOWN" = --markdown ] || return 0
	echo "# | figure | ms | limit |"
	echo "# |---|---|---|"
	for k in $(printf '%s\n' "${!figures[@]}" | sort); do
		echo "# | $k | ${figures[$k]} | ${limits[$k]} |"
	done
}

# gatt_objects ADDRESS: how many GATT objects the device has on org.bluez.
gatt_objects() {
	busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" tree --list org.bluez 2>/dev/null |
		grep -c "/dev_${1//:/_}/service"
}
