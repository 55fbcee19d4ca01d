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

/*
 * The topic (under <base>/<node>) and QoS of Home Assistant's "Form alert"
 * event entity: each alert and clearing as on "alert", but only while it is
 * fresh (publish.c), never the backlog the spool sends after an outage.
 * QoS 0: Paho sends a QoS 1 message that a dying link left unacknowledged
 * again when the session resumes, however late that is (it-mqtt-outage
 * measured all 6 such events 33 s late); a QoS 0 one it never sends again.
 */
#define HA_ALERT_EVENT_TOPIC "alert/event"
#define HA_ALERT_EVENT_QOS 0
/* How long after it was raised or cleared an alert still goes to alert/event. */
#define HA_ALERT_EVENT_FRESH_S 10

/* Seconds after which HA shows a live metric as unavailable, at least. */
#define HA_LIVE_EXPIRE_S 10

/*
 * The live metrics' expire_after for cfg: three run/live intervals
 * (mqtt.live_interval_ms), never under HA_LIVE_EXPIRE_S.
 */
int ha_live_expire_s(const struct gk_config *cfg);
