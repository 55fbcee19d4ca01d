/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Where and why a payload decoder rejected its input. */
#pragma once

#include <errno.h>
#include <stddef.h>

/*
 * Filled by a decoder only when it returns -EBADMSG (or -EOPNOTSUPP), so a
 * tool can say "truncated stride length at byte 4". Both strings are
 * static and never freed. Every decoder accepts error == NULL.
 */
struct proto_error {
	size_t offset;			/* byte offset of the offending field */
	const char *field;		/* what was being read, e.g. "stride length" */
	const char *reason;		/* "truncated", "reserved value", ... */
};

static inline int proto_fail(struct proto_error *error, int r, size_t offset,
			     const char *field, const char *reason)
{
	if (error) {
		error->offset = offset;
		error->field = field;
		error->reason = reason;
	}
	return r;
}

/* Shorthand for the common case: field did not fit in the payload. */
static inline int proto_truncated(struct proto_error *error, size_t offset,
				  const char *field)
{
	return proto_fail(error, -EBADMSG, offset, field, "truncated");
}
