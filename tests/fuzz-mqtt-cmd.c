// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: MQTT cmd/ commands; input = sub-topic, newline, payload. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mqtt-command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	struct mqtt_command c;
	const char *reason = NULL;
	char topic[64];
	size_t tlen;
	int r;

	if (!nl)
		return 0;
	tlen = (size_t)(nl - data);
	if (tlen >= sizeof(topic))
		return 0;
	memcpy(topic, data, tlen);
	topic[tlen] = 0;

	r = mqtt_command_parse(topic, nl + 1, size - tlen - 1, &c, &reason);
	if (r < 0 && !reason)
		abort();	/* garbage is always rejected with a reason */
	if (r == 0 && (c.type < 0 || c.type >= _MQTT_COMMAND_MAX ||
		       c.pain_level > MQTT_COMMAND_PAIN_MAX ||
		       !memchr(c.request_id, 0, sizeof(c.request_id))))
		abort();
	return 0;
}
