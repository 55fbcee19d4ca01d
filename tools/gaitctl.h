/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gaitctl subcommands: each lives in tools/gaitctl-<name>.c. */
#pragma once

/*
 * Each subcommand gets argv from its own name on (argv[0] = "decode") and
 * returns the process exit status: 0 ok, 64 usage (EX_USAGE), 65 bad input
 * (EX_DATAERR), 66 no input file (EX_NOINPUT), 69 service unavailable
 * (EX_UNAVAILABLE), 1 other failure.
 */
int gaitctl_decode(int argc, char **argv);
int gaitctl_analyze(int argc, char **argv);
int gaitctl_bus(int argc, char **argv);
