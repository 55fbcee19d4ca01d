/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cleanup helpers in the systemd style: _cleanup_, TAKE_PTR, DEFINE_FREEP. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand a pointer over to its new owner: the cleanup attribute then frees NULL. */
#define TAKE_PTR(p)                                                     \
	({                                                              \
		typeof(p) _p = (p);                                     \
		(p) = NULL;                                             \
		_p;                                                     \
	})

#define TAKE_FD(fd)                                                     \
	({                                                              \
		int _fd = (fd);                                         \
		(fd) = -EBADF;                                          \
		_fd;                                                    \
	})

/* For a destructor "struct x *x_free(struct x *)", define x_freep(struct x **). */
#define DEFINE_FREEP(type, fn)                                          \
	static inline void fn##p(type **p)                              \
	{                                                               \
		if (*p)                                                 \
			(void)fn(*p);                                   \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int close_nointr(int fd)
{
	return fd >= 0 ? close(fd) : 0;
}

static inline void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
	*fd = -EBADF;
}
#define _cleanup_close_ _cleanup_(closep)

static inline int streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline int streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}
