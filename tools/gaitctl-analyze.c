// SPDX-License-Identifier: GPL-2.0-or-later
/* gaitctl analyze: run the form core on a trace CSV and print JSON lines. */
#include <errno.h>
#include <json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "common/macro.h"
#include "common/parse.h"
#include "form/form.h"
#include "form/trace-csv.h"
#include "tools/gaitctl.h"

struct analyze {
	uint64_t t0;
	int error;
};

static void fclosep(FILE **f)
{
	if (*f)
		(void)fclose(*f);
}

static void on_event(const struct form_event *ev, void *userdata)
{
	struct analyze *a = userdata;
	struct json_object *o = NULL;
	int r;

	r = form_event_to_json(ev, a->t0, &o);
	if (r < 0) {
		a->error = r;
		return;
	}
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: gaitctl analyze [--mount sacrum|waist|chest] [--speed-mps V]\n"
		"                       [--incline-pct P] FILE.csv\n"
		"Runs the form core on a trace CSV (data/README.md format) and prints\n"
		"JSON lines: contact, metrics, activity, alert, cleared, session and summary\n"
		"events; times in seconds from the first sample. --speed-mps and\n"
		"--incline-pct give a constant treadmill belt, fed once a second as FTMS does.\n");
}

int gaitctl_analyze(int argc, char **argv)
{
	_cleanup_(fclosep) FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	struct form_engine *e = NULL;
	struct form_params params;
	struct trace_csv csv;
	struct analyze a = {};
	const char *path = NULL;
	double speed = NAN, incline = NAN;
	uint64_t t_last = 0, t_belt = 0;
	bool started = false;
	size_t cap = 0;
	ssize_t n;
	int r, ret = 0;

	form_params_default(&params);
	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (streq(argv[i], "--mount") && i + 1 < argc) {
			int m = form_mount_from_string(argv[++i]);

			if (m < 0) {
				fprintf(stderr, "gaitctl analyze: unknown mount '%s'\n", argv[i]);
				return EX_USAGE;
			}
			params.mount = m;
		} else if (streq(argv[i], "--speed-mps") && i + 1 < argc) {
			r = parse_double(argv[++i], &speed);
			if (r < 0 || speed < 0 || speed > 15) {
				fprintf(stderr, "gaitctl analyze: bad speed '%s'\n", argv[i]);
				return EX_USAGE;
			}
		} else if (streq(argv[i], "--incline-pct") && i + 1 < argc) {
			r = parse_double(argv[++i], &incline);
			if (r < 0 || incline < -45 || incline > 45) {
				fprintf(stderr, "gaitctl analyze: bad incline '%s' (-45 to 45 %%)\n",
					argv[i]);
				return EX_USAGE;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "gaitctl analyze: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else if (!path) {
			path = argv[i];
		} else {
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (!path) {
		usage(stderr);
		return EX_USAGE;
	}

	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "gaitctl analyze: cannot open '%s': %m\n", path);
		return EX_NOINPUT;
	}

	r = form_engine_new(&params, &e);
	if (r < 0) {
		fprintf(stderr, "gaitctl analyze: %s\n", strerror(-r));
		return 1;
	}
	form_engine_set_event_cb(e, on_event, &a);
	trace_csv_init(&csv);

	while ((n = getline(&line, &cap, f)) > 0) {
		struct form_imu_sample s;

		if (line[n - 1] != '\n') {
			fprintf(stderr, "%s:%u: last line does not end in LF\n", path,
				csv.line + 1);
			ret = EX_DATAERR;
			goto out;
		}
		r = trace_csv_feed_line(&csv, line, (size_t)n - 1, &s);
		if (r < 0) {
			fprintf(stderr, "%s:%u: %s\n", path, csv.line, csv.error);
			ret = EX_DATAERR;
			goto out;
		}
		if (r == 0)
			continue;

		if (!started) {
			/* like pressing "start" on the first sample */
			a.t0 = s.t_usec;
			(void)form_engine_session_start(e, s.t_usec);
			started = true;
		}
		/* a constant belt arrives about once a second, as FTMS does */
		if ((!isnan(speed) || !isnan(incline)) &&
		    (t_belt == 0 || s.t_usec >= t_belt + 1000000)) {
			if (!isnan(speed))
				(void)form_engine_feed_speed(e, s.t_usec, speed);
			if (!isnan(incline))
				(void)form_engine_feed_incline(e, s.t_usec, incline);
			t_belt = s.t_usec;
		}
		r = form_engine_feed_imu(e, &s);
		if (r < 0) {
			fprintf(stderr, "%s:%u: sample rejected: %s\n", path, csv.line,
				strerror(-r));
			ret = EX_DATAERR;
			goto out;
		}
		t_last = s.t_usec;
		if (a.error < 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "gaitctl analyze: read error on '%s'\n", path);
		ret = 1;
		goto out;
	}
	if (!csv.have_header || !started) {
		fprintf(stderr, "%s:%u: no samples\n", path, csv.line);
		ret = EX_DATAERR;
		goto out;
	}
	if (form_engine_session_active(e))
		(void)form_engine_session_stop(e, t_last);
	if (a.error < 0) {
		fprintf(stderr, "gaitctl analyze: JSON: %s\n", strerror(-a.error));
		ret = 1;
	}
out:
	form_engine_free(e);
	if (fflush(stdout) != 0 && ret == 0)
		ret = 1;
	return ret;
}
