// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: hrm_measurement_parse() and its JSON encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/hrm.h"
#include "proto/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hrm_measurement *m = malloc(sizeof(*m));
	struct proto_error e;
	struct json_object *o;

	if (!m)
		return 0;
	if (hrm_measurement_parse(data, size, m, &e) == 0 &&
	    hrm_measurement_to_json(m, PROTO_JSON_RAW, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
	free(m);
	return 0;
}
