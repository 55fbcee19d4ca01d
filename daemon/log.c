// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging: formats once, then writes to the journal or stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "common/macro.h"
#include "daemon/log.h"

/*
 * The one piece of process-wide state besides the daemon context: logging
 * must work before the context exists and from every module, as syslog(3).
 */
static struct {
	bool to_stderr;
	int max_level;
	char modules[128];	/* ",ble,proto," or ",all," */
} log_state = { .to_stderr = true, .max_level = LOG_INFO };

void log_setup(bool to_stderr, int max_level)
{
	log_state.to_stderr = to_stderr;
	log_state.max_level = max_level;
}

void log_set_max_level(int level)
{
	log_state.max_level = level;
}

int log_get_max_level(void)
{
	return log_state.max_level;
}

int log_set_debug_modules(const char *list)
{
	if (strlen(list) + 3 > sizeof(log_state.modules))
		return -E2BIG;
	snprintf(log_state.modules, sizeof(log_state.modules), ",%s,", list);
	return 0;
}

bool log_debug_module(const char *module)
{
	char key[40];

	if (log_state.max_level >= LOG_DEBUG || strstr(log_state.modules, ",all,"))
		return true;
	snprintf(key, sizeof(key), ",%s,", module);
	return strstr(log_state.modules, key);
}

int log_internal(int level, int error, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
		[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
	};
	bool forced = level & 0x100;	/* a module debug line that was asked for */
	int saved = errno;
	char buf[1024];
	va_list ap;

	level &= 0x7;
	if (error < 0)
		error = -error;
	if (level > log_state.max_level && !forced)
		return -error;

	/* %m prints the error we were given, not whatever errno happens to be. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (log_state.to_stderr) {
		fprintf(stderr, "gaitkeeperd: %s: %s\n", prefix[level], buf);
	} else if (error) {
		(void)sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level, "ERRNO=%i",
				      error, "SYSLOG_IDENTIFIER=gaitkeeperd", NULL);
	} else {
		(void)sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level,
				      "SYSLOG_IDENTIFIER=gaitkeeperd", NULL);
	}

	errno = saved;
	return -error;
}
