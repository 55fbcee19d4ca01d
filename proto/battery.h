/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Battery Level 0x2A19 decoder. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto/error.h"

struct battery_level {
	unsigned battery_level_pct;	/* 0..100 */
	size_t trailing;
};

/*
 * Decode Battery Level (uint8 percent). Returns 0, or -EBADMSG when empty
 * or above 100 (values 101-255 are reserved), with *error set.
 */
int battery_level_parse(const uint8_t *buf, size_t len,
			struct battery_level *ret, struct proto_error *error);
