/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqtt-command: validate commands arriving on gaitkeeper/<node>/cmd/... (pure). */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Topics below cmd/ and their JSON payloads (docs/mqtt.md):
 *   session/start        {} or {"request_id": "..."}; an empty payload is {}
 *   session/stop         same
 *   pain                 {"level": 0..10, "where": "lower-back", "request_id": "..."}
 *                        where is optional: "" in *ret then, and the daemon
 *                        takes the location set with pain/where ("other")
 *   pain/where           {"where": "lower-back"}: that location for the pain
 *                        reports that name none (Home Assistant's number)
 *   summary/republish    {} : publish the last summary again
 * Anything else (unknown topic, not a JSON object, unknown key, wrong type,
 * out-of-range level, trailing bytes, NUL bytes, more than
 * MQTT_COMMAND_MAX_BYTES) is rejected with a reason. Pure: libc + json-c.
 */

#define MQTT_COMMAND_MAX_BYTES 4096u
#define MQTT_COMMAND_PAIN_MAX 10u

enum mqtt_command_type {
	MQTT_COMMAND_SESSION_START,
	MQTT_COMMAND_SESSION_STOP,
	MQTT_COMMAND_PAIN,
	MQTT_COMMAND_SUMMARY_REPUBLISH,
	MQTT_COMMAND_PAIN_WHERE,
	_MQTT_COMMAND_MAX,
	_MQTT_COMMAND_INVALID = -EINVAL,
};

struct mqtt_command {
	enum mqtt_command_type type;
	unsigned pain_level;		/* PAIN: 0-10 */
	char where[16];			/* PAIN, PAIN_WHERE: one of mqtt_command_pain_locations;
					 * PAIN: "" when not given */
	char request_id[64];		/* "" when not given; echoed in the reply */
};

/* NULL-terminated: the same locations as the D-Bus ReportPain. */
extern const char *const mqtt_command_pain_locations[];

/* where is one of mqtt_command_pain_locations. */
bool mqtt_command_pain_location_valid(const char *where);

/*
 * The last pain report as pain/last publishes it and state_dir/pain-last.json
 * keeps it: {"level": 0-10, "where": a location, "ts": epoch ms > 0, "seq":
 * a number or null}, those four keys only, nothing after it but white space.
 * Returns 0 and *ret, its compact text (malloc'd; the same bytes for what
 * publish_pain_report() wrote), or -EBADMSG (-ENOMEM).
 */
int mqtt_command_pain_last_parse(const char *text, size_t len, char **ret);

/* "session/start" etc., NULL for an out-of-range value. */
const char *mqtt_command_type_to_string(enum mqtt_command_type t);

/*
 * Parse one command. subtopic is the topic after ".../cmd/". Returns 0 and
 * fills *ret, or -EINVAL/-ERANGE/-E2BIG/-EBADMSG and sets *ret_reason to a
 * static English reason (ret_reason may be NULL); on failure ret->request_id
 * still holds the command's request_id when a valid one could be read (so
 * that the answer names it), else "".
 */
int mqtt_command_parse(const char *subtopic, const uint8_t *payload, size_t len,
		       struct mqtt_command *ret, const char **ret_reason);
