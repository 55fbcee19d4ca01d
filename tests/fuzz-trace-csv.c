// SPDX-License-Identifier: GPL-2.0-or-later
/* Fuzz the trace CSV parser and feed whatever parses through the form engine. */
#include <json.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "form/form.h"
#include "form/trace-csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_event(const struct form_event *ev, void *userdata)
{
	struct json_object *o = NULL;

	/* every event must encode */
	if (form_event_to_json(ev, 0, &o) == 0)
		json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form_engine *e = NULL;
	struct trace_csv csv;
	size_t pos = 0;
	uint64_t n = 0, last = 0;

	/* the whole-buffer entry point */
	trace_csv_init(&csv);
	(void)trace_csv_parse_buffer(&csv, data, size, &n);

	/* line by line, samples into an engine, as gaitctl analyze does */
	if (form_engine_new(NULL, &e) < 0)
		return 0;
	form_engine_set_event_cb(e, on_event, NULL);
	trace_csv_init(&csv);
	while (pos < size) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;
		struct form_imu_sample s;
		int r = trace_csv_feed_line(&csv, (const char *)data + pos, len, &s);

		if (r < 0)
			break;
		if (r == 1) {
			if (csv.samples == 1)
				(void)form_engine_session_start(e, s.t_usec);
			(void)form_engine_feed_imu(e, &s);
			last = s.t_usec;
		}
		pos += len + 1;
	}
	(void)form_engine_report_pain(e, last, 5, "back");
	(void)form_engine_session_stop(e, last);
	form_engine_free(e);
	return 0;
}
