// SPDX-License-Identifier: GPL-2.0-or-later
/* gaitkeeperd: command line, then the daemon context runs the loop. */
#include <errno.h>
#include <getopt.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

const char *__lsan_default_suppressions(void);

/*
 * Only read by LeakSanitizer builds (make sanitize): libconfig 1.5 leaks a
 * token on some malformed input, hyperrealm/libconfig#142 (fixed in 1.7.x
 * by PR #155). Each failed reload of such a file loses a few bytes; the
 * integration test bounds the growth over 200 reloads.
 */
const char *__lsan_default_suppressions(void)
{
	return "leak:libconfig_yylex\nleak:strbuf_append\n";
}

static void help(void)
{
	printf("Usage: gaitkeeperd [OPTIONS]\n\n"
	       "Running-form gateway: BLE sensors in, MQTT and D-Bus out.\n\n"
	       "  -c --config FILE        configuration (default %s)\n"
	       "     --check-config FILE  validate FILE, print problems, exit 0/1\n"
	       "  -s --state-dir DIR      spool and history (default $STATE_DIRECTORY or %s)\n"
	       "     --stderr             log to stderr instead of the journal\n"
	       "  -d --debug[=MODULES]    debug logging (all, or e.g. mqtt,ble)\n"
	       "     --dump-schema=markdown|example\n"
	       "                          print the generated config reference\n"
	       "  -h --help  -V --version\n",
	       GK_CONFIG_DEFAULT_PATH, GK_STATE_DIR_DEFAULT);
}

static int check_config(const char *path)
{
	_cleanup_free_ char *errors = NULL;
	struct gk_config *c = NULL;
	int r;

	r = gk_config_load_file(path, &c, &errors);
	if (r < 0) {
		fputs(errors ? errors : "unreadable\n", stderr);
		return EXIT_FAILURE;
	}
	printf("%s: ok (node '%s', %u sensors)\n", path, c->node, c->n_sensors);
	gk_config_free(c);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	enum { ARG_CHECK = 0x100, ARG_STDERR, ARG_DUMP };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", required_argument, NULL, ARG_CHECK },
		{ "state-dir", required_argument, NULL, 's' },
		{ "stderr", no_argument, NULL, ARG_STDERR },
		{ "debug", optional_argument, NULL, 'd' },
		{ "dump-schema", required_argument, NULL, ARG_DUMP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct gk_daemon_options o = {};
	struct gk_daemon *d = NULL;
	const char *debug_modules = NULL;
	int c, r;

	/* Journal when started by systemd (or with no terminal), else stderr. */
	o.to_stderr = !getenv("JOURNAL_STREAM") && !getenv("INVOCATION_ID");

	while ((c = getopt_long(argc, argv, "c:s:d::hV", options, NULL)) >= 0) {
		switch (c) {
		case 'c':
			o.config_path = optarg;
			break;
		case ARG_CHECK:
			return check_config(optarg);
		case 's':
			o.state_dir = optarg;
			break;
		case ARG_STDERR:
			o.to_stderr = true;
			break;
		case 'd':
			o.debug = !optarg || streq(optarg, "all");
			debug_modules = optarg ? optarg : "all";
			break;
		case ARG_DUMP:
			/* required_argument: getopt never leaves it NULL here */
			if (optarg && streq(optarg, "markdown"))
				return gk_config_write_markdown(stdout) < 0;
			if (optarg && streq(optarg, "example"))
				return gk_config_write_example(stdout) < 0;
			fprintf(stderr, "--dump-schema: 'markdown' or 'example'\n");
			return 64;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("gaitkeeperd %s\n", GK_VERSION);
			return 0;
		default:
			return 64;	/* EX_USAGE */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gaitkeeperd: unexpected argument '%s'\n", argv[optind]);
		return 64;
	}

	log_setup(o.to_stderr, o.debug ? LOG_DEBUG : LOG_INFO);
	/* 10 significant digits: 1.008, not 1.0079849999999999, in every payload. */
	(void)json_c_set_serialization_double_format("%.10g", JSON_C_OPTION_GLOBAL);
	if (debug_modules && log_set_debug_modules(debug_modules) < 0) {
		fprintf(stderr, "gaitkeeperd: --debug list too long\n");
		return 64;
	}

	r = gk_daemon_new(&o, &d);
	if (r < 0)
		return EXIT_FAILURE;
	r = gk_daemon_run(d);
	gk_daemon_free(d);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
