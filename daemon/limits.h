/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hard caps on everything an outsider can make gaitkeeperd allocate. */
#pragma once

/* Sensors in one config file; each costs a BLE link and a form feed. */
#define GK_MAX_SENSORS 8u

/* Bytes of one sensor alias / node name: they become MQTT topic levels. */
#define GK_NAME_MAX 32u

/* Events queued from Paho's threads to the loop before we drop (counted). */
#define GK_MQTT_QUEUE_MAX 256u

/* QoS 1 messages handed to Paho at once; the rest waits in our spool. */
#define GK_MQTT_INFLIGHT_MAX 16u

/*
 * Messages Paho may hold before it writes them (its maxBufferedMessages,
 * which also bounds a burst while connected): the discovery configs and
 * retained states of a reconnect go out in one burst, over 100 with 8
 * sensors. Our spooled ones never exceed GK_MQTT_INFLIGHT_MAX.
 */
#define GK_MQTT_PAHO_BUFFERED_MAX 1024u

/* Largest inbound cmd/ payload we look at; larger ones are rejected. */
#define GK_MQTT_CMD_MAX_BYTES 4096u

/* Largest outbound payload (a session summary is the biggest). */
#define GK_MQTT_PAYLOAD_MAX 65536u

/* Spool file size: default and the most a config may ask for. */
#define GK_SPOOL_DEFAULT_KIB 4096u
#define GK_SPOOL_MIN_KIB 64u
#define GK_SPOOL_MAX_KIB 65536u

/* Alerts listed on alert/active at once. */
#define GK_ALERTS_ACTIVE_MAX 16u
/*
 * alert/event messages held while the broker is away, for a link back within
 * their freshness window (the newest kept), and the most bytes of each.
 */
#define GK_ALERT_EVENTS_HELD_MAX 8u
#define GK_ALERT_EVENT_TEXT_MAX 1024u

/* Session digests kept in the state directory for history analysis. */
#define GK_DIGESTS_MAX 90u
/* Pain reported up to this long after a session ends is "after" that run. */
#define GK_PAIN_AFTER_MAX_S (48u * 3600u)
