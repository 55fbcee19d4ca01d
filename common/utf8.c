/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8 checks for text from outside (configuration files, BlueZ, truncations). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

size_t gk_utf8_char_len(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return s[0] ? 1 : 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}

	/* A NUL ends the loop at a range check: nothing past it is read. */
	for (size_t i = 1; i < n; i++) {
		if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xbf))
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}

	if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
		return 0;
	return n;
}

/* Each byte that starts no valid character: U+FFFD, or \xHH when escape. */
static char *dup_replacing(const char *s, bool escape)
{
	size_t len = strlen(s), n = 0, k;
	char *copy = malloc(len * 4 + 1);	/* \xHH: 4 bytes for 1 */

	if (!copy)
		return NULL;

	for (size_t i = 0; i < len; i += k ?: 1) {
		k = gk_utf8_char_len(s + i);
		if (k) {
			memcpy(copy + n, s + i, k);
			n += k;
		} else if (escape) {
			n += (size_t)sprintf(copy + n, "\\x%02x", (unsigned char)s[i]);
		} else {
			memcpy(copy + n, "\xef\xbf\xbd", 3);	/* U+FFFD */
			n += 3;
		}
	}
	copy[n] = '\0';
	return copy;
}

char *gk_utf8_dup_valid(const char *s)
{
	return dup_replacing(s, false);
}

char *gk_utf8_dup_escaped(const char *s)
{
	return dup_replacing(s, true);
}

size_t gk_utf8_prefix(const char *s, size_t max)
{
	size_t n = 0, k;

	while (s[n]) {
		k = gk_utf8_char_len(s + n) ?: 1;
		if (n + k > max)
			break;
		n += k;
	}
	return n;
}
