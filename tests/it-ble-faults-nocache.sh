#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tests/it-ble-faults.sh against a simulator with main.conf [GATT] Cache = no:
# GATT objects and StartNotify sessions die with every link, so ble/'s
# "objects re-added" path is checked as well as the default "objects kept".
GK_SIM_GATT_CACHE=no exec bash "$(dirname "$0")/it-ble-faults.sh" "$@"
