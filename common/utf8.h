/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8 checks for text from outside (configuration files, BlueZ, truncations). */
#pragma once

#include <stddef.h>

/*
 * Length of the UTF-8 character at str that D-Bus accepts in a string, 0 if
 * none (or at the terminating NUL): a well-formed sequence (Unicode table
 * 3-7: no overlong forms, no surrogates, nothing above U+10FFFF) that is not
 * a noncharacter (U+FDD0 to U+FDEF, U+xxFFFE, U+xxFFFF), which sd-bus
 * refuses as well. libsystemd keeps its UTF-8 helpers private, and the
 * daemon links no other library that has one.
 */
size_t gk_utf8_char_len(const char *str);

/*
 * A copy of s in which each byte that does not start a character
 * gk_utf8_char_len() accepts becomes U+FFFD: what sd-bus can send (one
 * invalid string makes it fail every Get, GetAll and PropertiesChanged of
 * its object, or a method's reply). NULL: out of memory. Free with free().
 */
char *gk_utf8_dup_valid(const char *s);

/*
 * The same with such a byte written as \xHH instead, for messages a person
 * reads (a configuration error quoting a Latin-1 value shows which byte it
 * was) that also go out as JSON and over D-Bus. NULL: out of memory.
 */
char *gk_utf8_dup_escaped(const char *s);

/*
 * The length of the longest start of s, at most max bytes, that does not end
 * inside a character: where to cut s to fit max bytes (a byte that starts
 * no valid character counts as one).
 */
size_t gk_utf8_prefix(const char *s, size_t max);
