# SPDX-License-Identifier: GPL-2.0-or-later
# ble/: the BlueZ client library (libgkble.a) and its test driver.
BLE_SRCS := $(wildcard ble/*.c)
$(eval $(call module_lib,ble,$(BLE_SRCS)))

# tests/ble-driver: runs ble_manager against $DBUS_SYSTEM_BUS_ADDRESS and
# prints one JSON line per callback (used by tests/it-ble-*.sh).
BINS += $(BUILD)/tests/ble-driver
# Only what it uses (LIBS is not complete yet when this file is read).
BLE_DRIVER_LIBS = $(BUILD)/libgkble.a $(BUILD)/libgkproto.a $(BUILD)/libgkcommon.a
$(BUILD)/tests/ble-driver: $(BUILD)/tests/ble-driver.o $(BLE_DRIVER_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BLE_DRIVER_LIBS) $(LDLIBS)

# Device matching sees advertised names and UUIDs: pure, fuzzed.
FUZZ_EXTRA_SRCS += ble/match.c ble/ble.c

# The BLE figures in docs/reliability.md ("## BLE"), measured by the contract
# tests against bluez-sim; each check still fails above its limit.
.PHONY: ble-figures
ble-figures: $(BUILD)/tests/ble-driver $(BUILD)/bluez-sim
	GK_BUILD=$(BUILD) ble/ble-figures.sh

# BlueZ property parsing (ble/props.c) reads outside input: fuzzed by
# tests/fuzz-ble-props.c. It needs libsystemd (sd_bus_message), which the
# other fuzzers do not link, so it is added to this fuzzer only; the shared
# library is a prerequisite so that it lands in the link line's $^.
$(BUILD)/fuzz/fuzz-ble-props: $(BUILD)/fuzz/obj/ble/props.o \
	$(shell pkg-config --variable=libdir libsystemd 2>/dev/null)/libsystemd.so
