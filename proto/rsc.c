// SPDX-License-Identifier: GPL-2.0-or-later
/* RSC Measurement 0x2A53 and RSC Feature 0x2A54 decoders (RSCS v1.0). */
#include "proto/reader.h"
#include "proto/rsc.h"

int rsc_measurement_parse(const uint8_t *buf, size_t len,
			  struct rsc_measurement *ret, struct proto_error *error)
{
	struct rsc_measurement m = {};
	struct reader r;
	uint8_t cadence;

	reader_init(&r, buf, len);
	if (reader_u8(&r, &m.flags) < 0)
		return proto_truncated(error, r.pos, "flags");

	/* Speed and cadence are mandatory; the flags gate the rest. */
	if (reader_le16(&r, &m.raw_speed) < 0)
		return proto_truncated(error, r.pos, "instantaneous speed");

	if (reader_u8(&r, &cadence) < 0)
		return proto_truncated(error, r.pos, "instantaneous cadence");

	if (m.flags & RSC_FLAG_STRIDE_LENGTH) {
		if (reader_le16(&r, &m.raw_stride_length) < 0)
			return proto_truncated(error, r.pos, "stride length");

		m.has_stride_length = true;
		m.stride_length_m = m.raw_stride_length / 100.0;
	}

	if (m.flags & RSC_FLAG_TOTAL_DISTANCE) {
		if (reader_le32(&r, &m.raw_total_distance) < 0)
			return proto_truncated(error, r.pos, "total distance");

		m.has_total_distance = true;
		m.total_distance_m = m.raw_total_distance / 10.0;
	}

	m.speed_mps = m.raw_speed / 256.0;
	m.cadence_per_min = cadence;
	m.running = m.flags & RSC_FLAG_RUNNING;
	m.trailing = reader_remaining(&r);
	*ret = m;
	return 0;
}

int rsc_feature_parse(const uint8_t *buf, size_t len, struct rsc_feature *ret,
		      struct proto_error *error)
{
	struct reader r;
	uint16_t features;

	reader_init(&r, buf, len);
	if (reader_le16(&r, &features) < 0)
		return proto_truncated(error, r.pos, "RSC feature");

	*ret = (struct rsc_feature) { .features = features };
	return 0;
}
