/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Checked parsers for numbers and hex text from the command line and files. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/*
 * Parse a whole decimal unsigned number in [0, max]. Leading '+', '-',
 * blanks, trailing garbage and overflow are rejected.
 * Returns 0 and sets *ret, or -EINVAL (not a number) / -ERANGE (> max).
 */
int parse_unsigned(const char *s, unsigned long long max, unsigned long long *ret);

/*
 * Parse a whole finite decimal floating-point number (no hex, inf or nan).
 * Returns 0 and sets *ret, or -EINVAL / -ERANGE.
 */
int parse_double(const char *s, double *ret);

/*
 * Parse hex bytes: pairs of hex digits, optionally separated by blanks,
 * ':' or '-', with an optional leading "0x". Writes at most cap bytes.
 * Returns 0 and sets *ret_len, -EINVAL on a bad digit or odd count,
 * -ENOBUFS when more than cap bytes are given.
 */
int parse_hex(const char *s, uint8_t *buf, size_t cap, size_t *ret_len);
