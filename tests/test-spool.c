// SPDX-License-Identifier: GPL-2.0-or-later
/* Tests for the must-deliver spool: durable, bounded, counts drops, heals. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/macro.h"
#include "daemon/spool.h"

struct fixture {
	char dir[64];
	char path[96];
	const void *arg;		/* the test's case, if it has one */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/gk-test-spool.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/spool", f->dir);
	f->arg = *state;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[128];

	unlink(f->path);
	snprintf(p, sizeof(p), "%s/spool.tmp", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static off_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : st.st_size;
}

static void add(struct spool *s, const char *topic, const char *payload,
		enum spool_priority prio, uint64_t *ret_id)
{
	assert_int_equal(spool_add(s, topic, payload, strlen(payload), 1, true, prio, ret_id), 0);
}

static void test_roundtrip_reopen(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_record *r;
	struct spool_stats st;
	uint64_t id1, id2, id3;

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	add(s, "gk/gym/alert", "{\"seq\":1}", SPOOL_PRIORITY_ALERT, &id1);
	add(s, "gk/gym/session/summary", "{\"seq\":1,\"steps\":100}", SPOOL_PRIORITY_SUMMARY,
	    &id2);
	add(s, "gk/gym/sensor/pod/availability", "online", SPOOL_PRIORITY_STATE, &id3);
	assert_true(id1 < id2 && id2 < id3);
	assert_int_equal(spool_remove(s, id2), 0);
	assert_int_equal(spool_remove(s, id2), -ENOENT);
	spool_free(s);

	/* A new process sees exactly what was accepted and not delivered. */
	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.recovered_bytes, 0);
	r = spool_first(s);
	assert_non_null(r);
	assert_int_equal(r->id, id1);
	assert_string_equal(r->topic, "gk/gym/alert");
	assert_int_equal(r->len, 9);
	assert_memory_equal(r->payload, "{\"seq\":1}", 9);
	assert_int_equal(r->qos, 1);
	assert_true(r->retain);
	assert_int_equal(r->priority, SPOOL_PRIORITY_ALERT);
	assert_false(r->inflight);
	r = r->next;
	assert_non_null(r);
	assert_int_equal(r->id, id3);
	assert_null(r->next);

	/* Ids keep growing across restarts. */
	add(s, "gk/gym/alert", "x", SPOOL_PRIORITY_ALERT, &id2);
	assert_true(id2 > id3);
	spool_free(s);
}

static void test_bounded_drops_lowest_priority_oldest(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	char payload[1000];
	uint64_t summary_id, first_alert, id;

	memset(payload, 'x', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = 0;

	/* 4096 bytes: four ~1 KiB records fit, the fifth forces a drop. */
	assert_int_equal(spool_open(f->dir, 4096, &s), 0);
	add(s, "t/summary", payload, SPOOL_PRIORITY_SUMMARY, &summary_id);
	add(s, "t/alert", payload, SPOOL_PRIORITY_ALERT, &first_alert);
	add(s, "t/avail", payload, SPOOL_PRIORITY_STATE, &id);
	add(s, "t/alert", payload, SPOOL_PRIORITY_ALERT, &id);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.dropped, 0);
	assert_true(st.bytes <= 4096);

	/* Availability (lowest priority) goes first. */
	add(s, "t/alert", payload, SPOOL_PRIORITY_ALERT, &id);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.dropped, 1);
	assert_null(spool_find(s, id - 2));

	/* Then the oldest alert, never the summary while alerts remain. */
	add(s, "t/alert", payload, SPOOL_PRIORITY_ALERT, &id);
	spool_get_stats(s, &st);
	assert_int_equal(st.dropped, 2);
	assert_null(spool_find(s, first_alert));
	assert_non_null(spool_find(s, summary_id));
	assert_true(st.bytes <= st.max_bytes);

	/* Larger than the whole cap: refused, nothing dropped for it. */
	{
		char *big = calloc(1, 5000);

		assert_int_equal(spool_add(s, "t/big", big, 5000, 1, false, SPOOL_PRIORITY_SUMMARY,
					   NULL), -EINVAL);
		free(big);
	}
	spool_free(s);

	/* The drop counter survives a restart. */
	assert_int_equal(spool_open(f->dir, 4096, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.records, 4);
	spool_free(s);
}

static void add_len(struct spool *s, const char *topic, size_t len, enum spool_priority prio,
		    uint64_t *ret_id)
{
	char *payload = malloc(len ? len : 1);

	assert_non_null(payload);
	memset(payload, 'p', len);
	assert_int_equal(spool_add(s, topic, payload, len, 1, true, prio, ret_id), 0);
	free(payload);
}

/*
 * A full spool never drops a record for a less important one: the new one
 * is dropped (and counted) instead. The old code dropped the oldest summary
 * for a 14-byte availability record.
 */
static void test_full_keeps_higher_priority(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	uint64_t sum[3], id = 0;

	/* 4096 bytes: three summaries of 9 + 1354/1354/1355 bytes hold 4090 */
	assert_int_equal(spool_open(f->dir, 4096, &s), 0);
	add_len(s, "t/summary", 1354, SPOOL_PRIORITY_SUMMARY, &sum[0]);
	add_len(s, "t/summary", 1354, SPOOL_PRIORITY_SUMMARY, &sum[1]);
	add_len(s, "t/summary", 1355, SPOOL_PRIORITY_SUMMARY, &sum[2]);
	spool_get_stats(s, &st);
	assert_int_equal(st.bytes, 4090);

	/* availability, 7 + 7 bytes: 6 are free */
	assert_int_equal(spool_add(s, "t/avail", "offline", 7, 1, true, SPOOL_PRIORITY_STATE,
				   &id), -ENOBUFS);
	assert_int_equal(id, 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.bytes, 4090);
	for (unsigned i = 0; i < 3; i++)
		assert_non_null(spool_find(s, sum[i]));

	/* an alert neither */
	assert_int_equal(spool_add(s, "t/alert", "{\"seq\":1}", 9, 1, false,
				   SPOOL_PRIORITY_ALERT, NULL), -ENOBUFS);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.dropped, 2);

	/* a summary makes way for a summary: the oldest goes, as before */
	add_len(s, "t/summary", 20, SPOOL_PRIORITY_SUMMARY, &id);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.dropped, 3);
	assert_null(spool_find(s, sum[0]));
	assert_non_null(spool_find(s, sum[1]));
	spool_free(s);

	/* The refusals are counted in the file too; the refused records are not in it. */
	assert_int_equal(spool_open(f->dir, 4096, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.dropped, 3);
	assert_int_equal(st.records, 3);
	assert_int_equal(st.recovered_bytes, 0);
	assert_non_null(spool_find(s, sum[1]));
	assert_non_null(spool_find(s, sum[2]));
	assert_non_null(spool_find(s, id));
	spool_free(s);
}

/*
 * Alerts never make way for availability; and when the records a new one
 * may push out would not make room, none of them goes for nothing.
 */
static void test_full_keeps_alerts_drops_nothing_in_vain(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	uint64_t alert[4], avail, sum, id;
	char topic[101];

	/* four alerts of 7 + 1017 bytes: 4096 */
	assert_int_equal(spool_open(f->dir, 4096, &s), 0);
	for (unsigned i = 0; i < 4; i++)
		add_len(s, "t/alert", 1017, SPOOL_PRIORITY_ALERT, &alert[i]);
	assert_int_equal(spool_add(s, "t/avail", "online", 6, 1, true, SPOOL_PRIORITY_STATE,
				   NULL), -ENOBUFS);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 4);
	assert_int_equal(st.dropped, 1);
	for (unsigned i = 0; i < 4; i++)
		assert_non_null(spool_find(s, alert[i]));
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(spool_remove(s, alert[i]), 0);

	/* 13 bytes of availability, 4000 of summary: 83 left */
	add(s, "t/avail", "online", SPOOL_PRIORITY_STATE, &avail);
	add_len(s, "t/summary", 3991, SPOOL_PRIORITY_SUMMARY, &sum);

	/*
	 * With a 7-byte alert 76 are left, 96 once both it and the availability
	 * record go. An alert of 101 bytes would need the summary too: it is
	 * dropped, and nothing else.
	 */
	add_len(s, "t/alert", 0, SPOOL_PRIORITY_ALERT, &id);
	memset(topic, 'a', sizeof(topic) - 1);
	topic[sizeof(topic) - 1] = 0;
	assert_int_equal(spool_add(s, topic, "x", 1, 1, false, SPOOL_PRIORITY_ALERT, NULL),
			 -ENOBUFS);
	spool_get_stats(s, &st);
	assert_int_equal(st.dropped, 2);
	assert_non_null(spool_find(s, avail));
	assert_non_null(spool_find(s, sum));

	/* One of 80 bytes fits once the availability record goes; the small alert stays. */
	add_len(s, "t/alert", 73, SPOOL_PRIORITY_ALERT, NULL);
	spool_get_stats(s, &st);
	assert_int_equal(st.dropped, 3);
	assert_null(spool_find(s, avail));
	assert_non_null(spool_find(s, sum));
	assert_non_null(spool_find(s, id));
	assert_int_equal(st.records, 3);
	assert_true(st.bytes <= st.max_bytes);
	spool_free(s);
}

static void test_torn_tail_recovered(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	off_t whole;
	int fd;

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	add(s, "t/a", "first", SPOOL_PRIORITY_ALERT, NULL);
	add(s, "t/a", "second", SPOOL_PRIORITY_ALERT, NULL);
	spool_free(s);

	/* A power cut in the middle of a third record: cut 5 bytes into it. */
	whole = file_size(f->path);
	assert_true(whole > 0);
	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	add(s, "t/a", "third-record-payload", SPOOL_PRIORITY_ALERT, NULL);
	spool_free(s);
	assert_int_equal(truncate(f->path, file_size(f->path) - 5), 0);

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 2);
	assert_true(st.recovered_bytes > 0);
	assert_string_equal((char *)spool_first(s)->topic, "t/a");
	assert_memory_equal(spool_first(s)->next->payload, "second", 6);
	spool_free(s);

	/* Garbage appended: also cut off, the good records stay. */
	fd = open(f->path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage!garbage!garbage!garbage!", 32), 32);
	close(fd);
	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 2);
	assert_int_equal(st.recovered_bytes, 32);
	spool_free(s);
}

static void test_corrupt_crc_stops_replay(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	uint8_t b;
	int fd;

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	add(s, "t/a", "one", SPOOL_PRIORITY_ALERT, NULL);
	add(s, "t/b", "two", SPOOL_PRIORITY_ALERT, NULL);
	spool_free(s);

	/* Flip a payload byte of the last record: its CRC no longer matches. */
	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, file_size(f->path) - 1), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, file_size(f->path) - 1), 1);
	close(fd);

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 1);
	assert_string_equal(spool_first(s)->topic, "t/a");
	assert_true(st.recovered_bytes > 0);
	spool_free(s);
}

/*
 * Damage in the middle of the file costs the damaged record, not the ones
 * after it (the old code kept nothing after the first bad record, and the
 * compaction at open then erased them for good). The file: the STATS
 * record (0), then five ADD records (1-5) of 64 bytes each.
 */
#define DAMAGE_RECORDS 5
#define DAMAGE_PAYLOAD 35		/* 24 header + 2 + "t/a" + 35 = 64 bytes */
#define DAMAGE_GARBAGE_BYTES 40
#define DAMAGE_TORN_BYTES 10

enum damage {
	DAMAGE_FLIP_PAYLOAD,		/* bit 0 of the record's last byte */
	DAMAGE_FLIP_LENGTH,		/* bit 6 of its body length: 64 bytes more */
	DAMAGE_FLIP_MAGIC,
	DAMAGE_FLIP_TYPE,		/* an unknown type */
	DAMAGE_GARBAGE_BEFORE,		/* DAMAGE_GARBAGE_BYTES bytes inserted before it */
	DAMAGE_TORN,			/* the file ends DAMAGE_TORN_BYTES bytes into it */
};

static const struct damage_case {
	const char *name;
	enum damage damage;
	unsigned record;		/* 0: STATS, 1-5: ADD */
	unsigned kept;			/* bit i - 1: ADD record i survives */
	bool tail;			/* no whole record after the damage: cut */
} damage_cases[] = {
	{ "/spool/damage/payload-bit-first", DAMAGE_FLIP_PAYLOAD, 1, 0x1e, false },
	{ "/spool/damage/payload-bit-middle", DAMAGE_FLIP_PAYLOAD, 3, 0x1b, false },
	{ "/spool/damage/payload-bit-last", DAMAGE_FLIP_PAYLOAD, 5, 0x0f, true },
	{ "/spool/damage/payload-bit-stats", DAMAGE_FLIP_PAYLOAD, 0, 0x1f, false },
	/* the bad length points at record 3: trusting it would lose record 2 */
	{ "/spool/damage/length-bit-first", DAMAGE_FLIP_LENGTH, 1, 0x1e, false },
	{ "/spool/damage/length-bit-last", DAMAGE_FLIP_LENGTH, 5, 0x0f, true },
	{ "/spool/damage/magic", DAMAGE_FLIP_MAGIC, 2, 0x1d, false },
	{ "/spool/damage/type", DAMAGE_FLIP_TYPE, 4, 0x17, false },
	{ "/spool/damage/garbage-between", DAMAGE_GARBAGE_BEFORE, 3, 0x1f, false },
	{ "/spool/damage/torn-tail", DAMAGE_TORN, 5, 0x0f, true },
};

static void write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void test_damage(void **state)
{
	struct fixture *f = *state;
	const struct damage_case *c = f->arg;
	struct spool *s = NULL;
	struct spool_stats st;
	uint8_t buf[1024], out[1024 + DAMAGE_GARBAGE_BYTES];
	size_t off[DAMAGE_RECORDS + 2] = { 0 }, len, pos, n = 0, damaged = 0;
	uint64_t ids[DAMAGE_RECORDS + 1], id;
	char payload[DAMAGE_RECORDS + 1][DAMAGE_PAYLOAD];
	unsigned kept = 0;
	int fd;

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	for (unsigned i = 1; i <= DAMAGE_RECORDS; i++) {
		memset(payload[i], '0' + i, DAMAGE_PAYLOAD);
		assert_int_equal(spool_add(s, "t/a", payload[i], DAMAGE_PAYLOAD, 1, false,
					   SPOOL_PRIORITY_ALERT, &ids[i]), 0);
	}
	spool_free(s);

	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	len = (size_t)read(fd, buf, sizeof(buf));
	close(fd);
	/* Find the records by their lengths (le32 at 16) while the file is whole. */
	for (pos = 0; pos + 24 <= len && n <= DAMAGE_RECORDS;
	     pos += 24 + (buf[16 + pos] | buf[17 + pos] << 8))
		off[n++] = pos;
	assert_int_equal(pos, len);
	assert_int_equal(n, DAMAGE_RECORDS + 1);
	assert_int_equal(len - off[1], DAMAGE_RECORDS * 64);
	off[n] = len;

	memcpy(out, buf, len);
	switch (c->damage) {
	case DAMAGE_FLIP_PAYLOAD:
		out[off[c->record + 1] - 1] ^= 0x01;
		damaged = off[c->record + 1] - off[c->record];
		break;
	case DAMAGE_FLIP_LENGTH:
		out[off[c->record] + 16] ^= 0x40;
		damaged = 64;
		break;
	case DAMAGE_FLIP_MAGIC:
		out[off[c->record]] ^= 0x20;
		damaged = 64;
		break;
	case DAMAGE_FLIP_TYPE:
		out[off[c->record] + 4] ^= 0x40;
		damaged = 64;
		break;
	case DAMAGE_GARBAGE_BEFORE:
		/* with a magic of its own: "GKS1" and a header that does not check */
		memset(out + off[c->record], 0xa5, DAMAGE_GARBAGE_BYTES);
		memcpy(out + off[c->record] + 3, "GKS1\x01", 5);
		memcpy(out + off[c->record] + DAMAGE_GARBAGE_BYTES, buf + off[c->record],
		       len - off[c->record]);
		len += DAMAGE_GARBAGE_BYTES;
		damaged = DAMAGE_GARBAGE_BYTES;
		break;
	case DAMAGE_TORN:
		len = off[c->record] + DAMAGE_TORN_BYTES;
		damaged = DAMAGE_TORN_BYTES;
		break;
	}
	write_file(f->path, out, len);

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	for (unsigned i = 1; i <= DAMAGE_RECORDS; i++) {
		struct spool_record *r = spool_find(s, ids[i]);

		if (!r)
			continue;
		kept |= 1u << (i - 1);
		assert_int_equal(r->len, DAMAGE_PAYLOAD);
		assert_memory_equal(r->payload, payload[i], DAMAGE_PAYLOAD);
	}
	assert_int_equal(kept, c->kept);
	assert_int_equal(st.records, __builtin_popcount(c->kept));
	assert_int_equal(st.recovered_bytes, damaged);
	assert_int_equal(st.skipped_bytes, c->tail ? 0 : damaged);
	assert_int_equal(st.skipped_records, c->tail ? 0 : 1);
	spool_free(s);

	/* The compaction at open wrote what was kept: a clean file; ids still grow past it. */
	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, __builtin_popcount(c->kept));
	assert_int_equal(st.recovered_bytes, 0);
	assert_int_equal(st.skipped_records, 0);
	add(s, "t/a", "after", SPOOL_PRIORITY_ALERT, &id);
	assert_true(id > ids[32 - __builtin_clz(c->kept)]);
	spool_free(s);
}

static void test_random_garbage_file(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	uint8_t junk[4096];
	int fd;

	srand(6);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.recovered_bytes, sizeof(junk));
	add(s, "t/a", "after", SPOOL_PRIORITY_ALERT, NULL);
	spool_free(s);
	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.recovered_bytes, 0);
	spool_free(s);
}

static void test_compaction_bounds_file(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	char payload[512];
	uint64_t id;

	memset(payload, 'p', sizeof(payload) - 1);
	payload[sizeof(payload) - 1] = 0;
	assert_int_equal(spool_open(f->dir, 64 * 1024, &s), 0);
	/* Add and deliver many: the log must not grow without bound. */
	for (unsigned i = 0; i < 2000; i++) {
		add(s, "t/alert", payload, SPOOL_PRIORITY_ALERT, &id);
		assert_int_equal(spool_remove(s, id), 0);
	}
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 0);
	assert_true(st.file_bytes < 2 * 64 * 1024 + 65536);
	assert_true(file_size(f->path) == (off_t)st.file_bytes);
	spool_free(s);
}

/* A crash (SIGKILL) right after spool_add returns loses nothing accepted. */
static void test_kill_after_accept(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	struct spool_stats st;
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct spool *c = NULL;

		if (spool_open(f->dir, 1 << 20, &c) < 0)
			_exit(1);
		for (unsigned i = 0; i < 50; i++)
			if (spool_add(c, "t/alert", "accepted", 8, 1, false,
				      SPOOL_PRIORITY_ALERT, NULL) < 0)
				_exit(2);
		kill(getpid(), SIGKILL);	/* no spool_free, no exit handlers */
		_exit(3);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	spool_get_stats(s, &st);
	assert_int_equal(st.records, 50);
	spool_free(s);
}

/*
 * reliability.md R4 in small: a writer appends as fast as it can and reports
 * each accepted id on a pipe; it is SIGKILLed at a random moment. After
 * every kill the spool must open and hold every id reported as accepted.
 */
#define KILL_ROUNDS 200

static void test_random_kill_loop(void **state)
{
	struct fixture *f = *state;
	unsigned lost = 0, accepted_total = 0;

	srand(4);
	for (unsigned round = 0; round < KILL_ROUNDS; round++) {
		struct spool *s = NULL;
		uint64_t ids[4096];
		size_t n = 0;
		int pfd[2], status;
		pid_t pid;
		ssize_t k;

		assert_int_equal(pipe(pfd), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct spool *c = NULL;
			uint64_t id;

			close(pfd[0]);
			if (spool_open(f->dir, 256 * 1024, &c) < 0)
				_exit(1);
			for (;;) {
				if (spool_add(c, "t/alert", "must-deliver", 12, 1, false,
					      SPOOL_PRIORITY_ALERT, &id) < 0)
					_exit(2);
				if (write(pfd[1], &id, sizeof(id)) != sizeof(id))
					_exit(3);
				/* Deliver some, so DEL records and compaction run too. */
				if (id % 3 == 0)
					(void)spool_remove(c, id);
			}
		}
		close(pfd[1]);
		usleep((useconds_t)(rand() % 20000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		while (n < ELEMENTSOF(ids) &&
		       (k = read(pfd[0], &ids[n], sizeof(ids[0]))) == sizeof(ids[0]))
			n++;
		close(pfd[0]);

		assert_int_equal(spool_open(f->dir, 256 * 1024, &s), 0);
		for (size_t i = 0; i < n; i++) {
			/* Removed ones may be gone; every other accepted id is there. */
			if (ids[i] % 3 != 0 && !spool_find(s, ids[i]))
				lost++;
		}
		accepted_total += (unsigned)n;
		/* Empty it for the next round, as a broker would. */
		while (spool_first(s))
			assert_int_equal(spool_remove(s, spool_first(s)->id), 0);
		spool_free(s);
	}
	print_message("# figure: spool_kill_rounds=%u accepted=%u lost=%u\n", KILL_ROUNDS,
		      accepted_total, lost);
	assert_int_equal(lost, 0);
	assert_true(accepted_total > 0);
}

static void test_inflight_reset_and_args(void **state)
{
	struct fixture *f = *state;
	struct spool *s = NULL;
	uint64_t id;

	assert_int_equal(spool_open(f->dir, 1 << 20, &s), 0);
	assert_int_equal(spool_add(s, "", "x", 1, 1, false, SPOOL_PRIORITY_ALERT, NULL), -EINVAL);
	assert_int_equal(spool_add(s, "t", "x", 1, 3, false, SPOOL_PRIORITY_ALERT, NULL), -EINVAL);
	add(s, "t", "x", SPOOL_PRIORITY_ALERT, &id);
	spool_find(s, id)->inflight = true;
	spool_reset_inflight(s);
	assert_false(spool_find(s, id)->inflight);
	assert_null(spool_find(s, id + 100));
	spool_free(s);
	assert_null(spool_free(NULL));
}

int main(void)
{
	static const struct {
		const char *name;
		CMUnitTestFunction fn;
	} plain[] = {
		{ "/spool/roundtrip-reopen", test_roundtrip_reopen },
		{ "/spool/bounded-drops-lowest-priority-oldest",
		  test_bounded_drops_lowest_priority_oldest },
		{ "/spool/full-keeps-higher-priority", test_full_keeps_higher_priority },
		{ "/spool/full-keeps-alerts-drops-nothing-in-vain",
		  test_full_keeps_alerts_drops_nothing_in_vain },
		{ "/spool/torn-tail-recovered", test_torn_tail_recovered },
		{ "/spool/corrupt-crc-stops-replay", test_corrupt_crc_stops_replay },
		{ "/spool/random-garbage-file", test_random_garbage_file },
		{ "/spool/compaction-bounds-file", test_compaction_bounds_file },
		{ "/spool/kill-after-accept", test_kill_after_accept },
		{ "/spool/inflight-reset-and-args", test_inflight_reset_and_args },
		{ "/spool/random-kill-loop", test_random_kill_loop },
	};
	struct CMUnitTest tests[ELEMENTSOF(plain) + ELEMENTSOF(damage_cases)];
	size_t n = 0;

	for (size_t i = 0; i < ELEMENTSOF(plain); i++)
		tests[n++] = (struct CMUnitTest){ plain[i].name, plain[i].fn, setup, teardown,
						  NULL };
	for (size_t i = 0; i < ELEMENTSOF(damage_cases); i++)
		tests[n++] = (struct CMUnitTest){ damage_cases[i].name, test_damage, setup,
						  teardown, (void *)&damage_cases[i] };
	return _cmocka_run_group_tests("spool", tests, n, NULL, NULL);
}
