// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: pmd_data_frame_parse() with default and with a non-trivial stream format, and the JSON encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/json.h"
#include "proto/pmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct pmd_frame_format fmt = {
		.channels = 3, .resolution_bits = 16, .factor = 0.5f,
		.sample_rate_hz = 52, .previous_timestamp_ns = 1000,
	};
	struct pmd_data_frame *f = malloc(sizeof(*f));
	struct proto_error e;
	struct json_object *o;

	if (!f)
		return 0;
	if (pmd_data_frame_parse(data, size, NULL, f, &e) == 0 &&
	    pmd_data_frame_to_json(f, PROTO_JSON_RAW, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
	(void)pmd_data_frame_parse(data, size, &fmt, f, &e);
	free(f);
	return 0;
}
