// SPDX-License-Identifier: GPL-2.0-or-later
/* gaitctl: command-line companion of gaitkeeperd; dispatches subcommands. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "common/macro.h"
#include "common/version.h"
#include "tools/gaitctl.h"

static const struct gaitctl_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
} gaitctl_commands[] = {
	{ "decode", gaitctl_decode,
	  "decode CHAR HEX...         decode one GATT payload to JSON" },
	{ "analyze", gaitctl_analyze,
	  "analyze [--mount M] [--speed-mps V] [--incline-pct P] FILE.csv\n"
	  "                             run the form core on a trace" },
	/* Live commands talk to gaitkeeperd over D-Bus (tools/gaitctl-bus.c). */
	{ "status", gaitctl_bus, "status [--json]            gateway state" },
	{ "sensors", gaitctl_bus, "sensors [--json]           sensor health" },
	{ "watch", gaitctl_bus,
	  "watch [--json] [--wait]    live view for the treadmill (--wait: also\n"
	  "      [--count N]            when gaitkeeperd is not running yet; --count:\n"
	  "      [--duration S]         exit after N live frames, --duration: after S\n"
	  "                             seconds)" },
	{ "session", gaitctl_bus,
	  "session start|stop [--json]\n"
	  "                             start or stop a session" },
	{ "pain", gaitctl_bus,
	  "pain LEVEL [--where W] [--json]\n"
	  "                             report pain (0-10) at W (lower-back, upper-back,\n"
	  "                             neck, hip, knee, shin, ankle, foot, other;\n"
	  "                             default: the daemon's location for reports\n"
	  "                             that name none, see status)" },
	{ "summary", gaitctl_bus, "summary [--last] [--json]  session summary" },
	{ "report", gaitctl_report,
	  "report [FILE|-]            a summary (MQTT session/summary, analyze output)\n"
	  "                             as a text report" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: gaitctl COMMAND [ARGS...]\n"
		"       gaitctl --version | --help\n\nCommands:\n");
	for (size_t i = 0; i < ELEMENTSOF(gaitctl_commands); i++)
		fprintf(f, "  %s\n", gaitctl_commands[i].usage);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}

	if (streq(argv[1], "--help") || streq(argv[1], "-h") ||
	    streq(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (streq(argv[1], "--version") || streq(argv[1], "version")) {
		printf("gaitctl %s\n", GK_VERSION);
		return 0;
	}

	for (size_t i = 0; i < ELEMENTSOF(gaitctl_commands); i++) {
		const struct gaitctl_command *c = &gaitctl_commands[i];

		if (!streq(argv[1], c->name))
			continue;
		/* decode and analyze explain themselves at length; the rest here */
		for (int k = 2; k < argc && c->run != gaitctl_decode && c->run != gaitctl_analyze;
		     k++)
			if (streq(argv[k], "--help") || streq(argv[k], "-h")) {
				printf("Usage: gaitctl %s\n", c->usage);
				return 0;
			}
		return c->run(argc - 1, argv + 1);
	}

	fprintf(stderr, "gaitctl: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
