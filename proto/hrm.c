// SPDX-License-Identifier: GPL-2.0-or-later
/* Heart Rate Measurement 0x2A37 decoder (HRS v1.0). */
#include "proto/hrm.h"
#include "proto/reader.h"

static const char *const hrm_contact_names[_HRM_CONTACT_MAX] = {
	[HRM_CONTACT_UNSUPPORTED] = "unsupported",
	[HRM_CONTACT_NOT_DETECTED] = "not-detected",
	[HRM_CONTACT_DETECTED] = "detected",
};

const char *hrm_contact_to_string(enum hrm_contact c)
{
	if (c < 0 || c >= _HRM_CONTACT_MAX)
		return NULL;

	return hrm_contact_names[c];
}

int hrm_measurement_parse(const uint8_t *buf, size_t len,
			  struct hrm_measurement *ret, struct proto_error *error)
{
	struct hrm_measurement m = {};
	struct reader r;

	reader_init(&r, buf, len);
	if (reader_u8(&r, &m.flags) < 0)
		return proto_truncated(error, r.pos, "flags");

	if (m.flags & HRM_FLAG_HR_UINT16) {
		uint16_t hr;

		if (reader_le16(&r, &hr) < 0)
			return proto_truncated(error, r.pos, "heart rate (uint16)");
		m.heart_rate_bpm = hr;
	} else {
		uint8_t hr;

		if (reader_u8(&r, &hr) < 0)
			return proto_truncated(error, r.pos, "heart rate");
		m.heart_rate_bpm = hr;
	}

	/* Bit 2 = contact feature supported, bit 1 = contact detected. */
	if (!(m.flags & HRM_FLAG_CONTACT_SUPPORTED))
		m.contact = HRM_CONTACT_UNSUPPORTED;
	else if (m.flags & HRM_FLAG_CONTACT_DETECTED)
		m.contact = HRM_CONTACT_DETECTED;
	else
		m.contact = HRM_CONTACT_NOT_DETECTED;

	if (m.flags & HRM_FLAG_ENERGY_EXPENDED) {
		uint16_t energy;

		if (reader_le16(&r, &energy) < 0)
			return proto_truncated(error, r.pos, "energy expended");
		m.has_energy_expended = true;
		m.energy_expended_kj = energy;
	}

	if (m.flags & HRM_FLAG_RR_INTERVALS) {
		/*
		 * The intervals fill the rest of the value: n = remaining / 2.
		 * An odd byte left over is malformed (Wireshark agrees).
		 */
		if (reader_remaining(&r) % 2)
			return proto_fail(error, -EBADMSG, r.len - 1,
					  "RR interval", "odd trailing byte");

		if (reader_remaining(&r) / 2 > HRM_RR_MAX)
			return proto_fail(error, -EBADMSG,
					  r.pos + 2 * HRM_RR_MAX, "RR interval",
					  "more intervals than an ATT value holds");

		m.has_rr = true;
		while (reader_remaining(&r) > 0) {
			uint16_t rr;

			if (reader_le16(&r, &rr) < 0)
				return proto_truncated(error, r.pos, "RR interval");
			m.raw_rr[m.n_rr] = rr;
			m.rr_ms[m.n_rr] = rr * 1000.0 / 1024.0;
			m.n_rr++;
		}
	}

	m.trailing = reader_remaining(&r);
	*ret = m;
	return 0;
}
