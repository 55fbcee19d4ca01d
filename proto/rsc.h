/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Running Speed and Cadence: RSC Measurement 0x2A53 and RSC Feature 0x2A54. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

/* RSC Measurement flags (RSCS v1.0, SIG XML rsc_measurement). */
#define RSC_FLAG_STRIDE_LENGTH		(1u << 0)
#define RSC_FLAG_TOTAL_DISTANCE		(1u << 1)
#define RSC_FLAG_RUNNING		(1u << 2)
#define RSC_FLAG_RFU_MASK		0xf8u

/* RSC Feature bits (SIG XML rsc_feature). */
#define RSC_FEATURE_STRIDE_LENGTH	(1u << 0)
#define RSC_FEATURE_TOTAL_DISTANCE	(1u << 1)
#define RSC_FEATURE_WALKING_RUNNING	(1u << 2)
#define RSC_FEATURE_CALIBRATION		(1u << 3)
#define RSC_FEATURE_MULTIPLE_LOCATIONS	(1u << 4)

struct rsc_measurement {
	uint8_t flags;			/* as sent, RFU bits included */
	double speed_mps;		/* wire: uint16, 1/256 m/s */
	unsigned cadence_per_min;	/* wire: uint8; steps or strides, see docs */
	bool running;			/* flags bit 2 */
	bool has_stride_length;
	double stride_length_m;		/* wire: uint16, 1/100 m */
	bool has_total_distance;
	double total_distance_m;	/* wire: uint32, 1/10 m */

	/* The wire integers, for cross-checks (tshark) and raw logging. */
	uint16_t raw_speed;
	uint16_t raw_stride_length;
	uint32_t raw_total_distance;

	size_t trailing;		/* tolerated bytes after the last field */
};

struct rsc_feature {
	uint16_t features;		/* RSC_FEATURE_* bits, RFU bits kept */
};

/*
 * Decode one RSC Measurement value of len bytes. Returns 0 and fills *ret
 * (written once, on success), or -EBADMSG when a field the flags promise is
 * cut off; then *error (if not NULL) says which field and at which byte.
 * RFU flag bits and trailing bytes are tolerated (reported in flags and
 * trailing). No allocation; never reads past buf[len - 1].
 */
int rsc_measurement_parse(const uint8_t *buf, size_t len,
			  struct rsc_measurement *ret, struct proto_error *error);

/* Decode RSC Feature (uint16). Same contract as rsc_measurement_parse(). */
int rsc_feature_parse(const uint8_t *buf, size_t len, struct rsc_feature *ret,
		      struct proto_error *error);
