/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spool: the durable, bounded, fsync'd queue of must-deliver MQTT messages. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * One append-only file "spool" in the state directory. Records (all
 * little-endian, each with a CRC-32 over header and body):
 *   ADD   id, qos, retain, priority, topic, payload: a message accepted;
 *   DEL   id: delivered (MQTT 5 onSuccess5) or dropped;
 *   STATS dropped: the running drop count, written at compaction and when
 *         a new record is dropped (it has no ADD and DEL of its own).
 * spool_add() returns only after fdatasync(), so an accepted record
 * survives a crash or power cut. On open the file is replayed; a damaged
 * stretch (bad header, CRC mismatch, garbage) is skipped up to the next
 * whole record and every record after it kept (counted in skipped_*); a
 * torn or corrupt tail, with no whole record after it, is cut off. Both
 * count in recovered_bytes. When the live records plus the log exceed the
 * cap the file is compacted (written to "spool.tmp", fsync'd, renamed over
 * "spool", directory fsync'd).
 * When live records alone would exceed the cap, the oldest record of the
 * lowest priority is dropped and counted (drops survive restarts), but
 * never one of a higher priority than the new record: then the new record
 * is dropped (and counted) instead.
 *
 * The in-memory list holds every live record, oldest first; the caller
 * marks records in flight while Paho carries them.
 */

struct spool;

enum spool_priority {
	SPOOL_PRIORITY_STATE,		/* availability: a newer one supersedes it */
	SPOOL_PRIORITY_ALERT,		/* alerts */
	SPOOL_PRIORITY_SUMMARY,		/* session summaries: dropped last */
	_SPOOL_PRIORITY_MAX,
};

struct spool_record {
	uint64_t id;			/* > 0, increasing, unique in the file */
	unsigned qos;
	bool retain;
	enum spool_priority priority;
	char *topic;			/* NUL-terminated */
	uint8_t *payload;
	size_t len;
	bool inflight;			/* set by the publisher; not persisted */
	uint64_t sent_usec;		/* when it went in flight (CLOCK_MONOTONIC) */
	struct spool_record *next;
};

struct spool_stats {
	unsigned records;		/* live */
	uint64_t bytes;			/* live payload + topic bytes */
	uint64_t file_bytes;
	uint64_t max_bytes;
	uint64_t dropped;		/* since the spool was created, survives restarts */
	uint64_t recovered_bytes;	/* not replayed at open: skipped + torn or corrupt tail */
	uint64_t skipped_bytes;		/* damaged stretches with whole records after them */
	unsigned skipped_records;	/* such stretches (mostly one record each) */
	uint64_t added, removed;	/* this run */
};

/*
 * Open (or create) dir/spool, replay it, compact. max_bytes caps live
 * record bytes (>= 4096). Returns 0 and *ret, -ENOMEM, or -errno of
 * open/read/write/fsync. A corrupt file is never an error: what can be
 * read is kept and the rest counted in recovered_bytes (with -ENOMEM
 * while replaying, the file is left as it is).
 */
int spool_open(const char *dir, uint64_t max_bytes, struct spool **ret);

/* Closes the file; records stay on disk. NULL-safe, returns NULL. */
struct spool *spool_free(struct spool *s);

/*
 * Append a record and fdatasync it. topic is copied, payload (len bytes)
 * too. Returns 0 and *ret_id (may be NULL), -EINVAL (empty topic, qos > 2,
 * record larger than the cap), -ENOBUFS (full of records of a higher
 * priority: this one is dropped, counted in dropped), -ENOSPC / -EIO and
 * other -errno from the disk: then the record is NOT accepted (the caller
 * keeps or drops it).
 */
int spool_add(struct spool *s, const char *topic, const void *payload, size_t len,
	      unsigned qos, bool retain, enum spool_priority priority, uint64_t *ret_id);

/* Delivered: forget id (a DEL record, not synced). -ENOENT if unknown. */
int spool_remove(struct spool *s, uint64_t id);

/* Oldest live record, or NULL; walk on with ->next. Borrowed. */
struct spool_record *spool_first(struct spool *s);
struct spool_record *spool_find(struct spool *s, uint64_t id);

/* Clear every in-flight mark (e.g. the broker lost our session). */
void spool_reset_inflight(struct spool *s);

void spool_get_stats(const struct spool *s, struct spool_stats *ret);
