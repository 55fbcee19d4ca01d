// SPDX-License-Identifier: GPL-2.0-or-later
/* imu-select: rank the configured IMU sensors, fail over to a streaming one, return. */
#include <stddef.h>
#include <string.h>

#include "common/macro.h"
#include "daemon/imu-select.h"

static const char *const change_names[_IMU_SELECT_CHANGE_MAX] = {
	[IMU_SELECT_KEEP] = "keep",
	[IMU_SELECT_FAILOVER] = "failover",
	[IMU_SELECT_RETURN] = "return",
};

const char *imu_select_change_to_string(enum imu_select_change c)
{
	if ((unsigned)c >= _IMU_SELECT_CHANGE_MAX)
		return NULL;
	return change_names[c];
}

/*
 * Lower is better. The named sensor first; then the mount: the sacrum sees
 * the pelvis the form core models best, a waist clip a little off it, a
 * chest strap the trunk (notes on form science, section 5).
 */
static unsigned rank_of(const struct gk_config *cfg, unsigned i)
{
	const struct gk_sensor_config *sc = &cfg->sensors[i];
	unsigned mount;

	switch (sc->mount) {
	case GK_MOUNT_SACRUM:
		mount = 1;
		break;
	case GK_MOUNT_WAIST:
		mount = 2;
		break;
	case GK_MOUNT_CHEST:
		mount = 3;
		break;
	default:
		mount = 4;	/* fill_derived() sets one for every IMU kind */
		break;
	}
	if (cfg->form.imu_sensor[0] && streq(cfg->form.imu_sensor, sc->alias))
		mount = 0;
	return mount;
}

void imu_select_init(struct imu_select *s, const struct gk_config *cfg, uint64_t now_usec)
{
	unsigned rank[GK_MAX_SENSORS];

	memset(s, 0, sizeof(*s));
	s->current = -1;

	/* Insertion by rank; equal ranks keep config order (stable). */
	for (unsigned i = 0; i < cfg->n_sensors && s->n < GK_MAX_SENSORS; i++) {
		unsigned r, k;

		if (!gk_sensor_kind_has_imu(cfg->sensors[i].kind))
			continue;
		r = rank_of(cfg, i);
		for (k = s->n; k > 0 && rank[k - 1] > r; k--) {
			rank[k] = rank[k - 1];
			s->c[k] = s->c[k - 1];
		}
		rank[k] = r;
		s->c[k] = (struct imu_select_candidate){ .index = i };
		s->n++;
	}
	if (s->n) {
		s->current = 0;
		s->since_usec = now_usec;
	}
}

static struct imu_select_candidate *find(struct imu_select *s, unsigned index)
{
	for (unsigned k = 0; k < s->n; k++)
		if (s->c[k].index == index)
			return &s->c[k];
	return NULL;
}

void imu_select_data(struct imu_select *s, unsigned index, uint64_t now_usec)
{
	struct imu_select_candidate *c = find(s, index);

	if (!c)
		return;
	/* A gap (or a clock that went back) starts a new stream. */
	if (!c->last_usec || now_usec < c->last_usec ||
	    now_usec - c->last_usec >= IMU_SELECT_GAP_USEC)
		c->first_usec = now_usec;
	c->last_usec = now_usec;
}

static bool streaming(const struct imu_select_candidate *c, uint64_t now)
{
	return c->last_usec && now >= c->last_usec && now - c->last_usec < IMU_SELECT_GAP_USEC;
}

static bool steady(const struct imu_select_candidate *c, uint64_t failover, uint64_t now)
{
	return streaming(c, now) && now - c->first_usec >= failover;
}

static enum imu_select_change choose(struct imu_select *s, unsigned k,
				     enum imu_select_change why, uint64_t now, int *ret_from)
{
	if (ret_from)
		*ret_from = (int)s->c[s->current].index;
	s->current = (int)k;
	s->since_usec = now;
	return why;
}

enum imu_select_change imu_select_update(struct imu_select *s, uint64_t failover_usec,
					 uint64_t now_usec, int *ret_from)
{
	const struct imu_select_candidate *cur;
	uint64_t quiet_since;

	if (s->current < 0 || !failover_usec)
		return IMU_SELECT_KEEP;

	/* A better-ranked sensor that has streamed steadily takes over again. */
	for (unsigned k = 0; k < (unsigned)s->current; k++)
		if (steady(&s->c[k], failover_usec, now_usec))
			return choose(s, k, IMU_SELECT_RETURN, now_usec, ret_from);

	/*
	 * Silent since its last data, or since it was chosen: a sensor that
	 * never sent anything gets failover_usec from start-up (or switch).
	 */
	cur = &s->c[s->current];
	quiet_since = cur->last_usec > s->since_usec ? cur->last_usec : s->since_usec;
	if (now_usec < quiet_since || now_usec - quiet_since < failover_usec)
		return IMU_SELECT_KEEP;

	for (unsigned k = 0; k < s->n; k++)
		if ((int)k != s->current && streaming(&s->c[k], now_usec))
			return choose(s, k, IMU_SELECT_FAILOVER, now_usec, ret_from);
	return IMU_SELECT_KEEP;
}

int imu_select_current(const struct imu_select *s)
{
	return s->current < 0 ? -1 : (int)s->c[s->current].index;
}

int imu_select_preferred(const struct imu_select *s)
{
	return s->n ? (int)s->c[0].index : -1;
}

bool imu_select_streaming(const struct imu_select *s, unsigned index, uint64_t now_usec)
{
	for (unsigned k = 0; k < s->n; k++)
		if (s->c[k].index == index)
			return streaming(&s->c[k], now_usec);
	return false;
}
