/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cycling Power Measurement 0x2A63 decoder (running power pods: Stryd). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

/* Flags (CPS v1.1, SIG XML cycling_power_measurement). */
#define CPS_FLAG_PEDAL_POWER_BALANCE		(1u << 0)
#define CPS_FLAG_PEDAL_POWER_BALANCE_LEFT	(1u << 1)
#define CPS_FLAG_ACCUMULATED_TORQUE		(1u << 2)
#define CPS_FLAG_ACCUMULATED_TORQUE_CRANK	(1u << 3)
#define CPS_FLAG_WHEEL_REVOLUTIONS		(1u << 4)
#define CPS_FLAG_CRANK_REVOLUTIONS		(1u << 5)
#define CPS_FLAG_EXTREME_FORCE			(1u << 6)
#define CPS_FLAG_EXTREME_TORQUE			(1u << 7)
#define CPS_FLAG_EXTREME_ANGLES			(1u << 8)
#define CPS_FLAG_TOP_DEAD_SPOT			(1u << 9)
#define CPS_FLAG_BOTTOM_DEAD_SPOT		(1u << 10)
#define CPS_FLAG_ACCUMULATED_ENERGY		(1u << 11)
#define CPS_FLAG_OFFSET_COMPENSATION		(1u << 12)
#define CPS_FLAG_RFU_MASK			0xe000u

struct cps_measurement {
	uint16_t flags;
	int power_w;				/* sint16 W */

	bool has_pedal_power_balance;
	double pedal_power_balance_pct;		/* uint8, 1/2 % */
	bool pedal_power_balance_left;		/* reference: flag bit 1 */

	bool has_accumulated_torque;
	double accumulated_torque_nm;		/* uint16, 1/32 N*m */
	bool accumulated_torque_crank;		/* source: flag bit 3 */

	bool has_wheel_revolutions;
	uint32_t wheel_revolutions;
	double last_wheel_event_s;		/* uint16, 1/2048 s (not 1/1024) */

	bool has_crank_revolutions;
	unsigned crank_revolutions;		/* uint16 */
	double last_crank_event_s;		/* uint16, 1/1024 s */

	bool has_extreme_force;
	int max_force_n, min_force_n;		/* sint16 N */

	bool has_extreme_torque;
	double max_torque_nm, min_torque_nm;	/* sint16, 1/32 N*m */

	bool has_extreme_angles;
	unsigned max_angle_deg, min_angle_deg;	/* uint12 each, LE in 3 bytes */

	bool has_top_dead_spot;
	unsigned top_dead_spot_angle_deg;
	bool has_bottom_dead_spot;
	unsigned bottom_dead_spot_angle_deg;

	bool has_accumulated_energy;
	unsigned accumulated_energy_kj;

	bool offset_compensation;		/* flag bit 12, no field */

	/* Wire integers of the scaled fields, for cross-checks. */
	uint8_t raw_pedal_power_balance;
	uint16_t raw_accumulated_torque;
	uint16_t raw_last_wheel_event;
	uint16_t raw_last_crank_event;
	int16_t raw_max_torque, raw_min_torque;

	size_t trailing;
};

/*
 * Decode one Cycling Power Measurement. Returns 0 and fills *ret, or
 * -EBADMSG with *error naming the first field the flags promise that does
 * not fit. RFU flags and trailing bytes are tolerated.
 */
int cps_measurement_parse(const uint8_t *buf, size_t len,
			  struct cps_measurement *ret, struct proto_error *error);
