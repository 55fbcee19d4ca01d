// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: rsc_feature_parse() and its JSON encoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/json.h"
#include "proto/rsc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rsc_feature f;
	struct json_object *o;

	if (rsc_feature_parse(data, size, &f, NULL) < 0)
		return 0;
	if (rsc_feature_to_json(&f, 0, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
	return 0;
}
