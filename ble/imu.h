/* SPDX-License-Identifier: GPL-2.0-or-later */
/* IMU samples: sensor clock to CLOCK_MONOTONIC, ACC/gyro pairing (pure, no allocation). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ble/ble.h"

/* Crystal drift followed upwards (BLE sleep clocks are +-50 ppm; margin). */
#define BLE_IMU_CLOCK_DRIFT_PPM	200
/* An ACC sample waits at least this long for its gyro partner. */
#define BLE_IMU_PAIR_HOLD_USEC	500000ULL
#define BLE_IMU_FIFO		1024u

/*
 * Sensor clock -> CLOCK_MONOTONIC. The offset is the smallest (arrival -
 * sensor time) seen, i.e. the frame with the least transport delay; it may
 * creep up by BLE_IMU_CLOCK_DRIFT_PPM of the sensor time passed so that a
 * sensor clock slower than ours is followed too. Zero-initialise per
 * connection.
 */
struct ble_imu_clock {
	bool has_offset;
	int64_t offset_usec;		/* monotonic - sensor */
	int64_t last_sensor_usec;
};

/*
 * Feed one frame: arrival_usec (CLOCK_MONOTONIC) and the sensor time of
 * its last sample (ns). Returns the offset to add to sensor times (usec).
 */
int64_t ble_imu_clock_update(struct ble_imu_clock *c, uint64_t arrival_usec,
			     uint64_t sensor_ns);

/* Monotonic time of a sensor time (ns) under the current offset; >= 0. */
uint64_t ble_imu_clock_map(const struct ble_imu_clock *c, uint64_t sensor_ns);

struct ble_imu_entry {
	uint64_t t_usec;
	float v[3];
};

/* Bounded FIFO; when full the oldest entry is dropped. */
struct ble_imu_fifo {
	struct ble_imu_entry e[BLE_IMU_FIFO];
	unsigned head, n;
	bool has_last;
	uint64_t last_t_usec;		/* time of the last sample pushed */
};

/*
 * Sample times never go backwards: when the clock offset steps down (a frame
 * with less transport delay than all before it, typically early in a
 * connection), the samples slew onto the new mapping, each at least
 * (1 - BLE_IMU_SLEW) of a sample period after the one before.
 */
#define BLE_IMU_SLEW		0.05

/*
 * Pairs ACC with gyro samples of the same rate (independent sample grids:
 * at most half a period apart). Zero-initialise, then set rate_hz and
 * gyro (whether gyro samples are expected at all).
 */
struct ble_imu_pairer {
	unsigned rate_hz;
	bool gyro;
	uint64_t gyro_span_usec;	/* time the last gyro frame covered */
	struct ble_imu_fifo acc, gyro_fifo;
};

void ble_imu_pairer_reset(struct ble_imu_pairer *p);
/*
 * Queue one sample; its time may be moved later (BLE_IMU_SLEW), to at
 * least (1 - BLE_IMU_SLEW) x period_usec after the one before: the spacing
 * of the two in sensor time, or 0 when unknown (then 1 / rate_hz). The
 * sensor's own spacing keeps the times right when the stream does not run
 * at the rate that was asked for.
 */
void ble_imu_push_acc(struct ble_imu_pairer *p, uint64_t t_usec, uint64_t period_usec,
		      const float g[3]);
void ble_imu_push_gyro(struct ble_imu_pairer *p, uint64_t t_usec, uint64_t period_usec,
		       const float dps[3]);

/*
 * Take out up to cap samples that are ready at now_usec: every ACC sample
 * without gyro; with gyro, an ACC sample with its partner, or with NAN gyro
 * once no partner can come (a later gyro sample exists, or it waited
 * max(BLE_IMU_PAIR_HOLD_USEC, 1.5 gyro frames)). Returns the number
 * written to out, oldest first.
 */
size_t ble_imu_pop(struct ble_imu_pairer *p, uint64_t now_usec,
		   struct ble_imu_sample *out, size_t cap);

/*
 * The rate a PMD stream really has, from the sensor's own frame times. A
 * second client on a Polar sensor that already streams is answered "already
 * in state" and gets the first client's rate, not the one it asked for.
 * Zero-initialise per stream and connection; feed every frame with the
 * sensor time of its last sample and its sample count.
 */
#define BLE_PMD_RATE_TOLERANCE	0.2	/* a frame within 20 % of the rate agrees */
#define BLE_PMD_RATE_VOTES	3u	/* frames in a row that must disagree alike */

struct ble_pmd_rate {
	uint64_t last_ns;
	unsigned candidate_hz;
	unsigned votes;
	uint64_t lost_held;		/* frames lost at rate_hz, not yet booked */
};

/*
 * Returns the observed rate (Hz) once BLE_PMD_RATE_VOTES consecutive frames
 * put it more than BLE_PMD_RATE_TOLERANCE away from rate_hz and within that
 * of each other, else 0 (agrees, or not known yet). A lost notification
 * halves one frame's rate: one frame never decides. The result snaps to a
 * nearest Polar rate (25/26/50/52/100/104/200/208/416/833/1666 Hz) within 5 %.
 *
 * *ret_lost (always set) is the number of frames found lost, from the gaps
 * in the frame times at rate_hz (pmd_frames_missed()), booked only once the
 * rate is settled: a gap is a loss only at the rate the stream really has.
 * A frame that disagrees with rate_hz holds its count back; the next frame
 * that agrees books it, a new rate returned drops it. Without the hold, a
 * 100 Hz stream started as 200 Hz counts its first 3 frames lost (each spans
 * two frames' time at 200 Hz) before the 100 Hz is adopted. The cost: a frame
 * truly lost in that window, before a new rate is adopted, goes uncounted, and
 * so does one held when the stream ends (the struct is zeroed with it).
 */
unsigned ble_pmd_rate_feed(struct ble_pmd_rate *r, unsigned rate_hz, uint64_t sensor_ns,
			   size_t n_samples, uint64_t *ret_lost);
