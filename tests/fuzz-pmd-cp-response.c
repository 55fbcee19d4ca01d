// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: pmd_cp_response_parse(), the multi-part assembler, the settings TLV parser and the JSON encoders. The input is also cut in two at data[0] and both parts assembled. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <json.h>

#include "proto/json.h"
#include "proto/pmd.h"

static void encode(const struct pmd_cp_response *c)
{
	struct json_object *o;

	if (pmd_cp_response_to_json(c, PROTO_JSON_RAW, &o) == 0) {
		(void)json_object_to_json_string(o);
		json_object_put(o);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pmd_cp_assembler *a = malloc(sizeof(*a));
	struct pmd_cp_response *part = malloc(sizeof(*part));
	struct pmd_cp_response *whole = malloc(sizeof(*whole));
	struct pmd_settings s;
	struct proto_error e;
	struct json_object *o;

	if (!a || !part || !whole)
		goto out;

	if (pmd_cp_response_parse(data, size, part, &e) == 0)
		encode(part);

	/* The bytes as a bare settings list, too. */
	if (pmd_settings_parse(data, size, &s, &e) == 0 &&
	    pmd_settings_to_json(&s, 0, &o) == 0)
		json_object_put(o);

	pmd_cp_assembler_init(a);
	if (size > 1) {
		size_t cut = 1 + data[0] % (size - 1);

		if (pmd_cp_response_parse(data + 1, cut - 1, part, &e) == 0 &&
		    pmd_cp_assembler_add(a, part, whole) == 1)
			encode(whole);
		if (pmd_cp_response_parse(data + cut, size - cut, part, &e) == 0 &&
		    pmd_cp_assembler_add(a, part, whole) == 1)
			encode(whole);
	}
out:
	free(a);
	free(part);
	free(whole);
	return 0;
}
