// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: battery_level_parse() and its JSON encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/battery.h"
#include "proto/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct battery_level b;
	struct json_object *o;

	if (battery_level_parse(data, size, &b, NULL) < 0)
		return 0;
	if (battery_level_to_json(&b, 0, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
	return 0;
}
