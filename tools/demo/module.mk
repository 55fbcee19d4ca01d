# SPDX-License-Identifier: GPL-2.0-or-later
# `make run`: the demo (tools/demo/run-demo.sh). Everything runs on private
# addresses: its own dbus-daemon, mosquitto on a free loopback port,
# bluez-sim replaying data/demo/hip-run-5min30.csv, gaitkeeperd, gaitctl.
#   make run                       interactive, about 150 s, Ctrl-C ends it
#   DEMO_SECONDS=60 make run       shorter
#   make run ARGS=--ci             no terminal UI: JSON lines, for CI
run:
	GK_BUILD=$(BUILD) tools/demo/run-demo.sh $(ARGS)
