// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the stored last pain report (state_dir/pain-last.json),
 * read back at start. Whatever is accepted is a report again as it comes
 * out: parsing the output gives the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mqtt-command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = NULL, *again = NULL;
	int r = mqtt_command_pain_last_parse((const char *)data, size, &out);

	if (r == -EBADMSG || r == -ENOMEM)
		return 0;
	if (r != 0 || !out)
		abort();
	if (mqtt_command_pain_last_parse(out, strlen(out), &again) != 0 || strcmp(out, again))
		abort();
	free(again);
	free(out);
	return 0;
}
