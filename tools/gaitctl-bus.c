// SPDX-License-Identifier: GPL-2.0-or-later
/* Placeholder until the owning issue lands: reports that it is missing. */
#include <stdio.h>
#include <sysexits.h>

#include "tools/gaitctl.h"

int gaitctl_bus(int argc, char **argv)
{
	fprintf(stderr, "gaitctl: '%s' is not built yet\n", argv[0]);
	return EX_UNAVAILABLE;
}
