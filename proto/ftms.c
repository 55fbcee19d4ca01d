// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * FTMS v1.0.1 decoders: Treadmill Data 0x2ACD (4.9) with the More Data
 * merge (4.19, Appendix 1), Supported Speed Range 0x2AD4 (4.13) and
 * Fitness Machine Status 0x2ADA (4.17).
 */
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "common/macro.h"
#include "proto/ftms.h"
#include "proto/reader.h"

/* "Not available" markers of FTMS 4.9 */
#define FTMS_SINT16_NA		0x7fff
#define FTMS_UINT16_NA		0xffffu
#define FTMS_UINT8_NA		0xffu

static const char *const ftms_pace_width_names[_FTMS_PACE_WIDTH_MAX] = {
	[FTMS_PACE_WIDTH_NONE] = "none",
	[FTMS_PACE_WIDTH_UINT8] = "uint8",
	[FTMS_PACE_WIDTH_UINT16] = "uint16",
	[FTMS_PACE_WIDTH_UNKNOWN] = "unknown",
};

const char *ftms_pace_width_to_string(enum ftms_pace_width w)
{
	if (w < 0 || w >= _FTMS_PACE_WIDTH_MAX)
		return NULL;

	return ftms_pace_width_names[w];
}

/* Bytes the flagged fields occupy with a pace field of pace_len bytes. */
static size_t treadmill_expected_len(uint16_t flags, size_t pace_len)
{
	size_t n = 2;

	if (!(flags & FTMS_TREADMILL_FLAG_MORE_DATA))
		n += 2;
	if (flags & FTMS_TREADMILL_FLAG_AVERAGE_SPEED)
		n += 2;
	if (flags & FTMS_TREADMILL_FLAG_TOTAL_DISTANCE)
		n += 3;
	if (flags & FTMS_TREADMILL_FLAG_INCLINATION)
		n += 4;
	if (flags & FTMS_TREADMILL_FLAG_ELEVATION_GAIN)
		n += 4;
	if (flags & FTMS_TREADMILL_FLAG_INSTANTANEOUS_PACE)
		n += pace_len;
	if (flags & FTMS_TREADMILL_FLAG_AVERAGE_PACE)
		n += pace_len;
	if (flags & FTMS_TREADMILL_FLAG_EXPENDED_ENERGY)
		n += 5;
	if (flags & FTMS_TREADMILL_FLAG_HEART_RATE)
		n += 1;
	if (flags & FTMS_TREADMILL_FLAG_METABOLIC_EQUIVALENT)
		n += 1;
	if (flags & FTMS_TREADMILL_FLAG_ELAPSED_TIME)
		n += 2;
	if (flags & FTMS_TREADMILL_FLAG_REMAINING_TIME)
		n += 2;
	if (flags & FTMS_TREADMILL_FLAG_FORCE_AND_POWER)
		n += 4;
	return n;
}

static int read_pace(struct reader *r, enum ftms_pace_width w, unsigned *ret)
{
	if (w == FTMS_PACE_WIDTH_UINT16) {
		uint16_t v;

		if (reader_le16(r, &v) < 0)
			return -EBADMSG;
		*ret = v;
	} else {
		uint8_t v;

		if (reader_u8(r, &v) < 0)
			return -EBADMSG;
		*ret = v;
	}
	return 0;
}

/* Fields after the pace fields; d->pace_width is known (or NONE). */
static int treadmill_parse_tail(struct reader *r, struct ftms_treadmill_data *d,
				struct proto_error *error)
{
	if (d->flags & FTMS_TREADMILL_FLAG_INSTANTANEOUS_PACE) {
		if (read_pace(r, d->pace_width, &d->raw_instantaneous_pace) < 0)
			return proto_truncated(error, r->pos, "instantaneous pace");
		d->has_instantaneous_pace = true;
	}

	if (d->flags & FTMS_TREADMILL_FLAG_AVERAGE_PACE) {
		if (read_pace(r, d->pace_width, &d->raw_average_pace) < 0)
			return proto_truncated(error, r->pos, "average pace");
		d->has_average_pace = true;
	}

	if (d->flags & FTMS_TREADMILL_FLAG_EXPENDED_ENERGY) {
		size_t at = r->pos;
		uint16_t total, per_hour;
		uint8_t per_minute;

		if (reader_le16(r, &total) < 0 || reader_le16(r, &per_hour) < 0 ||
		    reader_u8(r, &per_minute) < 0)
			return proto_truncated(error, at, "expended energy");
		d->has_total_energy = total != FTMS_UINT16_NA;
		d->total_energy_kcal = total;
		d->has_energy_per_hour = per_hour != FTMS_UINT16_NA;
		d->energy_per_hour_kcal = per_hour;
		d->has_energy_per_minute = per_minute != FTMS_UINT8_NA;
		d->energy_per_minute_kcal = per_minute;
	}

	if (d->flags & FTMS_TREADMILL_FLAG_HEART_RATE) {
		uint8_t v;

		if (reader_u8(r, &v) < 0)
			return proto_truncated(error, r->pos, "heart rate");
		d->has_heart_rate = true;
		d->heart_rate_bpm = v;
	}

	if (d->flags & FTMS_TREADMILL_FLAG_METABOLIC_EQUIVALENT) {
		uint8_t v;

		if (reader_u8(r, &v) < 0)
			return proto_truncated(error, r->pos, "metabolic equivalent");
		d->has_metabolic_equivalent = true;
		d->metabolic_equivalent = v / 10.0;
	}

	if (d->flags & FTMS_TREADMILL_FLAG_ELAPSED_TIME) {
		uint16_t v;

		if (reader_le16(r, &v) < 0)
			return proto_truncated(error, r->pos, "elapsed time");
		d->has_elapsed_time = true;
		d->elapsed_time_s = v;
	}

	if (d->flags & FTMS_TREADMILL_FLAG_REMAINING_TIME) {
		uint16_t v;

		if (reader_le16(r, &v) < 0)
			return proto_truncated(error, r->pos, "remaining time");
		d->has_remaining_time = true;
		d->remaining_time_s = v;
	}

	if (d->flags & FTMS_TREADMILL_FLAG_FORCE_AND_POWER) {
		size_t at = r->pos;
		int16_t force, power;

		if (reader_sle16(r, &force) < 0 || reader_sle16(r, &power) < 0)
			return proto_truncated(error, at, "force on belt and power output");
		d->has_force_on_belt = force != FTMS_SINT16_NA;
		d->force_on_belt_n = force;
		d->has_power_output = power != FTMS_SINT16_NA;
		d->power_output_w = power;
	}

	return 0;
}

int ftms_treadmill_data_parse(const uint8_t *buf, size_t len,
			      struct ftms_treadmill_data *ret,
			      struct proto_error *error)
{
	struct ftms_treadmill_data d = {};
	struct reader r;
	int q;

	reader_init(&r, buf, len);
	if (reader_le16(&r, &d.flags) < 0)
		return proto_truncated(error, r.pos, "flags");

	d.more_data = d.flags & FTMS_TREADMILL_FLAG_MORE_DATA;
	d.parts = 1;

	/* Inverted: Instantaneous Speed is present when bit 0 is clear. */
	if (!d.more_data) {
		uint16_t v;

		if (reader_le16(&r, &v) < 0)
			return proto_truncated(error, r.pos, "instantaneous speed");
		d.has_speed = true;
		d.speed_kmh = v / 100.0;
	}

	if (d.flags & FTMS_TREADMILL_FLAG_AVERAGE_SPEED) {
		uint16_t v;

		if (reader_le16(&r, &v) < 0)
			return proto_truncated(error, r.pos, "average speed");
		d.has_average_speed = true;
		d.average_speed_kmh = v / 100.0;
	}

	if (d.flags & FTMS_TREADMILL_FLAG_TOTAL_DISTANCE) {
		if (reader_le24(&r, &d.total_distance_m) < 0)
			return proto_truncated(error, r.pos, "total distance");
		d.has_total_distance = true;
	}

	if (d.flags & FTMS_TREADMILL_FLAG_INCLINATION) {
		size_t at = r.pos;
		int16_t incl, ramp;

		if (reader_sle16(&r, &incl) < 0 || reader_sle16(&r, &ramp) < 0)
			return proto_truncated(error, at, "inclination and ramp angle");
		d.has_inclination = incl != FTMS_SINT16_NA;
		d.inclination_pct = incl / 10.0;
		d.has_ramp_angle = ramp != FTMS_SINT16_NA;
		d.ramp_angle_deg = ramp / 10.0;
	}

	if (d.flags & FTMS_TREADMILL_FLAG_ELEVATION_GAIN) {
		size_t at = r.pos;
		uint16_t pos, neg;

		if (reader_le16(&r, &pos) < 0 || reader_le16(&r, &neg) < 0)
			return proto_truncated(error, at, "elevation gain");
		d.has_elevation_gain = true;
		d.positive_elevation_gain_m = pos / 10.0;
		d.negative_elevation_gain_m = neg / 10.0;
	}

	/*
	 * Pace width is disputed (uint8 in the 2017 XML, uint16 in the GSS):
	 * choose the one under which the payload length is exact. If neither
	 * is, keep what came before pace and report the rest as undecoded.
	 */
	if (d.flags & (FTMS_TREADMILL_FLAG_INSTANTANEOUS_PACE |
		       FTMS_TREADMILL_FLAG_AVERAGE_PACE)) {
		if (len == treadmill_expected_len(d.flags, 2))
			d.pace_width = FTMS_PACE_WIDTH_UINT16;
		else if (len == treadmill_expected_len(d.flags, 1))
			d.pace_width = FTMS_PACE_WIDTH_UINT8;
		else
			d.pace_width = FTMS_PACE_WIDTH_UNKNOWN;
	}

	if (d.pace_width != FTMS_PACE_WIDTH_UNKNOWN) {
		q = treadmill_parse_tail(&r, &d, error);
		if (q < 0)
			return q;
	}

	/* Whatever is left: vendor bytes, kept verbatim. */
	d.vendor_offset = r.pos;
	d.n_vendor_bytes = reader_remaining(&r);
	if (d.n_vendor_bytes > FTMS_VENDOR_BYTES_MAX)
		return proto_fail(error, -EBADMSG, r.pos + FTMS_VENDOR_BYTES_MAX,
				  "vendor bytes", "longer than an ATT value");
	if (d.n_vendor_bytes)
		memcpy(d.vendor_bytes, r.buf + r.pos, d.n_vendor_bytes);

	*ret = d;
	return 0;
}

void ftms_treadmill_merge_init(struct ftms_treadmill_merge *m)
{
	*m = (struct ftms_treadmill_merge) {};
}

/* Copy a field group from src when src carries it (later parts win). */
#define MERGE1(dst, src, has, field)				\
	do {							\
		if ((src)->has) {				\
			(dst)->has = true;			\
			(dst)->field = (src)->field;		\
		}						\
	} while (0)

#define MERGE2(dst, src, has, f1, f2)				\
	do {							\
		if ((src)->has) {				\
			(dst)->has = true;			\
			(dst)->f1 = (src)->f1;			\
			(dst)->f2 = (src)->f2;			\
		}						\
	} while (0)

int ftms_treadmill_merge_add(struct ftms_treadmill_merge *m,
			     const struct ftms_treadmill_data *part,
			     struct ftms_treadmill_data *ret)
{
	struct ftms_treadmill_data *a = &m->acc;
	size_t room;

	if (!m->pending) {
		/* Nothing stored: this part is the whole record so far. */
		*a = *part;
	} else {
		a->flags |= part->flags;
		MERGE1(a, part, has_speed, speed_kmh);
		MERGE1(a, part, has_average_speed, average_speed_kmh);
		MERGE1(a, part, has_total_distance, total_distance_m);
		MERGE1(a, part, has_inclination, inclination_pct);
		MERGE1(a, part, has_ramp_angle, ramp_angle_deg);
		MERGE2(a, part, has_elevation_gain, positive_elevation_gain_m,
		       negative_elevation_gain_m);
		MERGE1(a, part, has_instantaneous_pace, raw_instantaneous_pace);
		MERGE1(a, part, has_average_pace, raw_average_pace);
		MERGE1(a, part, has_total_energy, total_energy_kcal);
		MERGE1(a, part, has_energy_per_hour, energy_per_hour_kcal);
		MERGE1(a, part, has_energy_per_minute, energy_per_minute_kcal);
		MERGE1(a, part, has_heart_rate, heart_rate_bpm);
		MERGE1(a, part, has_metabolic_equivalent, metabolic_equivalent);
		/* FTMS 4.1/4.18: Elapsed Time from whichever part carries it. */
		MERGE1(a, part, has_elapsed_time, elapsed_time_s);
		MERGE1(a, part, has_remaining_time, remaining_time_s);
		MERGE1(a, part, has_force_on_belt, force_on_belt_n);
		MERGE1(a, part, has_power_output, power_output_w);
		if (part->pace_width != FTMS_PACE_WIDTH_NONE)
			a->pace_width = part->pace_width;

		/* Vendor bytes of all parts, in order, up to the cap. */
		room = FTMS_VENDOR_BYTES_MAX - a->n_vendor_bytes;
		if (part->n_vendor_bytes) {
			size_t n = part->n_vendor_bytes < room ?
				   part->n_vendor_bytes : room;

			memcpy(a->vendor_bytes + a->n_vendor_bytes,
			       part->vendor_bytes, n);
			a->n_vendor_bytes += n;
			a->vendor_offset = part->vendor_offset;
		}
		a->more_data = part->more_data;
		if (a->parts < UINT_MAX)
			a->parts++;
	}

	if (part->more_data) {
		m->pending = true;
		return 0;
	}

	*ret = *a;
	m->pending = false;
	return 1;
}

/* Fitness Machine Status parameter layouts (FTMS 4.17, Table 4.24). */
enum status_field_type {
	STATUS_U8,
	STATUS_U16,
	STATUS_S16,
	STATUS_U24,
};

struct status_field {
	const char *name;
	enum status_field_type type;
	double scale;
};

struct status_op {
	uint8_t op_code;
	const char *event;
	unsigned n;
	struct status_field fields[FTMS_STATUS_PARAMS_MAX];
};

static const struct status_op status_ops[] = {
	{ 0x01, "reset", 0, {} },
	{ 0x02, "stopped_or_paused_by_user", 1,
	  { { "control", STATUS_U8, 1 } } },	/* 1 = stop, 2 = pause */
	{ 0x03, "stopped_by_safety_key", 0, {} },
	{ 0x04, "started_or_resumed_by_user", 0, {} },
	{ 0x05, "target_speed_changed", 1,
	  { { "target_speed_kmh", STATUS_U16, 0.01 } } },
	{ 0x06, "target_incline_changed", 1,
	  { { "target_inclination_pct", STATUS_S16, 0.1 } } },
	{ 0x07, "target_resistance_level_changed", 1,
	  { { "target_resistance_level", STATUS_U8, 0.1 } } },
	{ 0x08, "target_power_changed", 1,
	  { { "target_power_w", STATUS_S16, 1 } } },
	{ 0x09, "target_heart_rate_changed", 1,
	  { { "target_heart_rate_bpm", STATUS_U8, 1 } } },
	{ 0x0a, "targeted_expended_energy_changed", 1,
	  { { "targeted_expended_energy_cal", STATUS_U16, 1 } } },
	{ 0x0b, "targeted_number_of_steps_changed", 1,
	  { { "targeted_steps", STATUS_U16, 1 } } },
	{ 0x0c, "targeted_number_of_strides_changed", 1,
	  { { "targeted_strides", STATUS_U16, 1 } } },
	{ 0x0d, "targeted_distance_changed", 1,
	  { { "targeted_distance_m", STATUS_U24, 1 } } },
	{ 0x0e, "targeted_training_time_changed", 1,
	  { { "targeted_training_time_s", STATUS_U16, 1 } } },
	{ 0x0f, "targeted_time_in_two_heart_rate_zones_changed", 2,
	  { { "fat_burn_zone_s", STATUS_U16, 1 },
	    { "fitness_zone_s", STATUS_U16, 1 } } },
	{ 0x10, "targeted_time_in_three_heart_rate_zones_changed", 3,
	  { { "light_zone_s", STATUS_U16, 1 },
	    { "moderate_zone_s", STATUS_U16, 1 },
	    { "hard_zone_s", STATUS_U16, 1 } } },
	{ 0x11, "targeted_time_in_five_heart_rate_zones_changed", 5,
	  { { "very_light_zone_s", STATUS_U16, 1 },
	    { "light_zone_s", STATUS_U16, 1 },
	    { "moderate_zone_s", STATUS_U16, 1 },
	    { "hard_zone_s", STATUS_U16, 1 },
	    { "maximum_zone_s", STATUS_U16, 1 } } },
	{ 0x12, "indoor_bike_simulation_parameters_changed", 4,
	  { { "wind_speed_mps", STATUS_S16, 0.001 },
	    { "grade_pct", STATUS_S16, 0.01 },
	    { "rolling_resistance_coefficient", STATUS_U8, 0.0001 },
	    { "wind_resistance_coefficient", STATUS_U8, 0.01 } } },
	{ 0x13, "wheel_circumference_changed", 1,
	  { { "wheel_circumference_mm", STATUS_U16, 0.1 } } },
	{ 0x14, "spin_down_status", 1,
	  { { "spin_down_status", STATUS_U8, 1 } } },
	{ 0x15, "targeted_cadence_changed", 1,
	  { { "targeted_cadence_per_min", STATUS_U16, 0.5 } } },
	{ 0xff, "control_permission_lost", 0, {} },
};

static int status_read(struct reader *r, enum status_field_type t, int32_t *ret)
{
	switch (t) {
	case STATUS_U8: {
		uint8_t v;

		if (reader_u8(r, &v) < 0)
			return -EBADMSG;
		*ret = v;
		return 0;
	}
	case STATUS_U16: {
		uint16_t v;

		if (reader_le16(r, &v) < 0)
			return -EBADMSG;
		*ret = v;
		return 0;
	}
	case STATUS_S16: {
		int16_t v;

		if (reader_sle16(r, &v) < 0)
			return -EBADMSG;
		*ret = v;
		return 0;
	}
	case STATUS_U24: {
		uint32_t v;

		if (reader_le24(r, &v) < 0)
			return -EBADMSG;
		*ret = (int32_t)v;
		return 0;
	}
	}
	return -EBADMSG;
}

int ftms_status_parse(const uint8_t *buf, size_t len, struct ftms_status *ret,
		      struct proto_error *error)
{
	struct ftms_status s = {};
	const struct status_op *op = NULL;
	struct reader r;

	reader_init(&r, buf, len);
	if (reader_u8(&r, &s.op_code) < 0)
		return proto_truncated(error, r.pos, "op code");

	for (size_t i = 0; i < ELEMENTSOF(status_ops); i++)
		if (status_ops[i].op_code == s.op_code)
			op = &status_ops[i];

	if (op) {
		s.known = true;
		s.event = op->event;
		for (unsigned i = 0; i < op->n; i++) {
			struct ftms_status_param *p = &s.params[i];

			if (status_read(&r, op->fields[i].type, &p->raw) < 0)
				return proto_truncated(error, r.pos, op->fields[i].name);
			p->name = op->fields[i].name;
			p->value = p->raw * op->fields[i].scale;
		}
		s.n_params = op->n;
	}

	s.trailing = reader_remaining(&r);
	*ret = s;
	return 0;
}

int ftms_speed_range_parse(const uint8_t *buf, size_t len,
			   struct ftms_speed_range *ret,
			   struct proto_error *error)
{
	uint16_t min, max, inc;
	struct reader r;

	reader_init(&r, buf, len);
	if (reader_le16(&r, &min) < 0)
		return proto_truncated(error, r.pos, "minimum speed");
	if (reader_le16(&r, &max) < 0)
		return proto_truncated(error, r.pos, "maximum speed");
	if (reader_le16(&r, &inc) < 0)
		return proto_truncated(error, r.pos, "minimum increment");

	*ret = (struct ftms_speed_range) {
		.minimum_speed_kmh = min / 100.0,
		.maximum_speed_kmh = max / 100.0,
		.minimum_increment_kmh = inc / 100.0,
		.trailing = reader_remaining(&r),
	};
	return 0;
}
