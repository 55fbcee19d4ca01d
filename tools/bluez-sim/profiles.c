// SPDX-License-Identifier: GPL-2.0-or-later
/* bluez-sim: the simulated sensors - GATT tables, advertising data, 1 Hz measurements. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "tools/bluez-sim/sim.h"

#define BASE_UUID "-0000-1000-8000-00805f9b34fb"
#define PMD_SERVICE_UUID "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
#define PMD_CP_UUID "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
#define PMD_DATA_UUID "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

/* Runner model used for HR and power. */
#define RUNNER_MASS_KG		70.0
#define RUNNER_HR_REST_BPM	72.0
#define RUNNER_HR_TAU_S		40.0
/* Stryd-like running power: about 1.04 W/kg per m/s on the flat. */
#define RUNNER_POWER_W_PER_KG_MPS	1.04

static const char *const kind_names[_DEVICE_KIND_MAX] = {
	[DEVICE_KIND_POLAR_H10] = "polar-h10",
	[DEVICE_KIND_POLAR_VERITY_SENSE] = "polar-verity-sense",
	[DEVICE_KIND_FOOTPOD] = "footpod",
	[DEVICE_KIND_POWER] = "power",
	[DEVICE_KIND_HEART_RATE] = "heart-rate",
	[DEVICE_KIND_TREADMILL] = "treadmill",
};

int device_kind_from_string(const char *s)
{
	for (int i = 0; i < _DEVICE_KIND_MAX; i++)
		if (streq(kind_names[i], s))
			return i;
	return -EINVAL;
}

const char *device_kind_to_string(enum device_kind k)
{
	return kind_names[k];
}

/* ---- GATT table ------------------------------------------------------------ */

static void uuid16(char out[SIM_UUID_MAX], unsigned u)
{
	snprintf(out, SIM_UUID_MAX, "0000%04x" BASE_UUID, u);
}

static int add_service(struct sim_device *dev, unsigned *handle, const char *uuid)
{
	struct sim_service *svc;

	if (dev->n_services == SIM_MAX_SERVICES)
		return -E2BIG;
	svc = &dev->services[dev->n_services++];
	svc->dev = dev;
	svc->primary = 1;
	snprintf(svc->uuid, sizeof(svc->uuid), "%s", uuid);
	if (asprintf(&svc->path, "%s/service%04x", dev->path, *handle) < 0) {
		svc->path = NULL;
		return -ENOMEM;
	}
	(*handle)++;
	return 0;
}

static int add_char(struct sim_device *dev, unsigned *handle, const char *uuid,
		    unsigned props, enum char_role role)
{
	struct sim_service *svc = &dev->services[dev->n_services - 1];
	struct sim_char *ch;

	if (dev->n_chars == SIM_MAX_CHARS)
		return -E2BIG;
	ch = &dev->chars[dev->n_chars];
	ch->index = dev->n_chars++;
	ch->dev = dev;
	ch->service = svc;
	ch->role = role;
	ch->props = props;
	ch->acquired_fd = -EBADF;
	snprintf(ch->uuid, sizeof(ch->uuid), "%s", uuid);
	/* BlueZ names a characteristic by its declaration handle. */
	if (asprintf(&ch->path, "%s/char%04x", svc->path, *handle) < 0) {
		ch->path = NULL;
		return -ENOMEM;
	}
	*handle += 2;	/* declaration + value */
	if (props & (GATT_PROP_NOTIFY | GATT_PROP_INDICATE)) {
		if (asprintf(&ch->desc_path, "%s/desc%04x", ch->path, *handle) < 0) {
			ch->desc_path = NULL;
			return -ENOMEM;
		}
		(*handle)++;
	}
	return 0;
}

static int add_char16(struct sim_device *dev, unsigned *handle, unsigned u,
		      unsigned props, enum char_role role)
{
	char uuid[SIM_UUID_MAX];

	uuid16(uuid, u);
	return add_char(dev, handle, uuid, props, role);
}

static int add_service16(struct sim_device *dev, unsigned *handle, unsigned u)
{
	char uuid[SIM_UUID_MAX];

	uuid16(uuid, u);
	return add_service(dev, handle, uuid);
}

static void add_adv_uuid(struct sim_device *dev, unsigned u)
{
	uuid16(dev->adv_uuids[dev->n_adv_uuids++], u);
}

#define R GATT_PROP_READ
#define W GATT_PROP_WRITE
#define N GATT_PROP_NOTIFY
#define I GATT_PROP_INDICATE

/* A 16-bit service and its 16-bit characteristics, in handle order. */
struct char16_spec {
	unsigned uuid;
	unsigned props;
	enum char_role role;
};

static int add_service16_chars(struct sim_device *dev, unsigned *h, unsigned u,
			       const struct char16_spec *c, size_t n)
{
	int r = add_service16(dev, h, u);

	for (size_t i = 0; i < n; i++)
		r |= add_char16(dev, h, c[i].uuid, c[i].props, c[i].role);
	return r;
}

/* Device Information (0x180a): manufacturer and model name. */
static const struct char16_spec device_information[] = {
	{ 0x2a29, R, CHAR_ROLE_MANUFACTURER },
	{ 0x2a24, R, CHAR_ROLE_MODEL },
};

/* Heart Rate (0x180d): measurement and body sensor location. */
static const struct char16_spec heart_rate[] = {
	{ 0x2a37, N, CHAR_ROLE_HRM },
	{ 0x2a38, R, CHAR_ROLE_BODY_LOCATION },
};

int profile_setup(struct sim_device *dev)
{
	/* Handles 0x0001-0x0007 hold GAP, which BlueZ does not export. */
	unsigned h = 0x0008;
	int r = 0;

	dev->battery = 87;
	dev->has_battery = true;
	dev->mtu = 23;
	dev->address_type = (strtoul(dev->address, NULL, 16) & 0xc0) == 0xc0 ?
			    "random" : "public";

	/* Generic Attribute service with Service Changed (indicate). */
	r |= add_service16(dev, &h, 0x1801);
	r |= add_char16(dev, &h, 0x2a05, I, CHAR_ROLE_SERVICE_CHANGED);
	h = 0x000c;

	switch (dev->kind) {
	case DEVICE_KIND_POLAR_H10:
	case DEVICE_KIND_POLAR_VERITY_SENSE:
		/*
		 * Polar sensors advertise Heart Rate and Polar's 16-bit UUID
		 * 0xFEEE, never the 128-bit PMD service (issue 5).
		 */
		dev->mtu = 232;
		dev->appearance = 0x0340;	/* generic heart rate sensor */
		add_adv_uuid(dev, 0x180d);
		add_adv_uuid(dev, 0xfeee);
		dev->company_id = 0x006b;	/* Polar Electro Oy */
		dev->mfr_len = 4;
		memcpy(dev->mfr_data, (const uint8_t[]){ 0x33, 0x1e, 0x3f, 0x00 }, 4);
		r |= add_service16_chars(dev, &h, 0x180d, heart_rate, ELEMENTSOF(heart_rate));
		r |= add_service16_chars(dev, &h, 0x180a, device_information,
					 ELEMENTSOF(device_information));
		r |= add_char16(dev, &h, 0x2a26, R, CHAR_ROLE_FIRMWARE);
		r |= add_service(dev, &h, PMD_SERVICE_UUID);
		r |= add_char(dev, &h, PMD_CP_UUID, R | W | I, CHAR_ROLE_PMD_CP);
		r |= add_char(dev, &h, PMD_DATA_UUID, N, CHAR_ROLE_PMD_DATA);
		break;
	case DEVICE_KIND_HEART_RATE:
		dev->appearance = 0x0341;	/* heart rate belt */
		add_adv_uuid(dev, 0x180d);
		r |= add_service16_chars(dev, &h, 0x180d, heart_rate, ELEMENTSOF(heart_rate));
		r |= add_service16_chars(dev, &h, 0x180a, device_information,
					 ELEMENTSOF(device_information));
		break;
	case DEVICE_KIND_FOOTPOD:
	case DEVICE_KIND_POWER:
		dev->appearance = 0x0443;	/* running walking sensor, on shoe */
		add_adv_uuid(dev, 0x1814);
		if (dev->kind == DEVICE_KIND_POWER) {
			add_adv_uuid(dev, 0x1818);
			dev->mtu = 247;
		}
		r |= add_service16(dev, &h, 0x1814);
		r |= add_char16(dev, &h, 0x2a53, N, CHAR_ROLE_RSC_MEASUREMENT);
		r |= add_char16(dev, &h, 0x2a54, R, CHAR_ROLE_RSC_FEATURE);
		r |= add_char16(dev, &h, 0x2a5d, R, CHAR_ROLE_SENSOR_LOCATION);
		r |= add_char16(dev, &h, 0x2a55, W | I, CHAR_ROLE_SC_CP);
		if (dev->kind == DEVICE_KIND_POWER) {
			r |= add_service16(dev, &h, 0x1818);
			r |= add_char16(dev, &h, 0x2a63, N, CHAR_ROLE_CP_MEASUREMENT);
			r |= add_char16(dev, &h, 0x2a65, R, CHAR_ROLE_CP_FEATURE);
			r |= add_char16(dev, &h, 0x2a5d, R, CHAR_ROLE_SENSOR_LOCATION);
		}
		r |= add_service16_chars(dev, &h, 0x180a, device_information,
					 ELEMENTSOF(device_information));
		break;
	case DEVICE_KIND_TREADMILL:
		dev->appearance = 0x0000;
		dev->has_battery = false;
		add_adv_uuid(dev, 0x1826);
		/* FTMS service data: flags (available), type (bit 0 treadmill). */
		uuid16(dev->svc_data_uuid, 0x1826);
		memcpy(dev->svc_data, (const uint8_t[]){ 0x01, 0x01, 0x00 }, 3);
		dev->svc_data_len = 3;
		r |= add_service16(dev, &h, 0x1826);
		r |= add_char16(dev, &h, 0x2acc, R, CHAR_ROLE_FTMS_FEATURE);
		r |= add_char16(dev, &h, 0x2acd, N, CHAR_ROLE_TREADMILL_DATA);
		r |= add_char16(dev, &h, 0x2ad3, R | N, CHAR_ROLE_TRAINING_STATUS);
		r |= add_char16(dev, &h, 0x2ad4, R, CHAR_ROLE_SPEED_RANGE);
		r |= add_char16(dev, &h, 0x2ad5, R, CHAR_ROLE_INCLINE_RANGE);
		r |= add_char16(dev, &h, 0x2ad9, W | I, CHAR_ROLE_FTMS_CP);
		r |= add_char16(dev, &h, 0x2ada, N, CHAR_ROLE_FTMS_STATUS);
		r |= add_service16_chars(dev, &h, 0x180a, device_information,
					 ELEMENTSOF(device_information));
		break;
	case _DEVICE_KIND_MAX:
	case _DEVICE_KIND_INVALID:
		return -EINVAL;
	}
	return r ? -ENOMEM : 0;
}

#undef R
#undef W
#undef N
#undef I

/* ---- the run, as sensors see it ------------------------------------------ */

struct run_state {
	double speed_mps;
	double cadence_spm;
	bool moving;
};

/*
 * Below this cadence the trace's runner walks: at about 0.75 m a step
 * (a walk's 1-1.5 m/s), never faster than the running speed.
 */
#define WALK_MAX_SPM 130.0
#define WALK_STEP_M 0.75

static void run_state_at(struct sim_device *dev, double sim_s, struct run_state *ret)
{
	struct sim *sim = dev->sim;
	double ts;
	bool in_trace = trace_time(sim->trace, sim_s, sim->loop, &ts);

	ret->cadence_spm = in_trace ? trace_cadence_spm(sim->trace, ts, sim->loop) : 0;
	ret->moving = ret->cadence_spm > 0;
	ret->speed_mps = !ret->moving ? 0 :
		ret->cadence_spm >= WALK_MAX_SPM ? sim->speed_mps :
		fmin(sim->speed_mps, ret->cadence_spm / 60 * WALK_STEP_M);
	if (dev->kind == DEVICE_KIND_TREADMILL) {
		/* The belt runs at its set speed whatever the runner does. */
		ret->speed_mps = dev->ftms_running ? dev->ftms_speed_mps : 0;
		ret->moving = ret->speed_mps > 0;
	}
}

static void put_le16(uint8_t *p, unsigned v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
}

static unsigned clamp_u(double v, unsigned max)
{
	if (!(v > 0))
		return 0;
	return v > max ? max : (unsigned)lround(v);
}

/* Heart Rate Measurement (notes/ble.md 1.4): flags 0x16, uint8 HR, RR list. */
static size_t make_hrm(struct sim_device *dev, double now_s, const struct run_state *rs,
		       uint8_t *p)
{
	double target = RUNNER_HR_REST_BPM + (rs->moving ? 60 + 8 * rs->speed_mps : 0) +
			(rs->moving ? 2.5 * dev->sim->incline_pct : 0);
	size_t n = 2;

	if (dev->hr_bpm <= 0)
		dev->hr_bpm = RUNNER_HR_REST_BPM + 20;
	dev->hr_bpm += (target - dev->hr_bpm) * (1 - exp(-1.0 / RUNNER_HR_TAU_S));
	/* Breathing-rate wobble so the curve is not perfectly smooth. */
	double hr = dev->hr_bpm + 1.5 * sin(now_s * 2 * M_PI / 4.1);

	p[0] = 0x16;	/* uint8 HR, contact supported + detected, RR present */
	p[1] = (uint8_t)clamp_u(hr, 255);
	if (dev->next_beat_s <= 0)
		dev->next_beat_s = now_s - 0.5;
	/* All beats since the last notification, at most 9 (23-byte MTU). */
	while (dev->next_beat_s <= now_s) {
		double rr = 60.0 / hr * (1 + 0.02 * sin(dev->next_beat_s * 1.7));

		if (n < 2 + 2 * 9) {
			put_le16(p + n, clamp_u(rr * 1024, 0xffff));
			n += 2;
		}
		dev->next_beat_s += rr;
	}
	if (n == 2)
		p[0] = 0x06;	/* no beat in this second: no RR field */
	return n;
}

/* RSC Measurement (1.1): speed 1/256 m/s, cadence 1/min, stride cm, distance dm. */
static size_t make_rsc(struct sim_device *dev, const struct run_state *rs, uint8_t *p)
{
	unsigned stride_cm = 0;

	if (rs->cadence_spm > 0)
		stride_cm = clamp_u(rs->speed_mps / (rs->cadence_spm / 60.0) * 100, 0xffff);
	p[0] = 0x03 | (rs->speed_mps >= 2.0 ? 0x04 : 0);
	put_le16(p + 1, clamp_u(rs->speed_mps * 256, 0xffff));
	p[3] = (uint8_t)clamp_u(rs->cadence_spm, 255);
	put_le16(p + 4, stride_cm);
	uint32_t dm = (uint32_t)(dev->distance_m * 10);

	p[6] = dm & 0xff;
	p[7] = (dm >> 8) & 0xff;
	p[8] = (dm >> 16) & 0xff;
	p[9] = (dm >> 24) & 0xff;
	return 10;
}

/* Cycling Power Measurement (1.5): flags 0, instantaneous power sint16 W. */
static size_t make_cp(struct sim_device *dev, const struct run_state *rs, uint8_t *p)
{
	double grade = dev->sim->incline_pct / 100.0;
	double w = rs->moving ? RUNNER_MASS_KG * rs->speed_mps *
		   (RUNNER_POWER_W_PER_KG_MPS + 9.80665 * grade) : 0;

	put_le16(p, 0);
	put_le16(p + 2, clamp_u(w, 0x7fff));
	return 4;
}

/*
 * Treadmill Data (1.6): flags 0x040c = speed (bit 0 clear), total distance,
 * inclination + ramp angle, elapsed time; with --treadmill-hr-s, until then
 * also heart rate (bit 8, uint8, before the elapsed time). At most 14
 * bytes: they fit a 23-byte MTU.
 */
static size_t make_treadmill(struct sim_device *dev, double now_s, const struct run_state *rs,
			     uint8_t *p)
{
	uint32_t m = (uint32_t)dev->distance_m;
	int incl = (int)lround(dev->ftms_incline_pct * 10);
	int ramp = (int)lround(atan(dev->ftms_incline_pct / 100) * 180 / M_PI * 10);
	bool hr = now_s < dev->sim->treadmill_hr_s;
	size_t n = 11;

	put_le16(p, 0x040c | (hr ? 0x0100 : 0));
	put_le16(p + 2, clamp_u(rs->speed_mps * 3.6 * 100, 0xffff));
	p[4] = m & 0xff;
	p[5] = (m >> 8) & 0xff;
	p[6] = (m >> 16) & 0xff;
	put_le16(p + 7, (unsigned)(incl & 0xffff));
	put_le16(p + 9, (unsigned)(ramp & 0xffff));
	if (hr)
		p[n++] = (uint8_t)clamp_u(RUNNER_HR_REST_BPM + (rs->moving ? 60 + 8 *
							     rs->speed_mps : 0), 0xff);
	put_le16(p + n, clamp_u(dev->elapsed_s, 0xffff));
	return n + 2;
}

static int sensor_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct sim_device *dev = userdata;
	struct sim *sim = dev->sim;
	uint64_t now = sim_now_usec(sim);
	double now_s = (double)now / 1e6;
	struct run_state rs;
	uint8_t buf[32];
	size_t n;

	run_state_at(dev, now_s, &rs);
	dev->sensor_tick++;
	dev->distance_m += rs.speed_mps;	/* one second of running */
	if (dev->kind != DEVICE_KIND_TREADMILL || dev->ftms_running)
		dev->elapsed_s += 1;

	for (unsigned i = 0; !dev->silent && i < dev->n_chars; i++) {
		struct sim_char *ch = &dev->chars[i];

		switch (ch->role) {
		case CHAR_ROLE_HRM:
			n = make_hrm(dev, now_s, &rs, buf);
			break;
		case CHAR_ROLE_RSC_MEASUREMENT:
			n = make_rsc(dev, &rs, buf);
			break;
		case CHAR_ROLE_CP_MEASUREMENT:
			n = make_cp(dev, &rs, buf);
			break;
		case CHAR_ROLE_TREADMILL_DATA:
			n = make_treadmill(dev, now_s, &rs, buf);
			break;
		default:
			continue;
		}
		char_notify(ch, buf, n);
	}

	/* Next tick one sim second later. */
	uint64_t next = sim_real_at(sim, now - now % 1000000 + 1000000);

	return sd_event_source_set_time(s, next) < 0 ? 0 :
	       sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

void profile_connected(struct sim_device *dev)
{
	struct sim *sim = dev->sim;
	uint64_t now = sim_now_usec(sim);

	dev->sensor_tick = 0;
	dev->next_beat_s = 0;
	dev->ftms_controlled = false;
	if (dev->kind == DEVICE_KIND_TREADMILL && dev->ftms_speed_mps <= 0) {
		dev->ftms_speed_mps = sim->speed_mps;
		dev->ftms_incline_pct = sim->incline_pct;
		dev->ftms_running = true;
	}
	sd_event_source_disable_unref(dev->sensor_timer);
	dev->sensor_timer = NULL;
	(void)sd_event_add_time(sim->event, &dev->sensor_timer, CLOCK_MONOTONIC,
				sim_real_at(sim, now - now % 1000000 + 1000000), 1000,
				sensor_tick, dev);
}

void profile_disconnected(struct sim_device *dev)
{
	dev->sensor_timer = sd_event_source_disable_unref(dev->sensor_timer);
	pmd_stop_all(dev);
}

/* ---- reads ------------------------------------------------------------------ */

static void set_value(struct sim_char *ch, const void *p, size_t n)
{
	memcpy(ch->value, p, n);
	ch->value_len = n;
}

static void set_string(struct sim_char *ch, const char *s)
{
	set_value(ch, s, strlen(s));
}

static uint8_t sensor_location(const struct sim_device *dev)
{
	/* Sensor Location 0x2A5D: 1 top of shoe (footpods), 14 chest. */
	return dev->kind == DEVICE_KIND_FOOTPOD || dev->kind == DEVICE_KIND_POWER ? 1 : 14;
}

int profile_read(struct sim_char *ch)
{
	struct sim_device *dev = ch->dev;
	static const char *const makers[_DEVICE_KIND_MAX] = {
		"Polar Electro Oy", "Polar Electro Oy", "Milestone Sports",
		"Stryd", "Generic", "Simulated Treadmill Co",
	};
	static const char *const models[_DEVICE_KIND_MAX] = {
		"Polar H10", "Polar Sense", "Pod 2", "Stryd 5", "HRM-Sim", "FTMS-Sim",
	};
	uint8_t b[8];

	switch (ch->role) {
	case CHAR_ROLE_MANUFACTURER:
		set_string(ch, makers[dev->kind]);
		break;
	case CHAR_ROLE_MODEL:
		set_string(ch, models[dev->kind]);
		break;
	case CHAR_ROLE_FIRMWARE:
		set_string(ch, "3.1.1");
		break;
	case CHAR_ROLE_BODY_LOCATION:
		b[0] = 1;	/* chest */
		set_value(ch, b, 1);
		break;
	case CHAR_ROLE_PMD_CP: {
		size_t n;

		pmd_features(dev, ch->value, &n);
		ch->value_len = n;
		break;
	}
	case CHAR_ROLE_RSC_FEATURE:
		/* stride, total distance, walking/running, calibration, locations */
		put_le16(b, 0x001f);
		set_value(ch, b, 2);
		break;
	case CHAR_ROLE_SENSOR_LOCATION:
		if (!ch->value_len) {
			b[0] = sensor_location(dev);
			set_value(ch, b, 1);
		}
		break;
	case CHAR_ROLE_CP_FEATURE:
		memset(b, 0, 4);
		set_value(ch, b, 4);
		break;
	case CHAR_ROLE_FTMS_FEATURE:
		/*
		 * Machine: total distance (2), inclination (3), elapsed time
		 * (12); targets: speed (0), inclination (1).
		 */
		memcpy(b, (const uint8_t[]){ 0x0c, 0x10, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00 }, 8);
		set_value(ch, b, 8);
		break;
	case CHAR_ROLE_TRAINING_STATUS:
		/* flags 0, status 0x0d manual mode (quick start) */
		set_value(ch, (const uint8_t[]){ 0x00, 0x0d }, 2);
		break;
	case CHAR_ROLE_SPEED_RANGE:
		/* 1.00 .. 20.00 km/h, step 0.10 km/h (uint16, 0.01 km/h) */
		set_value(ch, (const uint8_t[]){ 0x64, 0x00, 0xd0, 0x07, 0x0a, 0x00 }, 6);
		break;
	case CHAR_ROLE_INCLINE_RANGE:
		/* 0.0 .. 15.0 %, step 0.5 % (sint16/uint16, 0.1 %) */
		set_value(ch, (const uint8_t[]){ 0x00, 0x00, 0x96, 0x00, 0x05, 0x00 }, 6);
		break;
	case CHAR_ROLE_SERVICE_CHANGED:
	case CHAR_ROLE_HRM:
	case CHAR_ROLE_PMD_DATA:
	case CHAR_ROLE_RSC_MEASUREMENT:
	case CHAR_ROLE_SC_CP:
	case CHAR_ROLE_CP_MEASUREMENT:
	case CHAR_ROLE_TREADMILL_DATA:
	case CHAR_ROLE_FTMS_CP:
	case CHAR_ROLE_FTMS_STATUS:
	case _CHAR_ROLE_MAX:
		return -EPERM;
	}
	return 0;
}

/* ---- writes: control points ----------------------------------------------------- */

/* SC Control Point 0x2A55 (1.3): response 10 <op> <result> [locations]. */
static int sc_control_point(struct sim_char *ch, const uint8_t *p, size_t n,
			    uint8_t *ret, size_t *ret_len)
{
	struct sim_device *dev = ch->dev;
	uint8_t result = 0x01;

	*ret_len = 3;
	if (n < 1)
		return -EINVAL;
	switch (p[0]) {
	case 0x01:	/* set cumulative value, uint32 dm */
		if (n != 5)
			result = 0x03;
		else
			dev->distance_m = (double)(p[1] | p[2] << 8 | p[3] << 16 |
						   (uint32_t)p[4] << 24) / 10;
		break;
	case 0x02:	/* start sensor calibration */
		break;
	case 0x03:	/* update sensor location */
		if (n != 2 || p[1] < 1 || p[1] > 3) {
			result = 0x03;
		} else {
			for (unsigned i = 0; i < dev->n_chars; i++)
				if (dev->chars[i].role == CHAR_ROLE_SENSOR_LOCATION)
					set_value(&dev->chars[i], &p[1], 1);
		}
		break;
	case 0x04:	/* request supported sensor locations */
		memcpy(ret + 3, (const uint8_t[]){ 0x01, 0x02, 0x03 }, 3);
		*ret_len = 6;
		break;
	default:
		result = 0x02;
		break;
	}
	ret[0] = 0x10;
	ret[1] = p[0];
	ret[2] = result;
	return 0;
}

static void ftms_status(struct sim_device *dev, const uint8_t *p, size_t n)
{
	for (unsigned i = 0; i < dev->n_chars; i++)
		if (dev->chars[i].role == CHAR_ROLE_FTMS_STATUS)
			char_notify(&dev->chars[i], p, n);
}

/* Fitness Machine Control Point 0x2AD9 (1.6): response 80 <op> <result>. */
static int ftms_control_point(struct sim_char *ch, const uint8_t *p, size_t n,
			      uint8_t *ret, size_t *ret_len)
{
	struct sim_device *dev = ch->dev;
	uint8_t result = 0x01, st[3];

	if (n < 1)
		return -EINVAL;
	ret[0] = 0x80;
	ret[1] = p[0];
	*ret_len = 3;
	if (p[0] != 0x00 && !dev->ftms_controlled) {
		ret[2] = 0x05;	/* control not permitted */
		return 0;
	}
	switch (p[0]) {
	case 0x00:	/* request control */
		if (n != 1)
			result = 0x03;
		else
			dev->ftms_controlled = true;
		break;
	case 0x01:	/* reset */
		dev->ftms_controlled = false;
		dev->distance_m = 0;
		dev->elapsed_s = 0;
		ftms_status(dev, (const uint8_t[]){ 0x01 }, 1);
		break;
	case 0x02: {	/* set target speed, uint16 0.01 km/h */
		unsigned v = n == 3 ? (unsigned)(p[1] | p[2] << 8) : 0;

		if (n != 3 || v < 100 || v > 2000) {
			result = 0x03;
			break;
		}
		dev->ftms_speed_mps = v / 100.0 / 3.6;
		st[0] = 0x05;
		put_le16(st + 1, v);
		ftms_status(dev, st, 3);
		break;
	}
	case 0x03: {	/* set target inclination, sint16 0.1 % */
		int v = n == 3 ? (int16_t)(p[1] | p[2] << 8) : -1;

		if (n != 3 || v < 0 || v > 150) {
			result = 0x03;
			break;
		}
		dev->ftms_incline_pct = v / 10.0;
		st[0] = 0x06;
		put_le16(st + 1, (unsigned)v);
		ftms_status(dev, st, 3);
		break;
	}
	case 0x07:	/* start or resume */
		dev->ftms_running = true;
		ftms_status(dev, (const uint8_t[]){ 0x04 }, 1);
		break;
	case 0x08:	/* stop (1) or pause (2) */
		if (n != 2 || p[1] < 1 || p[1] > 2) {
			result = 0x03;
			break;
		}
		dev->ftms_running = false;
		ftms_status(dev, (const uint8_t[]){ 0x02, p[1] }, 2);
		break;
	default:
		result = 0x02;
		break;
	}
	ret[2] = result;
	return 0;
}

int profile_write(struct sim_char *ch, const uint8_t *buf, size_t len,
		  uint8_t *ret_ind, size_t *ret_ind_len)
{
	*ret_ind_len = 0;
	switch (ch->role) {
	case CHAR_ROLE_PMD_CP:
		pmd_control_point(ch->dev, buf, len, ret_ind, ret_ind_len);
		return 0;
	case CHAR_ROLE_SC_CP:
		/* Indications must be on first (CSCS/RSCS: ATT error 0xFD). */
		if (!ch->n_sessions)
			return -EBADR;
		return sc_control_point(ch, buf, len, ret_ind, ret_ind_len);
	case CHAR_ROLE_FTMS_CP:
		if (!ch->n_sessions)
			return -EBADR;
		return ftms_control_point(ch, buf, len, ret_ind, ret_ind_len);
	case CHAR_ROLE_SERVICE_CHANGED:
	case CHAR_ROLE_MANUFACTURER:
	case CHAR_ROLE_MODEL:
	case CHAR_ROLE_FIRMWARE:
	case CHAR_ROLE_HRM:
	case CHAR_ROLE_BODY_LOCATION:
	case CHAR_ROLE_PMD_DATA:
	case CHAR_ROLE_RSC_MEASUREMENT:
	case CHAR_ROLE_RSC_FEATURE:
	case CHAR_ROLE_SENSOR_LOCATION:
	case CHAR_ROLE_CP_MEASUREMENT:
	case CHAR_ROLE_CP_FEATURE:
	case CHAR_ROLE_FTMS_FEATURE:
	case CHAR_ROLE_TREADMILL_DATA:
	case CHAR_ROLE_TRAINING_STATUS:
	case CHAR_ROLE_SPEED_RANGE:
	case CHAR_ROLE_INCLINE_RANGE:
	case CHAR_ROLE_FTMS_STATUS:
	case _CHAR_ROLE_MAX:
		break;
	}
	return -EPERM;
}
