// SPDX-License-Identifier: GPL-2.0-or-later
/* Fuzz gaitctl's summary report on any JSON (a file or an MQTT payload). */
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
	json_tokener *tok;
	json_object *doc, *sum;
	int r;

	if (!sink && !(sink = fopen("/dev/null", "we")))
		abort();
	tok = json_tokener_new();
	if (!tok)
		return 0;
	doc = json_tokener_parse_ex(tok, (const char *)data, (int)(size > 1 << 20 ? 1 << 20 : size));
	json_tokener_free(tok);
	if (!doc)
		return 0;

	r = gaitctl_print_report(sink, doc);
	/* a report exactly for an object with a "summary" object */
	if ((r == 0) != (json_object_is_type(doc, json_type_object) &&
			 json_object_object_get_ex(doc, "summary", &sum) &&
			 json_object_is_type(sum, json_type_object)))
		abort();
	json_object_put(doc);
	return 0;
}
