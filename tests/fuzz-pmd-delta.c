// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: pmd_delta_decode() alone. Byte 0 picks channels (1..4) and byte 1 the reference resolution (1..32); the rest is the delta blob. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/pmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t (*rows)[PMD_CHANNELS_MAX] = malloc(sizeof(*rows) * PMD_SAMPLES_MAX);
	struct proto_error e;
	size_t n;

	if (!rows || size < 2)
		goto out;

	(void)pmd_delta_decode(data + 2, size - 2, 1 + data[0] % PMD_CHANNELS_MAX,
			       1 + data[1] % 32, rows, PMD_SAMPLES_MAX, &n, &e);
	/* A small cap exercises the "more samples than fit" path. */
	(void)pmd_delta_decode(data + 2, size - 2, 1 + data[0] % PMD_CHANNELS_MAX,
			       1 + data[1] % 32, rows, 1 + data[1] % 8, &n, &e);
out:
	free(rows);
	return 0;
}
