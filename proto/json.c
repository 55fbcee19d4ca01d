// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * json-c encoders for the decoded payloads. An optional field the sender
 * did not include (or marked "not available") is written as null, never 0.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>

#include <json.h>

#include "proto/battery.h"
#include "proto/cps.h"
#include "proto/ftms.h"
#include "proto/hrm.h"
#include "proto/json.h"
#include "proto/pmd.h"
#include "proto/rsc.h"

/*
 * A small builder: adding stops at the first allocation failure and
 * finish() reports it, so the encoders below stay one line per field.
 */
struct builder {
	struct json_object *o;
	bool oom;
};

static void builder_init(struct builder *b, struct json_object *o)
{
	b->o = o;
	b->oom = !o;
}

static void add(struct builder *b, const char *key, struct json_object *v)
{
	if (b->oom || !v) {
		b->oom = true;
		json_object_put(v);
		return;
	}

	if (json_object_is_type(b->o, json_type_array)) {
		if (json_object_array_add(b->o, v) < 0) {
			json_object_put(v);
			b->oom = true;
		}
		return;
	}

	if (json_object_object_add(b->o, key, v) < 0) {
		json_object_put(v);
		b->oom = true;
	}
}

static void add_null(struct builder *b, const char *key)
{
	int q;

	if (b->oom)
		return;

	/* json-c writes a NULL value as JSON null. */
	if (json_object_is_type(b->o, json_type_array))
		q = json_object_array_add(b->o, NULL);
	else
		q = json_object_object_add(b->o, key, NULL);
	if (q < 0)
		b->oom = true;
}

/* A number with `digits` significant digits; NaN and infinities as null. */
static void add_number(struct builder *b, const char *key, double v, int digits)
{
	char s[32];

	if (!isfinite(v)) {
		add_null(b, key);
		return;
	}

	/* Shortest honest text: 0.86, not 0.85999999999999999. */
	snprintf(s, sizeof(s), "%.*g", digits, v);
	add(b, key, json_object_new_double_s(v, s));
}

static void add_double(struct builder *b, const char *key, double v)
{
	add_number(b, key, v, 15);
}

static void add_opt_double(struct builder *b, const char *key, bool has, double v)
{
	if (has)
		add_double(b, key, v);
	else
		add_null(b, key);
}

static void add_int(struct builder *b, const char *key, int64_t v)
{
	add(b, key, json_object_new_int64(v));
}

static void add_opt_int(struct builder *b, const char *key, bool has, int64_t v)
{
	if (has)
		add_int(b, key, v);
	else
		add_null(b, key);
}

static void add_bool(struct builder *b, const char *key, bool v)
{
	add(b, key, json_object_new_boolean(v));
}

static void add_string(struct builder *b, const char *key, const char *s)
{
	if (s)
		add(b, key, json_object_new_string(s));
	else
		add_null(b, key);
}

static void add_hex(struct builder *b, const char *key, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char s[2 * 512 + 1];

	if (n > 512)
		n = 512;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 0xf];
	}
	s[2 * n] = '\0';
	add(b, key, json_object_new_string(s));
}

static int finish(struct builder *b, struct json_object **ret)
{
	if (b->oom) {
		json_object_put(b->o);
		return -ENOMEM;
	}

	*ret = b->o;
	return 0;
}

int rsc_measurement_to_json(const struct rsc_measurement *m, unsigned flags,
			    struct json_object **ret)
{
	struct builder b;

	builder_init(&b, json_object_new_object());
	add_double(&b, "speed_mps", m->speed_mps);
	add_int(&b, "cadence_per_min", m->cadence_per_min);
	add_opt_double(&b, "stride_length_m", m->has_stride_length, m->stride_length_m);
	add_opt_double(&b, "total_distance_m", m->has_total_distance, m->total_distance_m);
	add_bool(&b, "running", m->running);
	if (flags & PROTO_JSON_RAW) {
		add_int(&b, "flags", m->flags);
		add_int(&b, "raw_speed", m->raw_speed);
		add_opt_int(&b, "raw_stride_length", m->has_stride_length,
			    m->raw_stride_length);
		add_opt_int(&b, "raw_total_distance", m->has_total_distance,
			    m->raw_total_distance);
		add_int(&b, "trailing_bytes", (int64_t)m->trailing);
	}
	return finish(&b, ret);
}

int rsc_feature_to_json(const struct rsc_feature *f, unsigned flags,
			struct json_object **ret)
{
	struct builder b;

	builder_init(&b, json_object_new_object());
	add_int(&b, "features", f->features);
	add_bool(&b, "stride_length_supported", f->features & RSC_FEATURE_STRIDE_LENGTH);
	add_bool(&b, "total_distance_supported", f->features & RSC_FEATURE_TOTAL_DISTANCE);
	add_bool(&b, "walking_running_supported",
		 f->features & RSC_FEATURE_WALKING_RUNNING);
	add_bool(&b, "calibration_supported", f->features & RSC_FEATURE_CALIBRATION);
	add_bool(&b, "multiple_sensor_locations_supported",
		 f->features & RSC_FEATURE_MULTIPLE_LOCATIONS);
	return finish(&b, ret);
}

int hrm_measurement_to_json(const struct hrm_measurement *m, unsigned flags,
			    struct json_object **ret)
{
	struct builder b, rr, raw;

	builder_init(&b, json_object_new_object());
	add_int(&b, "heart_rate_bpm", m->heart_rate_bpm);
	add_string(&b, "sensor_contact", hrm_contact_to_string(m->contact));
	add_opt_int(&b, "energy_expended_kj", m->has_energy_expended,
		    m->energy_expended_kj);
	if (m->has_rr) {
		builder_init(&rr, json_object_new_array());
		for (size_t i = 0; i < m->n_rr; i++)
			add_number(&rr, NULL, m->rr_ms[i], 15);
		if (rr.oom) {
			json_object_put(rr.o);
			b.oom = true;
		} else {
			add(&b, "rr_ms", rr.o);
		}
	} else {
		add_null(&b, "rr_ms");
	}

	if (flags & PROTO_JSON_RAW) {
		add_int(&b, "flags", m->flags);
		if (m->has_rr) {
			builder_init(&raw, json_object_new_array());
			for (size_t i = 0; i < m->n_rr; i++)
				add(&raw, NULL, json_object_new_int(m->raw_rr[i]));
			if (raw.oom) {
				json_object_put(raw.o);
				b.oom = true;
			} else {
				add(&b, "raw_rr", raw.o);
			}
		} else {
			add_null(&b, "raw_rr");
		}
		add_int(&b, "trailing_bytes", (int64_t)m->trailing);
	}
	return finish(&b, ret);
}

int cps_measurement_to_json(const struct cps_measurement *m, unsigned flags,
			    struct json_object **ret)
{
	struct builder b;

	builder_init(&b, json_object_new_object());
	add_int(&b, "power_w", m->power_w);
	add_opt_double(&b, "pedal_power_balance_pct", m->has_pedal_power_balance,
		       m->pedal_power_balance_pct);
	if (m->has_pedal_power_balance)
		add_string(&b, "pedal_power_balance_reference",
			   m->pedal_power_balance_left ? "left" : "unknown");
	add_opt_double(&b, "accumulated_torque_nm", m->has_accumulated_torque,
		       m->accumulated_torque_nm);
	if (m->has_accumulated_torque)
		add_string(&b, "accumulated_torque_source",
			   m->accumulated_torque_crank ? "crank" : "wheel");
	add_opt_int(&b, "wheel_revolutions", m->has_wheel_revolutions,
		    m->wheel_revolutions);
	add_opt_double(&b, "last_wheel_event_s", m->has_wheel_revolutions,
		       m->last_wheel_event_s);
	add_opt_int(&b, "crank_revolutions", m->has_crank_revolutions,
		    m->crank_revolutions);
	add_opt_double(&b, "last_crank_event_s", m->has_crank_revolutions,
		       m->last_crank_event_s);
	add_opt_int(&b, "max_force_n", m->has_extreme_force, m->max_force_n);
	add_opt_int(&b, "min_force_n", m->has_extreme_force, m->min_force_n);
	add_opt_double(&b, "max_torque_nm", m->has_extreme_torque, m->max_torque_nm);
	add_opt_double(&b, "min_torque_nm", m->has_extreme_torque, m->min_torque_nm);
	add_opt_int(&b, "max_angle_deg", m->has_extreme_angles, m->max_angle_deg);
	add_opt_int(&b, "min_angle_deg", m->has_extreme_angles, m->min_angle_deg);
	add_opt_int(&b, "top_dead_spot_angle_deg", m->has_top_dead_spot,
		    m->top_dead_spot_angle_deg);
	add_opt_int(&b, "bottom_dead_spot_angle_deg", m->has_bottom_dead_spot,
		    m->bottom_dead_spot_angle_deg);
	add_opt_int(&b, "accumulated_energy_kj", m->has_accumulated_energy,
		    m->accumulated_energy_kj);
	add_bool(&b, "offset_compensation", m->offset_compensation);
	if (flags & PROTO_JSON_RAW) {
		add_int(&b, "flags", m->flags);
		add_opt_int(&b, "raw_pedal_power_balance", m->has_pedal_power_balance,
			    m->raw_pedal_power_balance);
		add_opt_int(&b, "raw_accumulated_torque", m->has_accumulated_torque,
			    m->raw_accumulated_torque);
		add_opt_int(&b, "raw_last_wheel_event", m->has_wheel_revolutions,
			    m->raw_last_wheel_event);
		add_opt_int(&b, "raw_last_crank_event", m->has_crank_revolutions,
			    m->raw_last_crank_event);
		add_opt_int(&b, "raw_max_torque", m->has_extreme_torque, m->raw_max_torque);
		add_opt_int(&b, "raw_min_torque", m->has_extreme_torque, m->raw_min_torque);
		add_int(&b, "trailing_bytes", (int64_t)m->trailing);
	}
	return finish(&b, ret);
}

int ftms_treadmill_data_to_json(const struct ftms_treadmill_data *d,
				unsigned flags, struct json_object **ret)
{
	bool pace = d->pace_width != FTMS_PACE_WIDTH_NONE;
	struct builder b;

	builder_init(&b, json_object_new_object());
	add_bool(&b, "more_data", d->more_data);
	add_opt_double(&b, "speed_kmh", d->has_speed, d->speed_kmh);
	add_opt_double(&b, "average_speed_kmh", d->has_average_speed,
		       d->average_speed_kmh);
	add_opt_int(&b, "total_distance_m", d->has_total_distance, d->total_distance_m);
	add_opt_double(&b, "inclination_pct", d->has_inclination, d->inclination_pct);
	add_opt_double(&b, "ramp_angle_deg", d->has_ramp_angle, d->ramp_angle_deg);
	add_opt_double(&b, "positive_elevation_gain_m", d->has_elevation_gain,
		       d->positive_elevation_gain_m);
	add_opt_double(&b, "negative_elevation_gain_m", d->has_elevation_gain,
		       d->negative_elevation_gain_m);
	if (pace) {
		/* Low trust: width disputed, unit depends on it (docs). */
		add_string(&b, "pace_width", ftms_pace_width_to_string(d->pace_width));
		add_opt_int(&b, "instantaneous_pace_raw", d->has_instantaneous_pace,
			    d->raw_instantaneous_pace);
		add_opt_int(&b, "average_pace_raw", d->has_average_pace,
			    d->raw_average_pace);
	}
	add_opt_int(&b, "total_energy_kcal", d->has_total_energy, d->total_energy_kcal);
	add_opt_int(&b, "energy_per_hour_kcal", d->has_energy_per_hour,
		    d->energy_per_hour_kcal);
	add_opt_int(&b, "energy_per_minute_kcal", d->has_energy_per_minute,
		    d->energy_per_minute_kcal);
	add_opt_int(&b, "heart_rate_bpm", d->has_heart_rate, d->heart_rate_bpm);
	add_opt_double(&b, "metabolic_equivalent", d->has_metabolic_equivalent,
		       d->metabolic_equivalent);
	add_opt_int(&b, "elapsed_time_s", d->has_elapsed_time, d->elapsed_time_s);
	add_opt_int(&b, "remaining_time_s", d->has_remaining_time, d->remaining_time_s);
	add_opt_int(&b, "force_on_belt_n", d->has_force_on_belt, d->force_on_belt_n);
	add_opt_int(&b, "power_output_w", d->has_power_output, d->power_output_w);
	add_int(&b, "rfu_flags", d->flags & FTMS_TREADMILL_FLAG_RFU_MASK);
	if (d->n_vendor_bytes)
		add_hex(&b, "vendor_bytes", d->vendor_bytes, d->n_vendor_bytes);
	else
		add_null(&b, "vendor_bytes");
	if (d->parts > 1)
		add_int(&b, "parts", d->parts);
	if (flags & PROTO_JSON_RAW) {
		add_int(&b, "flags", d->flags);
		add_int(&b, "vendor_offset", (int64_t)d->vendor_offset);
	}
	return finish(&b, ret);
}

int ftms_speed_range_to_json(const struct ftms_speed_range *r, unsigned flags,
			     struct json_object **ret)
{
	struct builder b;

	builder_init(&b, json_object_new_object());
	add_double(&b, "minimum_speed_kmh", r->minimum_speed_kmh);
	add_double(&b, "maximum_speed_kmh", r->maximum_speed_kmh);
	add_double(&b, "minimum_increment_kmh", r->minimum_increment_kmh);
	if (flags & PROTO_JSON_RAW)
		add_int(&b, "trailing_bytes", (int64_t)r->trailing);
	return finish(&b, ret);
}

int ftms_status_to_json(const struct ftms_status *s, unsigned flags,
			struct json_object **ret)
{
	struct builder b;

	builder_init(&b, json_object_new_object());
	add_int(&b, "op_code", s->op_code);
	add_string(&b, "event", s->event);
	for (size_t i = 0; i < s->n_params; i++)
		add_double(&b, s->params[i].name, s->params[i].value);
	if (flags & PROTO_JSON_RAW || !s->known)
		add_int(&b, "trailing_bytes", (int64_t)s->trailing);
	return finish(&b, ret);
}

static void add_values(struct builder *b, const char *key,
		       const struct pmd_setting_values *v)
{
	struct builder a;

	builder_init(&a, json_object_new_array());
	for (unsigned i = 0; i < v->count && i < PMD_SETTING_VALUES_MAX; i++)
		add(&a, NULL, json_object_new_int64(v->values[i]));
	if (a.oom) {
		json_object_put(a.o);
		b->oom = true;
		return;
	}
	add(b, key, a.o);
}

int pmd_settings_to_json(const struct pmd_settings *s, unsigned flags,
			 struct json_object **ret)
{
	static const struct {
		enum pmd_setting_type type;
		size_t offset;
	} lists[] = {
		{ PMD_SETTING_SAMPLE_RATE, offsetof(struct pmd_settings, sample_rate_hz) },
		{ PMD_SETTING_RESOLUTION, offsetof(struct pmd_settings, resolution_bits) },
		{ PMD_SETTING_RANGE, offsetof(struct pmd_settings, range) },
		{ PMD_SETTING_RANGE_MILLIUNIT, offsetof(struct pmd_settings, range_milliunit) },
		{ PMD_SETTING_CHANNELS, offsetof(struct pmd_settings, channels) },
	};
	struct builder b;

	builder_init(&b, json_object_new_object());
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		const struct pmd_setting_values *v = (const void *)
			((const char *)s + lists[i].offset);

		if (s->present & (1u << lists[i].type))
			add_values(&b, pmd_setting_type_to_string(lists[i].type), v);
	}
	if (s->present & (1u << PMD_SETTING_FACTOR)) {
		add_number(&b, "factor", s->factor, 9);
	}
	if (s->present & (1u << PMD_SETTING_SECURITY))
		add_hex(&b, "security", s->security, PMD_SECURITY_LEN);
	return finish(&b, ret);
}

int pmd_cp_response_to_json(const struct pmd_cp_response *r, unsigned flags,
			    struct json_object **ret)
{
	struct pmd_settings settings;
	struct json_object *o = NULL;
	struct builder b;

	builder_init(&b, json_object_new_object());
	if (r->stopped_by_device) {
		struct builder a;

		add_string(&b, "response", "stopped-by-device");
		builder_init(&a, json_object_new_array());
		for (size_t i = 0; i < r->n_params; i++) {
			const char *name = pmd_measurement_type_to_string(r->params[i]);

			add(&a, NULL, name ? json_object_new_string(name) :
				json_object_new_int(r->params[i]));
		}
		if (a.oom) {
			json_object_put(a.o);
			b.oom = true;
		} else {
			add(&b, "measurement_types", a.o);
		}
		return finish(&b, ret);
	}

	add_string(&b, "response", "control-point");
	add_int(&b, "op_code", r->op_code);
	add_string(&b, "op", pmd_op_to_string(r->op_code));
	add_int(&b, "measurement_type", r->measurement_type & PMD_MEASUREMENT_TYPE_MASK);
	add_string(&b, "measurement",
		   pmd_measurement_type_to_string(r->measurement_type &
						  PMD_MEASUREMENT_TYPE_MASK));
	add_int(&b, "status", r->status);
	add_string(&b, "status_name", pmd_status_to_string(r->status));
	add_bool(&b, "more", r->more);
	add_hex(&b, "parameters", r->params, r->n_params);

	/* Settings-shaped answers: get-settings lists, start may carry FACTOR. */
	if ((r->op_code == PMD_OP_GET_SETTINGS || r->op_code == PMD_OP_START ||
	     r->op_code == PMD_OP_GET_SDK_MODE_SETTINGS) &&
	    r->status == PMD_STATUS_SUCCESS && !r->more && r->n_params > 0 &&
	    pmd_settings_parse(r->params, r->n_params, &settings, NULL) == 0) {
		if (pmd_settings_to_json(&settings, flags, &o) < 0)
			b.oom = true;
		else
			add(&b, "settings", o);
	}
	return finish(&b, ret);
}

int pmd_data_frame_to_json(const struct pmd_data_frame *f, unsigned flags,
			   struct json_object **ret)
{
	static const char *const axis[] = { "x", "y", "z", "w" };
	struct builder b, a;

	builder_init(&b, json_object_new_object());
	add_int(&b, "measurement_type", f->measurement_type);
	add_string(&b, "measurement", pmd_measurement_type_to_string(f->measurement_type));
	add(&b, "timestamp_ns", json_object_new_uint64(f->timestamp_ns));
	add_int(&b, "frame_type", f->frame_type);
	add_bool(&b, "compressed", f->compressed);
	add_string(&b, "unit", f->unit);
	add_int(&b, "n_samples", (int64_t)f->n_samples);

	builder_init(&a, json_object_new_array());
	for (size_t i = 0; i < f->n_samples && !a.oom; i++) {
		struct builder s;

		builder_init(&s, json_object_new_object());
		if (f->channels == 1 && f->measurement_type == PMD_MEASUREMENT_ECG) {
			add_number(&s, "ecg_uv", f->samples[i].value[0], 7);
		} else {
			for (unsigned ch = 0; ch < f->channels && ch < PMD_CHANNELS_MAX; ch++)
				add_number(&s, axis[ch], f->samples[i].value[ch], 7);
		}
		add(&s, "timestamp_ns", json_object_new_uint64(f->samples[i].timestamp_ns));
		if (flags & PROTO_JSON_RAW) {
			struct builder rv;

			builder_init(&rv, json_object_new_array());
			for (unsigned ch = 0; ch < f->channels && ch < PMD_CHANNELS_MAX; ch++)
				add(&rv, NULL, json_object_new_int(f->samples[i].raw[ch]));
			if (rv.oom) {
				json_object_put(rv.o);
				s.oom = true;
			} else {
				add(&s, "raw", rv.o);
			}
		}
		if (s.oom) {
			json_object_put(s.o);
			a.oom = true;
		} else {
			add(&a, NULL, s.o);
		}
	}
	if (a.oom) {
		json_object_put(a.o);
		b.oom = true;
	} else {
		add(&b, "samples", a.o);
	}
	return finish(&b, ret);
}

int battery_level_to_json(const struct battery_level *bl, unsigned flags,
			  struct json_object **ret)
{
	struct builder b;

	builder_init(&b, json_object_new_object());
	add_int(&b, "battery_level_pct", bl->battery_level_pct);
	return finish(&b, ret);
}
