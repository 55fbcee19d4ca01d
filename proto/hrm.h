/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Heart Rate Measurement 0x2A37 decoder. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

/* Flags (HRS v1.0, SIG XML heart_rate_measurement). */
#define HRM_FLAG_HR_UINT16		(1u << 0)
#define HRM_FLAG_CONTACT_DETECTED	(1u << 1)
#define HRM_FLAG_CONTACT_SUPPORTED	(1u << 2)
#define HRM_FLAG_ENERGY_EXPENDED	(1u << 3)
#define HRM_FLAG_RR_INTERVALS		(1u << 4)
#define HRM_FLAG_RFU_MASK		0xe0u

/*
 * An ATT value holds at most 512 bytes, so at most 255 RR intervals
 * (flags + 8-bit rate + 255 * 2 bytes). Longer input is rejected.
 */
#define HRM_RR_MAX			255

enum hrm_contact {
	HRM_CONTACT_UNSUPPORTED,	/* bits 1-2 = 0 or 1 */
	HRM_CONTACT_NOT_DETECTED,	/* bits 1-2 = 2 */
	HRM_CONTACT_DETECTED,		/* bits 1-2 = 3 */
	_HRM_CONTACT_MAX,
	_HRM_CONTACT_INVALID = -EINVAL,
};

struct hrm_measurement {
	uint8_t flags;
	unsigned heart_rate_bpm;	/* uint8 or uint16 by flags bit 0 */
	enum hrm_contact contact;
	bool has_energy_expended;
	unsigned energy_expended_kj;	/* saturates at 65535 on the sensor */
	bool has_rr;			/* flag bit 4; n_rr may still be 0 */
	size_t n_rr;
	uint16_t raw_rr[HRM_RR_MAX];	/* 1/1024 s, oldest first */
	double rr_ms[HRM_RR_MAX];	/* raw * 1000 / 1024 */
	size_t trailing;		/* tolerated bytes when bit 4 is clear */
};

/*
 * Decode one Heart Rate Measurement. Returns 0 and fills *ret, or -EBADMSG
 * (truncated rate or energy, an odd byte after the RR intervals, more than
 * HRM_RR_MAX intervals) with *error set. The RR flag without RR bytes is
 * accepted with n_rr = 0, as Wireshark does.
 */
int hrm_measurement_parse(const uint8_t *buf, size_t len,
			  struct hrm_measurement *ret, struct proto_error *error);

const char *hrm_contact_to_string(enum hrm_contact c);
