/* SPDX-License-Identifier: GPL-2.0-or-later */
/* CRC-32 of the on-disk records (spool, digests, baseline). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, initial and final
 * value inverted), continued from crc (0 to start): gk_crc32(gk_crc32(0, a,
 * n), b, m) is the CRC of a and b one after the other. Bitwise: the records
 * are small.
 */
uint32_t gk_crc32(uint32_t crc, const void *p, size_t n);
