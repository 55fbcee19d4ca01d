/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which advertised device is a configured sensor: addresses, names, UUIDs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ble/ble.h"

#define BLE_ADDRESS_STRLEN 18		/* "AA:BB:CC:DD:EE:FF" + NUL */

/* 128-bit lowercase UUIDs as BlueZ spells them (gatt-api.txt). */
#define BLE_UUID_HEART_RATE_SERVICE	"0000180d-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_HEART_RATE_MEASUREMENT	"00002a37-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_RSC_SERVICE		"00001814-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_RSC_MEASUREMENT	"00002a53-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_RSC_FEATURE		"00002a54-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_CYCLING_POWER_SERVICE	"00001818-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_CYCLING_POWER_MEASUREMENT "00002a63-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_FTMS_SERVICE		"00001826-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_TREADMILL_DATA		"00002acd-0000-1000-8000-00805f9b34fb"
#define BLE_UUID_SUPPORTED_SPEED_RANGE	"00002ad4-0000-1000-8000-00805f9b34fb"
/* Polar's 16-bit member UUID 0xFEEE, advertised by H10 and Verity Sense. */
#define BLE_UUID_POLAR_SERVICE		"0000feee-0000-1000-8000-00805f9b34fb"
/* Polar Measurement Data (polar-ble-sdk BlePMDClient). */
#define BLE_UUID_PMD_SERVICE		"fb005c80-02e7-f387-1cad-8acd2d8df0c8"
#define BLE_UUID_PMD_CONTROL_POINT	"fb005c81-02e7-f387-1cad-8acd2d8df0c8"
#define BLE_UUID_PMD_DATA		"fb005c82-02e7-f387-1cad-8acd2d8df0c8"

/*
 * Normalise a textual address to upper case "AA:BB:CC:DD:EE:FF" in ret
 * (BLE_ADDRESS_STRLEN bytes). Accepts either case. Returns 0 or -EINVAL.
 */
int ble_address_normalize(const char *s, char ret[BLE_ADDRESS_STRLEN]);

/*
 * Service UUIDs a device of this kind advertises, for SetDiscoveryFilter
 * and matching (NULL-terminated, static). A Polar H10 advertises Heart
 * Rate and 0xFEEE, not the 128-bit PMD service, which is found only after
 * connecting.
 */
const char *const *ble_kind_advertised_uuids(enum ble_sensor_kind kind);

/*
 * Does a device match a sensor config? address (normalised, may be NULL),
 * name and alias (may be NULL) and uuids (NULL-terminated, may be NULL)
 * are what the device object shows. With a configured address only the
 * address counts. Otherwise the name pattern (fnmatch on Name, then
 * Alias) must match when given, and the device must advertise one of the
 * kind's service UUIDs when it shows any UUIDs at all.
 */
bool ble_device_matches(const struct ble_sensor_config *config,
			const char *address, const char *name,
			const char *alias, char *const *uuids);

/*
 * How well a device showing uuids fits a sensor of this kind, for choosing
 * between sensors that would all take it by kind: more of the kind's
 * advertised services shown is better, then fewer of them missing. An H10
 * (Heart Rate, Polar) fits polar-h10 better than heart-rate; a plain strap
 * (Heart Rate) fits heart-rate better; a Stryd (Cycling Power, RSC) fits
 * power better than footpod, a plain footpod (RSC) footpod better. 0 when
 * it shows none of them.
 */
int ble_kind_fit(enum ble_sensor_kind kind, char *const *uuids);
