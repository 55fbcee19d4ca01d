/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libFuzzer target: device matching on advertised names, addresses and UUIDs (ble/match.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ble/match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELDS 8

/*
 * Input: a kind byte, then NUL-separated strings: configured address,
 * name pattern, the device's address, Name, Alias, then up to two UUIDs.
 * An empty field is "absent". Everything but the pattern comes off the air.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ble_sensor_config c;
	char *buf, *f[FIELDS] = { NULL };
	char *uuids[3] = { NULL };
	char norm[BLE_ADDRESS_STRLEN];
	size_t n = 0;

	if (size < 1 || size > 4096)
		return 0;
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	for (char *p = buf; n < FIELDS && p <= buf + size - 1; n++) {
		f[n] = *p ? p : NULL;
		p += strlen(p) + 1;
	}

	ble_sensor_config_init(&c);
	c.kind = (enum ble_sensor_kind)(data[0] % (_BLE_SENSOR_KIND_MAX + 1));
	c.address = f[0];
	c.name_pattern = f[1];
	uuids[0] = f[6];
	uuids[1] = f[6] ? f[7] : NULL;
	if (f[2] && ble_address_normalize(f[2], norm) == 0)
		f[2] = norm;
	(void)ble_device_matches(&c, f[2], f[3], f[4], uuids);
	(void)ble_kind_advertised_uuids(c.kind);
	{
		int fit = ble_kind_fit(c.kind, uuids);

		/* shown * 8 - missing, with at most 3 services per kind */
		if (fit < 0 || fit > 24)
			abort();
	}
	free(buf);
	return 0;
}
