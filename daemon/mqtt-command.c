// SPDX-License-Identifier: GPL-2.0-or-later
/* Strict parser for MQTT cmd/ payloads: json-c, whole-input, every key checked. */
#include <json.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/mqtt-command.h"

const char *const mqtt_command_pain_locations[] = {
	"lower-back", "upper-back", "neck", "hip", "knee", "shin", "ankle", "foot", "other",
	NULL,
};

static const char *const command_topics[] = {
	[MQTT_COMMAND_SESSION_START] = "session/start",
	[MQTT_COMMAND_SESSION_STOP] = "session/stop",
	[MQTT_COMMAND_PAIN] = "pain",
	[MQTT_COMMAND_SUMMARY_REPUBLISH] = "summary/republish",
	[MQTT_COMMAND_PAIN_WHERE] = "pain/where",
};

const char *mqtt_command_type_to_string(enum mqtt_command_type t)
{
	if (t < 0 || t >= _MQTT_COMMAND_MAX)
		return NULL;
	return command_topics[t];
}

bool mqtt_command_pain_location_valid(const char *where)
{
	for (size_t i = 0; where && mqtt_command_pain_locations[i]; i++)
		if (streq(where, mqtt_command_pain_locations[i]))
			return true;
	return false;
}

static int fail(const char **ret_reason, const char *reason, int r)
{
	if (ret_reason)
		*ret_reason = reason;
	return r;
}

static int parse_request_id(struct json_object *v, struct mqtt_command *c, const char **why)
{
	const char *s;
	size_t n;

	if (!json_object_is_type(v, json_type_string))
		return fail(why, "request_id must be a string", -EINVAL);
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= sizeof(c->request_id) || strlen(s) != n)
		return fail(why, "request_id is too long or holds NUL", -E2BIG);
	memcpy(c->request_id, s, n + 1);
	return 0;
}

/* "where" if the object has it: one of the locations, or an error. */
static int parse_where(struct json_object *obj, struct mqtt_command *c, const char **why)
{
	struct json_object *val;
	const char *where;

	if (!json_object_object_get_ex(obj, "where", &val))
		return 0;
	if (!json_object_is_type(val, json_type_string))
		return fail(why, "where must be a string", -EINVAL);
	where = json_object_get_string(val);
	if (strlen(where) != (size_t)json_object_get_string_len(val) ||
	    !mqtt_command_pain_location_valid(where))
		return fail(why, "unknown \"where\" (see docs/mqtt.md for the list)", -EINVAL);
	snprintf(c->where, sizeof(c->where), "%s", where);
	return 0;
}

static int parse_pain(struct json_object *obj, struct mqtt_command *c, const char **why)
{
	struct json_object *level;
	int64_t v;

	if (!json_object_object_get_ex(obj, "level", &level))
		return fail(why, "pain needs \"level\"", -EINVAL);
	/* An integer 0-10 (numeric rating scale); 3.5 or "3" are refused. */
	if (!json_object_is_type(level, json_type_int))
		return fail(why, "level must be an integer 0-10", -EINVAL);
	errno = 0;
	v = json_object_get_int64(level);
	if (errno || v < 0 || v > MQTT_COMMAND_PAIN_MAX)
		return fail(why, "level must be an integer 0-10", -ERANGE);
	c->pain_level = (unsigned)v;
	return parse_where(obj, c, why);
}

int mqtt_command_parse(const char *subtopic, const uint8_t *payload, size_t len,
		       struct mqtt_command *ret, const char **ret_reason)
{
	struct mqtt_command c = { .type = _MQTT_COMMAND_INVALID };
	struct json_tokener *tok;
	struct json_object *obj, *rid;
	enum json_tokener_error jerr;
	size_t consumed;
	int r = 0;

	ret->request_id[0] = '\0';
	if (!subtopic)
		return fail(ret_reason, "no topic", -EINVAL);
	for (int i = 0; i < _MQTT_COMMAND_MAX; i++)
		if (streq(subtopic, command_topics[i]))
			c.type = (enum mqtt_command_type)i;
	if (c.type < 0)
		return fail(ret_reason, "unknown command topic", -EINVAL);

	if (len > MQTT_COMMAND_MAX_BYTES)
		return fail(ret_reason, "payload too large", -E2BIG);
	if (len && memchr(payload, 0, len))
		return fail(ret_reason, "payload holds a NUL byte", -EBADMSG);

	/* An empty payload means {} for the commands without arguments. */
	if (len == 0) {
		if (c.type == MQTT_COMMAND_PAIN)
			return fail(ret_reason, "pain needs a JSON object", -EINVAL);
		if (c.type == MQTT_COMMAND_PAIN_WHERE)
			return fail(ret_reason, "pain/where needs a JSON object", -EINVAL);
		*ret = c;
		return 0;
	}

	/* Depth 4 is plenty for a flat object and bounds json-c's recursion. */
	tok = json_tokener_new_ex(4);
	if (!tok)
		return fail(ret_reason, "out of memory", -ENOMEM);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, (const char *)payload, (int)len);
	jerr = json_tokener_get_error(tok);
	consumed = (size_t)json_tokener_get_parse_end(tok);
	json_tokener_free(tok);

	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		return fail(ret_reason, "not valid JSON", -EBADMSG);
	}

	/* Only trailing white space may follow the object. */
	for (size_t i = consumed; i < len; i++) {
		if (!strchr(" \t\r\n", payload[i])) {
			json_object_put(obj);
			return fail(ret_reason, "trailing bytes after the JSON object", -EBADMSG);
		}
	}

	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return fail(ret_reason, "payload must be a JSON object", -EINVAL);
	}

	/* The request_id first: an answer to a refused command names it too. */
	if (json_object_object_get_ex(obj, "request_id", &rid)) {
		r = parse_request_id(rid, &c, ret_reason);
		if (r >= 0)
			memcpy(ret->request_id, c.request_id, sizeof(ret->request_id));
	}
	json_object_object_foreach(obj, key, val) {
		if (r < 0)
			break;
		if (streq(key, "request_id")) {
			continue;
		} else if (c.type == MQTT_COMMAND_PAIN && (streq(key, "level") ||
							    streq(key, "where"))) {
			continue;
		} else if (c.type == MQTT_COMMAND_PAIN_WHERE && streq(key, "where")) {
			continue;
		} else {
			r = fail(ret_reason, "unknown key in the command", -EINVAL);
		}
		if (r < 0)
			break;
	}

	if (r >= 0 && c.type == MQTT_COMMAND_PAIN) {
		r = parse_pain(obj, &c, ret_reason);
	} else if (r >= 0 && c.type == MQTT_COMMAND_PAIN_WHERE) {
		r = parse_where(obj, &c, ret_reason);
		if (r >= 0 && !c.where[0])
			r = fail(ret_reason, "pain/where needs \"where\"", -EINVAL);
	}

	json_object_put(obj);
	if (r < 0)
		return r;

	*ret = c;
	return 0;
}

/*
 * The stored last pain report (state_dir/pain-last.json). Written by us, but
 * read back as outside input: one JSON object with exactly
 * a level 0-10, a known location, a ts and a seq (a number, or null when the
 * seq store was full).
 */
static bool pain_last_valid(struct json_object *o)
{
	struct json_object *v;
	int64_t level;

	if (!json_object_is_type(o, json_type_object) || json_object_object_length(o) != 4)
		return false;
	if (!json_object_object_get_ex(o, "level", &v) || !json_object_is_type(v, json_type_int))
		return false;
	level = json_object_get_int64(v);
	if (level < 0 || level > MQTT_COMMAND_PAIN_MAX)
		return false;
	if (!json_object_object_get_ex(o, "where", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !mqtt_command_pain_location_valid(json_object_get_string(v)))
		return false;
	if (!json_object_object_get_ex(o, "ts", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) <= 0)
		return false;
	return json_object_object_get_ex(o, "seq", &v) &&
	       (!v || json_object_is_type(v, json_type_int));
}

int mqtt_command_pain_last_parse(const char *text, size_t len, char **ret)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	struct json_object *o;
	const char *out;
	bool ok;
	size_t i;

	if (len > MQTT_COMMAND_MAX_BYTES)
		return -EBADMSG;
	/* A flat object: depth 4 is plenty, as for cmd/. */
	tok = json_tokener_new_ex(4);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	i = (size_t)json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	ok = o && jerr == json_tokener_success && i <= len;
	/* text is not NUL-terminated: look at the len bytes only */
	for (; ok && i < len; i++)
		ok = text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n';
	if (!ok || !pain_last_valid(o)) {
		json_object_put(o);
		return -EBADMSG;
	}
	/* as publish_pain_report() writes it (a hand-edited file may have a newline) */
	out = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					     JSON_C_TO_STRING_NOSLASHESCAPE);
	*ret = out ? strdup(out) : NULL;
	json_object_put(o);
	return *ret ? 0 : -ENOMEM;
}
