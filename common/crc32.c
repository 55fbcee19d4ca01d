// SPDX-License-Identifier: GPL-2.0-or-later
/* CRC-32 of the on-disk records (spool, digests, baseline). */
#include "common/crc32.h"

uint32_t gk_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	crc = ~crc;
	while (n--) {
		crc ^= *b++;
		for (unsigned k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1u));
	}
	return ~crc;
}
