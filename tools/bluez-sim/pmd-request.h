/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bluez-sim: pure parser of PMD control point requests (bytes a client writes). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Control point op codes and response status (notes/ble.md 1.7). */
#define PMD_OP_GET_SETTINGS	0x01
#define PMD_OP_START		0x02
#define PMD_OP_STOP		0x03
#define PMD_OP_LAST		0x09
#define PMD_RESPONSE		0xf0

#define PMD_OK			0
#define PMD_INVALID_OP		1
#define PMD_INVALID_TYPE	2
#define PMD_NOT_SUPPORTED	3
#define PMD_INVALID_LENGTH	4
#define PMD_INVALID_PARAMETER	5
#define PMD_ALREADY_IN_STATE	6
#define PMD_INVALID_RESOLUTION	7
#define PMD_INVALID_RATE	8
#define PMD_INVALID_RANGE	9
#define PMD_INVALID_CHANNELS	11

#define PMD_TYPE_ECG		0
#define PMD_TYPE_PPG		1
#define PMD_TYPE_ACC		2
#define PMD_TYPE_PPI		3
#define PMD_TYPE_GYRO		5
#define PMD_TYPE_MAG		6
#define PMD_TYPE_MAX		14

/* Setting types: 0 rate, 1 resolution, 2 range, 4 channels, 5 factor. */
#define PMD_SET_RATE		0
#define PMD_SET_RESOLUTION	1
#define PMD_SET_RANGE		2
#define PMD_SET_RANGE_MILLI	3
#define PMD_SET_CHANNELS	4
#define PMD_SET_FACTOR		5
#define PMD_SET_SECURITY	6

/* Largest get-settings payload of any type (see the caps tables). */
#define PMD_SETTINGS_MAX	64
/* F0 <op> <type> <status> <more> */
#define PMD_RESPONSE_HEADER	5

enum sim_pmd_model {
	PMD_MODEL_H10,
	PMD_MODEL_VERITY_SENSE,
};

/* What a device offers per measurement type; 0-terminated lists. */
struct sim_pmd_caps {
	unsigned type;
	bool streams;			/* the simulator produces frames */
	uint16_t rates[5];
	uint16_t resolutions[2];
	uint16_t ranges[5];
	uint8_t channels[2];
};

struct sim_pmd_request {
	uint8_t op;			/* byte 0; 0 for an empty write */
	uint8_t type_byte;		/* byte 1 as written (echoed back); 0 if absent */
	unsigned type;			/* type_byte & 0x3f */
	const struct sim_pmd_caps *caps;	/* set when the request names a known type */
	/*
	 * START only: the status of the settings and the chosen (or default:
	 * highest rate, widest range) values. A stream already running
	 * answers "already in state" before the settings are looked at, so
	 * the caller applies settings_status after its own state check.
	 */
	unsigned settings_status;
	unsigned rate;
	unsigned range;
};

/* Capabilities of one type on a model, NULL when it has none. */
const struct sim_pmd_caps *sim_pmd_caps_find(enum sim_pmd_model model, unsigned type);

/*
 * Parse a control point write of len bytes. Returns a PMD status: PMD_OK
 * when the request is well formed for the model and its outcome only
 * depends on the stream state (START: then see settings_status).
 */
unsigned sim_pmd_request_parse(enum sim_pmd_model model, const uint8_t *buf, size_t len,
			       struct sim_pmd_request *ret);

/* The get-settings payload of c; out holds PMD_SETTINGS_MAX bytes. */
size_t sim_pmd_caps_settings(const struct sim_pmd_caps *c, uint8_t *out);

/*
 * The response indication F0 <op> <type> <status> <more> <params>; params
 * are dropped unless status is PMD_OK. out holds PMD_RESPONSE_HEADER + n.
 */
size_t sim_pmd_response(const struct sim_pmd_request *req, unsigned status,
			const uint8_t *params, size_t n, uint8_t *out);
