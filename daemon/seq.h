/* SPDX-License-Identifier: GPL-2.0-or-later */
/* seq: per-topic message sequence numbers that only grow, across restarts. */
#pragma once

#include <stdint.h>

/*
 * Every published JSON carries "seq", counted per topic, so subscribers can
 * spot loss and duplicates. Numbers are leased in blocks of SEQ_LEASE from
 * a small file in the state directory (written atomically and fsync'd once
 * per block), so a crash may skip numbers but never repeats one.
 */

#define SEQ_LEASE 1000u
#define SEQ_MAX_KEYS 64u

struct seq_store;

/* Open dir/seq (missing or garbled file: start from 1). -ENOMEM, -errno. */
int seq_store_open(const char *dir, struct seq_store **ret);
struct seq_store *seq_store_free(struct seq_store *s);

/*
 * Next number for key (e.g. "alert"), starting at 1. Returns 0 when the
 * store is full (more than SEQ_MAX_KEYS keys) or the lease could not be
 * written (then numbers are still handed out, from memory).
 */
uint64_t seq_next(struct seq_store *s, const char *key);
