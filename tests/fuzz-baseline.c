// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the stored-baseline loader. What loads must save back to the same
 * bytes; an older version saves as the current one, which must load and save
 * back unchanged.
 */
#include <json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "form/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[FORM_BASELINE_SIZE], again[FORM_BASELINE_SIZE];
	struct form_baseline b, b2;
	struct form_engine *e = NULL;
	struct json_object *o = NULL;
	size_t len;

	if (form_baseline_load(data, size, &b) < 0)
		return 0;
	/* validated once, then trusted: it round-trips and encodes */
	if (form_baseline_save(&b, buf, sizeof(buf), &len) < 0)
		abort();
	if (data[4] == FORM_BASELINE_VERSION && (len != size || memcmp(buf, data, size) != 0))
		abort();
	if (data[4] != FORM_BASELINE_VERSION) {
		size_t len2;

		if (buf[4] != FORM_BASELINE_VERSION || form_baseline_load(buf, len, &b2) < 0 ||
		    form_baseline_save(&b2, again, sizeof(again), &len2) < 0 || len2 != len ||
		    memcmp(again, buf, len) != 0)
			abort();
	}
	if (form_baseline_to_json(&b, &o) == 0)
		json_object_put(o);
	if (form_engine_new(NULL, &e) == 0) {
		(void)form_engine_set_baseline(e, &b);
		form_engine_free(e);
	}
	return 0;
}
