/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ble-driver: runs ble_manager on $DBUS_SYSTEM_BUS_ADDRESS, one JSON line per callback. */
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "ble/ble.h"
#include "common/macro.h"
#include "common/parse.h"

/*
 * Usage: ble-driver [--adapter NAME] [--power-cycle] [--power-cycle-after N]
 *                   [--info-ms N]
 *                   [--exit-after-ms N] [--imu-every N]
 *                   [--connect-timeout-ms N] [--subscribe-timeout-ms N]
 *                   --sensor alias=A,kind=K[,address=X][,pattern=P][,rate=HZ]
 *                            [,range=G][,gyro=0|1][,acquire=0|1]
 *                            [,multiplier=X] ...
 * Prints to stdout, one JSON object per line, "event" first:
 *   state, imu, heart_rate, rsc, power, treadmill, battery, rssi,
 *   malformed, info (periodic with --info-ms, and at exit).
 * SIGUSR1 prints info lines at once; SIGINT/SIGTERM exit cleanly.
 */

#define MAX_SENSORS 8

struct driver {
	sd_event *event;
	struct ble_manager *manager;
	uint64_t start_usec;
	unsigned ids[MAX_SENSORS];
	size_t n_ids;
	unsigned imu_every;		/* print every Nth IMU callback */
	/* per sensor id */
	uint64_t imu_calls[MAX_SENSORS + 1];
	uint64_t imu_samples[MAX_SENSORS + 1];
	uint64_t imu_gyro[MAX_SENSORS + 1];
	uint64_t info_usec;		/* period of info lines, 0 = off */
};

static uint64_t mono_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct json_object *jnum(double v)
{
	return isfinite(v) ? json_object_new_double(v) : NULL;
}

static struct json_object *line_new(struct driver *d, const char *event,
				    const char *alias)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "t_ms",
			       json_object_new_int64((int64_t)((mono_usec() -
								d->start_usec) /
							       1000)));
	/* wall clock, so test scripts can time faults they inject */
	json_object_object_add(o, "wall_ms", json_object_new_int64(wall_ms()));
	if (alias)
		json_object_object_add(o, "alias", json_object_new_string(alias));
	return o;
}

static void line_put(struct json_object *o)
{
	if (!o)
		return;
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static void on_state(void *userdata, unsigned id, const char *alias,
		     enum ble_sensor_state state, const char *reason,
		     bool available)
{
	struct json_object *o = line_new(userdata, "state", alias);

	if (!o)
		return;
	json_object_object_add(o, "state",
			       json_object_new_string(ble_sensor_state_to_string(state)));
	json_object_object_add(o, "reason", json_object_new_string(reason));
	json_object_object_add(o, "available", json_object_new_boolean(available));
	line_put(o);
}

static struct json_object *vec3(const float v[3])
{
	struct json_object *a;

	if (!isfinite(v[0]))
		return NULL;
	a = json_object_new_array();
	for (unsigned k = 0; a && k < 3; k++)
		json_object_array_add(a, json_object_new_double(v[k]));
	return a;
}

static void on_imu(void *userdata, unsigned id, const char *alias,
		   const struct ble_imu_sample *samples, size_t n)
{
	struct driver *d = userdata;
	unsigned k = id % (MAX_SENSORS + 1);
	struct json_object *o;
	size_t with_gyro = 0;
	bool monotonic = true;
	double norm = 0;

	for (size_t i = 0; i < n; i++) {
		if (isfinite(samples[i].gyro_dps[0]))
			with_gyro++;
		if (i && samples[i].t_usec < samples[i - 1].t_usec)
			monotonic = false;
		norm += sqrt(samples[i].acc_g[0] * samples[i].acc_g[0] +
			     samples[i].acc_g[1] * samples[i].acc_g[1] +
			     samples[i].acc_g[2] * samples[i].acc_g[2]);
	}
	d->imu_samples[k] += n;
	d->imu_gyro[k] += with_gyro;
	if (d->imu_calls[k]++ % d->imu_every)
		return;
	o = line_new(d, "imu", alias);
	if (!o)
		return;
	json_object_object_add(o, "n", json_object_new_int64((int64_t)n));
	json_object_object_add(o, "n_gyro", json_object_new_int64((int64_t)with_gyro));
	json_object_object_add(o, "total", json_object_new_int64((int64_t)d->imu_samples[k]));
	json_object_object_add(o, "total_gyro", json_object_new_int64((int64_t)d->imu_gyro[k]));
	json_object_object_add(o, "acc_mean_norm_g", json_object_new_double(norm / n));
	json_object_object_add(o, "monotonic", json_object_new_boolean(monotonic));
	/* sensor-side time of the newest sample: rates from sample times */
	json_object_object_add(o, "t_last_us", json_object_new_int64((int64_t)samples[n - 1].t_usec));
	json_object_object_add(o, "age_ms",
			       json_object_new_int64(((int64_t)mono_usec() -
						      (int64_t)samples[n - 1].t_usec) /
						     1000));
	json_object_object_add(o, "acc_g", vec3(samples[0].acc_g));
	json_object_object_add(o, "gyro_dps", vec3(samples[0].gyro_dps));
	line_put(o);
}

static void on_heart_rate(void *userdata, unsigned id, const char *alias,
			  const struct ble_heart_rate *hr)
{
	struct json_object *o = line_new(userdata, "heart_rate", alias);
	struct json_object *rr;

	if (!o)
		return;
	json_object_object_add(o, "bpm", json_object_new_int64(hr->bpm));
	rr = json_object_new_array();
	for (size_t i = 0; rr && i < hr->n_rr; i++)
		json_object_array_add(rr, json_object_new_double(hr->rr_ms[i]));
	json_object_object_add(o, "rr_ms", rr);
	line_put(o);
}

static void on_rsc(void *userdata, unsigned id, const char *alias,
		   const struct ble_rsc *rsc)
{
	struct json_object *o = line_new(userdata, "rsc", alias);

	if (!o)
		return;
	json_object_object_add(o, "speed_mps", jnum(rsc->speed_mps));
	json_object_object_add(o, "cadence_spm", jnum(rsc->cadence_spm));
	json_object_object_add(o, "stride_length_mm", jnum(rsc->stride_length_mm));
	json_object_object_add(o, "total_distance_mm", jnum(rsc->total_distance_mm));
	json_object_object_add(o, "running",
			       rsc->has_running ? json_object_new_boolean(rsc->running) :
						  NULL);
	line_put(o);
}

static void on_power(void *userdata, unsigned id, const char *alias,
		     const struct ble_power *p)
{
	struct json_object *o = line_new(userdata, "power", alias);

	if (!o)
		return;
	json_object_object_add(o, "power_w", jnum(p->power_w));
	line_put(o);
}

static void on_treadmill(void *userdata, unsigned id, const char *alias,
			 const struct ble_treadmill *t)
{
	struct json_object *o = line_new(userdata, "treadmill", alias);

	if (!o)
		return;
	json_object_object_add(o, "speed_mps", jnum(t->speed_mps));
	json_object_object_add(o, "inclination_pct", jnum(t->inclination_pct));
	json_object_object_add(o, "total_distance_mm", jnum(t->total_distance_mm));
	json_object_object_add(o, "elapsed_ms", jnum(t->elapsed_ms));
	json_object_object_add(o, "heart_rate_bpm", jnum(t->heart_rate_bpm));
	json_object_object_add(o, "power_w", jnum(t->power_w));
	line_put(o);
}

/* battery_pct null: unknown (no Battery1) */
static void on_battery(void *userdata, unsigned id, const char *alias, int pct)
{
	struct json_object *o = line_new(userdata, "battery", alias);

	if (!o)
		return;
	json_object_object_add(o, "battery_pct", pct >= 0 ? json_object_new_int64(pct) : NULL);
	line_put(o);
}

/* rssi_dbm null: unknown */
static void on_rssi(void *userdata, unsigned id, const char *alias, bool known, int rssi)
{
	struct json_object *o = line_new(userdata, "rssi", alias);

	if (!o)
		return;
	json_object_object_add(o, "rssi_dbm", known ? json_object_new_int64(rssi) : NULL);
	line_put(o);
}

static void on_malformed(void *userdata, unsigned id, const char *alias,
			 const char *what, int error, uint64_t count)
{
	struct json_object *o = line_new(userdata, "malformed", alias);

	if (!o)
		return;
	json_object_object_add(o, "what", json_object_new_string(what));
	json_object_object_add(o, "error", json_object_new_string(strerror(-error)));
	json_object_object_add(o, "count", json_object_new_int64((int64_t)count));
	line_put(o);
}

static void on_debug(void *userdata, const char *alias, const char *message)
{
	struct json_object *o = line_new(userdata, "debug", alias);

	if (!o)
		return;
	json_object_object_add(o, "message", json_object_new_string(message));
	line_put(o);
}

static void print_info(struct driver *d)
{
	for (size_t i = 0; i < d->n_ids; i++) {
		struct ble_sensor_info info;
		struct json_object *o;

		if (ble_manager_get_sensor(d->manager, d->ids[i], &info) < 0)
			continue;
		o = line_new(d, "info", info.alias);
		if (!o)
			continue;
		json_object_object_add(o, "kind",
				       json_object_new_string(ble_sensor_kind_to_string(info.kind)));
		json_object_object_add(o, "state",
				       json_object_new_string(ble_sensor_state_to_string(info.state)));
		json_object_object_add(o, "reason", json_object_new_string(info.reason));
		json_object_object_add(o, "available",
				       json_object_new_boolean(info.available));
		json_object_object_add(o, "address", info.address ?
				       json_object_new_string(info.address) : NULL);
		json_object_object_add(o, "connects", json_object_new_int64(info.connects));
		json_object_object_add(o, "failures", json_object_new_int64(info.failures));
		json_object_object_add(o, "subscriptions",
				       json_object_new_int64(info.subscriptions));
		json_object_object_add(o, "notifications",
				       json_object_new_int64((int64_t)info.notifications));
		json_object_object_add(o, "malformed",
				       json_object_new_int64((int64_t)info.malformed));
		json_object_object_add(o, "last_seen_age_ms", info.last_seen_usec ?
				       json_object_new_int64((int64_t)(mono_usec() -
								       info.last_seen_usec) /
							     1000) : NULL);
		json_object_object_add(o, "battery_pct", info.battery_pct >= 0 ?
				       json_object_new_int64(info.battery_pct) : NULL);
		json_object_object_add(o, "rssi_dbm", info.has_rssi ?
				       json_object_new_int64(info.rssi_dbm) : NULL);
		line_put(o);
	}
	{
		struct json_object *o = line_new(d, "manager", NULL);
		const char *a = ble_manager_adapter(d->manager);

		if (o) {
			json_object_object_add(o, "adapter",
					       a ? json_object_new_string(a) : NULL);
			json_object_object_add(o, "bluez",
					       json_object_new_boolean(ble_manager_bluez_present(d->manager)));
			line_put(o);
		}
	}
}

static int on_info_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct driver *d = userdata;

	print_info(d);
	(void)sd_event_source_set_time_relative(s, d->info_usec);
	(void)sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	return 0;
}

static int on_sigusr1(sd_event_source *s, const struct signalfd_siginfo *si,
		      void *userdata)
{
	print_info(userdata);
	return 0;
}

static int on_exit_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct driver *d = userdata;

	return sd_event_exit(d->event, 0);
}

/* Parse "key=value,key=value" into a sensor config; strings point into spec. */
static int parse_sensor(char *spec, struct ble_sensor_config *c)
{
	ble_sensor_config_init(c);
	for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
		char *eq = strchr(tok, '=');
		unsigned long long u;
		double x;
		int r = 0;

		if (!eq)
			return -EINVAL;
		*eq++ = '\0';
		if (streq(tok, "alias")) {
			c->alias = eq;
		} else if (streq(tok, "kind")) {
			c->kind = ble_sensor_kind_from_string(eq);
			if (c->kind < 0)
				return -EINVAL;
		} else if (streq(tok, "address")) {
			c->address = eq;
		} else if (streq(tok, "pattern")) {
			c->name_pattern = eq;
		} else if (streq(tok, "rate")) {
			r = parse_unsigned(eq, 10000, &u);
			c->imu_rate_hz = (unsigned)u;
		} else if (streq(tok, "range")) {
			r = parse_unsigned(eq, 64, &u);
			c->imu_range_g = (unsigned)u;
		} else if (streq(tok, "gyro")) {
			r = parse_unsigned(eq, 1, &u);
			c->gyro = u;
		} else if (streq(tok, "acquire")) {
			r = parse_unsigned(eq, 1, &u);
			c->prefer_acquire_notify = u;
		} else if (streq(tok, "multiplier")) {
			r = parse_double(eq, &x);
			c->cadence_multiplier = x;
		} else {
			return -EINVAL;
		}
		if (r < 0)
			return r;
	}
	return c->alias ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	struct ble_callbacks cb = {
		.on_state = on_state,
		.on_imu = on_imu,
		.on_heart_rate = on_heart_rate,
		.on_rsc = on_rsc,
		.on_power = on_power,
		.on_treadmill = on_treadmill,
		.on_battery = on_battery,
		.on_rssi = on_rssi,
		.on_malformed = on_malformed,
		.on_debug = on_debug,
	};
	struct ble_options opts = {};
	struct ble_sensor_config configs[MAX_SENSORS];
	size_t n_configs = 0;
	unsigned long long info_ms = 0, exit_ms = 0, imu_every = 1, ms = 0;
	struct driver d = { .imu_every = 1 };
	sd_bus *bus = NULL;
	sd_event_source *info_src = NULL, *exit_src = NULL;
	sigset_t mask;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		r = 0;
		if (streq(a, "--power-cycle")) {
			opts.power_cycle_adapter = true;
			continue;
		}
		if (!v)
			goto usage;
		i++;
		if (streq(a, "--adapter")) {
			opts.adapter = v;
		} else if (streq(a, "--power-cycle-after")) {
			r = parse_unsigned(v, 1000, &ms);
			opts.power_cycle_after = (unsigned)ms;
		} else if (streq(a, "--connect-timeout-ms")) {
			r = parse_unsigned(v, 600000, &ms);
			opts.connect_timeout_usec = ms * 1000;
		} else if (streq(a, "--subscribe-timeout-ms")) {
			r = parse_unsigned(v, 600000, &ms);
			opts.subscribe_timeout_usec = ms * 1000;
		} else if (streq(a, "--info-ms")) {
			r = parse_unsigned(v, 3600000, &info_ms);
		} else if (streq(a, "--exit-after-ms")) {
			r = parse_unsigned(v, 86400000, &exit_ms);
		} else if (streq(a, "--imu-every")) {
			r = parse_unsigned(v, 1000000, &imu_every);
		} else if (streq(a, "--sensor") && n_configs < MAX_SENSORS) {
			r = parse_sensor(argv[i], &configs[n_configs++]);
		} else {
			goto usage;
		}
		if (r < 0)
			goto usage;
	}
	if (!n_configs || !imu_every)
		goto usage;
	d.imu_every = (unsigned)imu_every;
	d.start_usec = mono_usec();

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	r = sd_event_default(&d.event);
	if (r < 0)
		goto fail;
	r = sd_bus_open_system(&bus);	/* honours DBUS_SYSTEM_BUS_ADDRESS */
	if (r < 0)
		goto fail;
	r = sd_bus_attach_event(bus, d.event, 0);
	if (r < 0)
		goto fail;
	(void)sd_event_add_signal(d.event, NULL, SIGINT, NULL, NULL);
	(void)sd_event_add_signal(d.event, NULL, SIGTERM, NULL, NULL);
	(void)sd_event_add_signal(d.event, NULL, SIGUSR1, on_sigusr1, &d);

	r = ble_manager_new(bus, d.event, &opts, &cb, &d, &d.manager);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < n_configs; i++) {
		r = ble_manager_add_sensor(d.manager, &configs[i], &d.ids[d.n_ids]);
		if (r < 0) {
			fprintf(stderr, "sensor '%s': %s\n", configs[i].alias,
				strerror(-r));
			goto fail;
		}
		d.n_ids++;
	}
	if (info_ms) {
		d.info_usec = info_ms * 1000;
		r = sd_event_add_time_relative(d.event, &info_src, CLOCK_MONOTONIC,
					       d.info_usec, 0, on_info_timer, &d);
		if (r < 0)
			goto fail;
	}
	if (exit_ms) {
		r = sd_event_add_time_relative(d.event, &exit_src, CLOCK_MONOTONIC,
					       exit_ms * 1000, 0, on_exit_timer, &d);
		if (r < 0)
			goto fail;
	}

	r = sd_event_loop(d.event);
	print_info(&d);
fail:
	if (r < 0)
		fprintf(stderr, "ble-driver: %s\n", strerror(-r));
	d.manager = ble_manager_free(d.manager);
	sd_event_source_disable_unref(info_src);
	sd_event_source_disable_unref(exit_src);
	sd_bus_flush_close_unref(bus);
	sd_event_unref(d.event);
	return r < 0 ? 1 : 0;
usage:
	fprintf(stderr, "usage: ble-driver [--adapter NAME] [--power-cycle] "
		"[--power-cycle-after N] [--info-ms N] [--exit-after-ms N] [--imu-every N] "
		"[--connect-timeout-ms N] [--subscribe-timeout-ms N] "
		"--sensor alias=A,kind=K[,address=X][,pattern=P][,rate=HZ]"
		"[,range=G][,gyro=0|1][,acquire=0|1][,multiplier=X] ...\n");
	return 64;
}
