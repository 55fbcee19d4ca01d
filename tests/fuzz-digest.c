// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz the stored-digest parser (one record, and a daemon's file of framed
 * records) and run what parses through the history analysis.
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
	static struct form_digest d[3];
	struct form_history_report h;
	struct json_object *o = NULL;
	uint8_t buf[FORM_DIGEST_SIZE];
	size_t len, damaged;

	/* the same bytes as a daemon's file of framed digests */
	if (form_digests_parse(data, size, d, 3, &damaged) > 3)
		abort();
	if (form_digest_parse(data, size, &d[0]) < 0)
		return 0;
	if (form_digest_serialize(&d[0], buf, sizeof(buf), &len) < 0)
		abort();
	if (data[4] == FORM_DIGEST_VERSION) {
		/* what parses is written back byte for byte */
		if (len != size || memcmp(buf, data, size) != 0)
			abort();
	} else {
		/* an older version, upgraded: the upgrade parses and holds the same */
		uint8_t again[FORM_DIGEST_SIZE];
		size_t len2;

		if (form_digest_parse(buf, len, &d[1]) < 0 ||
		    form_digest_serialize(&d[1], again, sizeof(again), &len2) < 0 ||
		    len2 != len || memcmp(again, buf, len) != 0)
			abort();
	}
	if (form_digest_to_json(&d[0], &o) == 0)
		json_object_put(o);
	d[1] = d[0];
	d[2] = d[0];
	(void)form_digest_add_pain(&d[2], 1, 9, FORM_PAIN_SITE_LOWER_BACK, true);
	if (form_history_analyze(d, 3, d[0].start_epoch_s + 86400, NULL, &h) == 0 &&
	    form_history_report_to_json(&h, &o) == 0)
		json_object_put(o);
	return 0;
}
