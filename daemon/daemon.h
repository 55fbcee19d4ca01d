/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gk_daemon: the one daemon context; wires config, BLE, form, MQTT and D-Bus. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/version.h"

#define GK_STATE_DIR_DEFAULT "/var/lib/gaitkeeper"

struct gk_daemon;

struct gk_daemon_options {
	const char *config_path;	/* GK_CONFIG_DEFAULT_PATH when NULL */
	const char *state_dir;		/* --state-dir, else $STATE_DIRECTORY, else default */
	bool to_stderr;
	bool debug;			/* log level debug whatever the config says */
};

/*
 * Load the config (errors are logged, -EINVAL returned), open the state
 * directory and spool, set up the loop, signals, bus, BLE, form engine,
 * MQTT and the D-Bus API. Never waits for the broker, adapter or sensors.
 */
int gk_daemon_new(const struct gk_daemon_options *o, struct gk_daemon **ret);

/* Run until SIGTERM/SIGINT; returns 0 or -errno. READY=1 is sent from the loop. */
int gk_daemon_run(struct gk_daemon *d);

struct gk_daemon *gk_daemon_free(struct gk_daemon *d);

/*
 * The operations behind MQTT cmd/ and the D-Bus methods (same code for
 * both): 0 or -EBUSY (already running), -ESRCH (no session), -ERANGE/-EINVAL.
 */
int gk_daemon_session_start(struct gk_daemon *d);
int gk_daemon_session_stop(struct gk_daemon *d);
/* where NULL or "": the location set with gk_daemon_set_pain_where() */
int gk_daemon_report_pain(struct gk_daemon *d, unsigned level, const char *where);
/* MQTT only: the location of the cmd/pain reports that name none; -EINVAL, -errno. */
int gk_daemon_set_pain_where(struct gk_daemon *d, const char *where);
/* The last summary (or, with last = false and a session running, its state). */
int gk_daemon_get_summary(struct gk_daemon *d, bool last, char **ret_json);
