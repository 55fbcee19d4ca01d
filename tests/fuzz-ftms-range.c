// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: ftms_speed_range_parse() and its JSON encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/ftms.h"
#include "proto/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftms_speed_range r;
	struct json_object *o;

	if (ftms_speed_range_parse(data, size, &r, NULL) < 0)
		return 0;
	if (ftms_speed_range_to_json(&r, PROTO_JSON_RAW, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
	return 0;
}
