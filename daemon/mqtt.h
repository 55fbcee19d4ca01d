/* SPDX-License-Identifier: GPL-2.0-or-later */
/* mqtt: the Paho MQTT 5 async client on our sd-event loop, with the spool. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "daemon/spool.h"

/*
 * The only file that includes MQTTAsync.h. Paho's threads never touch our
 * state: its callbacks copy what they got into a bounded, mutex-guarded
 * queue and write an eventfd; the loop drains it and calls the callbacks
 * below. We drive reconnects ourselves (0.5 s doubling to 8 s, +-20 %
 * jitter), keep a durable session (clean start off, session expiry 7 days)
 * and hand Paho at most GK_MQTT_INFLIGHT_MAX spooled messages at a time;
 * a spool record is deleted only from onSuccess5 (a PUBACK reason code
 * >= 0x80 arrives in onFailure5 and leaves it spooled).
 */

struct mqtt_client;

struct mqtt_options {
	const char *uri;		/* mqtt://IP:port, mqtts://... */
	const char *client_id;
	const char *username;		/* NULL = anonymous */
	const char *password;		/* NULL = none */
	const char *tls_ca, *tls_cert, *tls_key;	/* NULL = unset */
	bool tls_verify_hostname;
	unsigned keepalive_s;
	const char *will_topic;		/* retained "offline" goes here */
};

struct mqtt_callbacks {
	/* Connected (after CONNACK): publish birth, discovery, retained state. */
	void (*on_connected)(void *userdata, bool session_present);
	void (*on_disconnected)(void *userdata, const char *reason);
	/*
	 * A message on a subscribed topic; borrowed for the call. too_large:
	 * over GK_MQTT_CMD_MAX_BYTES, not kept (payload NULL, len 0).
	 */
	void (*on_message)(void *userdata, const char *topic, const uint8_t *payload,
			   size_t len, bool too_large);
	/* mqtt_client_shutdown() finished (or timed out). */
	void (*on_shutdown)(void *userdata);
};

struct mqtt_stats {
	bool connected;
	uint64_t connects, connect_failures;
	uint64_t delivered;		/* spool records acknowledged (onSuccess5) */
	uint64_t rejected;		/* PUBACK reason >= 0x80 or other onFailure5 */
	uint64_t published;		/* direct (not spooled) publishes handed over */
	uint64_t not_sent;		/* direct publishes refused (offline, Paho error) */
	uint64_t queue_drops;		/* Paho events dropped, queue full */
	unsigned inflight;
	uint64_t last_connected_usec;	/* CLOCK_MONOTONIC */
};

/*
 * Create the client; nothing connects until mqtt_client_start(). spool is
 * borrowed and must outlive the client. Strings in o are copied.
 * Returns 0 and *ret, -EINVAL (bad URI or options), -ENOMEM.
 */
int mqtt_client_new(sd_event *event, struct spool *spool, const struct mqtt_options *o,
		    const struct mqtt_callbacks *cb, void *userdata, struct mqtt_client **ret);

/* Destroys the Paho client (joins its threads). NULL-safe, returns NULL. */
struct mqtt_client *mqtt_client_free(struct mqtt_client *m);

int mqtt_client_start(struct mqtt_client *m);

/*
 * Publish now, not spooled: for live data and retained state that is
 * republished on every connect. -ENOTCONN while offline, -E2BIG, -EIO.
 */
int mqtt_publish(struct mqtt_client *m, const char *topic, const void *payload, size_t len,
		 unsigned qos, bool retain);

/*
 * As mqtt_publish(), with an MQTT 5 Message Expiry Interval of expiry_s
 * seconds (0: none): the broker drops its copy for a subscriber it could
 * not start sending it to within that time (one that was away), and
 * forwards what is left of the interval with it. For messages that are
 * worth nothing late.
 */
int mqtt_publish_expiring(struct mqtt_client *m, const char *topic, const void *payload,
			  size_t len, unsigned qos, bool retain, uint32_t expiry_s);

/*
 * Must-deliver: append to the spool (fsync'd) and send when possible.
 * Returns 0 once durably accepted, or the spool's -errno.
 */
int mqtt_publish_spooled(struct mqtt_client *m, const char *topic, const void *payload,
			 size_t len, unsigned qos, bool retain, enum spool_priority priority);

/*
 * Subscribe now if connected (call again from on_connected). no_retained:
 * the broker sends no retained message for it (MQTT 5 retain handling 2).
 */
int mqtt_subscribe(struct mqtt_client *m, const char *topic, unsigned qos, bool no_retained);
/* Unsubscribe now if connected (the subscription is part of the session). */
int mqtt_unsubscribe(struct mqtt_client *m, const char *topic);

/* Send what the spool holds; also called on a timer internally. */
void mqtt_pump(struct mqtt_client *m);

bool mqtt_connected(const struct mqtt_client *m);
void mqtt_get_stats(const struct mqtt_client *m, struct mqtt_stats *ret);

/*
 * Clean stop: publish payload (e.g. "offline") retained on the will topic,
 * wait for its acknowledgement (at most timeout_usec), send DISCONNECT,
 * then call on_shutdown. Calls on_shutdown soon when not connected.
 */
int mqtt_client_shutdown(struct mqtt_client *m, const char *payload, uint64_t timeout_usec);
