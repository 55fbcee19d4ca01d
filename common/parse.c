// SPDX-License-Identifier: GPL-2.0-or-later
/* Checked parsers: never atoi, never an unchecked strtol. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "common/parse.h"

int parse_unsigned(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)s[0]))
		return -EINVAL;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;

	if (errno || *end)
		return -EINVAL;

	if (v > max)
		return -ERANGE;

	*ret = v;
	return 0;
}

int parse_double(const char *s, double *ret)
{
	char *end;
	double v;
	const char *p = s;

	if (!s)
		return -EINVAL;

	if (*p == '-' || *p == '+')
		p++;

	/* Only plain decimal notation: reject "inf", "nan", hex floats. */
	if (!isdigit((unsigned char)*p) && *p != '.')
		return -EINVAL;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		return -EINVAL;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end)
		return -EINVAL;

	if (errno == ERANGE || !isfinite(v))
		return -ERANGE;

	*ret = v;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int parse_hex(const char *s, uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t n = 0;
	int hi = -1;

	if (!s)
		return -EINVAL;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;

	for (; *s; s++) {
		int d;

		if (*s == ' ' || *s == '\t' || *s == ':' || *s == '-') {
			if (hi >= 0)
				return -EINVAL;	/* a separator splits a byte */
			continue;
		}

		d = hex_digit(*s);
		if (d < 0)
			return -EINVAL;

		if (hi < 0) {
			hi = d;
			continue;
		}

		if (n >= cap)
			return -ENOBUFS;

		buf[n++] = (uint8_t)(hi << 4 | d);
		hi = -1;
	}

	if (hi >= 0)
		return -EINVAL;

	*ret_len = n;
	return 0;
}
