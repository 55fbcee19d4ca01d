/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which advertised device is a configured sensor. */
#include <ctype.h>
#include <fnmatch.h>
#include <strings.h>

#include "ble/match.h"
#include "common/macro.h"

int ble_address_normalize(const char *s, char ret[BLE_ADDRESS_STRLEN])
{
	char buf[BLE_ADDRESS_STRLEN];

	if (!s || strlen(s) != BLE_ADDRESS_STRLEN - 1)
		return -EINVAL;

	for (unsigned i = 0; i < BLE_ADDRESS_STRLEN - 1; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':')
				return -EINVAL;
			buf[i] = ':';
			continue;
		}
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		buf[i] = (char)toupper((unsigned char)s[i]);
	}
	buf[BLE_ADDRESS_STRLEN - 1] = '\0';
	memcpy(ret, buf, sizeof(buf));
	return 0;
}

static const char *const uuids_polar[] = {
	BLE_UUID_HEART_RATE_SERVICE, BLE_UUID_POLAR_SERVICE,
	BLE_UUID_PMD_SERVICE, NULL,
};
static const char *const uuids_footpod[] = { BLE_UUID_RSC_SERVICE, NULL };
static const char *const uuids_heart_rate[] = { BLE_UUID_HEART_RATE_SERVICE, NULL };
/* Stryd advertises Cycling Power and RSC (OpenTracks #962). */
static const char *const uuids_power[] = {
	BLE_UUID_CYCLING_POWER_SERVICE, BLE_UUID_RSC_SERVICE, NULL,
};
static const char *const uuids_treadmill[] = { BLE_UUID_FTMS_SERVICE, NULL };

const char *const *ble_kind_advertised_uuids(enum ble_sensor_kind kind)
{
	switch (kind) {
	case BLE_SENSOR_KIND_POLAR_H10:
	case BLE_SENSOR_KIND_POLAR_VERITY_SENSE:
		return uuids_polar;
	case BLE_SENSOR_KIND_FOOTPOD:
		return uuids_footpod;
	case BLE_SENSOR_KIND_HEART_RATE:
		return uuids_heart_rate;
	case BLE_SENSOR_KIND_POWER:
		return uuids_power;
	case BLE_SENSOR_KIND_TREADMILL:
		return uuids_treadmill;
	case _BLE_SENSOR_KIND_MAX:
	case _BLE_SENSOR_KIND_INVALID:
		break;
	}
	return NULL;
}

static bool uuid_listed(char *const *uuids, const char *uuid)
{
	for (; uuids && *uuids; uuids++)
		if (strcasecmp(*uuids, uuid) == 0)
			return true;
	return false;
}

int ble_kind_fit(enum ble_sensor_kind kind, char *const *uuids)
{
	int shown = 0, missing = 0;

	for (const char *const *u = ble_kind_advertised_uuids(kind); u && *u; u++) {
		if (uuid_listed(uuids, *u))
			shown++;
		else
			missing++;
	}
	/* a kind lists at most a few services: shown counts first */
	return shown ? shown * 8 - missing : 0;
}

bool ble_device_matches(const struct ble_sensor_config *config,
			const char *address, const char *name,
			const char *alias, char *const *uuids)
{
	const char *const *want;
	bool any = false;

	if (config->address) {
		char a[BLE_ADDRESS_STRLEN];

		if (!address || ble_address_normalize(config->address, a) < 0)
			return false;
		return strcasecmp(a, address) == 0;
	}

	if (config->name_pattern) {
		bool ok = (name && fnmatch(config->name_pattern, name, 0) == 0) ||
			  (alias && fnmatch(config->name_pattern, alias, 0) == 0);
		if (!ok)
			return false;
	}

	/*
	 * A device that shows no UUIDs yet (advert without service list)
	 * passes on the name alone; one that shows a list must carry one of
	 * the kind's services, so a name pattern of "*" does not pick a
	 * neighbour's headphones.
	 */
	if (!uuids || !uuids[0])
		return config->name_pattern != NULL;

	want = ble_kind_advertised_uuids(config->kind);
	for (; want && *want; want++)
		if (uuid_listed(uuids, *want))
			any = true;
	return any;
}
