/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fitness Machine Service: Treadmill Data 0x2ACD (with the More Data merge),
 * Supported Speed Range 0x2AD4, Fitness Machine Status 0x2ADA.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

/* Treadmill Data flags (FTMS v1.0.1 section 4.9). Bit 0 is inverted. */
#define FTMS_TREADMILL_FLAG_MORE_DATA		(1u << 0)
#define FTMS_TREADMILL_FLAG_AVERAGE_SPEED	(1u << 1)
#define FTMS_TREADMILL_FLAG_TOTAL_DISTANCE	(1u << 2)
#define FTMS_TREADMILL_FLAG_INCLINATION		(1u << 3)
#define FTMS_TREADMILL_FLAG_ELEVATION_GAIN	(1u << 4)
#define FTMS_TREADMILL_FLAG_INSTANTANEOUS_PACE	(1u << 5)
#define FTMS_TREADMILL_FLAG_AVERAGE_PACE	(1u << 6)
#define FTMS_TREADMILL_FLAG_EXPENDED_ENERGY	(1u << 7)
#define FTMS_TREADMILL_FLAG_HEART_RATE		(1u << 8)
#define FTMS_TREADMILL_FLAG_METABOLIC_EQUIVALENT (1u << 9)
#define FTMS_TREADMILL_FLAG_ELAPSED_TIME	(1u << 10)
#define FTMS_TREADMILL_FLAG_REMAINING_TIME	(1u << 11)
#define FTMS_TREADMILL_FLAG_FORCE_AND_POWER	(1u << 12)
#define FTMS_TREADMILL_FLAG_RFU_MASK		0xe000u

/* Unknown trailing bytes kept verbatim: an ATT value is at most 512 bytes. */
#define FTMS_VENDOR_BYTES_MAX			512

/*
 * Pace (bits 5/6) has two published widths: uint8 0.1 km/min (SIG XML
 * 2017) and uint16 s (current GSS). The decoder picks the one whose total
 * length matches the payload; see docs/decoders.md.
 */
enum ftms_pace_width {
	FTMS_PACE_WIDTH_NONE,		/* no pace flag set */
	FTMS_PACE_WIDTH_UINT8,
	FTMS_PACE_WIDTH_UINT16,
	FTMS_PACE_WIDTH_UNKNOWN,	/* neither fits: pace and later fields undecoded */
	_FTMS_PACE_WIDTH_MAX,
	_FTMS_PACE_WIDTH_INVALID = -EINVAL,
};

struct ftms_treadmill_data {
	uint16_t flags;			/* of this part (OR of all parts when merged) */
	bool more_data;			/* bit 0 set: a later part follows */

	bool has_speed;
	double speed_kmh;		/* uint16, 0.01 km/h */
	bool has_average_speed;
	double average_speed_kmh;	/* uint16, 0.01 km/h */
	bool has_total_distance;
	uint32_t total_distance_m;	/* uint24 m */
	bool has_inclination;
	double inclination_pct;		/* sint16, 0.1 %; 0x7FFF = n/a */
	bool has_ramp_angle;
	double ramp_angle_deg;		/* sint16, 0.1 deg; 0x7FFF = n/a */
	bool has_elevation_gain;
	double positive_elevation_gain_m;	/* uint16, 0.1 m */
	double negative_elevation_gain_m;	/* uint16, 0.1 m */

	enum ftms_pace_width pace_width;
	bool has_instantaneous_pace;
	unsigned raw_instantaneous_pace;	/* low trust, units by pace_width */
	bool has_average_pace;
	unsigned raw_average_pace;

	bool has_total_energy;
	unsigned total_energy_kcal;	/* uint16; 0xFFFF = n/a */
	bool has_energy_per_hour;
	unsigned energy_per_hour_kcal;	/* uint16; 0xFFFF = n/a */
	bool has_energy_per_minute;
	unsigned energy_per_minute_kcal;	/* uint8; 0xFF = n/a */
	bool has_heart_rate;
	unsigned heart_rate_bpm;	/* uint8 */
	bool has_metabolic_equivalent;
	double metabolic_equivalent;	/* uint8, 0.1 */
	bool has_elapsed_time;
	unsigned elapsed_time_s;	/* uint16 s */
	bool has_remaining_time;
	unsigned remaining_time_s;	/* uint16 s */
	bool has_force_on_belt;
	int force_on_belt_n;		/* sint16 N; 0x7FFF = n/a */
	bool has_power_output;
	int power_output_w;		/* sint16 W; 0x7FFF = n/a */

	/*
	 * Bytes after the last flagged field (real walking pads append
	 * some), tolerated and reported; vendor_offset is where they began
	 * (in the last part when merged).
	 */
	size_t n_vendor_bytes;
	size_t vendor_offset;
	uint8_t vendor_bytes[FTMS_VENDOR_BYTES_MAX];

	unsigned parts;			/* notifications merged into this record */
};

/*
 * Decode one Treadmill Data notification (one part of a record when
 * more_data is set). Returns 0 and fills *ret, or -EBADMSG with *error
 * when a flagged field before any pace field is cut off. RFU flags and
 * trailing bytes are tolerated.
 */
int ftms_treadmill_data_parse(const uint8_t *buf, size_t len,
			      struct ftms_treadmill_data *ret,
			      struct proto_error *error);

/*
 * More Data accumulator (FTMS 4.19 / Appendix 1). Parts with bit 0 = 1 are
 * stored; the part with bit 0 = 0 completes the record. Fields of later
 * parts win over earlier ones. Fixed size, no allocation.
 */
struct ftms_treadmill_merge {
	struct ftms_treadmill_data acc;
	bool pending;			/* at least one bit0=1 part stored */
};

void ftms_treadmill_merge_init(struct ftms_treadmill_merge *m);

/*
 * Feed one decoded part. Returns 1 and fills *ret with the merged record
 * when part completes it (part->more_data false), 0 when the part was
 * stored for later. Never fails.
 */
int ftms_treadmill_merge_add(struct ftms_treadmill_merge *m,
			     const struct ftms_treadmill_data *part,
			     struct ftms_treadmill_data *ret);

/* Supported Speed Range 0x2AD4: three uint16, 0.01 km/h. */
struct ftms_speed_range {
	double minimum_speed_kmh;
	double maximum_speed_kmh;
	double minimum_increment_kmh;
	size_t trailing;
};

int ftms_speed_range_parse(const uint8_t *buf, size_t len,
			   struct ftms_speed_range *ret,
			   struct proto_error *error);

/* Fitness Machine Status op codes (FTMS v1.0.1 section 4.17). */
enum ftms_status_op {
	FTMS_STATUS_RESET = 0x01,
	FTMS_STATUS_STOPPED_OR_PAUSED = 0x02,	/* param 1 = stop, 2 = pause */
	FTMS_STATUS_STOPPED_BY_SAFETY_KEY = 0x03,
	FTMS_STATUS_STARTED_OR_RESUMED = 0x04,
	FTMS_STATUS_TARGET_SPEED_CHANGED = 0x05,
	FTMS_STATUS_TARGET_INCLINE_CHANGED = 0x06,
	FTMS_STATUS_TARGET_RESISTANCE_CHANGED = 0x07,
	FTMS_STATUS_TARGET_POWER_CHANGED = 0x08,
	FTMS_STATUS_TARGET_HEART_RATE_CHANGED = 0x09,
	FTMS_STATUS_TARGET_EXPENDED_ENERGY_CHANGED = 0x0a,
	FTMS_STATUS_TARGET_STEPS_CHANGED = 0x0b,
	FTMS_STATUS_TARGET_STRIDES_CHANGED = 0x0c,
	FTMS_STATUS_TARGET_DISTANCE_CHANGED = 0x0d,
	FTMS_STATUS_TARGET_TRAINING_TIME_CHANGED = 0x0e,
	FTMS_STATUS_TARGET_TIME_TWO_ZONES_CHANGED = 0x0f,
	FTMS_STATUS_TARGET_TIME_THREE_ZONES_CHANGED = 0x10,
	FTMS_STATUS_TARGET_TIME_FIVE_ZONES_CHANGED = 0x11,
	FTMS_STATUS_BIKE_SIMULATION_CHANGED = 0x12,
	FTMS_STATUS_WHEEL_CIRCUMFERENCE_CHANGED = 0x13,
	FTMS_STATUS_SPIN_DOWN_STATUS = 0x14,
	FTMS_STATUS_TARGET_CADENCE_CHANGED = 0x15,
	FTMS_STATUS_CONTROL_PERMISSION_LOST = 0xff,
};

#define FTMS_STATUS_PARAMS_MAX		5

/* One parameter of a status op: its JSON name and its scaled value. */
struct ftms_status_param {
	const char *name;		/* static, e.g. "target_speed_kmh" */
	int32_t raw;
	double value;			/* raw * scale */
};

struct ftms_status {
	uint8_t op_code;
	const char *event;		/* static snake_case name, NULL if unknown */
	bool known;
	size_t n_params;
	struct ftms_status_param params[FTMS_STATUS_PARAMS_MAX];
	size_t trailing;		/* bytes after the known params (or all, if unknown) */
};

/*
 * Decode a Fitness Machine Status notification. Unknown op codes (RFU) are
 * tolerated: known = false, their bytes counted in trailing. Returns
 * -EBADMSG when empty or when a known op's parameter is cut off.
 */
int ftms_status_parse(const uint8_t *buf, size_t len, struct ftms_status *ret,
		      struct proto_error *error);

const char *ftms_pace_width_to_string(enum ftms_pace_width w);
