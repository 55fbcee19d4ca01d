/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Polar Measurement Data (PMD, H10 / Verity Sense): control point request
 * encoders, response and settings decoders, data frame and delta decoders.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

/* Measurement types (polar-ble-sdk PmdMeasurementType). */
enum pmd_measurement_type {
	PMD_MEASUREMENT_ECG = 0,
	PMD_MEASUREMENT_PPG = 1,
	PMD_MEASUREMENT_ACC = 2,
	PMD_MEASUREMENT_PPI = 3,
	PMD_MEASUREMENT_GYRO = 5,
	PMD_MEASUREMENT_MAG = 6,
	PMD_MEASUREMENT_SKIN_TEMPERATURE = 7,
	PMD_MEASUREMENT_SDK_MODE = 9,
	PMD_MEASUREMENT_LOCATION = 10,
	PMD_MEASUREMENT_PRESSURE = 11,
	PMD_MEASUREMENT_TEMPERATURE = 12,
	PMD_MEASUREMENT_OFFLINE_RECORDING = 13,
	PMD_MEASUREMENT_OFFLINE_HR = 14,
};

/* Only the low 6 bits of a data frame's byte 0 are the type. */
#define PMD_MEASUREMENT_TYPE_MASK	0x3fu
/* Request byte 1 bit 7: offline recording instead of online streaming. */
#define PMD_MEASUREMENT_RECORDING	0x80u

/* Control point op codes (requests). */
enum pmd_op {
	PMD_OP_GET_SETTINGS = 0x01,
	PMD_OP_START = 0x02,
	PMD_OP_STOP = 0x03,
	PMD_OP_GET_SDK_MODE_SETTINGS = 0x04,
	PMD_OP_GET_STATUS = 0x05,
	PMD_OP_GET_SDK_MODE_STATUS = 0x06,
};

/* Byte 0 of a control point indication. */
#define PMD_CP_RESPONSE			0xf0u
#define PMD_CP_STOPPED_BY_DEVICE	0x01u

/* Response status byte. */
enum pmd_status {
	PMD_STATUS_SUCCESS = 0,
	PMD_STATUS_INVALID_OP_CODE = 1,
	PMD_STATUS_INVALID_MEASUREMENT_TYPE = 2,
	PMD_STATUS_NOT_SUPPORTED = 3,
	PMD_STATUS_INVALID_LENGTH = 4,
	PMD_STATUS_INVALID_PARAMETER = 5,
	PMD_STATUS_ALREADY_IN_STATE = 6,
	PMD_STATUS_INVALID_RESOLUTION = 7,
	PMD_STATUS_INVALID_SAMPLE_RATE = 8,
	PMD_STATUS_INVALID_RANGE = 9,
	PMD_STATUS_INVALID_MTU = 10,
	PMD_STATUS_INVALID_NUMBER_OF_CHANNELS = 11,
	PMD_STATUS_INVALID_STATE = 12,
	PMD_STATUS_DEVICE_IN_CHARGER = 13,
	PMD_STATUS_DISK_FULL = 14,
};

/* Setting TLV types: [type u8][count u8][count x value]. */
enum pmd_setting_type {
	PMD_SETTING_SAMPLE_RATE = 0,	/* u16 Hz */
	PMD_SETTING_RESOLUTION = 1,	/* u16 bits */
	PMD_SETTING_RANGE = 2,		/* u16 G, deg/s, ... */
	PMD_SETTING_RANGE_MILLIUNIT = 3,	/* u32 */
	PMD_SETTING_CHANNELS = 4,	/* u8 */
	PMD_SETTING_FACTOR = 5,		/* float32 IEEE 754 */
	PMD_SETTING_SECURITY = 6,	/* 16 bytes */
	_PMD_SETTING_MAX,
	_PMD_SETTING_INVALID = -EINVAL,
};

#define PMD_SETTING_VALUES_MAX		32
#define PMD_SECURITY_LEN		16

struct pmd_setting_values {
	unsigned count;
	uint32_t values[PMD_SETTING_VALUES_MAX];
};

struct pmd_settings {
	unsigned present;		/* 1u << enum pmd_setting_type */
	struct pmd_setting_values sample_rate_hz;
	struct pmd_setting_values resolution_bits;
	struct pmd_setting_values range;
	struct pmd_setting_values range_milliunit;
	struct pmd_setting_values channels;
	float factor;			/* 1.0 unless present */
	uint8_t security[PMD_SECURITY_LEN];
};

/*
 * Decode a settings TLV list (get-settings response parameters, or the
 * start response's FACTOR). Returns 0 and fills *ret, or -EBADMSG for an
 * unknown setting type (its value width is unknown), a truncated group, a
 * count above PMD_SETTING_VALUES_MAX or a repeated type, with *error set.
 * An empty list is valid.
 */
int pmd_settings_parse(const uint8_t *buf, size_t len,
		       struct pmd_settings *ret, struct proto_error *error);

const char *pmd_setting_type_to_string(enum pmd_setting_type t);

/*
 * Request encoders. They write [op][type | recording << 7][settings...]
 * into buf (cap bytes) and set *ret_len. Errors: -EINVAL (type > 63, a
 * value out of its wire range), -ENOBUFS (cap too small). Nothing is
 * written on error.
 */
#define PMD_REQUEST_MAX			32

struct pmd_start_params {
	unsigned sample_rate_hz;	/* 0 = leave out */
	unsigned resolution_bits;	/* 0 = leave out */
	unsigned range;			/* 0 = leave out */
	unsigned channels;		/* 0 = leave out */
	bool recording;			/* offline recording, not streaming */
};

int pmd_request_get_settings(uint8_t type, uint8_t *buf, size_t cap,
			     size_t *ret_len);
int pmd_request_start(uint8_t type, const struct pmd_start_params *p,
		      uint8_t *buf, size_t cap, size_t *ret_len);
int pmd_request_stop(uint8_t type, uint8_t *buf, size_t cap, size_t *ret_len);

/* An ATT value is at most 512 bytes; the assembler caps merged params too. */
#define PMD_CP_PARAMS_MAX		512

struct pmd_cp_response {
	bool stopped_by_device;		/* byte 0 = 0x01; params = the type ids */
	uint8_t op_code;
	uint8_t measurement_type;
	uint8_t status;			/* enum pmd_status */
	bool more;			/* further parts with the same op follow */
	size_t n_params;
	uint8_t params[PMD_CP_PARAMS_MAX];
};

/*
 * Decode one control point indication `F0 op type status [more] params`
 * or `01 types...`. Returns 0 and fills *ret, or -EBADMSG (empty, unknown
 * byte 0, header cut off) with *error set.
 */
int pmd_cp_response_parse(const uint8_t *buf, size_t len,
			  struct pmd_cp_response *ret,
			  struct proto_error *error);

/*
 * Joins multi-part responses: while more != 0, parts with the same op and
 * type are appended (their parameters, from byte 5 on).
 */
struct pmd_cp_assembler {
	struct pmd_cp_response acc;
	bool pending;
};

void pmd_cp_assembler_init(struct pmd_cp_assembler *a);

/*
 * Returns 1 and fills *ret when part completes a response, 0 when it was
 * stored, -EBADMSG when it does not continue the pending response or the
 * merged parameters exceed PMD_CP_PARAMS_MAX (the assembler is reset then
 * and part is dropped).
 */
int pmd_cp_assembler_add(struct pmd_cp_assembler *a,
			 const struct pmd_cp_response *part,
			 struct pmd_cp_response *ret);

const char *pmd_status_to_string(uint8_t status);
const char *pmd_measurement_type_to_string(uint8_t type);
const char *pmd_op_to_string(uint8_t op);

/* Data frames. */
#define PMD_FRAME_HEADER_LEN		10
#define PMD_FRAME_COMPRESSED		0x80u
#define PMD_CHANNELS_MAX		4
#define PMD_SAMPLES_MAX			1024

/* What a data frame does not say about itself; from the CP settings. */
struct pmd_frame_format {
	unsigned channels;		/* delta frames; 0 = 3 */
	unsigned resolution_bits;	/* delta frames; 0 = 16 */
	float factor;			/* FACTOR setting; 0 or NAN = 1.0 */
	unsigned sample_rate_hz;	/* for timestamps; 0 = unknown */
	uint64_t previous_timestamp_ns;	/* last frame's timestamp; 0 = none */
};

struct pmd_sample {
	uint64_t timestamp_ns;		/* sensor clock, ns since 2000-01-01 */
	int32_t raw[PMD_CHANNELS_MAX];
	float value[PMD_CHANNELS_MAX];	/* in unit: mG, deg/s or uV */
};

struct pmd_data_frame {
	uint8_t measurement_type;	/* low 6 bits of byte 0 */
	uint64_t timestamp_ns;		/* of the last sample */
	uint8_t frame_type;		/* byte 9 as sent */
	bool compressed;		/* frame_type bit 7 */
	unsigned channels;
	const char *unit;		/* static: "mG", "deg/s", "uV" */
	double scale;			/* value = raw * scale */
	size_t n_samples;
	struct pmd_sample samples[PMD_SAMPLES_MAX];
};

/*
 * Decode one PMD Data notification: ACC raw types 0x00 (3 x int8 mG), 0x01
 * (3 x int16 mG), 0x02 (3 x int24 mG), delta frames 0x80 (x factor x 1000
 * -> mG) and 0x81 (x factor -> mG); GYRO delta 0x80 (x factor ->
 * deg/s); ECG raw 0x00 (int24 uV). Per-sample timestamps are spread
 * between fmt->previous_timestamp_ns and this frame's timestamp, or back
 * from it at fmt->sample_rate_hz for a first frame or after a lost one
 * (pmd_frames_missed()).
 * Returns 0 and fills *ret; -EBADMSG (header cut off, samples not a whole
 * number, bad delta frame, more than PMD_SAMPLES_MAX samples) or
 * -EOPNOTSUPP (a type/frame combination not decoded) with *error set.
 */
int pmd_data_frame_parse(const uint8_t *buf, size_t len,
			 const struct pmd_frame_format *fmt,
			 struct pmd_data_frame *ret, struct proto_error *error);

/*
 * Frames lost between a frame stamped prev_ns and the next, stamped t_ns,
 * of n samples at rate_hz: 0 while the time between them is at most 1.5
 * times that frame's span (a rate a little off is spread over), else the
 * whole frames' worth of time missing (at least 1). 0 when prev_ns, n or
 * rate_hz is 0 or time did not advance.
 */
uint64_t pmd_frames_missed(uint64_t prev_ns, uint64_t t_ns, size_t n, unsigned rate_hz);

/*
 * Decode the sample bytes of a delta-compressed frame (everything after
 * the 10-byte header): a reference sample of `channels` signed values of
 * ceil(resolution_bits / 8) bytes, then blocks [delta_bits][count] + packed
 * deltas (LSB-first bit stream, sign-extended, added channel-wise).
 * The blob is validated whole before anything is written to ret_samples
 * (cap rows). channels 1..PMD_CHANNELS_MAX, resolution_bits 1..32, else
 * -EINVAL. Returns 0 and sets *ret_n, or -EBADMSG (truncated reference or
 * block, delta_bits 0 or above 32, more than cap samples) with *error set.
 */
int pmd_delta_decode(const uint8_t *buf, size_t len, unsigned channels,
		     unsigned resolution_bits,
		     int32_t (*ret_samples)[PMD_CHANNELS_MAX], size_t cap,
		     size_t *ret_n, struct proto_error *error);
