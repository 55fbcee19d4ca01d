/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trace-csv: strict parser of the trace CSV format (data/README.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "form/form.h"

/*
 * Format: an ASCII header "t_s" followed by columns among ax_g, ay_g, az_g,
 * gx_dps, gy_dps, gz_dps in that order (absent axes are left out), then one
 * row per sample with exactly as many plain decimal numbers (optional '-',
 * digits, optional '.' and digits; no exponent, no blanks), lines ending in
 * LF, t_s >= 0 and strictly increasing. At least two accelerometer columns.
 *
 * Feed it line by line (without the '\n'); it keeps the column layout and
 * the line number for error messages. Pure: no I/O, no allocation.
 */
#define TRACE_CSV_MAX_LINE 512
#define TRACE_CSV_MAX_G FORM_IMU_MAX_G
#define TRACE_CSV_MAX_DPS FORM_IMU_MAX_DPS
#define TRACE_CSV_MAX_T_S 1e7

enum trace_csv_column {
	TRACE_CSV_AX, TRACE_CSV_AY, TRACE_CSV_AZ,
	TRACE_CSV_GX, TRACE_CSV_GY, TRACE_CSV_GZ,
	_TRACE_CSV_COLUMN_MAX,
};

struct trace_csv {
	unsigned line;			/* number of the last line fed (1-based) */
	bool have_header;
	unsigned n_cols;		/* data columns after t_s */
	enum trace_csv_column col[_TRACE_CSV_COLUMN_MAX];
	bool have_t;
	double last_t;
	uint64_t samples;
	char error[128];		/* why the last line failed, "" if none */
};

void trace_csv_init(struct trace_csv *c);
/*
 * Parse one line of len bytes (no terminating '\n', need not be NUL-
 * terminated). Returns 0 for the header, 1 and fills *ret for a sample
 * (absent axes NAN, t_usec = t_s in microseconds), or -EBADMSG with
 * c->error set.
 */
int trace_csv_feed_line(struct trace_csv *c, const char *line, size_t len,
			struct form_imu_sample *ret);
/* Parse a whole buffer; ret_samples counts samples. -EBADMSG as above. */
int trace_csv_parse_buffer(struct trace_csv *c, const uint8_t *buf, size_t len,
			   uint64_t *ret_samples);
