// SPDX-License-Identifier: GPL-2.0-or-later
/* gaitctl report: a finished session's summary document as a text report. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "form/form.h"
#include "tools/gaitctl.h"

/*
 * The document is the one GetSummary(true) and the retained MQTT
 * session/summary carry (docs/mqtt.md): top-level figures, "summary" (the
 * form core's, docs/form-metrics.md) and "history". Each value is printed
 * with the decimals the form core gives its metric; a part the document
 * lacks is left out, never shown as 0.
 */

DEFINE_FREEP(json_tokener, json_tokener_free)

/* What a runner reads for a metric name's unit suffix. */
static const struct {
	const char *suffix, *shown;
} metric_units[] = {
	{ "spm", "spm" }, { "ms", "ms" }, { "mm", "mm" }, { "cm", "cm" }, { "m", "m" },
	{ "deg", "deg" }, { "pct", "%" }, { "bpm", "bpm" }, { "mps", "m/s" }, { "g", "g" },
	{ "s", "s" }, { "level", "/10" },
};

void gaitctl_metric_label(const char *name, const char *mount, char *label, size_t size,
			  const char **ret_unit, int *ret_decimals)
{
	const char *us = strrchr(name, '_');
	enum form_metric m = form_metric_from_string(name);

	*ret_unit = "";
	*ret_decimals = (int)m < 0 ? 1 : form_metric_decimals(m);
	snprintf(label, size, "%s", name);
	if (us) {
		for (size_t i = 0; i < ELEMENTSOF(metric_units); i++)
			if (streq(us + 1, metric_units[i].suffix)) {
				*ret_unit = metric_units[i].shown;
				if ((size_t)(us - name) < size)
					label[us - name] = '\0';
				break;
			}
	}
	for (char *p = label; *p; p++)
		if (*p == '_')
			*p = ' ';
	/*
	 * trunk_lean_deg is the trunk's lean on a chest strap and the pelvis's
	 * forward tilt on a sacrum or waist clip (docs/form-metrics.md): say which.
	 */
	if (m == FORM_METRIC_TRUNK_LEAN && form_mount_tilts_pelvis(form_mount_from_string(mount)))
		snprintf(label, size, "pelvic tilt");
}

const char *gaitctl_fixed(char *buf, size_t size, int decimals, double v, bool sign)
{
	char num[64];

	if (!isfinite(v)) {
		snprintf(buf, size, "-");
		return buf;
	}
	/* the form core's rounding (never -0.0), and no sign on what reads 0 */
	form_format_fixed(num, sizeof(num), v, decimals);
	snprintf(buf, size, "%s%s",
		 sign && v > 0 && strspn(num, "0.") != strlen(num) ? "+" : "", num);
	return buf;
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

double gaitctl_json_num(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	if (!v || !(json_object_is_type(v, json_type_double) ||
		    json_object_is_type(v, json_type_int)))
		return NAN;
	return json_object_get_double(v);
}

static const char *js(json_object *o, const char *key)
{
	json_object *v = jget(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* 95 s -> "1:35", 3725 s -> "1:02:05"; "-" when unknown. */
static const char *hms(double s, char *buf, size_t size)
{
	unsigned long long t;

	if (!isfinite(s) || s < 0 || s > 1e9)
		return "-";
	t = (unsigned long long)llround(s);
	if (t >= 3600)
		snprintf(buf, size, "%llu:%02llu:%02llu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, size, "%llu:%02llu", t / 60, t % 60);
	return buf;
}

/*
 * Epoch ms in local time: "07:05", "07:05:09" or "2026-11-27 07:05"; NULL for none (NaN,
 * <= 0, nonsense).
 */
const char *gaitctl_local_time(double epoch_ms, enum gaitctl_clock style, char *buf, size_t size)
{
	time_t t;
	struct tm tm;

	if (!(epoch_ms > 0 && epoch_ms < 1e16))	/* time_t holds it: up to year ~300000 */
		return NULL;
	t = (time_t)(epoch_ms / 1000);
	if (!localtime_r(&t, &tm) ||
	    strftime(buf, size, style == GAITCTL_HMS ? "%H:%M:%S" :
		     style == GAITCTL_DATE_HM ? "%Y-%m-%d %H:%M" : "%H:%M", &tm) == 0)
		return NULL;
	return buf;
}

/* "lower-back" -> "lower back" */
static const char *words(const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "%s", id ? id : "-");
	for (char *p = buf; *p; p++)
		if (*p == '-' || *p == '_')
			*p = ' ';
	return buf;
}

static void print_header(FILE *f, json_object *doc, json_object *sum)
{
	char a[32], b[32], d1[32], d2[32], d3[32], d4[32];
	const char *start = gaitctl_local_time(gaitctl_json_num(doc, "started_ts"), GAITCTL_DATE_HM,
					       a, sizeof(a));
	const char *end = gaitctl_local_time(gaitctl_json_num(doc, "ended_ts"), GAITCTL_HM,
					     b, sizeof(b));
	double dist = gaitctl_json_num(sum, "distance_m");
	double n_alerts = gaitctl_json_num(doc, "alerts_total");
	double steps = gaitctl_json_num(sum, "steps");
	double holes = gaitctl_json_num(sum, "imu_holes");
	double lost = gaitctl_json_num(sum, "imu_lost_s");
	double estimated = gaitctl_json_num(sum, "steps_estimated");
	double slips = gaitctl_json_num(sum, "sensor_slips");
	const char *mount = js(sum, "mount");
	json_object *bl = jget(sum, "baseline_learned");

	fprintf(f, "Session");
	if (start)
		fprintf(f, " %s%s%s,", start, end ? " to " : "", end ? end : "");
	fprintf(f, " %s\n", hms(gaitctl_json_num(sum, "duration_s"), d1, sizeof(d1)));
	fprintf(f, "  running %s, walking %s, standing %s\n",
		hms(gaitctl_json_num(sum, "running_s"), d2, sizeof(d2)),
		hms(gaitctl_json_num(sum, "walking_s"), d3, sizeof(d3)),
		hms(gaitctl_json_num(sum, "standing_s"), d4, sizeof(d4)));
	fprintf(f, "  ");
	if (isfinite(dist))
		fprintf(f, "%.2f km, ", dist / 1000);
	if (steps >= 0 && estimated > 0)
		fprintf(f, "%.0f steps (%.0f estimated)", steps, estimated);
	else if (steps >= 0)
		fprintf(f, "%.0f steps", steps);
	else
		fprintf(f, "steps unknown");
	if (n_alerts >= 0)
		fprintf(f, ", %.0f alert%s", n_alerts, n_alerts == 1 ? "" : "s");
	if (streq_ptr(mount, "mixed"))
		fprintf(f, ", steps from two sensor mounts");
	else if (mount)
		fprintf(f, ", sensor on the %s", mount);
	if (bl)
		fprintf(f, ", %s", json_object_get_boolean(bl) ?
			"baseline learned" : "run too short to learn a baseline");
	fprintf(f, "\n");
	/* summaries before steps_estimated did not count the steps in holes */
	if (holes > 0 && isfinite(lost))
		fprintf(f, "  IMU data lost: %s s in %.0f hole%s (steps there %s; steps beside "
			"them partly measured)\n", gaitctl_fixed(d1, sizeof(d1), 1, lost, false),
			holes, holes == 1 ? "" : "s", estimated >= 0 ?
			"estimated from the step time, a footpod or the belt" :
			"not counted");
	if (slips > 0)
		fprintf(f, "  The sensor slipped %.0f time%s during the run: the lean was carried over "
			"%s; check how it sits\n", slips, slips == 1 ? "" : "s",
			slips == 1 ? "the turn" : "each turn");
}

static void report_label(json_object *sum, const char *name, char *label, size_t size,
			 const char **ret_unit, int *ret_decimals)
{
	gaitctl_metric_label(name, js(sum, "mount"), label, size, ret_unit, ret_decimals);
}

static void print_metrics(FILE *f, json_object *sum)
{
	json_object *metrics = jget(sum, "metrics");
	char missing[256] = "";
	size_t nm = 0;

	if (!metrics || !json_object_is_type(metrics, json_type_object))
		return;
	fprintf(f, "\nForm%34s      p10 - p90      time below / in / above band\n", "median");
	json_object_object_foreach(metrics, name, st) {
		char label[48], med[24], lo[24], hi[24];
		const char *unit;
		int dec;
		double n = gaitctl_json_num(st, "n"), below = gaitctl_json_num(st, "below_s");
		double within = gaitctl_json_num(st, "within_s");
		double above = gaitctl_json_num(st, "above_s");
		double tot = below + within + above;

		if (streq(name, "pain_level"))
			continue;	/* its own section below */
		report_label(sum, name, label, sizeof(label), &unit, &dec);
		if (!(n > 0) || !isfinite(gaitctl_json_num(st, "median"))) {
			if (nm + 1 < sizeof(missing))
				nm += (size_t)snprintf(missing + nm, sizeof(missing) - nm,
						       "%s%s", nm ? ", " : "", label);
			continue;
		}
		gaitctl_fixed(med, sizeof(med), dec, gaitctl_json_num(st, "median"), false);
		gaitctl_fixed(lo, sizeof(lo), dec, gaitctl_json_num(st, "p10"), false);
		gaitctl_fixed(hi, sizeof(hi), dec, gaitctl_json_num(st, "p90"), false);
		if (tot > 0)
			fprintf(f, "  %-22s %-4s %8s %8s - %-8s %5.0f%% /%4.0f%% /%4.0f%%\n",
				label, unit, med, lo, hi, 100 * below / tot,
				100 * within / tot, 100 * above / tot);
		else
			fprintf(f, "  %-22s %-4s %8s %8s - %s\n", label, unit, med, lo, hi);
	}
	if (nm)
		fprintf(f, "  not measured: %s\n", missing);
}

static void print_alerts(FILE *f, json_object *sum)
{
	json_object *alerts = jget(sum, "alerts");
	bool any = false;

	if (!alerts || !json_object_is_type(alerts, json_type_object))
		return;
	fprintf(f, "\nAlerts\n");
	json_object_object_foreach(alerts, kind, a) {
		double count = gaitctl_json_num(a, "count");
		char d[32], k[32];

		if (!(count > 0))
			continue;
		any = true;
		fprintf(f, "  %-20s %3.0f time%s, %s in all\n", words(kind, k, sizeof(k)),
			count, count == 1 ? "" : "s", hms(gaitctl_json_num(a, "duration_s"), d, sizeof(d)));
	}
	if (!any)
		fprintf(f, "  none\n");
}

static void print_drift(FILE *f, json_object *sum)
{
	json_object *drift = jget(sum, "drift");

	bool head = false;

	if (!drift || !json_object_is_type(drift, json_type_object))
		return;
	json_object_object_foreach(drift, name, v) {
		char label[48], v_[32];
		const char *unit;
		int dec;

		(void)v;
		if (!isfinite(gaitctl_json_num(drift, name)))
			continue;
		if (!head)
			fprintf(f, "\nDrift (late run minus the baseline, at the baseline's pace)\n");
		head = true;
		report_label(sum, name, label, sizeof(label), &unit, &dec);
		fprintf(f, "  %-22s %s %s\n", label,
			gaitctl_fixed(v_, sizeof(v_), dec, gaitctl_json_num(drift, name), true), unit);
	}
}

static void print_pain(FILE *f, json_object *sum)
{
	json_object *pain = jget(sum, "pain");

	if (!pain || !json_object_is_type(pain, json_type_array) ||
	    json_object_array_length(pain) == 0)
		return;
	fprintf(f, "\nPain reported\n");
	for (size_t i = 0; i < json_object_array_length(pain); i++) {
		json_object *p = json_object_array_get_idx(pain, i);
		char t[32], w[32];

		fprintf(f, "  at %s: %.0f/10, %s\n", hms(gaitctl_json_num(p, "t_s"), t, sizeof(t)),
			gaitctl_json_num(p, "level"), words(js(p, "where"), w, sizeof(w)));
	}
}

static bool advice_listed(json_object *list, const char *id)
{
	if (!list || !json_object_is_type(list, json_type_array))
		return false;
	for (size_t i = 0; id && i < json_object_array_length(list); i++)
		if (streq_ptr(js(json_object_array_get_idx(list, i), "id"), id))
			return true;
	return false;
}

/*
 * The items of list not already in shown, under heading (when not NULL)
 * if there is any; returns how many it printed.
 */
static unsigned print_advice(FILE *f, json_object *list, json_object *shown,
			     const char *heading)
{
	unsigned n = 0;

	if (!list || !json_object_is_type(list, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *a = json_object_array_get_idx(list, i);
		const char *text = js(a, "text");

		if (!text || advice_listed(shown, js(a, "id")))
			continue;
		if (n++ == 0 && heading)
			fputs(heading, f);
		fprintf(f, "  - %s\n", text);
	}
	return n;
}

static void print_history(FILE *f, json_object *h, json_object *session_advice)
{
	double sessions = gaitctl_json_num(h, "sessions"), days = gaitctl_json_num(h, "history_days");
	double l7 = gaitctl_json_num(h, "load_7d_min"), l28 = gaitctl_json_num(h, "load_28d_weekly_min");
	double acr = gaitctl_json_num(h, "acute_chronic_ratio");
	double pain5 = gaitctl_json_num(h, "pain_sessions_last5");
	const char *site = js(h, "main_pain_site"), *pointer = js(h, "pointer_text");
	char w[32];

	fprintf(f, "\nHistory");
	/* "over 0 days" for the sessions of one day says nothing */
	if (sessions >= 0 && days >= 0.5)
		fprintf(f, " (%.0f session%s stored, over %.0f day%s)", sessions,
			sessions == 1 ? "" : "s", days, days >= 0.5 && days < 1.5 ? "" : "s");
	else if (sessions >= 0)
		fprintf(f, " (%.0f session%s stored)", sessions, sessions == 1 ? "" : "s");
	fprintf(f, "\n");
	if (l7 >= 0) {
		fprintf(f, "  running load: %.0f min in the last 7 days", l7);
		if (l28 >= 0)
			fprintf(f, ", %.0f min a week on average", l28);
		if (isfinite(acr))
			fprintf(f, ", acute:chronic %.2f", acr);
		else
			fprintf(f, " (acute:chronic needs 14 days of history)");
		fprintf(f, "\n");
	}
	if (pain5 > 0) {
		fprintf(f, "  pain in %.0f of the last 5 sessions", pain5);
		if (gaitctl_json_num(h, "max_pain_last5") >= 0)
			fprintf(f, ", at most %.0f/10", gaitctl_json_num(h, "max_pain_last5"));
		if (site)
			fprintf(f, ", mostly %s", words(site, w, sizeof(w)));
		fprintf(f, "\n");
	}
	if (pointer)
		fprintf(f, "  %s\n", pointer);
	/* only what the session did not already say */
	print_advice(f, jget(h, "advice"), session_advice, "  and from the history:\n");
}

int gaitctl_print_report(FILE *f, json_object *doc)
{
	json_object *sum = jget(doc, "summary"), *hist = jget(doc, "history");
	json_object *advice;

	if (!sum || !json_object_is_type(sum, json_type_object))
		return -EINVAL;

	print_header(f, doc, sum);
	print_metrics(f, sum);
	print_alerts(f, sum);
	print_drift(f, sum);
	print_pain(f, sum);
	advice = jget(sum, "advice");
	fprintf(f, "\nAdvice\n");
	if (print_advice(f, advice, NULL, NULL) == 0)
		fprintf(f, "  none for this run\n");
	if (hist && json_object_is_type(hist, json_type_object))
		print_history(f, hist, advice);
	return 0;
}

int gaitctl_report_find(const char *buf, size_t len, json_object **ret, size_t *ret_off)
{
	_cleanup_(json_tokener_freep) json_tokener *tok = json_tokener_new();
	json_object *found = NULL;
	size_t off = 0;

	if (!tok)
		return -ENOMEM;
	while (off < len) {
		json_object *v, *sum;
		enum json_tokener_error e;
		size_t chunk = len - off > INT32_MAX ? INT32_MAX : len - off;

		/* whitespace between documents (JSON lines) */
		if (strchr(" \t\r\n", buf[off]) && buf[off]) {
			off++;
			continue;
		}
		json_tokener_reset(tok);
		v = json_tokener_parse_ex(tok, buf + off, (int)chunk);
		e = json_tokener_get_error(tok);
		if (!v && e == json_tokener_continue && off + chunk == len) {
			/* a value cut short, or a bare number at the very end */
			v = json_tokener_parse_ex(tok, "", 1);
			e = json_tokener_get_error(tok);
			if (v && e == json_tokener_success) {
				json_object_put(v);	/* not a summary either way */
				break;
			}
			*ret_off = len;
		} else {
			*ret_off = off + json_tokener_get_parse_end(tok);
		}
		if (!v || e != json_tokener_success) {
			json_object_put(v);
			json_object_put(found);
			return -EBADMSG;
		}
		off += json_tokener_get_parse_end(tok);

		if (json_object_is_type(v, json_type_object) &&
		    json_object_object_get_ex(v, "summary", &sum) &&
		    json_object_is_type(sum, json_type_object)) {
			json_object_put(found);		/* a session/summary document */
			found = v;
		} else if (json_object_is_type(v, json_type_object) &&
			   streq_ptr(js(v, "event"), "summary")) {
			json_object *doc = json_object_new_object();	/* analyze's line */

			if (!doc || json_object_object_add(doc, "summary", v) < 0) {
				json_object_put(doc);
				json_object_put(v);
				json_object_put(found);
				return -ENOMEM;
			}
			json_object_put(found);
			found = doc;
		} else {
			json_object_put(v);
		}
	}
	*ret = found;
	return found ? 0 : -ENOENT;
}

/* Reads all of fd, at most GAITCTL_REPORT_MAX bytes; NUL-terminated. */
#define GAITCTL_REPORT_MAX (256u << 20)

static int read_all(int fd, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size = 0;

	for (;;) {
		ssize_t n;

		if (size - len < 65536 + 1) {
			char *b;

			if (size >= GAITCTL_REPORT_MAX)
				return -EFBIG;
			size = size ? size * 2 : 65536 * 2;
			b = realloc(buf, size);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		n = read(fd, buf + len, size - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/*
 * gaitctl report [FILE|-]: a session/summary document (MQTT, GetSummary), or
 * the JSON lines of 'gaitctl analyze' (its summary line), from a file or stdin.
 */
int gaitctl_report(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "-";
	_cleanup_free_ char *buf = NULL;
	json_object *doc = NULL;
	size_t len = 0, off = 0;
	int fd = 0, r;

	if (argc > 2 || (argc > 1 && argv[1][0] == '-' && argv[1][1])) {
		fprintf(stderr, "Usage: gaitctl report [FILE|-]\n");
		return EX_USAGE;
	}
	if (!streq(path, "-") && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "gaitctl: report: %s: %m\n", path);
		return EX_NOINPUT;
	}
	r = read_all(fd, &buf, &len);
	if (fd > 0)
		close(fd);
	if (r < 0) {
		fprintf(stderr, "gaitctl: report: %s: %s\n", path,
			r == -EFBIG ? "larger than 256 MiB" : strerror(-r));
		return r == -EFBIG ? EX_DATAERR : EX_IOERR;
	}
	r = gaitctl_report_find(buf, len, &doc, &off);
	if (r == -EBADMSG) {
		fprintf(stderr, "gaitctl: report: %s: not valid JSON at byte %zu\n", path, off);
		return EX_DATAERR;
	}
	if (r == -ENOENT) {
		fprintf(stderr, "gaitctl: report: %s: no finished session's summary in it (a "
			"document with a \"summary\" object, or an analyze summary line)\n", path);
		return EX_DATAERR;
	}
	if (r < 0) {
		fprintf(stderr, "gaitctl: report: %s: %s\n", path, strerror(-r));
		return 1;
	}
	r = gaitctl_print_report(stdout, doc);
	json_object_put(doc);
	return r < 0 ? 1 : 0;
}
