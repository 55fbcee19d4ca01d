// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: config text through libconfig and our schema checks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/*
 * libconfig 1.5 (Debian bookworm) leaks a string token on some malformed
 * input: hyperrealm/libconfig#142, fixed by PR #155 in 1.7.x.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\nleak:libconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gk_config *c = NULL;
	char *errors = NULL;
	char *text;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;

	if (gk_config_load_string(text, "fuzz.conf", &c, &errors) == 0) {
		/* A loaded config always satisfies the invariants the daemon relies on. */
		if (!c->node[0] || !c->mqtt.client_id[0] || c->n_sensors > GK_MAX_SENSORS)
			abort();
		gk_config_free(c);
	} else if (!errors) {
		abort();	/* every failure explains itself */
	}
	free(errors);
	free(text);
	return 0;
}
