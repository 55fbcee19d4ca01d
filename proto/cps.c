// SPDX-License-Identifier: GPL-2.0-or-later
/* Cycling Power Measurement 0x2A63 decoder (CPS v1.1), as Stryd sends it. */
#include "proto/cps.h"
#include "proto/reader.h"

int cps_measurement_parse(const uint8_t *buf, size_t len,
			  struct cps_measurement *ret, struct proto_error *error)
{
	struct cps_measurement m = {};
	struct reader r;
	int16_t power;

	reader_init(&r, buf, len);
	if (reader_le16(&r, &m.flags) < 0)
		return proto_truncated(error, r.pos, "flags");

	if (reader_sle16(&r, &power) < 0)
		return proto_truncated(error, r.pos, "instantaneous power");
	m.power_w = power;

	/* Optional fields follow in flag-bit order: 0, 2, 4, 5, 6, 7, 8-11. */
	if (m.flags & CPS_FLAG_PEDAL_POWER_BALANCE) {
		if (reader_u8(&r, &m.raw_pedal_power_balance) < 0)
			return proto_truncated(error, r.pos, "pedal power balance");
		m.has_pedal_power_balance = true;
		m.pedal_power_balance_pct = m.raw_pedal_power_balance / 2.0;
		m.pedal_power_balance_left = m.flags & CPS_FLAG_PEDAL_POWER_BALANCE_LEFT;
	}

	if (m.flags & CPS_FLAG_ACCUMULATED_TORQUE) {
		if (reader_le16(&r, &m.raw_accumulated_torque) < 0)
			return proto_truncated(error, r.pos, "accumulated torque");
		m.has_accumulated_torque = true;
		m.accumulated_torque_nm = m.raw_accumulated_torque / 32.0;
		m.accumulated_torque_crank = m.flags & CPS_FLAG_ACCUMULATED_TORQUE_CRANK;
	}

	if (m.flags & CPS_FLAG_WHEEL_REVOLUTIONS) {
		size_t at = r.pos;

		if (reader_le32(&r, &m.wheel_revolutions) < 0 ||
		    reader_le16(&r, &m.raw_last_wheel_event) < 0)
			return proto_truncated(error, at, "wheel revolution data");
		m.has_wheel_revolutions = true;
		/* CPS wheel event time is 1/2048 s, unlike CSC's 1/1024 s. */
		m.last_wheel_event_s = m.raw_last_wheel_event / 2048.0;
	}

	if (m.flags & CPS_FLAG_CRANK_REVOLUTIONS) {
		size_t at = r.pos;
		uint16_t revs;

		if (reader_le16(&r, &revs) < 0 ||
		    reader_le16(&r, &m.raw_last_crank_event) < 0)
			return proto_truncated(error, at, "crank revolution data");
		m.has_crank_revolutions = true;
		m.crank_revolutions = revs;
		m.last_crank_event_s = m.raw_last_crank_event / 1024.0;
	}

	if (m.flags & CPS_FLAG_EXTREME_FORCE) {
		size_t at = r.pos;
		int16_t max, min;

		if (reader_sle16(&r, &max) < 0 || reader_sle16(&r, &min) < 0)
			return proto_truncated(error, at, "extreme force magnitudes");
		m.has_extreme_force = true;
		m.max_force_n = max;
		m.min_force_n = min;
	}

	if (m.flags & CPS_FLAG_EXTREME_TORQUE) {
		size_t at = r.pos;

		if (reader_sle16(&r, &m.raw_max_torque) < 0 ||
		    reader_sle16(&r, &m.raw_min_torque) < 0)
			return proto_truncated(error, at, "extreme torque magnitudes");
		m.has_extreme_torque = true;
		m.max_torque_nm = m.raw_max_torque / 32.0;
		m.min_torque_nm = m.raw_min_torque / 32.0;
	}

	if (m.flags & CPS_FLAG_EXTREME_ANGLES) {
		uint32_t angles;

		/* Two uint12 in one LE uint24: maximum low, minimum high. */
		if (reader_le24(&r, &angles) < 0)
			return proto_truncated(error, r.pos, "extreme angles");
		m.has_extreme_angles = true;
		m.max_angle_deg = angles & 0xfffu;
		m.min_angle_deg = angles >> 12;
	}

	if (m.flags & CPS_FLAG_TOP_DEAD_SPOT) {
		uint16_t v;

		if (reader_le16(&r, &v) < 0)
			return proto_truncated(error, r.pos, "top dead spot angle");
		m.has_top_dead_spot = true;
		m.top_dead_spot_angle_deg = v;
	}

	if (m.flags & CPS_FLAG_BOTTOM_DEAD_SPOT) {
		uint16_t v;

		if (reader_le16(&r, &v) < 0)
			return proto_truncated(error, r.pos, "bottom dead spot angle");
		m.has_bottom_dead_spot = true;
		m.bottom_dead_spot_angle_deg = v;
	}

	if (m.flags & CPS_FLAG_ACCUMULATED_ENERGY) {
		uint16_t v;

		if (reader_le16(&r, &v) < 0)
			return proto_truncated(error, r.pos, "accumulated energy");
		m.has_accumulated_energy = true;
		m.accumulated_energy_kj = v;
	}

	m.offset_compensation = m.flags & CPS_FLAG_OFFSET_COMPENSATION;
	m.trailing = reader_remaining(&r);
	*ret = m;
	return 0;
}
