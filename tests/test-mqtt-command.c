// SPDX-License-Identifier: GPL-2.0-or-later
/* Table tests for the MQTT cmd/ parser: good commands pass, garbage gets a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/macro.h"
#include "daemon/mqtt-command.h"

static const struct cmd_case {
	const char *name;
	const char *topic;
	const char *payload;
	int r;
	int type;
	unsigned level;
	const char *where;
	const char *request_id;
	const char *reason;	/* substring of the reason on failure */
} cases[] = {
	{ .name = "/mqtt-command/start-empty", .topic = "session/start", .payload = "", .r = 0,
	  .type = MQTT_COMMAND_SESSION_START },
	{ .name = "/mqtt-command/start-object", .topic = "session/start", .payload = "{}",
	  .r = 0, .type = MQTT_COMMAND_SESSION_START },
	{ .name = "/mqtt-command/start-request-id", .topic = "session/start",
	  .payload = " {\"request_id\":\"r-1\"}\n", .r = 0, .type = MQTT_COMMAND_SESSION_START,
	  .request_id = "r-1" },
	{ .name = "/mqtt-command/stop", .topic = "session/stop", .payload = "{}", .r = 0,
	  .type = MQTT_COMMAND_SESSION_STOP },
	{ .name = "/mqtt-command/republish", .topic = "summary/republish", .payload = "", .r = 0,
	  .type = MQTT_COMMAND_SUMMARY_REPUBLISH },
	{ .name = "/mqtt-command/pain", .topic = "pain",
	  .payload = "{\"level\":6,\"where\":\"lower-back\"}", .r = 0, .type = MQTT_COMMAND_PAIN,
	  .level = 6, .where = "lower-back" },
	/* no location: "", the daemon takes the one set with pain/where */
	{ .name = "/mqtt-command/pain-no-where", .topic = "pain", .payload = "{\"level\":0}",
	  .r = 0, .type = MQTT_COMMAND_PAIN, .where = "" },
	{ .name = "/mqtt-command/pain-max", .topic = "pain",
	  .payload = "{\"level\":10,\"where\":\"knee\"}", .r = 0, .type = MQTT_COMMAND_PAIN,
	  .level = 10, .where = "knee" },
	{ .name = "/mqtt-command/pain-where", .topic = "pain/where",
	  .payload = "{\"where\":\"hip\",\"request_id\":\"ha\"}", .r = 0,
	  .type = MQTT_COMMAND_PAIN_WHERE, .where = "hip", .request_id = "ha" },
	{ .name = "/mqtt-command/pain-where-other", .topic = "pain/where",
	  .payload = "{\"where\":\"other\"}", .r = 0, .type = MQTT_COMMAND_PAIN_WHERE,
	  .where = "other" },
	{ .name = "/mqtt-command/pain-where-empty", .topic = "pain/where", .payload = "",
	  .r = -EINVAL, .reason = "pain/where needs a JSON object" },
	{ .name = "/mqtt-command/pain-where-missing", .topic = "pain/where", .payload = "{}",
	  .r = -EINVAL, .reason = "needs \"where\"" },
	{ .name = "/mqtt-command/pain-where-unknown", .topic = "pain/where",
	  .payload = "{\"where\":\"elbow\"}", .r = -EINVAL, .reason = "unknown \"where\"" },
	{ .name = "/mqtt-command/pain-where-level", .topic = "pain/where",
	  .payload = "{\"where\":\"knee\",\"level\":3}", .r = -EINVAL,
	  .reason = "unknown key" },
	{ .name = "/mqtt-command/pain-where-case", .topic = "pain/where",
	  .payload = "{\"where\":\"Knee\"}", .r = -EINVAL, .reason = "unknown \"where\"" },
	{ .name = "/mqtt-command/unknown-topic", .topic = "session/pause", .payload = "{}",
	  .r = -EINVAL, .reason = "unknown command topic" },
	{ .name = "/mqtt-command/topic-prefix", .topic = "session/start/x", .payload = "{}",
	  .r = -EINVAL, .reason = "unknown command topic" },
	{ .name = "/mqtt-command/not-json", .topic = "session/start", .payload = "start!",
	  .r = -EBADMSG, .reason = "not valid JSON" },
	{ .name = "/mqtt-command/truncated-json", .topic = "pain", .payload = "{\"level\":5",
	  .r = -EBADMSG, .reason = "not valid JSON" },
	{ .name = "/mqtt-command/trailing", .topic = "session/stop", .payload = "{} {}",
	  .r = -EBADMSG, .reason = "JSON" },
	{ .name = "/mqtt-command/array", .topic = "session/stop", .payload = "[1,2]",
	  .r = -EINVAL, .reason = "must be a JSON object" },
	{ .name = "/mqtt-command/string", .topic = "session/stop", .payload = "\"stop\"",
	  .r = -EINVAL, .reason = "must be a JSON object" },
	{ .name = "/mqtt-command/unknown-key", .topic = "session/start",
	  .payload = "{\"force\":true}", .r = -EINVAL, .reason = "unknown key" },
	{ .name = "/mqtt-command/pain-empty", .topic = "pain", .payload = "", .r = -EINVAL,
	  .reason = "needs a JSON" },
	{ .name = "/mqtt-command/pain-no-level", .topic = "pain",
	  .payload = "{\"where\":\"knee\"}", .r = -EINVAL, .reason = "needs \"level\"" },
	{ .name = "/mqtt-command/pain-level-string", .topic = "pain",
	  .payload = "{\"level\":\"5\"}", .r = -EINVAL, .reason = "integer 0-10" },
	{ .name = "/mqtt-command/pain-level-float", .topic = "pain",
	  .payload = "{\"level\":5.5}", .r = -EINVAL, .reason = "integer 0-10" },
	{ .name = "/mqtt-command/pain-level-high", .topic = "pain", .payload = "{\"level\":11}",
	  .r = -ERANGE, .reason = "integer 0-10" },
	{ .name = "/mqtt-command/pain-level-negative", .topic = "pain",
	  .payload = "{\"level\":-1}", .r = -ERANGE, .reason = "integer 0-10" },
	{ .name = "/mqtt-command/pain-level-huge", .topic = "pain",
	  .payload = "{\"level\":99999999999999999999}", .r = -ERANGE,
	  .reason = "integer 0-10" },
	{ .name = "/mqtt-command/pain-bad-where", .topic = "pain",
	  .payload = "{\"level\":3,\"where\":\"elbow\"}", .r = -EINVAL,
	  .reason = "unknown \"where\"" },
	{ .name = "/mqtt-command/pain-where-number", .topic = "pain",
	  .payload = "{\"level\":3,\"where\":4}", .r = -EINVAL,
	  .reason = "where must be a string" },
	{ .name = "/mqtt-command/request-id-number", .topic = "session/start",
	  .payload = "{\"request_id\":7}", .r = -EINVAL,
	  .reason = "request_id must be a string" },
	{ .name = "/mqtt-command/request-id-long", .topic = "session/start",
	  .payload = "{\"request_id\":\"01234567890123456789012345678901"
		     "23456789012345678901234567890123\"}",
	  .r = -E2BIG, .reason = "too long" },
	{ .name = "/mqtt-command/deep-nesting", .topic = "session/start",
	  .payload = "{\"a\":[[[[[[[[1]]]]]]]]}", .r = -EBADMSG, .reason = "not valid JSON" },
	{ .name = "/mqtt-command/single-quotes", .topic = "session/start", .payload = "{'a':1}",
	  .r = -EINVAL, .reason = "unknown key" },
	/* a refused command still gives its request_id, for the answer */
	{ .name = "/mqtt-command/refused-keeps-request-id", .topic = "pain",
	  .payload = "{\"level\":11,\"request_id\":\"r-bad\"}", .r = -ERANGE,
	  .reason = "level must be", .request_id = "r-bad" },
	{ .name = "/mqtt-command/refused-unknown-key-first", .topic = "session/start",
	  .payload = "{\"zz\":1,\"request_id\":\"r-2\"}", .r = -EINVAL,
	  .reason = "unknown key", .request_id = "r-2" },
	{ .name = "/mqtt-command/where-embedded-nul", .topic = "pain",
	  .payload = "{\"level\":5,\"where\":\"knee\\u0000x\"}", .r = -EINVAL,
	  .reason = "unknown \"where\"" },
};

static void test_case(void **state)
{
	const struct cmd_case *t = *state;
	struct mqtt_command c;
	const char *reason = NULL;
	int r;

	memset(&c, 0xaa, sizeof(c));
	r = mqtt_command_parse(t->topic, (const uint8_t *)t->payload, strlen(t->payload), &c,
			       &reason);
	assert_int_equal(r, t->r);
	if (r < 0) {
		assert_non_null(reason);
		if (!strstr(reason, t->reason))
			fail_msg("reason '%s' lacks '%s'", reason, t->reason);
		assert_string_equal(c.request_id, t->request_id ? t->request_id : "");
		return;
	}
	assert_int_equal(c.type, t->type);
	if (t->type == MQTT_COMMAND_PAIN)
		assert_int_equal(c.pain_level, t->level);
	if (t->type == MQTT_COMMAND_PAIN || t->type == MQTT_COMMAND_PAIN_WHERE)
		assert_string_equal(c.where, t->where);
	assert_string_equal(c.request_id, t->request_id ? t->request_id : "");
}

static void test_nul_and_size(void **state)
{
	static const uint8_t nul[] = { '{', '}', 0 };
	struct mqtt_command c;
	const char *reason = NULL;
	uint8_t *big = calloc(1, MQTT_COMMAND_MAX_BYTES + 1);

	assert_int_equal(mqtt_command_parse("session/start", nul, sizeof(nul), &c, &reason),
			 -EBADMSG);
	assert_non_null(strstr(reason, "NUL"));
	assert_non_null(big);
	memset(big, ' ', MQTT_COMMAND_MAX_BYTES + 1);
	assert_int_equal(mqtt_command_parse("session/start", big, MQTT_COMMAND_MAX_BYTES + 1, &c,
					    &reason), -E2BIG);
	free(big);
	assert_int_equal(mqtt_command_parse(NULL, NULL, 0, &c, NULL), -EINVAL);
	assert_string_equal(mqtt_command_type_to_string(MQTT_COMMAND_PAIN), "pain");
	assert_string_equal(mqtt_command_type_to_string(MQTT_COMMAND_PAIN_WHERE), "pain/where");
	assert_true(mqtt_command_pain_location_valid("lower-back"));
	assert_false(mqtt_command_pain_location_valid(""));
	assert_false(mqtt_command_pain_location_valid(NULL));
	assert_null(mqtt_command_type_to_string(_MQTT_COMMAND_MAX));
}

/* The stored last pain report (pain-last.json): what is kept, what is refused. */
static void test_pain_last(void **state)
{
	static const struct {
		const char *in, *out;	/* out NULL: refused */
	} t[] = {
		{ "{\"level\":5,\"where\":\"lower-back\",\"ts\":1764120345121,\"seq\":12}",
		  "{\"level\":5,\"where\":\"lower-back\",\"ts\":1764120345121,\"seq\":12}" },
		/* hand-edited: spaces, a newline at the end, a null seq (store full) */
		{ "{ \"level\": 0, \"where\": \"knee\", \"ts\": 7, \"seq\": null }\n",
		  "{\"level\":0,\"where\":\"knee\",\"ts\":7,\"seq\":null}" },
		{ "{\"level\":11,\"where\":\"knee\",\"ts\":1,\"seq\":1}", NULL },
		{ "{\"level\":-1,\"where\":\"knee\",\"ts\":1,\"seq\":1}", NULL },
		{ "{\"level\":2.5,\"where\":\"knee\",\"ts\":1,\"seq\":1}", NULL },
		{ "{\"level\":3,\"where\":\"elbow\",\"ts\":1,\"seq\":1}", NULL },
		{ "{\"level\":3,\"where\":\"hip\",\"ts\":0,\"seq\":1}", NULL },
		{ "{\"level\":3,\"where\":\"hip\",\"ts\":1,\"seq\":\"1\"}", NULL },
		{ "{\"level\":3,\"where\":\"hip\",\"ts\":1}", NULL },
		{ "{\"level\":3,\"where\":\"hip\",\"ts\":1,\"seq\":1,\"x\":1}", NULL },
		{ "{\"level\":3,\"where\":\"hip\",\"ts\":1,\"seq\":1} x", NULL },
		{ "{\"level\":3,\"where\":\"hip\",\"ts\":1,\"seq\":1", NULL },
		{ "[3]", NULL },
		{ "", NULL },
	};
	char *out = NULL;

	for (size_t i = 0; i < ELEMENTSOF(t); i++) {
		int r = mqtt_command_pain_last_parse(t[i].in, strlen(t[i].in), &out);

		if (!t[i].out) {
			if (r != -EBADMSG)
				fail_msg("accepted: %s", t[i].in);
			continue;
		}
		assert_int_equal(r, 0);
		assert_string_equal(out, t[i].out);
		free(out);
	}
	/* a NUL inside: the len bytes are looked at, not the C string */
	assert_int_equal(mqtt_command_pain_last_parse("{\"level\":3,\"where\":\"hip\",\"ts\":1,"
						      "\"seq\":1}\0", 41, &out), -EBADMSG);
}

int main(void)
{
	struct CMUnitTest tests[ELEMENTSOF(cases) + 2];
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(cases); i++)
		tests[n++] = (struct CMUnitTest){ cases[i].name, test_case, NULL, NULL,
						  (void *)&cases[i] };
	tests[n++] = (struct CMUnitTest){ "/mqtt-command/nul-and-size", test_nul_and_size,
					  NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "/mqtt-command/pain-last", test_pain_last, NULL, NULL,
					  NULL };
	return _cmocka_run_group_tests("mqtt-command", tests, n, NULL, NULL);
}
