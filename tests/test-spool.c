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
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_drops_lowest_priority_oldest, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_recovered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_crc_stops_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_garbage_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_bounds_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_after_accept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_reset_and_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_kill_loop, setup, teardown),
	};
	static const char *const names[] = {
		"/spool/roundtrip-reopen", "/spool/bounded-drops-lowest-priority-oldest",
		"/spool/torn-tail-recovered", "/spool/corrupt-crc-stops-replay",
		"/spool/random-garbage-file", "/spool/compaction-bounds-file",
		"/spool/kill-after-accept", "/spool/inflight-reset-and-args",
		"/spool/random-kill-loop",
	};
	struct CMUnitTest named[ELEMENTSOF(tests)];

	for (size_t i = 0; i < ELEMENTSOF(tests); i++) {
		named[i] = tests[i];
		named[i].name = names[i];
	}
	return _cmocka_run_group_tests("spool", named, ELEMENTSOF(named), NULL, NULL);
}
