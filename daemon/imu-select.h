/* SPDX-License-Identifier: GPL-2.0-or-later */
/* imu-select: which configured IMU sensor feeds the form core, with fail-over and return. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "daemon/limits.h"

/*
 * Pure bookkeeping: no clock, no bus, no logging. The daemon tells it when
 * IMU data arrived from which sensor (imu_select_data()) and asks once a
 * second whether the form core should take its samples from another sensor
 * (imu_select_update()). Sensors are the configuration's indices, which are
 * fixed for the daemon's life (the sensor list needs a restart).
 *
 * Preference: form.imu_sensor first when set, then by declared mount
 * (sacrum, waist, chest), on a tie the one listed first. Sensors whose kind
 * has no IMU take no part.
 *
 * Fail-over: when the current sensor has sent nothing for failover_usec
 * (since its last data, or since it was chosen if later) and another one
 * streams, the best-ranked streaming one takes over. Return: a sensor ranked
 * above the current one takes over once it has streamed without a break for
 * failover_usec. failover_usec 0: never switch.
 */

/* Data closer together than this is one unbroken stream (an H10 at 25 Hz: 1.4 s a frame). */
#define IMU_SELECT_GAP_USEC (3 * 1000000ULL)

enum imu_select_change {
	IMU_SELECT_KEEP,		/* same sensor as before */
	IMU_SELECT_FAILOVER,		/* the current one fell silent, another streams */
	IMU_SELECT_RETURN,		/* a preferred one streams steadily again */
	_IMU_SELECT_CHANGE_MAX,
	_IMU_SELECT_CHANGE_INVALID = -EINVAL,
};

struct imu_select_candidate {
	unsigned index;			/* into cfg->sensors */
	uint64_t first_usec;		/* start of the current unbroken stream, 0 none */
	uint64_t last_usec;		/* last data, 0 never */
};

/* Embedded in the daemon context; no allocation. */
struct imu_select {
	struct imu_select_candidate c[GK_MAX_SENSORS];	/* most preferred first */
	unsigned n;
	int current;			/* position in c[], -1 = no IMU sensor */
	uint64_t since_usec;		/* when current was chosen */
};

/*
 * Rank cfg's IMU sensors and choose the most preferred one at now_usec.
 * cfg is read during the call only.
 */
void imu_select_init(struct imu_select *s, const struct gk_config *cfg, uint64_t now_usec);

/* IMU samples arrived from sensor index (any index; non-IMU ones are ignored). */
void imu_select_data(struct imu_select *s, unsigned index, uint64_t now_usec);

/*
 * Decide at now_usec; on a change the new sensor is imu_select_current().
 * ret_from (may be NULL) gets the index of the sensor fed before, set only
 * on a change.
 */
enum imu_select_change imu_select_update(struct imu_select *s, uint64_t failover_usec,
					 uint64_t now_usec, int *ret_from);

/* Index (into cfg->sensors) of the sensor feeding the form core, -1 if none. */
int imu_select_current(const struct imu_select *s);
/* Index of the most preferred IMU sensor, -1 if none. */
int imu_select_preferred(const struct imu_select *s);
/* Does sensor index stream now (data within IMU_SELECT_GAP_USEC)? */
bool imu_select_streaming(const struct imu_select *s, unsigned index, uint64_t now_usec);

const char *imu_select_change_to_string(enum imu_select_change c);
