// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: rsc_measurement_parse() and its JSON encoder on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/json.h"
#include "proto/rsc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsc_measurement m;
	struct proto_error e;
	struct json_object *o;

	if (rsc_measurement_parse(data, size, &m, &e) < 0)
		return 0;
	if (rsc_measurement_to_json(&m, PROTO_JSON_RAW, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
	return 0;
}
