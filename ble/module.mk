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
