// SPDX-License-Identifier: GPL-2.0-or-later
/* Leased per-topic sequence counters, persisted atomically in the state dir. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "common/parse.h"
#include "daemon/seq.h"

struct seq_entry {
	char key[96];
	uint64_t next;		/* next number to hand out */
	uint64_t limit;		/* leased up to (exclusive) in the file */
};

struct seq_store {
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	struct seq_entry e[SEQ_MAX_KEYS];
	unsigned n;
};

static int seq_store_write(struct seq_store *s)
{
	_cleanup_close_ int fd = -EBADF;
	FILE *f;
	int r = 0;

	fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "we");
	if (!f)
		return -errno;
	fd = -EBADF;	/* now owned by f */
	for (unsigned i = 0; i < s->n; i++)
		fprintf(f, "%s %llu\n", s->e[i].key, (unsigned long long)s->e[i].limit);
	if (fflush(f) != 0 || fdatasync(fileno(f)) < 0)
		r = -errno;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(s->tmp, s->path) < 0)
		r = -errno;
	return r;
}

int seq_store_open(const char *dir, struct seq_store **ret)
{
	_cleanup_free_ struct seq_store *s = calloc(1, sizeof(*s));
	char line[160];
	FILE *f;
	int r;

	if (!s)
		return -ENOMEM;
	if (snprintf(s->path, sizeof(s->path), "%s/seq", dir) >= (int)sizeof(s->path) ||
	    snprintf(s->tmp, sizeof(s->tmp), "%s/seq.tmp", dir) >= (int)sizeof(s->tmp))
		return -ENAMETOOLONG;

	f = fopen(s->path, "re");
	while (f && s->n < SEQ_MAX_KEYS && fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' ');
		unsigned long long v;

		line[strcspn(line, "\n")] = 0;
		if (!sp || sp == line || (size_t)(sp - line) >= sizeof(s->e[0].key))
			continue;	/* garbled line: that key restarts from 1 */
		*sp = 0;
		if (parse_unsigned(sp + 1, UINT64_MAX / 2, &v) < 0)
			continue;
		memcpy(s->e[s->n].key, line, (size_t)(sp - line) + 1);
		/* Everything below the old lease may have been used. */
		s->e[s->n].next = v ? v : 1;
		s->e[s->n].limit = s->e[s->n].next + SEQ_LEASE;
		s->n++;
	}
	if (f)
		fclose(f);

	r = seq_store_write(s);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

struct seq_store *seq_store_free(struct seq_store *s)
{
	free(s);
	return NULL;
}

uint64_t seq_next(struct seq_store *s, const char *key)
{
	struct seq_entry *e = NULL;

	for (unsigned i = 0; i < s->n && !e; i++)
		if (streq(s->e[i].key, key))
			e = &s->e[i];
	if (!e) {
		if (s->n >= SEQ_MAX_KEYS || strlen(key) >= sizeof(e->key) || strchr(key, ' '))
			return 0;
		e = &s->e[s->n++];
		snprintf(e->key, sizeof(e->key), "%s", key);
		e->next = 1;
		e->limit = 1;
	}
	if (e->next >= e->limit) {
		e->limit = e->next + SEQ_LEASE;
		(void)seq_store_write(s);	/* on failure: still monotonic in this run */
	}
	return e->next++;
}
