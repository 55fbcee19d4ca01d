// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim: pure parser of PMD control point requests and their responses. */
#include <string.h>

#include "common/macro.h"
#include "tools/bluez-sim/pmd-request.h"

static const struct sim_pmd_caps h10_caps[] = {
	{ PMD_TYPE_ECG, false, { 130 }, { 14 }, { 0 }, { 0 } },
	{ PMD_TYPE_ACC, true, { 25, 50, 100, 200 }, { 16 }, { 2, 4, 8 }, { 0 } },
};

static const struct sim_pmd_caps verity_caps[] = {
	{ PMD_TYPE_PPG, false, { 55 }, { 22 }, { 0 }, { 4 } },
	{ PMD_TYPE_ACC, true, { 52 }, { 16 }, { 8 }, { 3 } },
	{ PMD_TYPE_PPI, false, { 0 }, { 0 }, { 0 }, { 0 } },
	{ PMD_TYPE_GYRO, true, { 52 }, { 16 }, { 250, 500, 1000, 2000 }, { 3 } },
	{ PMD_TYPE_MAG, false, { 10, 20, 50, 100 }, { 16 }, { 50 }, { 3 } },
};

const struct sim_pmd_caps *sim_pmd_caps_find(enum sim_pmd_model model, unsigned type)
{
	const struct sim_pmd_caps *c = h10_caps;
	size_t n = ELEMENTSOF(h10_caps);

	if (model == PMD_MODEL_VERITY_SENSE) {
		c = verity_caps;
		n = ELEMENTSOF(verity_caps);
	}
	for (size_t i = 0; i < n; i++)
		if (c[i].type == type)
			return &c[i];
	return NULL;
}

static void put_u16_list(uint8_t *out, size_t *n, unsigned setting, const uint16_t *v,
			 size_t max)
{
	size_t k = 0;

	while (k < max && v[k])
		k++;
	if (!k)
		return;
	out[(*n)++] = (uint8_t)setting;
	out[(*n)++] = (uint8_t)k;
	for (size_t i = 0; i < k; i++) {
		out[(*n)++] = v[i] & 0xff;
		out[(*n)++] = v[i] >> 8;
	}
}

size_t sim_pmd_caps_settings(const struct sim_pmd_caps *c, uint8_t *out)
{
	size_t n = 0;

	put_u16_list(out, &n, PMD_SET_RATE, c->rates, ELEMENTSOF(c->rates));
	put_u16_list(out, &n, PMD_SET_RESOLUTION, c->resolutions, ELEMENTSOF(c->resolutions));
	put_u16_list(out, &n, PMD_SET_RANGE, c->ranges, ELEMENTSOF(c->ranges));
	if (c->channels[0]) {
		out[n++] = PMD_SET_CHANNELS;
		out[n++] = 1;
		out[n++] = c->channels[0];
	}
	return n;
}

static bool in_list(const uint16_t *l, size_t max, unsigned v)
{
	for (size_t i = 0; i < max && l[i]; i++)
		if (l[i] == v)
			return true;
	return false;
}

/* The last non-zero entry of a 0-terminated list (l[0] when empty). */
static unsigned list_last(const uint16_t *l, size_t max)
{
	unsigned v = l[0];

	for (size_t i = 0; i < max && l[i]; i++)
		v = l[i];
	return v;
}

static unsigned le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

/* Parse a start request's settings; returns a PMD status. */
static unsigned pmd_parse_start(const struct sim_pmd_caps *c, const uint8_t *p, size_t n,
				unsigned *rate, unsigned *range)
{
	static const uint8_t width[] = { 2, 2, 2, 4, 1, 4, 16 };
	unsigned seen = 0;

	/* Defaults: the highest rate, the widest range. */
	*rate = list_last(c->rates, ELEMENTSOF(c->rates));
	*range = list_last(c->ranges, ELEMENTSOF(c->ranges));

	for (size_t pos = 0; pos < n;) {
		unsigned type, count, v;

		if (n - pos < 2)
			return PMD_INVALID_LENGTH;
		type = p[pos];
		count = p[pos + 1];
		pos += 2;
		if (type >= ELEMENTSOF(width) || (seen & (1u << type)))
			return PMD_INVALID_PARAMETER;
		seen |= 1u << type;
		if (count != 1)
			return PMD_INVALID_PARAMETER;
		if (n - pos < width[type])
			return PMD_INVALID_LENGTH;
		v = width[type] == 1 ? p[pos] : le16(p + pos);
		switch (type) {
		case PMD_SET_RATE:
			if (!in_list(c->rates, ELEMENTSOF(c->rates), v))
				return PMD_INVALID_RATE;
			*rate = v;
			break;
		case PMD_SET_RESOLUTION:
			if (!in_list(c->resolutions, ELEMENTSOF(c->resolutions), v))
				return PMD_INVALID_RESOLUTION;
			break;
		case PMD_SET_RANGE:
			if (!in_list(c->ranges, ELEMENTSOF(c->ranges), v))
				return PMD_INVALID_RANGE;
			*range = v;
			break;
		case PMD_SET_CHANNELS:
			if (c->channels[0] ? v != c->channels[0] : v != 3)
				return PMD_INVALID_CHANNELS;
			break;
		default:
			return PMD_INVALID_PARAMETER;
		}
		pos += width[type];
	}
	return PMD_OK;
}

unsigned sim_pmd_request_parse(enum sim_pmd_model model, const uint8_t *buf, size_t len,
			       struct sim_pmd_request *ret)
{
	struct sim_pmd_request r = {
		.op = len ? buf[0] : 0,
		.type_byte = len > 1 ? buf[1] : 0,
	};
	unsigned status = PMD_OK;

	r.type = r.type_byte & 0x3f;
	if (len < 2)
		status = len ? PMD_INVALID_LENGTH : PMD_INVALID_OP;
	else if (r.op < PMD_OP_GET_SETTINGS || r.op > PMD_OP_LAST)
		status = PMD_INVALID_OP;
	else if (r.op > PMD_OP_STOP)
		status = PMD_NOT_SUPPORTED;	/* SDK mode, status, offline: not simulated */
	else if (r.type > PMD_TYPE_MAX)
		status = PMD_INVALID_TYPE;
	else if (!(r.caps = sim_pmd_caps_find(model, r.type)))
		status = PMD_NOT_SUPPORTED;
	else if (r.type_byte & 0x80)
		status = PMD_NOT_SUPPORTED;	/* offline recording */
	else if (r.op == PMD_OP_START && !r.caps->streams)
		status = PMD_NOT_SUPPORTED;
	else if (r.op == PMD_OP_START)
		r.settings_status = pmd_parse_start(r.caps, buf + 2, len - 2, &r.rate, &r.range);
	else if (r.op == PMD_OP_STOP && len != 2)
		status = PMD_INVALID_LENGTH;
	else if (r.op == PMD_OP_STOP && !r.caps->streams)
		status = PMD_ALREADY_IN_STATE;

	*ret = r;
	return status;
}

size_t sim_pmd_response(const struct sim_pmd_request *req, unsigned status,
			const uint8_t *params, size_t n, uint8_t *out)
{
	if (status != PMD_OK)
		n = 0;
	out[0] = PMD_RESPONSE;
	out[1] = req->op;
	out[2] = req->type_byte;
	out[3] = (uint8_t)status;
	out[4] = 0;
	if (n)
		memcpy(out + PMD_RESPONSE_HEADER, params, n);
	return PMD_RESPONSE_HEADER + n;
}
