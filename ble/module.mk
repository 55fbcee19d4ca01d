# SPDX-License-Identifier: GPL-2.0-or-later
# ble/: the BlueZ client library (libgkble.a) and its test driver.
BLE_SRCS := $(wildcard ble/*.c)
$(eval $(call module_lib,ble,$(BLE_SRCS)))
