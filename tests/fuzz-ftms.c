// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: ftms_treadmill_data_parse(), the More Data merge and the JSON encoder. The input is also cut in two at data[0] and both parts merged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/ftms.h"
#include "proto/json.h"

static void encode(const struct ftms_treadmill_data *d)
{
	struct json_object *o;

	if (ftms_treadmill_data_to_json(d, PROTO_JSON_RAW, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftms_treadmill_merge *m = malloc(sizeof(*m));
	struct ftms_treadmill_data *part = malloc(sizeof(*part));
	struct ftms_treadmill_data *rec = malloc(sizeof(*rec));
	struct proto_error e;

	if (!m || !part || !rec)
		goto out;

	if (ftms_treadmill_data_parse(data, size, part, &e) == 0)
		encode(part);

	ftms_treadmill_merge_init(m);
	if (size > 1) {
		size_t cut = 1 + data[0] % (size - 1);

		if (ftms_treadmill_data_parse(data + 1, cut - 1, part, &e) == 0 &&
		    ftms_treadmill_merge_add(m, part, rec) == 1)
			encode(rec);
		if (cut < size &&
		    ftms_treadmill_data_parse(data + cut, size - cut, part, &e) == 0 &&
		    ftms_treadmill_merge_add(m, part, rec) == 1)
			encode(rec);
	}
out:
	free(m);
	free(part);
	free(rec);
	return 0;
}
