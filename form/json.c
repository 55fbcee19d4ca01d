// SPDX-License-Identifier: GPL-2.0-or-later
/* form JSON: events, summaries, digests, baselines and history reports via json-c. */
#include <json.h>
#include <math.h>
#include <stdio.h>

#include "common/macro.h"
#include "form/form.h"

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

/* A number with a fixed number of decimals; NAN/inf become null. */
const char *form_format_fixed(char *buf, size_t size, double v, int decimals)
{
	snprintf(buf, size, "%.*f", decimals, v);
	/* "-0.000" reads badly */
	if (buf[0] == '-' && strspn(buf + 1, "0.") == strlen(buf + 1))
		snprintf(buf, size, "%.*f", decimals, 0.0);
	return buf;
}

static int add_num(struct json_object *o, const char *key, double v, int decimals)
{
	struct json_object *n;
	char buf[64];

	if (!isfinite(v))
		return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;

	n = json_object_new_double_s(v, form_format_fixed(buf, sizeof(buf), v, decimals));
	if (!n)
		return -ENOMEM;
	if (json_object_object_add(o, key, n) < 0) {
		json_object_put(n);
		return -ENOMEM;
	}
	return 0;
}

static int add_obj(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_str(struct json_object *o, const char *key, const char *s)
{
	if (!s)
		return json_object_object_add(o, key, NULL) < 0 ? -ENOMEM : 0;
	return add_obj(o, key, json_object_new_string(s));
}

/* "mount": the IMU's, "mixed" (two in one session), null when unknown */
static int add_digest_mount(struct json_object *o, uint8_t mount)
{
	return add_str(o, "mount", mount == FORM_DIGEST_MOUNT_MIXED ? "mixed" :
		       mount < _FORM_MOUNT_MAX ? form_mount_to_string(mount) : NULL);
}

static int add_int(struct json_object *o, const char *key, int64_t v)
{
	return add_obj(o, key, json_object_new_int64(v));
}

static int add_bool(struct json_object *o, const char *key, bool v)
{
	return add_obj(o, key, json_object_new_boolean(v));
}

static double rel_s(uint64_t t, uint64_t t0)
{
	return ((double)t - (double)t0) / 1e6;
}

int form_metric_decimals(enum form_metric m)
{
	switch (m) {
	case FORM_METRIC_STEP_LENGTH:
	case FORM_METRIC_BRAKING:
	case FORM_METRIC_IMPACT:
	case FORM_METRIC_SPEED:
		return 3;
	case FORM_METRIC_PAIN:
		return 0;
	default:
		return 1;
	}
}

int form_metric_add_json(struct json_object *o, const char *key, enum form_metric m, double v)
{
	return add_num(o, key, v, form_metric_decimals(m));
}

static int contact_to_json(struct json_object *o, const struct form_contact *c, uint64_t t0)
{
	int r = 0;

	r |= add_num(o, "ic_s", rel_s(c->ic_usec, t0), 4);
	r |= add_num(o, "to_s", c->has_to ? rel_s(c->to_usec, t0) : NAN, 4);
	r |= add_str(o, "side", form_side_to_string(c->side));
	r |= add_num(o, "gct_ms", c->gct_ms, 1);
	r |= add_num(o, "flight_ms", c->flight_ms, 1);
	r |= add_num(o, "step_time_ms", c->step_time_ms, 1);
	r |= add_num(o, "vertical_oscillation_mm", c->vertical_oscillation_mm, 1);
	r |= add_num(o, "peak_vertical_g", c->peak_vertical_g, 3);
	r |= add_num(o, "braking_mps", c->braking_mps, 3);
	r |= add_num(o, "trunk_lean_deg", c->trunk_lean_deg, 1);
	r |= add_num(o, "pelvic_tilt_deg", c->pelvic_tilt_deg, 1);
	r |= add_num(o, "pelvic_drop_deg", c->pelvic_drop_deg, 1);
	r |= add_num(o, "lateral_sway_pct", c->lateral_sway_pct, 1);
	return r ? -ENOMEM : 0;
}

static int metrics_to_json(struct json_object *o, const struct form_metrics *mt)
{
	struct json_object *q = json_object_new_object();
	int r = 0;

	if (!q)
		return -ENOMEM;
	r |= add_str(o, "activity", form_activity_to_string(mt->activity));
	r |= add_int(o, "window_steps", mt->window_steps);
	r |= add_int(o, "total_steps", (int64_t)mt->total_steps);
	r |= add_int(o, "session_steps", (int64_t)mt->session_steps);
	r |= add_num(o, "session_distance_m", mt->session_distance_m, 1);
	for (unsigned m = 0; m < _FORM_METRIC_MAX; m++) {
		r |= form_metric_add_json(o, form_metric_to_string(m), m, mt->m[m].value);
		r |= add_str(q, form_metric_to_string(m), form_quality_to_string(mt->m[m].quality));
	}
	r |= add_obj(o, "quality", q);
	return r ? -ENOMEM : 0;
}

static int alert_to_json(struct json_object *o, const struct form_alert *a, uint64_t t0,
			 bool cleared)
{
	int r = 0;

	r |= add_int(o, "id", a->id);
	r |= add_str(o, "kind", form_alert_kind_to_string(a->kind));
	r |= add_str(o, "severity", form_severity_to_string(a->severity));
	r |= add_str(o, "metric", form_metric_to_string(a->metric));
	r |= form_metric_add_json(o, "value", a->metric, a->value);
	r |= form_metric_add_json(o, "threshold", a->metric, a->threshold);
	r |= add_num(o, "start_s", rel_s(a->start_usec, t0), 3);
	if (cleared)
		r |= add_num(o, "end_s", rel_s(a->end_usec, t0), 3);
	r |= add_str(o, "cue", a->cue);
	return r ? -ENOMEM : 0;
}

static struct json_object *advice_array(const bool *advice)
{
	struct json_object *arr = json_object_new_array();

	if (!arr)
		return NULL;
	for (unsigned a = 0; a < _FORM_ADVICE_MAX; a++) {
		struct json_object *it;

		if (!advice[a])
			continue;
		it = json_object_new_object();
		if (!it || add_str(it, "id", form_advice_to_string(a)) < 0 ||
		    add_str(it, "text", form_advice_text(a)) < 0 ||
		    json_object_array_add(arr, it) < 0) {
			json_object_put(it);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

int form_summary_to_json(const struct form_summary *s, uint64_t t0_usec, struct json_object **ret)
{
	_cleanup_(json_putp) struct json_object *o = json_object_new_object();
	struct json_object *metrics, *alerts, *drift;
	int r = 0;

	if (!o)
		return -ENOMEM;
	r |= add_str(o, "event", "summary");
	r |= add_num(o, "start_s", rel_s(s->start_usec, t0_usec), 3);
	r |= add_num(o, "end_s", rel_s(s->end_usec, t0_usec), 3);
	r |= add_num(o, "duration_s", s->duration_s, 1);
	r |= add_num(o, "running_s", s->running_s, 1);
	r |= add_num(o, "walking_s", s->walking_s, 1);
	r |= add_num(o, "standing_s", s->standing_s, 1);
	r |= add_num(o, "distance_m", s->distance_m, 1);
	r |= add_int(o, "steps", (int64_t)s->steps);
	r |= add_int(o, "steps_estimated", (int64_t)s->steps_estimated);
	r |= add_int(o, "imu_holes", (int64_t)s->imu_holes);
	r |= add_num(o, "imu_lost_s", s->imu_lost_s, 1);
	r |= add_int(o, "sensor_slips", (int64_t)s->sensor_slips);
	r |= add_bool(o, "baseline_learned", s->baseline_learned);

	metrics = json_object_new_object();
	r |= add_obj(o, "metrics", metrics);
	for (unsigned m = 0; metrics && m < _FORM_METRIC_MAX; m++) {
		const struct form_metric_stats *st = &s->stats[m];
		struct json_object *x = json_object_new_object();
		int d = form_metric_decimals(m);

		r |= add_obj(metrics, form_metric_to_string(m), x);
		if (!x)
			break;
		r |= add_int(x, "n", st->n);
		r |= add_num(x, "median", st->median, d);
		r |= add_num(x, "p10", st->p10, d);
		r |= add_num(x, "p90", st->p90, d);
		if (st->band_s[0] + st->band_s[1] + st->band_s[2] > 0) {
			r |= add_num(x, "below_s", st->band_s[0], 0);
			r |= add_num(x, "within_s", st->band_s[1], 0);
			r |= add_num(x, "above_s", st->band_s[2], 0);
		}
	}

	alerts = json_object_new_object();
	r |= add_obj(o, "alerts", alerts);
	for (unsigned k = 0; alerts && k < _FORM_ALERT_KIND_MAX; k++) {
		struct json_object *x = json_object_new_object();

		r |= add_obj(alerts, form_alert_kind_to_string(k), x);
		if (!x)
			break;
		r |= add_int(x, "count", s->alert_count[k]);
		r |= add_num(x, "duration_s", s->alert_s[k], 0);
	}

	drift = json_object_new_object();
	r |= add_obj(o, "drift", drift);
	for (unsigned m = 0; drift && m < _FORM_METRIC_MAX; m++)
		if (!isnan(s->drift[m]))
			r |= form_metric_add_json(drift, form_metric_to_string(m), m, s->drift[m]);

	r |= add_obj(o, "advice", advice_array(s->advice));
	r |= add_num(o, "impact_load", s->digest.impact_load, 1);
	r |= add_digest_mount(o, s->digest.mount);
	if (s->baseline_learned) {
		struct json_object *b = NULL;

		r |= form_baseline_to_json(&s->baseline, &b) < 0;
		r |= add_obj(o, "baseline", b);
	} else {
		r |= json_object_object_add(o, "baseline", NULL) < 0;
	}
	{
		struct json_object *pain = json_object_new_array();

		r |= add_obj(o, "pain", pain);
		for (unsigned i = 0; pain && i < s->digest.n_pain && i < FORM_DIGEST_MAX_PAIN; i++) {
			const struct form_pain_report *p = &s->digest.pain[i];
			struct json_object *x = json_object_new_object();

			if (!x || json_object_array_add(pain, x) < 0) {
				json_object_put(x);
				return -ENOMEM;
			}
			r |= add_int(x, "t_s", p->t_s);
			r |= add_int(x, "level", p->level);
			r |= add_str(x, "where", form_pain_site_to_string(p->site));
		}
	}
	if (r)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int form_event_to_json(const struct form_event *ev, uint64_t t0_usec, struct json_object **ret)
{
	_cleanup_(json_putp) struct json_object *o = NULL;
	int r = 0;

	if (!ev || !ret)
		return -EINVAL;
	if (ev->type == FORM_EVENT_SUMMARY)
		return form_summary_to_json(ev->summary, t0_usec, ret);

	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	r |= add_str(o, "event", form_event_type_to_string(ev->type));

	switch (ev->type) {
	case FORM_EVENT_CONTACT:
		r |= contact_to_json(o, &ev->contact, t0_usec);
		break;
	case FORM_EVENT_METRICS:
		r |= add_num(o, "t_s", rel_s(ev->t_usec, t0_usec), 3);
		r |= metrics_to_json(o, &ev->metrics);
		break;
	case FORM_EVENT_ALERT:
	case FORM_EVENT_CLEARED:
		r |= add_num(o, "t_s", rel_s(ev->t_usec, t0_usec), 3);
		r |= alert_to_json(o, &ev->alert, t0_usec, ev->type == FORM_EVENT_CLEARED);
		break;
	case FORM_EVENT_ACTIVITY:
		r |= add_num(o, "t_s", rel_s(ev->t_usec, t0_usec), 3);
		r |= add_str(o, "from", form_activity_to_string(ev->activity.from));
		r |= add_str(o, "activity", form_activity_to_string(ev->activity.to));
		break;
	case FORM_EVENT_SESSION_STARTED:
	case FORM_EVENT_SESSION_ENDED:
		r |= add_num(o, "t_s", rel_s(ev->t_usec, t0_usec), 3);
		r |= add_num(o, "start_s", rel_s(ev->session.start_usec, t0_usec), 3);
		r |= add_bool(o, "automatic", ev->session.automatic);
		break;
	case FORM_EVENT_SUMMARY:
	case _FORM_EVENT_TYPE_MAX:
	case _FORM_EVENT_TYPE_INVALID:
		return -EINVAL;
	}
	if (r)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int form_digest_to_json(const struct form_digest *d, struct json_object **ret)
{
	_cleanup_(json_putp) struct json_object *o = json_object_new_object();
	struct json_object *med, *al, *pain;
	int r = 0;

	if (!o)
		return -ENOMEM;
	r |= add_int(o, "start_epoch_s", (int64_t)d->start_epoch_s);
	r |= add_int(o, "duration_s", d->duration_s);
	r |= add_int(o, "running_s", d->running_s);
	r |= add_int(o, "steps", d->steps);
	r |= add_digest_mount(o, d->mount);
	r |= add_num(o, "distance_m", d->distance_m, 1);
	r |= add_num(o, "impact_load", d->impact_load, 1);
	med = json_object_new_object();
	r |= add_obj(o, "medians", med);
	for (unsigned m = 0; med && m < _FORM_METRIC_MAX; m++)
		r |= form_metric_add_json(med, form_metric_to_string(m), m, d->median[m]);
	al = json_object_new_object();
	r |= add_obj(o, "alerts", al);
	for (unsigned k = 0; al && k < _FORM_ALERT_KIND_MAX; k++)
		r |= add_int(al, form_alert_kind_to_string(k), d->alert_count[k]);
	pain = json_object_new_array();
	r |= add_obj(o, "pain", pain);
	for (unsigned i = 0; pain && i < d->n_pain && i < FORM_DIGEST_MAX_PAIN; i++) {
		struct json_object *x = json_object_new_object();

		if (!x || json_object_array_add(pain, x) < 0) {
			json_object_put(x);
			return -ENOMEM;
		}
		r |= add_int(x, "t_s", d->pain[i].t_s);
		r |= add_int(x, "level", d->pain[i].level);
		r |= add_str(x, "where", form_pain_site_to_string(d->pain[i].site));
		r |= add_bool(x, "after", d->pain[i].after);
	}
	if (r)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int form_baseline_to_json(const struct form_baseline *b, struct json_object **ret)
{
	_cleanup_(json_putp) struct json_object *o = json_object_new_object();
	int r = 0;

	if (!o)
		return -ENOMEM;
	r |= add_str(o, "mount", form_mount_to_string(b->mount));
	r |= add_int(o, "steps", b->steps);
	r |= add_num(o, "speed_mps", b->speed_mps, 3);
	r |= add_num(o, "cadence_spm", b->cadence_spm, 1);
	r |= add_num(o, "gct_ms", b->gct_ms, 1);
	r |= add_num(o, "gct_balance_pct", b->gct_balance_pct, 1);
	r |= add_num(o, "vertical_oscillation_mm", b->vertical_oscillation_mm, 1);
	r |= add_num(o, "trunk_lean_deg", b->trunk_lean_deg, 1);
	r |= add_num(o, "pelvic_drop_deg", b->pelvic_drop_deg, 1);
	r |= add_num(o, "lateral_sway_pct", b->lateral_sway_pct, 1);
	r |= add_num(o, "braking_mps", b->braking_mps, 3);
	r |= add_num(o, "impact_g", b->impact_g, 3);
	r |= add_num(o, "heart_rate_bpm", b->heart_rate_bpm, 0);
	r |= add_num(o, "incline_pct", b->incline_pct, 1);
	if (r)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

int form_history_report_to_json(const struct form_history_report *h, struct json_object **ret)
{
	_cleanup_(json_putp) struct json_object *o = json_object_new_object();
	struct json_object *ptrs;
	int r = 0;

	if (!o)
		return -ENOMEM;
	r |= add_int(o, "sessions", h->sessions);
	r |= add_num(o, "load_7d_min", h->load_7d_min, 1);
	r |= add_num(o, "history_days", h->history_days, 1);
	r |= add_num(o, "load_28d_weekly_min", h->load_28d_weekly_min, 1);
	r |= add_num(o, "acute_chronic_ratio", h->acute_chronic_ratio, 2);
	r |= add_num(o, "impact_load_7d", h->impact_load_7d, 1);
	r |= add_int(o, "pain_sessions_last5", h->pain_sessions_last5);
	r |= add_int(o, "max_pain_last5", h->max_pain_last5);
	r |= add_str(o, "main_pain_site", form_pain_site_to_string(h->main_pain_site));
	ptrs = json_object_new_array();
	r |= add_obj(o, "pain_pointers", ptrs);
	for (unsigned i = 0; ptrs && i < h->n_pointers && i < FORM_HISTORY_MAX_POINTERS; i++) {
		const struct form_pain_pointer *p = &h->pointers[i];
		struct json_object *x = json_object_new_object();

		if (!x || json_object_array_add(ptrs, x) < 0) {
			json_object_put(x);
			return -ENOMEM;
		}
		r |= add_str(x, "metric", form_metric_to_string(p->metric));
		r |= add_str(x, "direction", p->direction > 0 ? "higher" : "lower");
		r |= form_metric_add_json(x, "painful_median", p->metric, p->painful_median);
		r |= form_metric_add_json(x, "painfree_median", p->metric, p->painfree_median);
	}
	r |= add_str(o, "pointer_text", h->pointer_text[0] ? h->pointer_text : NULL);
	r |= add_obj(o, "advice", advice_array(h->advice));
	if (r)
		return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}
