/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ha: Home Assistant MQTT discovery configs for the gateway, sensors and run. */
#pragma once

#include "config/config.h"
#include "form/form.h"

struct json_object;

/*
 * Called once per entity with its discovery topic
 * "<ha_prefix>/<component>/gaitkeeper_<node>/<object_id>/config" and its
 * config object (borrowed for the call). A negative return stops the walk.
 */
typedef int (*ha_emit_cb_t)(void *userdata, const char *topic, struct json_object *config);

/*
 * Build every entity for cfg: three kinds of device (the gateway, one per
 * configured sensor, the run session) linked by via_device; units, device
 * and state classes; availability lists (gateway status plus the sensor's
 * availability, mode "all"); expire_after on live metrics; alerts as an
 * event entity. form_mount (the form core's; _FORM_MOUNT_INVALID when no IMU
 * feeds it) names run_trunk_lean_deg: "Pelvic tilt" where
 * form_mount_tilts_pelvis(), "Trunk lean" otherwise. Returns 0, or the first
 * negative emit result, or -ENOMEM.
 */
int ha_discovery_build(const struct gk_config *cfg, const char *version,
		       enum form_mount form_mount, ha_emit_cb_t emit, void *userdata);

/* Seconds after which HA shows a live metric as unavailable, at least. */
#define HA_LIVE_EXPIRE_S 10

/*
 * The live metrics' expire_after for cfg: three run/live intervals
 * (mqtt.live_interval_ms), never under HA_LIVE_EXPIRE_S.
 */
int ha_live_expire_s(const struct gk_config *cfg);
