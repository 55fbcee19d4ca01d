// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Fuzz 'gaitctl report' on any input (a saved file, an MQTT payload, analyze
 * output): finding the summary in it, then the report on what was found.
 */
#include <errno.h>
#include <json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tools/gaitctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *sink;
	json_object *doc = NULL, *sum;
	size_t off = 0;
	int r;

	if (!sink && !(sink = fopen("/dev/null", "we")))
		abort();
	r = gaitctl_report_find((const char *)data, size, &doc, &off);
	if (r == -EBADMSG && off > size)
		abort();	/* the error offset lies in the input */
	if (r < 0) {
		if (doc || (r != -EBADMSG && r != -ENOENT && r != -ENOMEM))
			abort();
		return 0;
	}
	/* what is found always has its "summary" object, so it is reported */
	if (!json_object_object_get_ex(doc, "summary", &sum) ||
	    !json_object_is_type(sum, json_type_object) ||
	    gaitctl_print_report(sink, doc) != 0)
		abort();
	/* and a document without one is refused */
	if (gaitctl_print_report(sink, sum) == 0 &&
	    !(json_object_object_get_ex(sum, "summary", &sum) &&
	      json_object_is_type(sum, json_type_object)))
		abort();
	json_object_put(doc);
	return 0;
}
