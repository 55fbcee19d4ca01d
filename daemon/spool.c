// SPDX-License-Identifier: GPL-2.0-or-later
/* The must-deliver spool: an append-only, CRC-checked, fsync'd record log. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/crc32.h"
#include "common/macro.h"
#include "daemon/spool.h"

#define SPOOL_MAGIC 0x31534b47u		/* "GKS1" little-endian */
#define SPOOL_HEADER_SIZE 24u
#define SPOOL_MIN_BYTES 4096u

enum {
	RECORD_ADD = 1,
	RECORD_DEL = 2,
	RECORD_STATS = 3,
};

#define FLAG_RETAIN 0x04u
#define FLAG_DROPPED 0x80u		/* DEL: dropped for space, not delivered */

struct spool {
	int fd;
	int dir_fd;
	char path[PATH_MAX];
	char tmp_path[PATH_MAX];
	uint64_t max_bytes;
	uint64_t next_id;
	struct spool_record *head, *tail;
	struct spool_stats stats;
	uint64_t live_disk_bytes;	/* ADD records of live entries, on disk */
};

DEFINE_FREEP(struct spool, spool_free);

/* n-byte little-endian store and load (n <= 8), independent of alignment. */
static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint64_t record_size(const struct spool_record *r)
{
	return SPOOL_HEADER_SIZE + 2 + strlen(r->topic) + r->len;
}

static uint64_t record_bytes(const struct spool_record *r)
{
	return strlen(r->topic) + r->len;
}

static struct spool_record *record_free(struct spool_record *r)
{
	if (!r)
		return NULL;
	free(r->topic);
	free(r->payload);
	free(r);
	return NULL;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * Serialise one record into a malloc'd buffer. body parts: an optional
 * topic (with its u16 length) and payload bytes.
 */
static int record_encode(unsigned type, unsigned flags, uint64_t id, const char *topic,
			 const uint8_t *payload, size_t len, uint8_t **ret, size_t *ret_size)
{
	size_t tlen = topic ? strlen(topic) : 0;
	size_t body = (topic ? 2 + tlen : 0) + len;
	size_t size = SPOOL_HEADER_SIZE + body;
	uint8_t *b, *p;

	if (body > UINT32_MAX || tlen > UINT16_MAX)
		return -EINVAL;
	b = malloc(size);
	if (!b)
		return -ENOMEM;

	put_le(b, SPOOL_MAGIC, 4);
	b[4] = (uint8_t)type;
	b[5] = (uint8_t)flags;
	put_le(b + 6, 0, 2);
	put_le(b + 8, id, 8);
	put_le(b + 16, (uint32_t)body, 4);
	p = b + SPOOL_HEADER_SIZE;
	if (topic) {
		put_le(p, (uint16_t)tlen, 2);
		memcpy(p + 2, topic, tlen);
		p += 2 + tlen;
	}
	if (len)
		memcpy(p, payload, len);
	/* The CRC covers the header before it and the whole body. */
	put_le(b + 20, gk_crc32(gk_crc32(0, b, 20), b + SPOOL_HEADER_SIZE, body), 4);

	*ret = b;
	*ret_size = size;
	return 0;
}

static int append(struct spool *s, unsigned type, unsigned flags, uint64_t id,
		  const char *topic, const uint8_t *payload, size_t len)
{
	_cleanup_free_ uint8_t *b = NULL;
	size_t size;
	int r;

	r = record_encode(type, flags, id, topic, payload, len, &b, &size);
	if (r < 0)
		return r;

	r = write_all(s->fd, b, size);
	if (r < 0) {
		/* Never leave half a record behind: cut back to the last whole one. */
		if (ftruncate(s->fd, (off_t)s->stats.file_bytes) < 0 ||
		    lseek(s->fd, (off_t)s->stats.file_bytes, SEEK_SET) < 0)
			return r;	/* the replay at the next open cuts the tail */
		return r;
	}
	s->stats.file_bytes += size;
	return 0;
}

static void list_append(struct spool *s, struct spool_record *r)
{
	r->next = NULL;
	if (s->tail)
		s->tail->next = r;
	else
		s->head = r;
	s->tail = r;
	s->stats.records++;
	s->stats.bytes += record_bytes(r);
	s->live_disk_bytes += record_size(r);
}

/* Unlink id; returns the record (caller frees) or NULL. */
static struct spool_record *list_take(struct spool *s, uint64_t id)
{
	struct spool_record *prev = NULL;

	for (struct spool_record *r = s->head; r; prev = r, r = r->next) {
		if (r->id != id)
			continue;
		if (prev)
			prev->next = r->next;
		else
			s->head = r->next;
		if (s->tail == r)
			s->tail = prev;
		s->stats.records--;
		s->stats.bytes -= record_bytes(r);
		s->live_disk_bytes -= record_size(r);
		return r;
	}
	return NULL;
}

/*
 * The size of the whole record at buf + pos (magic, a known type, a body
 * inside the file, a matching CRC), or 0 if none starts there. The CRC
 * costs a pass over the body, charged to *budget: once that is spent no
 * record validates any more.
 */
static size_t record_check(const uint8_t *buf, size_t len, size_t pos, uint64_t *budget)
{
	const uint8_t *h = buf + pos;
	uint32_t body;

	if (len - pos < SPOOL_HEADER_SIZE || get_le(h, 4) != SPOOL_MAGIC ||
	    h[4] < RECORD_ADD || h[4] > RECORD_STATS)
		return 0;
	body = get_le(h + 16, 4);
	if (body > len - pos - SPOOL_HEADER_SIZE || body > *budget)
		return 0;
	*budget -= body;
	if (gk_crc32(gk_crc32(0, h, 20), h + SPOOL_HEADER_SIZE, body) != get_le(h + 20, 4))
		return 0;
	return SPOOL_HEADER_SIZE + body;
}

/*
 * Replay one whole record (size bytes at h). -EBADMSG: its CRC matches but
 * it is no ADD we would write (empty topic, a NUL in it, id 0 or taken);
 * -ENOMEM.
 */
static int record_apply(struct spool *s, const uint8_t *h, size_t size)
{
	uint64_t id = get_le(h + 8, 8);
	const uint8_t *b = h + SPOOL_HEADER_SIZE;
	size_t body = size - SPOOL_HEADER_SIZE;

	switch (h[4]) {
	case RECORD_ADD: {
		struct spool_record *r;
		uint16_t tlen;

		if (body < 2 || (tlen = get_le(b, 2)) == 0 || tlen > body - 2 ||
		    memchr(b + 2, 0, tlen) || id == 0 || spool_find(s, id))
			return -EBADMSG;
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->id = id;
		r->qos = h[5] & 0x3u;
		r->retain = h[5] & FLAG_RETAIN;
		r->priority = (h[5] >> 4) & 0x3u;
		if (r->priority >= _SPOOL_PRIORITY_MAX || r->qos > 2)
			r->priority = SPOOL_PRIORITY_STATE, r->qos = 1;
		r->topic = strndup((const char *)b + 2, tlen);
		r->len = body - 2 - tlen;
		r->payload = malloc(r->len ? r->len : 1);
		if (!r->topic || !r->payload) {
			record_free(r);
			return -ENOMEM;
		}
		memcpy(r->payload, b + 2 + tlen, r->len);
		list_append(s, r);
		break;
	}
	case RECORD_DEL:
		record_free(list_take(s, id));
		if (h[5] & FLAG_DROPPED)
			s->stats.dropped++;
		break;
	case RECORD_STATS:
		if (body >= 8)
			s->stats.dropped = get_le(b, 8);
		break;
	}

	if (id >= s->next_id)
		s->next_id = id + 1;
	return 0;
}

/*
 * Walk a file image. A damaged stretch (a flipped bit, a bad header,
 * garbage) is skipped up to the next whole record, found byte by byte:
 * every intact record after it is kept. Only a stretch that no whole
 * record follows, a torn tail, is cut. Not the damaged record's own
 * length: if damage hit it, it can point past good records (equal-sized
 * records make that likely). -ENOMEM: the caller must not compact.
 */
static int replay(struct spool *s, const uint8_t *buf, size_t len)
{
	/*
	 * A clean file costs one CRC pass, real damage little more; a file
	 * of forged headers claiming long bodies would cost quadratic time.
	 * After four passes the rest is cut as the tail.
	 */
	uint64_t budget = 4 * (uint64_t)len + 65536;
	size_t pos = 0;

	while (pos < len) {
		size_t n = record_check(buf, len, pos, &budget), next;
		int r;

		if (n > 0) {
			r = record_apply(s, buf + pos, n);
			if (r == -ENOMEM)
				return r;
			if (r < 0) {
				s->stats.skipped_records++;
				s->stats.skipped_bytes += n;
			}
			pos += n;
			continue;
		}

		for (next = pos + 1; next < len; next++)
			if (record_check(buf, len, next, &budget) > 0)
				break;
		if (next >= len)
			break;
		s->stats.skipped_records++;
		s->stats.skipped_bytes += next - pos;
		pos = next;
	}
	s->stats.recovered_bytes = s->stats.skipped_bytes + (len - pos);
	return 0;
}

static int read_file(int fd, uint8_t **ret, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;
	size_t n = 0;

	if (fstat(fd, &st) < 0)
		return -errno;

	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;

	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return -errno;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	*ret = buf;
	*ret_len = n;
	return 0;
}

/* Append a STATS record: the running drop count. */
static int append_stats(struct spool *s, uint64_t dropped)
{
	uint8_t stats[8];

	put_le(stats, dropped, 8);
	return append(s, RECORD_STATS, 0, 0, NULL, stats, sizeof(stats));
}

/* Write the live records to spool.tmp, sync it and rename it over spool. */
static int compact(struct spool *s)
{
	_cleanup_close_ int fd = -EBADF;
	struct spool tmp = { .stats = s->stats };
	int r;

	fd = open(s->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;

	tmp.fd = fd;
	tmp.stats.file_bytes = 0;
	r = append_stats(&tmp, s->stats.dropped);
	for (struct spool_record *e = s->head; r >= 0 && e; e = e->next)
		r = append(&tmp, RECORD_ADD,
			   e->qos | (e->retain ? FLAG_RETAIN : 0) | e->priority << 4, e->id,
			   e->topic, e->payload, e->len);
	if (r >= 0 && fdatasync(fd) < 0)
		r = -errno;
	if (r >= 0 && rename(s->tmp_path, s->path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(s->tmp_path);
		return r;
	}
	/*
	 * The rename is durable only once the directory is; either way the
	 * path now names the new file, so appends go there from now on (to
	 * the old, unlinked one they would be lost at the next open).
	 */
	r = fsync(s->dir_fd) < 0 ? -errno : 0;

	close_nointr(s->fd);
	s->fd = TAKE_FD(fd);
	s->stats.file_bytes = tmp.stats.file_bytes;
	if (lseek(s->fd, 0, SEEK_END) < 0)
		return -errno;
	return r;
}

static int maybe_compact(struct spool *s)
{
	/* Keep the log within twice what it must hold, plus some slack. */
	if (s->stats.file_bytes <= 2 * s->live_disk_bytes + 65536)
		return 0;
	return compact(s);
}

int spool_open(const char *dir, uint64_t max_bytes, struct spool **ret)
{
	_cleanup_(spool_freep) struct spool *s = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = -EBADF;
	s->dir_fd = -EBADF;
	s->next_id = 1;
	s->max_bytes = max_bytes < SPOOL_MIN_BYTES ? SPOOL_MIN_BYTES : max_bytes;
	s->stats.max_bytes = s->max_bytes;

	if (snprintf(s->path, sizeof(s->path), "%s/spool", dir) >= (int)sizeof(s->path) ||
	    snprintf(s->tmp_path, sizeof(s->tmp_path), "%s/spool.tmp", dir) >=
		    (int)sizeof(s->tmp_path))
		return -ENAMETOOLONG;

	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0)
		return -errno;

	s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return -errno;

	r = read_file(s->fd, &buf, &len);
	if (r < 0)
		return r;
	r = replay(s, buf, len);
	if (r < 0)
		return r;

	/* Start from a clean file: drops the damage, the torn tail and the DEL records. */
	r = compact(s);
	if (r < 0)
		return r;

	*ret = TAKE_PTR(s);
	return 0;
}

struct spool *spool_free(struct spool *s)
{
	if (!s)
		return NULL;
	while (s->head) {
		struct spool_record *r = s->head;

		s->head = r->next;
		record_free(r);
	}
	close_nointr(s->fd);
	close_nointr(s->dir_fd);
	free(s);
	return NULL;
}

/*
 * The oldest record of the lowest priority present, if that is not above
 * prio: nothing makes way for a less important record. NULL if none.
 */
static struct spool_record *victim(struct spool *s, enum spool_priority prio)
{
	struct spool_record *best = NULL;

	for (struct spool_record *r = s->head; r; r = r->next)
		if (r->priority <= prio && (!best || r->priority < best->priority))
			best = r;
	return best;
}

/*
 * The new record is the one dropped. Counted like any drop; the count goes
 * to the file in a STATS record, not synced: a crash may forget this one
 * drop, and a failed write is made good by the next compaction, which
 * writes the count again.
 */
static int refuse(struct spool *s)
{
	s->stats.dropped++;
	if (append_stats(s, s->stats.dropped) >= 0)
		(void)maybe_compact(s);
	return -ENOBUFS;
}

int spool_add(struct spool *s, const char *topic, const void *payload, size_t len,
	      unsigned qos, bool retain, enum spool_priority priority, uint64_t *ret_id)
{
	struct spool_record *r;
	uint64_t need, evictable = 0;
	int k;

	if (!topic || !*topic || qos > 2 || priority >= _SPOOL_PRIORITY_MAX ||
	    strlen(topic) > UINT16_MAX)
		return -EINVAL;
	need = strlen(topic) + len;
	if (need > s->max_bytes)
		return -EINVAL;

	/*
	 * Make room: oldest of the lowest priority first, every drop counted,
	 * but only from records of this priority or below. If all of those
	 * would not make room, none goes: this record is dropped instead.
	 */
	if (s->stats.bytes + need > s->max_bytes) {
		for (r = s->head; r; r = r->next)
			if (r->priority <= priority)
				evictable += record_bytes(r);
		if (s->stats.bytes - evictable + need > s->max_bytes)
			return refuse(s);
	}
	while (s->stats.bytes + need > s->max_bytes) {
		struct spool_record *v = victim(s, priority);

		assert(v);	/* the evictable bytes above make room */
		k = append(s, RECORD_DEL, FLAG_DROPPED, v->id, NULL, NULL, 0);
		if (k < 0)
			return k;
		record_free(list_take(s, v->id));
		s->stats.dropped++;
	}

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->id = s->next_id;
	r->qos = qos;
	r->retain = retain;
	r->priority = priority;
	r->len = len;
	r->topic = strdup(topic);
	r->payload = malloc(len ? len : 1);
	if (!r->topic || !r->payload) {
		record_free(r);
		return -ENOMEM;
	}
	if (len)
		memcpy(r->payload, payload, len);

	k = append(s, RECORD_ADD, qos | (retain ? FLAG_RETAIN : 0) | priority << 4, r->id,
		   topic, payload, len);
	if (k >= 0 && fdatasync(s->fd) < 0)
		k = -errno;
	if (k < 0) {
		record_free(r);
		return k;
	}

	s->next_id++;
	list_append(s, r);
	s->stats.added++;
	if (ret_id)
		*ret_id = r->id;

	/* A failed compaction is harmless: the log is still valid, just long. */
	(void)maybe_compact(s);
	return 0;
}

int spool_remove(struct spool *s, uint64_t id)
{
	struct spool_record *r = list_take(s, id);
	int k;

	if (!r)
		return -ENOENT;
	record_free(r);
	s->stats.removed++;

	/*
	 * Not synced: losing a DEL in a crash only means one duplicate
	 * delivery, which subscribers detect by seq.
	 */
	k = append(s, RECORD_DEL, 0, id, NULL, NULL, 0);
	if (k < 0)
		return k;
	(void)maybe_compact(s);
	return 0;
}

struct spool_record *spool_first(struct spool *s)
{
	return s->head;
}

struct spool_record *spool_find(struct spool *s, uint64_t id)
{
	for (struct spool_record *r = s->head; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

void spool_reset_inflight(struct spool *s)
{
	for (struct spool_record *r = s->head; r; r = r->next)
		r->inflight = false;
}

void spool_get_stats(const struct spool *s, struct spool_stats *ret)
{
	*ret = s->stats;
}
