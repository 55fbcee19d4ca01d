/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging for gaitkeeperd: journal (or stderr), levels, per-module debug. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

/*
 * Only daemon/ logs above debug. log_*_errno(r, ...) sets errno = -r so
 * "%m" prints it, logs, and returns -|r| for "return log_error_errno(r, ...)".
 * The log state is process-wide (like syslog): set once by main().
 */

/* to_stderr: plain lines on stderr instead of the journal. level: LOG_ERR..LOG_DEBUG. */
void log_setup(bool to_stderr, int max_level);
void log_set_max_level(int level);
int log_get_max_level(void);

/* "ble,proto" or "all": modules whose debug lines are shown regardless of level. */
int log_set_debug_modules(const char *list);
bool log_debug_module(const char *module);

int log_internal(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_error_errno(r, ...) log_internal(LOG_ERR, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_internal(LOG_WARNING, (r), __VA_ARGS__)
#define log_notice_errno(r, ...) log_internal(LOG_NOTICE, (r), __VA_ARGS__)
#define log_info_errno(r, ...) log_internal(LOG_INFO, (r), __VA_ARGS__)
#define log_debug_errno(r, ...) log_internal(LOG_DEBUG, (r), __VA_ARGS__)
#define log_error(...) (void)log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...) (void)log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...) (void)log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...) (void)log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...) (void)log_internal(LOG_DEBUG, 0, __VA_ARGS__)

/*
 * For a recurring event counted in n (1 for the first): true for the first
 * 10 and then every 100th, so that it costs a line but never a flood.
 */
static inline bool log_sparse(unsigned long long n)
{
	return n <= 10 || n % 100 == 0;
}

/* A debug line for one module, shown with --debug=<module> or at level debug. */
#define log_module_debug(module, ...)                                           \
	do {                                                                    \
		if (log_debug_module(module))                                   \
			(void)log_internal(LOG_DEBUG | 0x100, 0, __VA_ARGS__);   \
	} while (0)
