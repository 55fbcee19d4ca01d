// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim: Polar Measurement Data - control point and ACC/gyro frames from the trace. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/macro.h"
#include "tools/bluez-sim/pmd-request.h"
#include "tools/bluez-sim/sim.h"

#define PMD_HEADER_LEN		10	/* type, uint64 timestamp, frame type */
/* Delta frames: samples per frame and deltas per block. */
#define PMD_DELTA_FRAME_SAMPLES	33
#define PMD_DELTA_BLOCK		16

static enum sim_pmd_model pmd_model(const struct sim_device *dev)
{
	return dev->kind == DEVICE_KIND_POLAR_VERITY_SENSE ? PMD_MODEL_VERITY_SENSE :
							     PMD_MODEL_H10;
}

static struct sim_char *pmd_data_char(struct sim_device *dev)
{
	for (unsigned i = 0; i < dev->n_chars; i++)
		if (dev->chars[i].role == CHAR_ROLE_PMD_DATA)
			return &dev->chars[i];
	return NULL;
}

void pmd_features(const struct sim_device *dev, uint8_t *buf, size_t *len)
{
	buf[0] = 0x0f;
	if (dev->kind == DEVICE_KIND_POLAR_VERITY_SENSE) {
		buf[1] = 0x02 | 0x04 | 0x08 | 0x20 | 0x40;	/* PPG ACC PPI GYRO MAG */
		buf[2] = 0x02;					/* SDK mode */
	} else {
		buf[1] = 0x01 | 0x04;				/* ECG ACC */
		buf[2] = 0x00;
	}
	*len = 3;
}

bool pmd_streaming(const struct sim_device *dev)
{
	return dev->pmd[0].active || dev->pmd[1].active;
}

/* ---- frames ------------------------------------------------------------------ */

/* Bit writer for delta blocks: one LE bit stream, LSB first. */
struct bit_writer {
	uint8_t *buf;
	size_t cap;
	size_t bits;
};

static int bits_put(struct bit_writer *w, uint32_t v, unsigned n)
{
	if ((w->bits + n + 7) / 8 > w->cap)
		return -ENOBUFS;
	for (unsigned i = 0; i < n; i++, w->bits++) {
		if (!(w->bits % 8))
			w->buf[w->bits / 8] = 0;
		if (v & (1u << i))
			w->buf[w->bits / 8] |= (uint8_t)(1u << (w->bits % 8));
	}
	return 0;
}

static unsigned signed_bits(int v)
{
	unsigned b = 1;

	while (v < -(1 << (b - 1)) || v > (1 << (b - 1)) - 1)
		b++;
	return b;
}

/*
 * Delta frame body (notes/ble.md 1.7): a 16-bit reference sample, then
 * blocks [delta_bits][count] + bits, at most 16 deltas per block so that
 * blocks of one frame get different widths.
 */
size_t pmd_encode_delta(const int16_t (*s)[3], size_t n, uint8_t *out, size_t cap)
{
	size_t pos = 0;

	if (!n || cap < 6)
		return 0;
	for (unsigned c = 0; c < 3; c++) {
		out[pos++] = (uint16_t)s[0][c] & 0xff;
		out[pos++] = (uint16_t)s[0][c] >> 8;
	}
	for (size_t first = 1; first < n; first += PMD_DELTA_BLOCK) {
		size_t count = n - first < PMD_DELTA_BLOCK ? n - first : PMD_DELTA_BLOCK;
		unsigned bits = 1;

		for (size_t i = first; i < first + count; i++)
			for (unsigned c = 0; c < 3; c++) {
				unsigned b = signed_bits(s[i][c] - s[i - 1][c]);

				if (b > bits)
					bits = b;
			}
		if (pos + 2 > cap)
			return 0;
		out[pos++] = (uint8_t)bits;
		out[pos++] = (uint8_t)count;

		struct bit_writer w = { out + pos, cap - pos, 0 };

		for (size_t i = first; i < first + count; i++)
			for (unsigned c = 0; c < 3; c++) {
				int d = s[i][c] - s[i - 1][c];

				if (bits_put(&w, (uint32_t)d & ((1u << bits) - 1), bits) < 0)
					return 0;
			}
		pos += (w.bits + 7) / 8;
	}
	return pos;
}

static int16_t clamp16(double v, double lim)
{
	if (v > lim)
		v = lim;
	if (v < -lim)
		v = -lim;
	return (int16_t)lround(v);
}

/* Sample i of a stream: trace at its time, or standing still past the end. */
static void pmd_sample(struct sim_device *dev, struct pmd_stream *st, uint64_t i,
		       int16_t out[3])
{
	struct sim *sim = dev->sim;
	double t = (double)st->start_sim_usec / 1e6 + (double)i / st->rate_hz, ts, v[6];

	if (trace_time(sim->trace, t, sim->loop, &ts))
		trace_sample(sim->trace, ts, v);
	else
		trace_rest(sim->trace, v);

	for (unsigned c = 0; c < 3; c++) {
		if (st->type == PMD_TYPE_ACC) {
			/*
			 * mG, limited by the range; resolution 16 bit. An axis
			 * absent from the trace reads 0 mG.
			 */
			double lim = st->range * 1000.0;

			out[c] = clamp16(v[c] * 1000, lim < 32767 ? lim : 32767);
		} else {
			/* Gyro LSB; samples x factor = deg/s. */
			out[c] = clamp16(v[3 + c] / st->factor, 32767);
		}
	}
	/*
	 * Keep deltas within 16 bits: a step of more than 32767 LSB between
	 * samples cannot happen on a real axis anyway.
	 */
}

static size_t pmd_samples_per_frame(const struct sim_device *dev, const struct pmd_stream *st)
{
	if (dev->kind == DEVICE_KIND_POLAR_H10) {
		/* Raw type 1 frames fill the ATT payload: 36 x 6 bytes at MTU 232. */
		size_t n = ((size_t)dev->mtu - 3 - PMD_HEADER_LEN) / 6;

		return n < 1 ? 1 : n > 64 ? 64 : n;
	}
	return PMD_DELTA_FRAME_SAMPLES;
}

static void pmd_send_frame(struct sim_device *dev, struct pmd_stream *st, size_t n)
{
	int16_t s[64][3];
	uint8_t frame[SIM_VALUE_MAX];
	size_t len = PMD_HEADER_LEN;
	uint64_t last = st->next_sample + n - 1;
	/* Timestamp of the last sample, sensor clock (ns since 2000-01-01). */
	uint64_t ts = st->epoch_ns + last * 1000000000ULL / st->rate_hz;
	struct sim_char *ch = pmd_data_char(dev);

	for (size_t i = 0; i < n; i++)
		pmd_sample(dev, st, st->next_sample + i, s[i]);
	st->next_sample += n;
	if (!ch || dev->silent)
		return;
	/*
	 * A lost notification (a full host buffer, a congested connection
	 * event): a fixed pseudo-random choice of frames, so runs repeat.
	 */
	if (dev->frame_loss_per_mille &&
	    ((dev->frame_seq++ * 2654435761u) >> 7) % 1000 < dev->frame_loss_per_mille) {
		dev->stat_frames_lost++;
		if (st->type == PMD_TYPE_GYRO)
			dev->stat_gyro_frames_lost++;
		return;
	}

	frame[0] = (uint8_t)st->type;
	for (unsigned b = 0; b < 8; b++)
		frame[1 + b] = (uint8_t)(ts >> (8 * b));
	if (dev->kind == DEVICE_KIND_POLAR_H10) {
		frame[9] = 0x01;	/* raw, 3 x int16 mG */
		for (size_t i = 0; i < n; i++)
			for (unsigned c = 0; c < 3; c++) {
				frame[len++] = (uint16_t)s[i][c] & 0xff;
				frame[len++] = (uint16_t)s[i][c] >> 8;
			}
	} else {
		/* Verity Sense: ACC delta type 1 (0x81), gyro delta type 0 (0x80). */
		frame[9] = st->type == PMD_TYPE_ACC ? 0x81 : 0x80;
		size_t body = pmd_encode_delta((const int16_t (*)[3])s, n, frame + len,
					       sizeof(frame) - len);

		if (!body)
			return;
		len += body;
	}
	char_notify(ch, frame, len);
}

static int pmd_tick(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct pmd_stream *st = userdata;
	struct sim_device *dev = st->dev;
	struct sim *sim = dev->sim;

	size_t per = pmd_samples_per_frame(dev, st);
	uint64_t now = sim_now_usec(sim);
	uint64_t avail = now < st->start_sim_usec ? 0 :
			 (now - st->start_sim_usec) * st->rate_hz / 1000000 + 1;

	/* Catch up at most a few frames after a stall; never flood. */
	for (unsigned k = 0; k < 8 && avail >= st->next_sample + per; k++)
		pmd_send_frame(dev, st, per);
	if (avail >= st->next_sample + per)
		st->next_sample = avail - per;

	uint64_t due = st->start_sim_usec +
		       (st->next_sample + per - 1) * 1000000 / st->rate_hz;

	return sd_event_source_set_time(src, sim_real_at(sim, due)) < 0 ? 0 :
	       sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
}

static void pmd_stream_stop(struct pmd_stream *st)
{
	st->timer = sd_event_source_disable_unref(st->timer);
	st->active = false;
}

void pmd_stop_all(struct sim_device *dev)
{
	pmd_stream_stop(&dev->pmd[0]);
	pmd_stream_stop(&dev->pmd[1]);
}

/* ---- control point --------------------------------------------------------------- */

static void put_factor(uint8_t *out, size_t *n, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	out[(*n)++] = PMD_SET_FACTOR;
	out[(*n)++] = 1;
	for (unsigned b = 0; b < 4; b++)
		out[(*n)++] = (uint8_t)(u >> (8 * b));
}

static struct pmd_stream *pmd_stream_of(struct sim_device *dev, unsigned type)
{
	return &dev->pmd[type == PMD_TYPE_ACC ? 0 : 1];
}

static unsigned pmd_start(struct sim_device *dev, const struct sim_pmd_request *req,
			  uint8_t *params, size_t *np)
{
	struct sim *sim = dev->sim;
	struct pmd_stream *st = pmd_stream_of(dev, req->type);
	uint64_t now;

	if (st->active)
		return PMD_ALREADY_IN_STATE;
	if (req->settings_status != PMD_OK)
		return req->settings_status;

	now = sim_now_usec(sim);
	memset(st, 0, sizeof(*st));
	st->dev = dev;
	st->type = req->type;
	st->rate_hz = req->rate;
	st->range = req->range;
	st->start_sim_usec = now;
	st->epoch_ns = sim->epoch_ns_at_start + now * 1000;
	st->factor = 1.0f;
	if (dev->kind == DEVICE_KIND_POLAR_VERITY_SENSE) {
		/* ACC: mG, factor 1. Gyro: LSB of range/32768 deg/s. */
		if (req->type == PMD_TYPE_GYRO)
			st->factor = (float)req->range / 32768.0f;
		put_factor(params, np, st->factor);
	}
	if (sd_event_add_time(sim->event, &st->timer, CLOCK_MONOTONIC,
			      sim_real_at(sim, now + (pmd_samples_per_frame(dev, st) - 1) *
					  1000000ULL / req->rate),
			      1000, pmd_tick, st) < 0)
		return PMD_INVALID_PARAMETER;
	st->active = true;
	return PMD_OK;
}

void pmd_control_point(struct sim_device *dev, const uint8_t *buf, size_t len,
		       uint8_t *ret, size_t *ret_len)
{
	struct sim_pmd_request req;
	uint8_t params[PMD_SETTINGS_MAX] = {};
	size_t np = 0;
	unsigned status = sim_pmd_request_parse(pmd_model(dev), buf, len, &req);

	if (status == PMD_OK && req.op == PMD_OP_GET_SETTINGS) {
		np = sim_pmd_caps_settings(req.caps, params);
	} else if (status == PMD_OK && req.op == PMD_OP_START) {
		status = pmd_start(dev, &req, params, &np);
	} else if (status == PMD_OK) {
		struct pmd_stream *st = pmd_stream_of(dev, req.type);

		if (!st->active)
			status = PMD_ALREADY_IN_STATE;
		else
			pmd_stream_stop(st);
	}
	*ret_len = sim_pmd_response(&req, status, params, np, ret);
}
