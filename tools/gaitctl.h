/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gaitctl subcommands: each lives in tools/gaitctl-<name>.c. */
#pragma once

/*
 * Each subcommand gets argv from its own name on (argv[0] = "decode") and
 * returns the process exit status: 0 ok, 64 usage (EX_USAGE), 65 bad input
 * (EX_DATAERR), 66 no input file (EX_NOINPUT), 69 service unavailable
 * (EX_UNAVAILABLE), 1 other failure.
 */
int gaitctl_decode(int argc, char **argv);
int gaitctl_analyze(int argc, char **argv);
int gaitctl_bus(int argc, char **argv);
int gaitctl_report(int argc, char **argv);

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>

/*
 * A finished session's summary document (GetSummary(true), MQTT
 * session/summary) as a text report on f; -EINVAL when doc has no "summary"
 * object (a running session's, say).
 */
int gaitctl_print_report(FILE *f, json_object *doc);

/*
 * The summary to report in buf[0..len) (one or more JSON values separated by
 * whitespace): the last session/summary document, or the last analyze
 * {"event":"summary"} line wrapped as {"summary": ...}. -ENOENT: none;
 * -EBADMSG: not JSON at *ret_off.
 */
int gaitctl_report_find(const char *buf, size_t len, json_object **ret, size_t *ret_off);

/*
 * "cadence_spm" -> label "cadence", unit "spm", and the decimals the form
 * core prints it with ("braking_mps" -> "braking", "m/s", 3). With mount
 * "sacrum" or "waist" (NULL: unknown) trunk_lean_deg reads "pelvic tilt".
 */
/* The number at key (an int or double), NaN when absent, null or of another type. */
double gaitctl_json_num(json_object *o, const char *key);
enum gaitctl_clock { GAITCTL_HM, GAITCTL_HMS, GAITCTL_DATE_HM };
const char *gaitctl_local_time(double epoch_ms, enum gaitctl_clock style, char *buf, size_t size);

/* v with that many decimals into buf; never "-0.0"; sign: "+1.2" (but "0.0"); NaN "-" */
const char *gaitctl_fixed(char *buf, size_t size, int decimals, double v, bool sign);

void gaitctl_metric_label(const char *name, const char *mount, char *label, size_t size,
			  const char **ret_unit, int *ret_decimals);
