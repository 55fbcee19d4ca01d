// SPDX-License-Identifier: GPL-2.0-or-later
/* Paho MQTT C async client driven from sd-event: queue + eventfd, own backoff. */
#include <MQTTAsync.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/backoff.h"
#include "common/macro.h"
#include "common/parse.h"
#include "daemon/limits.h"
#include "daemon/log.h"
#include "daemon/mqtt.h"

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL
#define BACKOFF_AT_CAP 32	/* failures past which common/backoff waits its cap */
#define SESSION_EXPIRY_S 604800			/* 7 days of durable session */
#define INFLIGHT_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define PUMP_INTERVAL_USEC (1 * USEC_PER_SEC)
/*
 * A session dropped this soon after its CONNACK, twice in a row: the next
 * connect starts a clean session (see link_lost()).
 */
#define QUICK_DROP_USEC (5 * USEC_PER_SEC)
#define QUICK_DROPS_CLEAN 2
#define TAKEN_OVER_0x8E "another client took our session (DISCONNECT 0x8E)"
#define QUICK_DROPS_TAKEN_OVER 4	/* more quick drops than this in a minute: taken over */
#define QUICK_DROPS_WINDOW_USEC (60 * USEC_PER_SEC)
#define TAKEN_OVER_HOLD_USEC (5 * 60 * USEC_PER_SEC)	/* back off at the cap this long */
#define PROBE_INTERVAL_USEC (1 * USEC_PER_SEC)

enum mqtt_event_type {
	EVENT_CONNECTED,
	EVENT_CONNECT_FAILED,
	EVENT_LOST,
	EVENT_SERVER_DISCONNECT,	/* an MQTT 5 DISCONNECT from the broker; code: its reason */
	EVENT_MESSAGE,
	EVENT_PUBLISHED,
	EVENT_PUBLISH_FAILED,
	EVENT_LAST_SENT,		/* the shutdown "offline" was acknowledged */
	EVENT_DISCONNECTED,
};

struct mqtt_event {
	enum mqtt_event_type type;
	int code;			/* Paho rc or MQTT reason code */
	bool session_present;
	unsigned slot;
	int token;
	char *topic;
	uint8_t *payload;
	size_t len;
};

/* A spooled message Paho is carrying. Context of its callbacks. */
struct inflight_slot {
	struct mqtt_client *m;		/* constant for the client's life */
	unsigned index;
	bool used;
	int token;
	uint64_t spool_id;
	uint64_t since_usec;
};

struct mqtt_client {
	sd_event *event;
	struct spool *spool;
	MQTTAsync paho;
	struct mqtt_callbacks cb;
	void *userdata;

	char *uri, *client_id, *username, *password;
	char *tls_ca, *tls_cert, *tls_key, *will_topic;
	bool tls_verify_hostname;
	unsigned keepalive_s;
	uint64_t send_errors;		/* direct publishes Paho refused */

	/* Filled by Paho threads, drained by the loop. */
	pthread_mutex_t lock;
	struct mqtt_event queue[GK_MQTT_QUEUE_MAX];
	unsigned q_head, q_len;
	uint64_t queue_drops;		/* under lock */
	int efd;
	sd_event_source *efd_source;

	sd_event_source *retry_timer;

	/*
	 * While backing off, a plain TCP connect to the broker every second
	 * tells us when it is back, so the link returns within about a second
	 * instead of waiting out an 8 s backoff. At most one early reconnect
	 * per outage: if that fails (TLS, auth), the backoff rules again.
	 */
	struct sockaddr_storage probe_addr;
	socklen_t probe_len;		/* 0: the broker is not an IP literal */
	bool probe_armed;
	int probe_fd;
	sd_event_source *probe_timer, *probe_io;
	sd_event_source *pump_timer;
	sd_event_source *shutdown_timer;
	unsigned failures;		/* connect attempts since the last connect */
	bool connecting, connected, shutting_down, shutdown_done;
	unsigned paho_down_ticks;	/* pump ticks Paho said "not connected" while we were */
	unsigned quick_drops;		/* sessions in a row dropped within QUICK_DROP_USEC */
	uint64_t quick_at[QUICK_DROPS_TAKEN_OVER];	/* times of the last quick drops, a ring */
	unsigned quick_next;
	uint64_t taken_over;		/* times another client took our session */
	uint64_t taken_over_usec;	/* when that was last seen; 0 never */

	struct inflight_slot slots[GK_MQTT_INFLIGHT_MAX];
	struct mqtt_stats stats;
};

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- Paho threads: copy and queue, nothing else ------------------------ */

/*
 * Inbound messages may fill the queue only up to this: the rest is kept for
 * the link's own events (connected, lost, a flow's outcome: at most
 * GK_MQTT_INFLIGHT_MAX of those at once), whose loss would leave the client
 * believing it is still connecting, or a record in flight for good.
 */
#define QUEUE_MESSAGES_MAX (GK_MQTT_QUEUE_MAX - 4 * GK_MQTT_INFLIGHT_MAX)
_Static_assert(QUEUE_MESSAGES_MAX >= GK_MQTT_QUEUE_MAX / 2, "queue reserve too large");

static void queue_push(struct mqtt_client *m, struct mqtt_event *ev)
{
	bool dropped = false;

	pthread_mutex_lock(&m->lock);
	if (m->q_len >= (ev->type == EVENT_MESSAGE ? QUEUE_MESSAGES_MAX : GK_MQTT_QUEUE_MAX)) {
		m->queue_drops++;
		dropped = true;
	} else {
		m->queue[(m->q_head + m->q_len) % GK_MQTT_QUEUE_MAX] = *ev;
		m->q_len++;
	}
	pthread_mutex_unlock(&m->lock);

	if (dropped) {
		free(ev->topic);
		free(ev->payload);
		return;
	}
	(void)eventfd_write(m->efd, 1);
}

static void on_connect_success(void *context, MQTTAsync_successData5 *response)
{
	struct mqtt_event ev = {
		.type = EVENT_CONNECTED,
		.session_present = response ? response->alt.connect.sessionPresent : 0,
	};

	queue_push(context, &ev);
}

static void on_connect_failure(void *context, MQTTAsync_failureData5 *response)
{
	struct mqtt_event ev = {
		.type = EVENT_CONNECT_FAILED,
		.code = response ? (response->reasonCode ? (int)response->reasonCode :
							   response->code) : 0,
	};

	queue_push(context, &ev);
}

static void on_connection_lost(void *context, char *cause)
{
	struct mqtt_event ev = { .type = EVENT_LOST };

	queue_push(context, &ev);
}

static void on_server_disconnect(void *context, MQTTProperties *props, enum MQTTReasonCodes rc)
{
	struct mqtt_event ev = { .type = EVENT_SERVER_DISCONNECT, .code = (int)rc };

	queue_push(context, &ev);
}

static int on_message_arrived(void *context, char *topic, int topic_len,
			      MQTTAsync_message *msg)
{
	struct mqtt_event ev = { .type = EVENT_MESSAGE };
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);

	/* Oversize commands are not even copied; the loop sees an empty one. */
	ev.topic = strndup(topic, tlen);
	if (msg->payloadlen > 0 && (size_t)msg->payloadlen <= GK_MQTT_CMD_MAX_BYTES) {
		ev.payload = malloc((size_t)msg->payloadlen);
		if (ev.payload) {
			memcpy(ev.payload, msg->payload, (size_t)msg->payloadlen);
			ev.len = (size_t)msg->payloadlen;
		}
	} else if (msg->payloadlen > 0) {
		ev.code = -E2BIG;
	}
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	if (!ev.topic) {
		free(ev.payload);
		return 1;
	}
	queue_push(context, &ev);
	return 1;
}

static void on_publish_success(void *context, MQTTAsync_successData5 *response)
{
	struct inflight_slot *slot = context;
	struct mqtt_event ev = {
		.type = EVENT_PUBLISHED,
		.slot = slot->index,
		.token = response ? response->token : 0,
	};

	queue_push(slot->m, &ev);
}

/*
 * Paho 1.3.12 reports a publish its send thread could not write (a socket
 * error) with token 0: the slot is known from the context all the same.
 */
static void on_publish_failure(void *context, MQTTAsync_failureData5 *response)
{
	struct inflight_slot *slot = context;
	struct mqtt_event ev = {
		.type = EVENT_PUBLISH_FAILED,
		.slot = slot->index,
		.token = response ? response->token : 0,
		.code = response ? (response->reasonCode ? (int)response->reasonCode :
							   response->code) : 0,
	};

	queue_push(slot->m, &ev);
}

static void on_last_success(void *context, MQTTAsync_successData5 *response)
{
	struct mqtt_event ev = { .type = EVENT_LAST_SENT };

	queue_push(context, &ev);
}

static void on_last_failure(void *context, MQTTAsync_failureData5 *response)
{
	struct mqtt_event ev = { .type = EVENT_LAST_SENT, .code = -EIO };

	queue_push(context, &ev);
}

static void on_disconnect_done(void *context, MQTTAsync_successData5 *response)
{
	struct mqtt_event ev = { .type = EVENT_DISCONNECTED };

	queue_push(context, &ev);
}

static void on_disconnect_failed(void *context, MQTTAsync_failureData5 *response)
{
	struct mqtt_event ev = { .type = EVENT_DISCONNECTED, .code = -EIO };

	queue_push(context, &ev);
}

/* ---- the loop side ------------------------------------------------------ */

static void free_slot(struct mqtt_client *m, struct inflight_slot *slot)
{
	struct spool_record *r;

	if (!slot->used)
		return;
	r = spool_find(m->spool, slot->spool_id);
	if (r)
		r->inflight = false;
	slot->used = false;
	m->stats.inflight--;
}

static void reset_slots(struct mqtt_client *m)
{
	for (unsigned i = 0; i < GK_MQTT_INFLIGHT_MAX; i++)
		free_slot(m, &m->slots[i]);
	spool_reset_inflight(m->spool);
}

/* connect, back off and probe call each other: the cycle needs these two. */
static int connect_now(struct mqtt_client *m);
static void schedule_reconnect(struct mqtt_client *m);

/*
 * Another client holds our client id (a second gateway with the same node,
 * say from a copied SD card): each connect takes the session from the
 * other. Say so, and come back only at the cap (no clean session, no early
 * probe) for TAKEN_OVER_HOLD_USEC after the last sign of it, so that the two
 * do not swap it several times a second. how: what showed it.
 */
static void session_taken_over(struct mqtt_client *m, const char *how)
{
	if (log_sparse(++m->taken_over))
		log_error("MQTT broker %s: %s (%llu times). Another client uses our client id "
			  "'%s': two gateways with the same node? Give each its own node or "
			  "mqtt.client_id", m->uri, how, (unsigned long long)m->taken_over,
			  m->client_id);
	m->taken_over_usec = now_usec();
	m->failures = BACKOFF_AT_CAP;
	m->probe_armed = false;
	m->quick_drops = 0;
	memset(m->quick_at, 0, sizeof(m->quick_at));
}

/* Another client took our session within TAKEN_OVER_HOLD_USEC: no clean start. */
static bool taken_over_lately(const struct mqtt_client *m, uint64_t now)
{
	return m->taken_over_usec && now - m->taken_over_usec < TAKEN_OVER_HOLD_USEC;
}

/*
 * The link is gone (Paho said so, or the pump found Paho not connected).
 * A session dropped right after its CONNACK twice in a row (a broker that
 * finds what Paho resends of the resumed session malformed, seen after a
 * broker restart) gets a clean start next time: Paho forgets its in-flight
 * messages and the spool sends them again (at most one duplicate each).
 * Quick drops going on after that are another client with our client id
 * taking the session (mosquitto 2.0 closes the old connection without
 * saying why; brokers that send DISCONNECT 0x8E are handled at once).
 */
static void link_lost(struct mqtt_client *m, const char *reason, bool taken_over)
{
	uint64_t now = now_usec();

	m->connected = false;
	m->connecting = false;
	m->paho_down_ticks = 0;
	log_warning("Lost the connection to MQTT broker %s (%s), reconnecting", m->uri, reason);
	if (taken_over) {
		session_taken_over(m, TAKEN_OVER_0x8E);
	} else if (taken_over_lately(m, now)) {
		/* still taken over, most likely: no clean session, the cap */
		m->failures = BACKOFF_AT_CAP;
		m->probe_armed = false;
		if (now - m->stats.last_connected_usec < QUICK_DROP_USEC)
			m->taken_over_usec = now;
	} else if (now - m->stats.last_connected_usec < QUICK_DROP_USEC) {
		/* the oldest of the last QUICK_DROPS_TAKEN_OVER, replaced by this one */
		uint64_t oldest = m->quick_at[m->quick_next];

		m->quick_drops++;
		m->quick_at[m->quick_next] = now;
		m->quick_next = (m->quick_next + 1) % QUICK_DROPS_TAKEN_OVER;
		if (oldest && now - oldest < QUICK_DROPS_WINDOW_USEC)
			session_taken_over(m, "the link drops within seconds of connecting, "
					   "again and again, clean sessions too");
	} else {
		m->quick_drops = 0;
	}
	if (m->cb.on_disconnected)
		m->cb.on_disconnected(m->userdata, reason);
	schedule_reconnect(m);
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt_client *m = userdata;

	m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
	(void)connect_now(m);
	return 0;
}

/* Host and port of "mqtt://192.0.2.1:1883" or "mqtts://[2001:db8::1]". */
static int parse_broker_addr(const char *uri, struct sockaddr_storage *ret, socklen_t *ret_len)
{
	const char *h = strstr(uri, "://");
	bool tls = strncmp(uri, "mqtts", 5) == 0 || strncmp(uri, "ssl", 3) == 0;
	unsigned long long port = tls ? 8883 : 1883;
	char host[64], portbuf[8];
	const char *p;
	size_t n;

	if (!h)
		return -EINVAL;
	h += 3;
	if (*h == '[') {
		p = strchr(++h, ']');
		if (!p)
			return -EINVAL;
		n = (size_t)(p - h);
		p++;
	} else {
		n = strcspn(h, ":/");
		p = h + n;
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, n);
	host[n] = 0;
	if (*p == ':') {
		size_t k = strcspn(p + 1, "/");

		if (k == 0 || k >= sizeof(portbuf))
			return -EINVAL;
		memcpy(portbuf, p + 1, k);
		portbuf[k] = 0;
		if (parse_unsigned(portbuf, 65535, &port) < 0)
			return -EINVAL;
	}

	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ret)->sin_addr) == 1) {
		((struct sockaddr_in *)ret)->sin_family = AF_INET;
		((struct sockaddr_in *)ret)->sin_port = htons((uint16_t)port);
		*ret_len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ret)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ret)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ret)->sin6_port = htons((uint16_t)port);
		*ret_len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return -EADDRNOTAVAIL;	/* a name: never resolved on the loop */
}

static void probe_stop(struct mqtt_client *m)
{
	m->probe_io = sd_event_source_disable_unref(m->probe_io);
	m->probe_timer = sd_event_source_disable_unref(m->probe_timer);
	close_nointr(m->probe_fd);
	m->probe_fd = -EBADF;
}

static void probe_close(struct mqtt_client *m)
{
	m->probe_io = sd_event_source_disable_unref(m->probe_io);
	close_nointr(m->probe_fd);
	m->probe_fd = -EBADF;
}

static void probe_reachable(struct mqtt_client *m)
{
	probe_stop(m);
	if (!m->probe_armed || m->connecting || m->connected || m->shutting_down)
		return;
	m->probe_armed = false;
	log_module_debug("mqtt", "Broker answers again, reconnecting now");
	m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
	if (connect_now(m) < 0)
		schedule_reconnect(m);
}

static int on_probe_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mqtt_client *m = userdata;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	probe_close(m);
	if (err == 0)
		probe_reachable(m);
	return 0;
}

static int on_probe_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt_client *m = userdata;
	int r;

	if (m->connecting || m->connected || m->shutting_down || !m->retry_timer) {
		probe_stop(m);
		return 0;
	}
	probe_close(m);
	(void)sd_event_source_set_time(s, usec + PROBE_INTERVAL_USEC);

	m->probe_fd = socket(m->probe_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			     0);
	if (m->probe_fd < 0)
		return 0;
	if (connect(m->probe_fd, (struct sockaddr *)&m->probe_addr, m->probe_len) == 0) {
		probe_close(m);
		probe_reachable(m);
		return 0;
	}
	if (errno != EINPROGRESS) {
		probe_close(m);
		return 0;
	}
	r = sd_event_add_io(m->event, &m->probe_io, m->probe_fd, EPOLLOUT, on_probe_io, m);
	if (r < 0)
		probe_close(m);
	return 0;
}

static void probe_start(struct mqtt_client *m)
{
	int r;

	if (!m->probe_len || !m->probe_armed || m->probe_timer)
		return;
	r = sd_event_add_time_relative(m->event, &m->probe_timer, CLOCK_MONOTONIC,
				       PROBE_INTERVAL_USEC, 0, on_probe_timer, m);
	if (r >= 0)
		r = sd_event_source_set_enabled(m->probe_timer, SD_EVENT_ON);
	if (r < 0)
		probe_stop(m);
}

/* The backoff's randomness: it only needs to differ between gateways. */
static uint32_t backoff_random(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)now_usec();
	return r;
}

static void schedule_reconnect(struct mqtt_client *m)
{
	uint64_t delay;
	int k;

	if (m->shutting_down || m->retry_timer)
		return;

	/* 0.5 s doubling to 8 s, each from its upper half: a gym of gateways doesn't stampede */
	if (m->failures < BACKOFF_AT_CAP)
		m->failures++;
	delay = gk_backoff_delay_usec(m->failures, backoff_random());

	k = sd_event_add_time_relative(m->event, &m->retry_timer, CLOCK_MONOTONIC, delay, 0,
				       on_retry_timer, m);
	if (k < 0) {
		log_error_errno(k, "Failed to arm the MQTT reconnect timer: %m");
		return;
	}
	log_module_debug("mqtt", "Reconnecting in %llu ms",
			 (unsigned long long)(delay / USEC_PER_MSEC));
	if (delay > PROBE_INTERVAL_USEC)
		probe_start(m);
}

/* Our own "offline" Will: retained, QoS 1. */
static int connect_now(struct mqtt_client *m)
{
	MQTTAsync_connectOptions opts = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTProperty expiry = {
		.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL,
		.value.integer4 = SESSION_EXPIRY_S,
	};
	int rc;

	if (m->connecting || m->connected || m->shutting_down)
		return 0;

	if (MQTTProperties_add(&props, &expiry) != 0)
		return -ENOMEM;

	opts.keepAliveInterval = (int)m->keepalive_s;
	opts.cleanstart = 0;			/* durable session */
	if (m->quick_drops >= QUICK_DROPS_CLEAN) {
		log_warning("MQTT broker %s dropped the session %u times right after connecting: "
			    "starting a clean one (unacknowledged messages are sent again)",
			    m->uri, m->quick_drops);
		opts.cleanstart = 1;
		m->quick_drops = 0;
	}
	opts.connectProperties = &props;
	opts.connectTimeout = 10;
	opts.maxInflight = (int)(GK_MQTT_INFLIGHT_MAX * 4);
	opts.automaticReconnect = 0;		/* we back off with jitter ourselves */
	opts.username = m->username;
	opts.password = m->password;
	opts.onSuccess5 = on_connect_success;
	opts.onFailure5 = on_connect_failure;
	opts.context = m;

	will.topicName = m->will_topic;
	will.message = "offline";
	will.retained = 1;
	will.qos = 1;
	opts.will = &will;

	if (m->tls_ca || m->tls_cert || strncmp(m->uri, "mqtts://", 8) == 0 ||
	    strncmp(m->uri, "ssl://", 6) == 0) {
		ssl.trustStore = m->tls_ca;
		ssl.keyStore = m->tls_cert;
		ssl.privateKey = m->tls_key;
		ssl.enableServerCertAuth = 1;
		ssl.verify = m->tls_verify_hostname;	/* Paho's default is 0 */
		opts.ssl = &ssl;
	}

	m->connecting = true;
	rc = MQTTAsync_connect(m->paho, &opts);
	MQTTProperties_free(&props);
	if (rc != MQTTASYNC_SUCCESS) {
		m->connecting = false;
		m->stats.connect_failures++;
		log_module_debug("mqtt", "MQTTAsync_connect() failed: %d", rc);
		schedule_reconnect(m);
		return -EIO;
	}
	return 0;
}

static int send_record(struct mqtt_client *m, struct spool_record *r, struct inflight_slot *slot)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	int rc;

	msg.payload = r->payload;
	msg.payloadlen = (int)r->len;
	msg.qos = (int)r->qos;
	msg.retained = r->retain;
	opts.onSuccess5 = on_publish_success;
	opts.onFailure5 = on_publish_failure;
	opts.context = slot;

	rc = MQTTAsync_sendMessage(m->paho, r->topic, &msg, &opts);
	if (rc != MQTTASYNC_SUCCESS)
		return -EIO;

	slot->used = true;
	slot->token = opts.token;
	slot->spool_id = r->id;
	slot->since_usec = now_usec();
	r->inflight = true;
	r->sent_usec = slot->since_usec;
	m->stats.inflight++;
	return 0;
}

void mqtt_pump(struct mqtt_client *m)
{
	struct spool_record *r = spool_first(m->spool);

	if (!m->connected || m->shutting_down)
		return;

	for (unsigned i = 0; i < GK_MQTT_INFLIGHT_MAX && r; i++) {
		struct inflight_slot *slot = &m->slots[i];

		if (slot->used)
			continue;
		while (r && r->inflight)
			r = r->next;
		if (!r)
			break;
		if (send_record(m, r, slot) < 0)
			break;
		r = r->next;
	}
}

/*
 * Paho MQTT C (1.3.12) leaves Nagle on for its broker socket and has no
 * option for it: a small QoS 0 publish written while an earlier segment is
 * unacknowledged then waits for the broker's delayed ACK (~40 ms on Linux;
 * docs/performance.md). The broker link is the only TCP socket this process
 * has (D-Bus and the journal are AF_UNIX), so once connected every connected
 * TCP socket gets TCP_NODELAY. Returns how many were set.
 */
DEFINE_FREEP(DIR, closedir)

static unsigned tcp_nodelay_all(void)
{
	_cleanup_(closedirp) DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned n = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		unsigned long long fd;
		int type = 0, one = 1;
		socklen_t tl = sizeof(type);

		if (parse_unsigned(de->d_name, INT32_MAX, &fd) < 0 || (int)fd == dirfd(dir))
			continue;
		if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 ||
		    type != SOCK_STREAM ||
		    getpeername((int)fd, (struct sockaddr *)&sa, &len) < 0 ||
		    (sa.ss_family != AF_INET && sa.ss_family != AF_INET6))
			continue;
		if (setsockopt((int)fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0)
			n++;
	}
	return n;
}

static void handle_event(struct mqtt_client *m, struct mqtt_event *ev)
{
	struct inflight_slot *slot = ev->slot < GK_MQTT_INFLIGHT_MAX ? &m->slots[ev->slot] : NULL;

	switch (ev->type) {
	case EVENT_CONNECTED:
		m->connecting = false;
		m->connected = true;
		m->paho_down_ticks = 0;
		m->failures = 0;
		m->probe_armed = true;
		probe_stop(m);
		m->stats.connects++;
		m->stats.last_connected_usec = now_usec();
		/*
		 * Without our session the broker forgot the QoS 1 flows Paho
		 * was carrying: send those records again (at most one
		 * duplicate each; subscribers see the same seq twice).
		 */
		if (!ev->session_present)
			reset_slots(m);
		else
			/*
			 * Paho sends the resumed flows again itself: their
			 * time starts now, not when the link went (the slot
			 * timeout would give the records back, and they would
			 * go out twice).
			 */
			for (unsigned i = 0; i < GK_MQTT_INFLIGHT_MAX; i++)
				m->slots[i].since_usec = now_usec();
		log_info("Connected to MQTT broker %s (session %s)", m->uri,
			 ev->session_present ? "resumed" : "new");
		log_debug("TCP_NODELAY set on %u socket(s)", tcp_nodelay_all());
		if (m->cb.on_connected)
			m->cb.on_connected(m->userdata, ev->session_present);
		mqtt_pump(m);
		break;

	case EVENT_CONNECT_FAILED:
		m->connecting = false;
		m->stats.connect_failures++;
		/* The broker answered (e.g. 0x86 bad password): probing won't help. */
		if (ev->code >= 0x80)
			m->probe_armed = false;
		if (m->stats.connect_failures == 1 || m->stats.connect_failures % 20 == 0)
			log_warning("Failed to connect to MQTT broker %s (code %d), retrying",
				    m->uri, ev->code);
		/*
		 * The broker took the link and closed it during the handshake:
		 * Paho says so when the close of a session dropped right after
		 * its CONNACK beats the CONNACK's callback (a race in its
		 * threads). It counts towards a clean start as such a drop does
		 * (not towards "taken over": a broker at its connection limit
		 * closes links this way too).
		 */
		if (ev->code == MQTTASYNC_DISCONNECTED && !taken_over_lately(m, now_usec()))
			m->quick_drops++;
		schedule_reconnect(m);
		break;

	case EVENT_LOST:
		/* already seen by the pump, or from a link replaced since */
		if (!m->connected || MQTTAsync_isConnected(m->paho))
			break;
		link_lost(m, "connection lost", false);
		break;

	case EVENT_SERVER_DISCONNECT:
		if (ev->code != MQTTREASONCODE_SESSION_TAKEN_OVER) {
			log_warning("MQTT broker %s closed the connection: %s (0x%02x)", m->uri,
				    MQTTReasonCode_toString(ev->code), (unsigned)ev->code);
			if (m->connected)
				link_lost(m, "closed by the broker", false);
		} else if (m->connected) {
			link_lost(m, "session taken over", true);
		} else {
			/*
			 * Paho's "connection lost" came first: the retry waits
			 * the cap too, drawn as at the cap (4-8 s), so that the
			 * two clients with our id do not come back in step.
			 */
			session_taken_over(m, TAKEN_OVER_0x8E);
			if (m->retry_timer)
				(void)sd_event_source_set_time_relative(
					m->retry_timer,
					gk_backoff_delay_usec(BACKOFF_AT_CAP, backoff_random()));
		}
		break;

	case EVENT_MESSAGE:
		if (m->cb.on_message)
			m->cb.on_message(m->userdata, ev->topic, ev->payload, ev->len,
					 ev->code == -E2BIG);
		break;

	case EVENT_PUBLISHED:
		if (!slot || !slot->used || slot->token != ev->token)
			break;	/* from before a reset: its record was resent */
		(void)spool_remove(m->spool, slot->spool_id);
		slot->used = false;
		m->stats.inflight--;
		m->stats.delivered++;
		mqtt_pump(m);
		break;

	case EVENT_PUBLISH_FAILED: {
		struct spool_record *r;

		if (!slot || !slot->used || (ev->token && slot->token != ev->token))
			break;
		r = spool_find(m->spool, slot->spool_id);
		if (ev->code < 0) {
			/* Paho's own (the link went while sending): not the broker's word */
			log_module_debug("mqtt", "Publishing '%s' did not complete (%d), "
					 "keeping it spooled", r ? r->topic : "?", ev->code);
			free_slot(m, slot);
			break;
		}
		m->stats.rejected++;
		/*
		 * Reason codes >= 0x80 (e.g. 0x87 not authorized): keep it
		 * spooled. Retried every pump tick, so log the first and then
		 * every 60th.
		 */
		if (m->stats.rejected == 1 || m->stats.rejected % 60 == 0)
			log_error("Broker did not accept '%s' (code 0x%x, %llu so far), "
				  "keeping it spooled", r ? r->topic : "?", (unsigned)ev->code,
				  (unsigned long long)m->stats.rejected);
		free_slot(m, slot);
		/* Retry on the pump timer, not at once: a denied topic stays denied. */
		break;
	}

	case EVENT_LAST_SENT:
		if (m->shutting_down && m->connected) {
			MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer5;

			d.timeout = 1000;
			d.onSuccess5 = on_disconnect_done;
			d.onFailure5 = on_disconnect_failed;
			d.context = m;
			if (MQTTAsync_disconnect(m->paho, &d) == MQTTASYNC_SUCCESS)
				break;
		}
		__attribute__((fallthrough));
	case EVENT_DISCONNECTED:
		m->connected = false;
		if (m->shutting_down && !m->shutdown_done) {
			m->shutdown_done = true;
			if (m->cb.on_shutdown)
				m->cb.on_shutdown(m->userdata);
		}
		break;
	}
}

static int on_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct mqtt_client *m = userdata;
	eventfd_t v;

	(void)eventfd_read(fd, &v);
	for (;;) {
		struct mqtt_event ev;

		pthread_mutex_lock(&m->lock);
		if (!m->q_len) {
			m->stats.queue_drops = m->queue_drops;
			pthread_mutex_unlock(&m->lock);
			break;
		}
		ev = m->queue[m->q_head];
		m->q_head = (m->q_head + 1) % GK_MQTT_QUEUE_MAX;
		m->q_len--;
		pthread_mutex_unlock(&m->lock);

		handle_event(m, &ev);
		free(ev.topic);
		free(ev.payload);
	}
	return 0;
}

static int on_pump_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt_client *m = userdata;
	uint64_t now = now_usec();

	/*
	 * Paho can close its socket without calling connectionLost (seen after
	 * a broker restart, when the broker dropped the resumed session right
	 * after its CONNACK), and an event is lost when the queue is full:
	 * nothing would be sent again and no reconnect scheduled. Two ticks of
	 * Paho saying "not connected" while we think it is are a lost link.
	 */
	if (m->connected && !m->shutting_down && !MQTTAsync_isConnected(m->paho)) {
		if (++m->paho_down_ticks >= 2)
			link_lost(m, "Paho reports the link down", false);
	} else {
		m->paho_down_ticks = 0;
	}

	/*
	 * A flow that never completed while connected (Paho lost it): give
	 * the record back. Not while the link is down: a resumed session
	 * finishes those flows (a new one gives every record back anyway).
	 */
	for (unsigned i = 0; m->connected && i < GK_MQTT_INFLIGHT_MAX; i++)
		if (m->slots[i].used && now - m->slots[i].since_usec > INFLIGHT_TIMEOUT_USEC)
			free_slot(m, &m->slots[i]);
	mqtt_pump(m);

	/*
	 * From the time it was due, not from now: "now + interval" lands a few
	 * microseconds after the tick it was folded into, and misses the next.
	 */
	usec += PUMP_INTERVAL_USEC;
	(void)sd_event_source_set_time(s, usec > now ? usec : now + PUMP_INTERVAL_USEC);
	return 0;
}

static char *strdup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s || !*s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

DEFINE_FREEP(struct mqtt_client, mqtt_client_free);

int mqtt_client_new(sd_event *event, struct spool *spool, const struct mqtt_options *o,
		    const struct mqtt_callbacks *cb, void *userdata, struct mqtt_client **ret)
{
	_cleanup_(mqtt_client_freep) struct mqtt_client *m = NULL;
	MQTTAsync_createOptions copts = MQTTAsync_createOptions_initializer5;
	bool oom = false;
	int rc, r;

	if (!o->uri || !o->client_id || !o->will_topic)
		return -EINVAL;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->efd = -EBADF;
	m->probe_fd = -EBADF;
	m->probe_armed = true;
	pthread_mutex_init(&m->lock, NULL);
	m->event = sd_event_ref(event);
	m->spool = spool;
	m->cb = *cb;
	m->userdata = userdata;
	m->keepalive_s = o->keepalive_s ? o->keepalive_s : 30;
	m->tls_verify_hostname = o->tls_verify_hostname;
	for (unsigned i = 0; i < GK_MQTT_INFLIGHT_MAX; i++) {
		m->slots[i].m = m;
		m->slots[i].index = i;
	}

	m->uri = strdup_or_null(o->uri, &oom);
	m->client_id = strdup_or_null(o->client_id, &oom);
	m->username = strdup_or_null(o->username, &oom);
	m->password = strdup_or_null(o->password, &oom);
	m->tls_ca = strdup_or_null(o->tls_ca, &oom);
	m->tls_cert = strdup_or_null(o->tls_cert, &oom);
	m->tls_key = strdup_or_null(o->tls_key, &oom);
	m->will_topic = strdup_or_null(o->will_topic, &oom);
	if (oom)
		return -ENOMEM;

	if (parse_broker_addr(m->uri, &m->probe_addr, &m->probe_len) < 0)
		m->probe_len = 0;

	m->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->efd < 0)
		return -errno;
	r = sd_event_add_io(event, &m->efd_source, m->efd, EPOLLIN, on_eventfd, m);
	if (r < 0)
		return r;

	/*
	 * MQTT 5 is fixed at create. No Paho persistence and no offline
	 * buffer: the backlog lives in our spool, which fsyncs and is bounded.
	 */
	copts.MQTTVersion = MQTTVERSION_5;
	copts.sendWhileDisconnected = 0;
	copts.maxBufferedMessages = (int)GK_MQTT_PAHO_BUFFERED_MAX;
	rc = MQTTAsync_createWithOptions(&m->paho, m->uri, m->client_id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL, &copts);
	if (rc != MQTTASYNC_SUCCESS) {
		m->paho = NULL;
		return -EINVAL;
	}
	rc = MQTTAsync_setCallbacks(m->paho, m, on_connection_lost, on_message_arrived, NULL);
	if (rc == MQTTASYNC_SUCCESS)
		rc = MQTTAsync_setDisconnected(m->paho, m, on_server_disconnect);
	if (rc != MQTTASYNC_SUCCESS)
		return -EINVAL;

	*ret = TAKE_PTR(m);
	return 0;
}

struct mqtt_client *mqtt_client_free(struct mqtt_client *m)
{
	if (!m)
		return NULL;

	/* Destroy first: it joins Paho's threads, so no callback runs after. */
	if (m->paho)
		MQTTAsync_destroy(&m->paho);

	while (m->q_len) {
		free(m->queue[m->q_head].topic);
		free(m->queue[m->q_head].payload);
		m->q_head = (m->q_head + 1) % GK_MQTT_QUEUE_MAX;
		m->q_len--;
	}
	sd_event_source_disable_unref(m->efd_source);
	sd_event_source_disable_unref(m->retry_timer);
	probe_stop(m);
	sd_event_source_disable_unref(m->pump_timer);
	sd_event_source_disable_unref(m->shutdown_timer);
	close_nointr(m->efd);
	sd_event_unref(m->event);
	pthread_mutex_destroy(&m->lock);
	free(m->uri);
	free(m->client_id);
	free(m->username);
	if (m->password) {
		explicit_bzero(m->password, strlen(m->password));
		free(m->password);
	}
	free(m->tls_ca);
	free(m->tls_cert);
	free(m->tls_key);
	free(m->will_topic);
	free(m);
	return NULL;
}

int mqtt_client_start(struct mqtt_client *m)
{
	int r;

	if (!m->pump_timer) {
		/*
		 * The pump is a fallback (records move on Paho's callbacks): a
		 * whole interval of slack lets sd-event fold it into the
		 * daemon's 1 Hz tick, one wake-up a second instead of two.
		 */
		r = sd_event_add_time_relative(m->event, &m->pump_timer, CLOCK_MONOTONIC,
					       PUMP_INTERVAL_USEC, PUMP_INTERVAL_USEC,
					       on_pump_timer, m);
		if (r < 0)
			return r;
		(void)sd_event_source_set_enabled(m->pump_timer, SD_EVENT_ON);
	}
	return connect_now(m);
}

int mqtt_publish_expiring(struct mqtt_client *m, const char *topic, const void *payload,
			  size_t len, unsigned qos, bool retain, uint32_t expiry_s)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	MQTTProperty expiry = {
		.identifier = MQTTPROPERTY_CODE_MESSAGE_EXPIRY_INTERVAL,
		.value.integer4 = expiry_s,
	};
	int rc;

	if (len > GK_MQTT_PAYLOAD_MAX)
		return -E2BIG;
	if (!m->connected || m->shutting_down) {
		m->stats.not_sent++;
		return -ENOTCONN;
	}

	msg.payload = (void *)payload;
	msg.payloadlen = (int)len;
	msg.qos = (int)qos;
	msg.retained = retain;
	/* Paho copies the properties (MQTTAsync_send): ours are freed below. */
	if (expiry_s && MQTTProperties_add(&msg.properties, &expiry) != 0)
		return -ENOMEM;
	rc = MQTTAsync_sendMessage(m->paho, topic, &msg, &opts);
	MQTTProperties_free(&msg.properties);
	if (rc != MQTTASYNC_SUCCESS) {
		m->stats.not_sent++;
		m->send_errors++;
		if (log_sparse(m->send_errors))
			log_warning("MQTT message to '%.128s' not sent: Paho error %d "
				    "(%llu so far)", topic, rc,
				    (unsigned long long)m->send_errors);
		return -EIO;
	}
	m->stats.published++;
	return 0;
}

int mqtt_publish(struct mqtt_client *m, const char *topic, const void *payload, size_t len,
		 unsigned qos, bool retain)
{
	return mqtt_publish_expiring(m, topic, payload, len, qos, retain, 0);
}

int mqtt_publish_spooled(struct mqtt_client *m, const char *topic, const void *payload,
			 size_t len, unsigned qos, bool retain, enum spool_priority priority)
{
	int r;

	if (len > GK_MQTT_PAYLOAD_MAX)
		return -E2BIG;
	r = spool_add(m->spool, topic, payload, len, qos, retain, priority, NULL);
	if (r < 0)
		return r;
	mqtt_pump(m);
	return 0;
}

int mqtt_subscribe(struct mqtt_client *m, const char *topic, unsigned qos, bool no_retained)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;

	if (no_retained)
		opts.subscribeOptions.retainHandling = 2;
	if (!m->connected)
		return -ENOTCONN;
	if (MQTTAsync_subscribe(m->paho, topic, (int)qos, &opts) != MQTTASYNC_SUCCESS)
		return -EIO;
	return 0;
}

int mqtt_unsubscribe(struct mqtt_client *m, const char *topic)
{
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;

	if (!m->connected)
		return -ENOTCONN;
	if (MQTTAsync_unsubscribe(m->paho, topic, &opts) != MQTTASYNC_SUCCESS)
		return -EIO;
	return 0;
}

bool mqtt_connected(const struct mqtt_client *m)
{
	return m && m->connected;
}

void mqtt_get_stats(const struct mqtt_client *m, struct mqtt_stats *ret)
{
	*ret = m->stats;
	ret->connected = m->connected;
}

static int on_shutdown_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct mqtt_client *m = userdata;

	if (!m->shutdown_done) {
		m->shutdown_done = true;
		log_warning("MQTT shutdown timed out, closing anyway");
		if (m->cb.on_shutdown)
			m->cb.on_shutdown(m->userdata);
	}
	return 0;
}

int mqtt_client_shutdown(struct mqtt_client *m, const char *payload, uint64_t timeout_usec)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions opts = MQTTAsync_responseOptions_initializer;
	struct mqtt_event ev = { .type = EVENT_LAST_SENT };
	int r;

	if (m->shutting_down)
		return 0;
	m->shutting_down = true;
	m->retry_timer = sd_event_source_disable_unref(m->retry_timer);
	probe_stop(m);

	r = sd_event_add_time_relative(m->event, &m->shutdown_timer, CLOCK_MONOTONIC,
				       timeout_usec, 0, on_shutdown_timeout, m);
	if (r < 0)
		return r;

	if (m->connected) {
		msg.payload = (void *)payload;
		msg.payloadlen = (int)strlen(payload);
		msg.qos = 1;
		msg.retained = 1;
		opts.onSuccess5 = on_last_success;
		opts.onFailure5 = on_last_failure;
		opts.context = m;
		if (MQTTAsync_sendMessage(m->paho, m->will_topic, &msg, &opts) ==
		    MQTTASYNC_SUCCESS)
			return 0;
	}
	/* Not connected: nothing to say goodbye to. */
	handle_event(m, &ev);
	return 0;
}
