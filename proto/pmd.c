// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Polar Measurement Data (PMD) codec: control point requests and
 * responses, settings TLVs, data frames and delta-compressed samples.
 * Layouts: polar-ble-sdk technical_documentation (PMD specification,
 * online measurement note) and shared/notes/ble.md section 1.7.
 */
#include <math.h>
#include <string.h>

#include "common/macro.h"
#include "proto/pmd.h"
#include "proto/reader.h"

static const char *const pmd_status_names[] = {
	[PMD_STATUS_SUCCESS] = "success",
	[PMD_STATUS_INVALID_OP_CODE] = "invalid-op-code",
	[PMD_STATUS_INVALID_MEASUREMENT_TYPE] = "invalid-measurement-type",
	[PMD_STATUS_NOT_SUPPORTED] = "not-supported",
	[PMD_STATUS_INVALID_LENGTH] = "invalid-length",
	[PMD_STATUS_INVALID_PARAMETER] = "invalid-parameter",
	[PMD_STATUS_ALREADY_IN_STATE] = "already-in-state",
	[PMD_STATUS_INVALID_RESOLUTION] = "invalid-resolution",
	[PMD_STATUS_INVALID_SAMPLE_RATE] = "invalid-sample-rate",
	[PMD_STATUS_INVALID_RANGE] = "invalid-range",
	[PMD_STATUS_INVALID_MTU] = "invalid-mtu",
	[PMD_STATUS_INVALID_NUMBER_OF_CHANNELS] = "invalid-number-of-channels",
	[PMD_STATUS_INVALID_STATE] = "invalid-state",
	[PMD_STATUS_DEVICE_IN_CHARGER] = "device-in-charger",
	[PMD_STATUS_DISK_FULL] = "disk-full",
};

static const char *const pmd_measurement_type_names[] = {
	[PMD_MEASUREMENT_ECG] = "ecg",
	[PMD_MEASUREMENT_PPG] = "ppg",
	[PMD_MEASUREMENT_ACC] = "acc",
	[PMD_MEASUREMENT_PPI] = "ppi",
	[PMD_MEASUREMENT_GYRO] = "gyro",
	[PMD_MEASUREMENT_MAG] = "mag",
	[PMD_MEASUREMENT_SKIN_TEMPERATURE] = "skin-temperature",
	[PMD_MEASUREMENT_SDK_MODE] = "sdk-mode",
	[PMD_MEASUREMENT_LOCATION] = "location",
	[PMD_MEASUREMENT_PRESSURE] = "pressure",
	[PMD_MEASUREMENT_TEMPERATURE] = "temperature",
	[PMD_MEASUREMENT_OFFLINE_RECORDING] = "offline-recording",
	[PMD_MEASUREMENT_OFFLINE_HR] = "offline-hr",
};

static const char *const pmd_op_names[] = {
	[PMD_OP_GET_SETTINGS] = "get-settings",
	[PMD_OP_START] = "start",
	[PMD_OP_STOP] = "stop",
	[PMD_OP_GET_SDK_MODE_SETTINGS] = "get-sdk-mode-settings",
	[PMD_OP_GET_STATUS] = "get-status",
	[PMD_OP_GET_SDK_MODE_STATUS] = "get-sdk-mode-status",
};

static const char *const pmd_setting_names[_PMD_SETTING_MAX] = {
	[PMD_SETTING_SAMPLE_RATE] = "sample_rate_hz",
	[PMD_SETTING_RESOLUTION] = "resolution_bits",
	[PMD_SETTING_RANGE] = "range",
	[PMD_SETTING_RANGE_MILLIUNIT] = "range_milliunit",
	[PMD_SETTING_CHANNELS] = "channels",
	[PMD_SETTING_FACTOR] = "factor",
	[PMD_SETTING_SECURITY] = "security",
};

const char *pmd_status_to_string(uint8_t status)
{
	return status < ELEMENTSOF(pmd_status_names) ? pmd_status_names[status] : NULL;
}

const char *pmd_measurement_type_to_string(uint8_t type)
{
	return type < ELEMENTSOF(pmd_measurement_type_names) ?
		pmd_measurement_type_names[type] : NULL;
}

const char *pmd_op_to_string(uint8_t op)
{
	return op < ELEMENTSOF(pmd_op_names) ? pmd_op_names[op] : NULL;
}

const char *pmd_setting_type_to_string(enum pmd_setting_type t)
{
	if (t < 0 || t >= _PMD_SETTING_MAX)
		return NULL;

	return pmd_setting_names[t];
}

/* ---- settings TLVs --------------------------------------------------- */

static int settings_read_values(struct reader *r, enum pmd_setting_type type,
				unsigned count, struct pmd_settings *s,
				struct proto_error *error)
{
	struct pmd_setting_values *v;

	switch (type) {
	case PMD_SETTING_SAMPLE_RATE:
		v = &s->sample_rate_hz;
		break;
	case PMD_SETTING_RESOLUTION:
		v = &s->resolution_bits;
		break;
	case PMD_SETTING_RANGE:
		v = &s->range;
		break;
	case PMD_SETTING_RANGE_MILLIUNIT:
		v = &s->range_milliunit;
		break;
	case PMD_SETTING_CHANNELS:
		v = &s->channels;
		break;
	case PMD_SETTING_FACTOR:
		/* One float32 per value; a start response carries one. */
		for (unsigned i = 0; i < count; i++) {
			float f;

			if (reader_float32(r, &f) < 0)
				return proto_truncated(error, r->pos, "factor");
			if (i == 0)
				s->factor = f;
		}
		return 0;
	case PMD_SETTING_SECURITY:
		for (unsigned i = 0; i < count; i++) {
			const uint8_t *p;

			if (reader_take(r, PMD_SECURITY_LEN, &p) < 0)
				return proto_truncated(error, r->pos, "security");
			if (i == 0)
				memcpy(s->security, p, PMD_SECURITY_LEN);
		}
		return 0;
	case _PMD_SETTING_MAX:
	case _PMD_SETTING_INVALID:
		break;
	}

	if (type >= _PMD_SETTING_MAX || type < 0)
		return -EINVAL;

	if (count > PMD_SETTING_VALUES_MAX)
		return proto_fail(error, -EBADMSG, r->pos - 1,
				  pmd_setting_names[type], "too many values");

	for (unsigned i = 0; i < count; i++) {
		uint32_t x;
		int q;

		if (type == PMD_SETTING_RANGE_MILLIUNIT) {
			q = reader_le32(r, &x);
		} else if (type == PMD_SETTING_CHANNELS) {
			uint8_t b = 0;

			q = reader_u8(r, &b);
			x = b;
		} else {
			uint16_t w = 0;

			q = reader_le16(r, &w);
			x = w;
		}
		if (q < 0)
			return proto_truncated(error, r->pos, pmd_setting_names[type]);
		v->values[i] = x;
	}
	v->count = count;
	return 0;
}

int pmd_settings_parse(const uint8_t *buf, size_t len,
		       struct pmd_settings *ret, struct proto_error *error)
{
	struct pmd_settings s = { .factor = 1.0f };
	struct reader r;

	reader_init(&r, buf, len);
	while (reader_remaining(&r) > 0) {
		size_t at = r.pos;
		uint8_t type, count;
		int q;

		if (reader_u8(&r, &type) < 0)
			return proto_truncated(error, r.pos, "setting type");

		/* Value width depends on the type: an unknown one ends parsing. */
		if (type >= _PMD_SETTING_MAX)
			return proto_fail(error, -EBADMSG, at, "setting type",
					  "unknown setting type");

		if (s.present & (1u << type))
			return proto_fail(error, -EBADMSG, at, pmd_setting_names[type],
					  "setting type repeated");

		if (reader_u8(&r, &count) < 0)
			return proto_truncated(error, r.pos, "setting count");

		q = settings_read_values(&r, type, count, &s, error);
		if (q < 0)
			return q;
		s.present |= 1u << type;
	}

	*ret = s;
	return 0;
}

/* ---- control point requests ---------------------------------------- */

static int request_finish(const uint8_t *req, size_t n, uint8_t *buf, size_t cap,
			  size_t *ret_len)
{
	if (n > cap)
		return -ENOBUFS;

	memcpy(buf, req, n);
	*ret_len = n;
	return 0;
}

static int request_simple(uint8_t op, uint8_t type, uint8_t *buf, size_t cap,
			  size_t *ret_len)
{
	uint8_t req[2] = { op, type };

	if (type > PMD_MEASUREMENT_TYPE_MASK)
		return -EINVAL;

	return request_finish(req, sizeof(req), buf, cap, ret_len);
}

int pmd_request_get_settings(uint8_t type, uint8_t *buf, size_t cap,
			     size_t *ret_len)
{
	return request_simple(PMD_OP_GET_SETTINGS, type, buf, cap, ret_len);
}

int pmd_request_stop(uint8_t type, uint8_t *buf, size_t cap, size_t *ret_len)
{
	return request_simple(PMD_OP_STOP, type, buf, cap, ret_len);
}

/* Append one [type][1][u16 LE] setting group. */
static size_t put_setting16(uint8_t *req, size_t n, uint8_t type, unsigned v)
{
	req[n++] = type;
	req[n++] = 1;
	req[n++] = v & 0xff;
	req[n++] = v >> 8;
	return n;
}

int pmd_request_start(uint8_t type, const struct pmd_start_params *p,
		      uint8_t *buf, size_t cap, size_t *ret_len)
{
	uint8_t req[PMD_REQUEST_MAX];
	size_t n = 0;

	if (type > PMD_MEASUREMENT_TYPE_MASK)
		return -EINVAL;
	if (p->sample_rate_hz > UINT16_MAX || p->resolution_bits > UINT16_MAX ||
	    p->range > UINT16_MAX || p->channels > UINT8_MAX)
		return -EINVAL;

	req[n++] = PMD_OP_START;
	req[n++] = type | (p->recording ? PMD_MEASUREMENT_RECORDING : 0);
	/* Each setting once, count 1, in type order as the SDK sends them. */
	if (p->sample_rate_hz)
		n = put_setting16(req, n, PMD_SETTING_SAMPLE_RATE, p->sample_rate_hz);
	if (p->resolution_bits)
		n = put_setting16(req, n, PMD_SETTING_RESOLUTION, p->resolution_bits);
	if (p->range)
		n = put_setting16(req, n, PMD_SETTING_RANGE, p->range);
	if (p->channels) {
		req[n++] = PMD_SETTING_CHANNELS;
		req[n++] = 1;
		req[n++] = p->channels;
	}

	return request_finish(req, n, buf, cap, ret_len);
}

/* ---- control point responses ---------------------------------------- */

int pmd_cp_response_parse(const uint8_t *buf, size_t len,
			  struct pmd_cp_response *ret,
			  struct proto_error *error)
{
	struct pmd_cp_response c = {};
	struct reader r;
	uint8_t code;

	reader_init(&r, buf, len);
	if (reader_u8(&r, &code) < 0)
		return proto_truncated(error, r.pos, "response code");

	if (code == PMD_CP_STOPPED_BY_DEVICE) {
		/* Server-initiated: "online measurement stopped", type ids follow. */
		c.stopped_by_device = true;
	} else if (code == PMD_CP_RESPONSE) {
		if (reader_u8(&r, &c.op_code) < 0)
			return proto_truncated(error, r.pos, "op code");
		if (reader_u8(&r, &c.measurement_type) < 0)
			return proto_truncated(error, r.pos, "measurement type");
		if (reader_u8(&r, &c.status) < 0)
			return proto_truncated(error, r.pos, "status");

		/*
		 * "more" is absent in short error responses, and means nothing
		 * in an error (Polar SDK reads it on success only): an error
		 * never waits for a continuation.
		 */
		if (reader_remaining(&r) > 0) {
			uint8_t more;

			(void)reader_u8(&r, &more);
			c.more = more != 0 && c.status == PMD_STATUS_SUCCESS;
		}
	} else {
		return proto_fail(error, -EBADMSG, 0, "response code",
				  "neither 0xf0 (response) nor 0x01 (stopped)");
	}

	c.n_params = reader_remaining(&r);
	if (c.n_params > PMD_CP_PARAMS_MAX)
		return proto_fail(error, -EBADMSG, r.pos + PMD_CP_PARAMS_MAX,
				  "parameters", "longer than an ATT value");
	if (c.n_params)
		memcpy(c.params, r.buf + r.pos, c.n_params);

	*ret = c;
	return 0;
}

void pmd_cp_assembler_init(struct pmd_cp_assembler *a)
{
	*a = (struct pmd_cp_assembler) {};
}

int pmd_cp_assembler_add(struct pmd_cp_assembler *a,
			 const struct pmd_cp_response *part,
			 struct pmd_cp_response *ret)
{
	struct pmd_cp_response *acc = &a->acc;

	/* A device-stop notice stands alone and leaves a pending response be. */
	if (part->stopped_by_device) {
		*ret = *part;
		return 1;
	}

	if (!a->pending) {
		*acc = *part;
	} else {
		if (part->op_code != acc->op_code ||
		    part->measurement_type != acc->measurement_type ||
		    part->n_params > PMD_CP_PARAMS_MAX - acc->n_params) {
			pmd_cp_assembler_init(a);
			return -EBADMSG;
		}

		memcpy(acc->params + acc->n_params, part->params, part->n_params);
		acc->n_params += part->n_params;
		if (part->status != PMD_STATUS_SUCCESS)
			acc->status = part->status;
		acc->more = part->more;
	}

	if (part->more) {
		a->pending = true;
		return 0;
	}

	*ret = *acc;
	a->pending = false;
	return 1;
}

/* ---- delta-compressed samples --------------------------------------- */

/* Sign-extend the low `bits` (1..32) of v. */
static int32_t sign_extend(uint32_t v, unsigned bits)
{
	if (bits < 32) {
		uint32_t sign = 1u << (bits - 1);

		v &= (sign << 1) - 1;
		v = (v ^ sign) - sign;
	}
	return (int32_t)v;	/* modulo 2^32: gcc and clang define it */
}

/* Take `bits` bits LSB-first from p at *bitpos. Caller checked the length. */
static uint32_t take_bits(const uint8_t *p, size_t *bitpos, unsigned bits)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bits; i++, (*bitpos)++)
		v |= (uint32_t)(p[*bitpos >> 3] >> (*bitpos & 7) & 1) << i;
	return v;
}

int pmd_delta_decode(const uint8_t *buf, size_t len, unsigned channels,
		     unsigned resolution_bits,
		     int32_t (*ret_samples)[PMD_CHANNELS_MAX], size_t cap,
		     size_t *ret_n, struct proto_error *error)
{
	size_t ref_bytes, pos, total = 1;
	uint32_t prev[PMD_CHANNELS_MAX] = {};

	if (channels < 1 || channels > PMD_CHANNELS_MAX ||
	    resolution_bits < 1 || resolution_bits > 32)
		return -EINVAL;

	if (!buf)
		len = 0;

	ref_bytes = (resolution_bits + 7) / 8;
	if (channels * ref_bytes > len)
		return proto_truncated(error, 0, "reference sample");
	if (cap < 1)
		return proto_fail(error, -EBADMSG, 0, "reference sample",
				  "no room for samples");

	/* Pass 1: validate every block header and length, count samples. */
	pos = channels * ref_bytes;
	while (pos < len) {
		unsigned bits, count;
		size_t n;

		if (len - pos < 2)
			return proto_truncated(error, pos, "delta block header");
		bits = buf[pos];
		count = buf[pos + 1];
		if (bits < 1 || bits > 32)
			return proto_fail(error, -EBADMSG, pos, "delta block header",
					  "delta width not in 1..32");

		n = ((size_t)bits * channels * count + 7) / 8;
		if (n > len - pos - 2)
			return proto_truncated(error, pos + 2, "delta block");
		if (count > cap - total)
			return proto_fail(error, -EBADMSG, pos, "delta block",
					  "more samples than fit");
		total += count;
		pos += 2 + n;
	}

	/* Pass 2: the blob is sound; decode it. */
	for (unsigned ch = 0; ch < channels; ch++) {
		uint32_t v = 0;

		for (size_t b = 0; b < ref_bytes; b++)
			v |= (uint32_t)buf[ch * ref_bytes + b] << (8 * b);
		/* signed in resolution_bits (Polar SDK), not in its whole bytes */
		prev[ch] = (uint32_t)sign_extend(v, resolution_bits);
		ret_samples[0][ch] = (int32_t)prev[ch];
	}

	pos = channels * ref_bytes;
	for (size_t i = 1; pos < len;) {
		unsigned bits = buf[pos], count = buf[pos + 1];
		const uint8_t *p = buf + pos + 2;
		size_t bitpos = 0;

		for (unsigned k = 0; k < count; k++, i++)
			for (unsigned ch = 0; ch < channels; ch++) {
				int32_t d = sign_extend(take_bits(p, &bitpos, bits), bits);

				/* Wrap in uint32: a hostile frame must not overflow int. */
				prev[ch] += (uint32_t)d;
				ret_samples[i][ch] = (int32_t)prev[ch];
			}
		pos += 2 + ((size_t)bits * channels * count + 7) / 8;
	}

	*ret_n = total;
	return 0;
}

/* ---- data frames ----------------------------------------------------- */

struct frame_layout {
	unsigned channels;
	unsigned width;		/* raw frames: bytes per value; 0 = delta */
	unsigned resolution;	/* delta frames */
	double scale;		/* value = raw * scale */
	const char *unit;
};

static int frame_layout_get(uint8_t mtype, uint8_t frame_type,
			    const struct pmd_frame_format *fmt,
			    struct frame_layout *ret)
{
	bool compressed = frame_type & PMD_FRAME_COMPRESSED;
	unsigned kind = frame_type & 0x7fu;
	float factor = fmt ? fmt->factor : 1.0f;
	unsigned channels = fmt && fmt->channels ? fmt->channels : 3;
	unsigned resolution = fmt && fmt->resolution_bits ? fmt->resolution_bits : 16;

	/* A missing, zero or nonsense factor means "no scaling". */
	if (!isfinite(factor) || factor == 0.0f)
		factor = 1.0f;

	if (mtype == PMD_MEASUREMENT_ACC && !compressed && kind <= 2) {
		/* Raw 0/1/2: 3 x int8/int16/int24, already mG. */
		*ret = (struct frame_layout) { 3, kind + 1, 0, 1.0, "mG" };
		return 0;
	}

	if (mtype == PMD_MEASUREMENT_ACC && compressed && kind == 0) {
		/* "Type 0" delta frames carry G: factor x 1000 gives mG. */
		*ret = (struct frame_layout) { channels, 0, resolution,
					       factor * 1000.0, "mG" };
		return 0;
	}

	if (mtype == PMD_MEASUREMENT_ACC && compressed && kind == 1) {
		*ret = (struct frame_layout) { channels, 0, resolution, factor, "mG" };
		return 0;
	}

	if (mtype == PMD_MEASUREMENT_GYRO && compressed && kind == 0) {
		*ret = (struct frame_layout) { channels, 0, resolution, factor, "deg/s" };
		return 0;
	}

	if (mtype == PMD_MEASUREMENT_ECG && !compressed && kind == 0) {
		*ret = (struct frame_layout) { 1, 3, 0, 1.0, "uV" };
		return 0;
	}

	return -EOPNOTSUPP;
}

uint64_t pmd_frames_missed(uint64_t prev_ns, uint64_t t_ns, size_t n, unsigned rate_hz)
{
	double span, gap;

	if (!prev_ns || !n || !rate_hz || t_ns <= prev_ns)
		return 0;
	span = (double)n * 1e9 / rate_hz;
	gap = (double)(t_ns - prev_ns);
	if (gap <= 1.5 * span)
		return 0;
	/* the frame itself is one span of the gap */
	return gap / span - 1 >= 1 ? (uint64_t)llround(gap / span - 1) : 1;
}

static void frame_timestamps(struct pmd_data_frame *f,
			     const struct pmd_frame_format *fmt)
{
	uint64_t t = f->timestamp_ns, prev = fmt ? fmt->previous_timestamp_ns : 0;
	unsigned rate = fmt ? fmt->sample_rate_hz : 0;
	size_t n = f->n_samples;

	if (n == 0)
		return;

	uint64_t step = rate ? UINT64_C(1000000000) / rate : 0;

	/*
	 * A frame (or more) lost since prev: spreading the samples over the
	 * gap would stretch them to a fraction of their rate; they are
	 * stepped back from t, leaving the hole where the lost samples were.
	 */
	if (pmd_frames_missed(prev, t, n, rate))
		prev = 0;

	if (prev != 0 && prev < t) {
		/* Spread evenly over (prev, t]; the last sample lands on t. */
		double span = (double)(t - prev);

		for (size_t i = 0; i + 1 < n; i++) {
			uint64_t off = (uint64_t)(span * (double)(i + 1) / (double)n + 0.5);

			f->samples[i].timestamp_ns = prev + (off < t - prev ? off : t - prev);
		}
	} else {
		/* First frame (or clock went back, or a hole): step back at the rate. */
		for (size_t i = 0; i + 1 < n; i++) {
			uint64_t back = (uint64_t)(n - 1 - i) * step;

			f->samples[i].timestamp_ns = back < t ? t - back : 0;
		}
	}
	f->samples[n - 1].timestamp_ns = t;
}

int pmd_data_frame_parse(const uint8_t *buf, size_t len,
			 const struct pmd_frame_format *fmt,
			 struct pmd_data_frame *ret, struct proto_error *error)
{
	struct frame_layout l;
	struct reader r;
	uint8_t b0, frame_type;
	uint64_t ts;
	size_t n, rest;
	int q;

	reader_init(&r, buf, len);
	if (reader_u8(&r, &b0) < 0)
		return proto_truncated(error, r.pos, "measurement type");
	if (reader_le64(&r, &ts) < 0)
		return proto_truncated(error, r.pos, "timestamp");
	if (reader_u8(&r, &frame_type) < 0)
		return proto_truncated(error, r.pos, "frame type");

	b0 &= PMD_MEASUREMENT_TYPE_MASK;
	if (frame_layout_get(b0, frame_type, fmt, &l) < 0)
		return proto_fail(error, -EOPNOTSUPP, 9, "frame type",
				  "measurement/frame type not supported");

	rest = reader_remaining(&r);
	if (l.width == 0) {
		/* Delta frame: validated whole, then decoded into ret->raw. */
		int32_t rows[PMD_SAMPLES_MAX][PMD_CHANNELS_MAX];

		q = pmd_delta_decode(r.buf + r.pos, rest, l.channels, l.resolution,
				     rows, PMD_SAMPLES_MAX, &n, error);
		if (q == -EINVAL)
			return proto_fail(error, -EINVAL, 9, "frame type",
					  "channels or resolution out of range");
		if (q < 0) {
			if (error)
				error->offset += r.pos;
			return q;
		}
		for (size_t i = 0; i < n; i++)
			memcpy(ret->samples[i].raw, rows[i], sizeof(rows[i]));
	} else {
		size_t sample_len = (size_t)l.width * l.channels;

		if (rest % sample_len)
			return proto_fail(error, -EBADMSG, len - rest % sample_len,
					  "sample", "partial sample at the end");
		n = rest / sample_len;
		if (n > PMD_SAMPLES_MAX)
			return proto_fail(error, -EBADMSG,
					  r.pos + PMD_SAMPLES_MAX * sample_len,
					  "sample", "more samples than fit");

		for (size_t i = 0; i < n; i++)
			for (unsigned ch = 0; ch < l.channels; ch++) {
				const uint8_t *p = r.buf + r.pos +
					(i * l.channels + ch) * l.width;
				uint32_t v = 0;

				for (unsigned b = 0; b < l.width; b++)
					v |= (uint32_t)p[b] << (8 * b);
				ret->samples[i].raw[ch] = sign_extend(v, 8 * l.width);
			}
	}

	for (size_t i = 0; i < n; i++)
		for (unsigned ch = 0; ch < l.channels; ch++)
			ret->samples[i].value[ch] = (float)(ret->samples[i].raw[ch] * l.scale);

	ret->measurement_type = b0;
	ret->timestamp_ns = ts;
	ret->frame_type = frame_type;
	ret->compressed = frame_type & PMD_FRAME_COMPRESSED;
	ret->channels = l.channels;
	ret->unit = l.unit;
	ret->scale = l.scale;
	ret->n_samples = n;
	frame_timestamps(ret, fmt);
	return 0;
}
