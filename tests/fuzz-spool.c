// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the spool's replay at open (daemon/spool.c), with the
 * input as the whole file: torn tails, flipped bits, garbage, forged
 * headers. Then once more with the CRC of every record on the chain of
 * lengths from the start made to match, so that mutated headers and bodies
 * reach the record checks behind the CRC (empty or NUL-holding topics, id 0,
 * taken ids, unknown types and flags). The spool must open; what it keeps
 * must account for the bytes it did not replay and reopen unchanged with
 * nothing more to recover; a new record gets an id of its own and respects
 * the cap.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/crc32.h"
#include "daemon/spool.h"

#define FUZZ_SPOOL_MAX_BYTES 4096u	/* the smallest cap: eviction runs often */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96], tmp_path[96];

static void cleanup(void)
{
	(void)unlink(path);
	(void)unlink(tmp_path);
	(void)rmdir(dir);
}

/* One directory per process, on tmpfs if there is one: open fsyncs twice. */
static void make_dir(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof(dir), "%s/gk-fuzz-spool.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/spool", dir);
	snprintf(tmp_path, sizeof(tmp_path), "%s/spool.tmp", dir);
	atexit(cleanup);
}

/*
 * Every live record, in order, as bytes to compare; checks the stats
 * against the list. *ret_disk: what the records take on disk.
 */
static size_t snapshot(struct spool *s, uint8_t **ret, uint64_t *ret_disk,
		       uint64_t *ret_max_id)
{
	struct spool_stats st;
	uint64_t bytes = 0, disk = 0, max_id = 0;
	unsigned n = 0;
	size_t len = 0;
	uint8_t *buf = NULL;

	spool_get_stats(s, &st);
	for (struct spool_record *r = spool_first(s); r; r = r->next) {
		size_t tlen = strlen(r->topic), need = 8 + 3 + 8 + tlen + 1 + r->len;
		uint8_t *p;

		if (r->id == 0 || !tlen || r->qos > 2 || r->priority >= _SPOOL_PRIORITY_MAX ||
		    r->inflight || spool_find(s, r->id) != r)
			abort();
		p = realloc(buf, len + need);
		if (!p)
			abort();
		buf = p;
		p += len;
		memcpy(p, &r->id, 8);
		p[8] = (uint8_t)r->qos;
		p[9] = r->retain;
		p[10] = (uint8_t)r->priority;
		memcpy(p + 11, &r->len, 8);
		memcpy(p + 19, r->topic, tlen + 1);
		memcpy(p + 20 + tlen, r->payload, r->len);
		len += need;
		n++;
		bytes += tlen + r->len;
		disk += 24 + 2 + tlen + r->len;
		if (r->id > max_id)
			max_id = r->id;
	}
	if (n != st.records || bytes != st.bytes)
		abort();
	*ret = buf;
	*ret_disk = disk;
	*ret_max_id = max_id;
	return len;
}

/* Header: magic (4), type, flags, 0 (2), id (8), body length (4), CRC (4). */
static bool fix_crcs(uint8_t *buf, size_t len)
{
	bool changed = false;

	for (size_t pos = 0; len - pos >= 24;) {
		uint8_t *h = buf + pos;
		uint32_t body = h[16] | h[17] << 8 | h[18] << 16 | (uint32_t)h[19] << 24, crc;

		if (body > len - pos - 24)
			break;
		crc = gk_crc32(gk_crc32(0, h, 20), h + 24, body);
		for (unsigned i = 0; i < 4; i++) {
			changed |= h[20 + i] != (uint8_t)(crc >> (8 * i));
			h[20 + i] = (uint8_t)(crc >> (8 * i));
		}
		pos += 24 + body;
	}
	return changed;
}

static void one_file(const uint8_t *data, size_t size)
{
	struct spool *s = NULL;
	struct spool_stats st, again;
	uint8_t *before = NULL, *after = NULL;
	size_t n_before, n_after;
	uint64_t disk, max_id, id;
	int fd, r;

	make_dir();
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);

	/* Any file opens: damage is counted, never an error. */
	r = spool_open(dir, FUZZ_SPOOL_MAX_BYTES, &s);
	if (r == -ENOMEM)
		return;
	if (r < 0)
		abort();
	spool_get_stats(s, &st);
	n_before = snapshot(s, &before, &disk, &max_id);
	/* Each kept record and each byte counted as recovered is a byte of the file. */
	if (st.recovered_bytes > size || st.skipped_bytes > st.recovered_bytes ||
	    st.skipped_records > st.skipped_bytes || disk > size - st.recovered_bytes)
		abort();
	spool_free(s);

	/* The compaction at open left a clean file that holds the same. */
	if (spool_open(dir, FUZZ_SPOOL_MAX_BYTES, &s) < 0)
		abort();
	spool_get_stats(s, &again);
	n_after = snapshot(s, &after, &disk, &max_id);
	if (again.recovered_bytes || again.skipped_bytes || again.skipped_records ||
	    again.dropped != st.dropped || n_after != n_before ||
	    (n_before && memcmp(before, after, n_before) != 0))
		abort();

	/* A new record: a new id, or dropped for records that outrank it. */
	r = spool_add(s, "gk/fuzz/alert", data, size < 64 ? size : 64, 1, false,
		      SPOOL_PRIORITY_ALERT, &id);
	spool_get_stats(s, &st);
	if (r == 0 && (id <= max_id || !spool_find(s, id) || st.bytes > st.max_bytes))
		abort();
	if (r < 0 && r != -ENOBUFS && r != -ENOMEM)
		abort();
	if (r == -ENOBUFS && st.dropped != again.dropped + 1)
		abort();
	spool_free(s);
	free(before);
	free(after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;

	one_file(data, size);
	fixed = malloc(size ? size : 1);
	if (!fixed)
		return 0;
	memcpy(fixed, data, size);
	if (fix_crcs(fixed, size))
		one_file(fixed, size);
	free(fixed);
	return 0;
}
