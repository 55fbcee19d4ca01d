# SPDX-License-Identifier: GPL-2.0-or-later
# ble/: the BlueZ client library (libgkble.a) and its test driver.
BLE_SRCS := $(wildcard ble/*.c)
$(eval $(call module_lib,ble,$(BLE_SRCS)))

# tests/ble-driver: runs ble_manager against $DBUS_SYSTEM_BUS_ADDRESS and
# prints one JSON line per callback (used by tests/it-ble-*.sh).
BINS += $(BUILD)/tests/ble-driver
$(BUILD)/tests/ble-driver: $(BUILD)/tests/ble-driver.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)
