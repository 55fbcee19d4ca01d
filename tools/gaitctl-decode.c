// SPDX-License-Identifier: GPL-2.0-or-later
/* gaitctl decode CHAR HEX: decode one GATT payload and print it as JSON. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <json.h>

#include "common/macro.h"
#include "common/parse.h"
#include "proto/battery.h"
#include "proto/cps.h"
#include "proto/ftms.h"
#include "proto/hrm.h"
#include "proto/json.h"
#include "proto/pmd.h"
#include "proto/rsc.h"
#include "tools/gaitctl.h"

/* Longer than any ATT value (512), so decoders see over-long input too. */
#define DECODE_MAX_BYTES	1024

struct decode_options {
	unsigned json_flags;
	struct pmd_frame_format pmd;
};

static void json_putp(struct json_object **o)
{
	if (*o)
		json_object_put(*o);
}

/*
 * One decoder per CHAR: parse into a local struct, then encode. Returns 0,
 * a decoder's -EBADMSG/-EOPNOTSUPP (with *err set) or -ENOMEM.
 */
typedef int (*decode_fn_t)(const uint8_t *buf, size_t len,
			   const struct decode_options *opt,
			   struct json_object **ret, struct proto_error *err);

static int decode_rsc(const uint8_t *buf, size_t len,
		      const struct decode_options *opt,
		      struct json_object **ret, struct proto_error *err)
{
	struct rsc_measurement m;
	int r = rsc_measurement_parse(buf, len, &m, err);

	return r < 0 ? r : rsc_measurement_to_json(&m, opt->json_flags, ret);
}

static int decode_rsc_feature(const uint8_t *buf, size_t len,
			      const struct decode_options *opt,
			      struct json_object **ret, struct proto_error *err)
{
	struct rsc_feature f;
	int r = rsc_feature_parse(buf, len, &f, err);

	return r < 0 ? r : rsc_feature_to_json(&f, opt->json_flags, ret);
}

static int decode_hrm(const uint8_t *buf, size_t len,
		      const struct decode_options *opt,
		      struct json_object **ret, struct proto_error *err)
{
	_cleanup_free_ struct hrm_measurement *m = malloc(sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;

	r = hrm_measurement_parse(buf, len, m, err);
	return r < 0 ? r : hrm_measurement_to_json(m, opt->json_flags, ret);
}

static int decode_cps(const uint8_t *buf, size_t len,
		      const struct decode_options *opt,
		      struct json_object **ret, struct proto_error *err)
{
	struct cps_measurement m;
	int r = cps_measurement_parse(buf, len, &m, err);

	return r < 0 ? r : cps_measurement_to_json(&m, opt->json_flags, ret);
}

static int decode_treadmill(const uint8_t *buf, size_t len,
			    const struct decode_options *opt,
			    struct json_object **ret, struct proto_error *err)
{
	struct ftms_treadmill_data d;
	int r = ftms_treadmill_data_parse(buf, len, &d, err);

	return r < 0 ? r : ftms_treadmill_data_to_json(&d, opt->json_flags, ret);
}

static int decode_speed_range(const uint8_t *buf, size_t len,
			      const struct decode_options *opt,
			      struct json_object **ret, struct proto_error *err)
{
	struct ftms_speed_range s;
	int r = ftms_speed_range_parse(buf, len, &s, err);

	return r < 0 ? r : ftms_speed_range_to_json(&s, opt->json_flags, ret);
}

static int decode_status(const uint8_t *buf, size_t len,
			 const struct decode_options *opt,
			 struct json_object **ret, struct proto_error *err)
{
	struct ftms_status s;
	int r = ftms_status_parse(buf, len, &s, err);

	return r < 0 ? r : ftms_status_to_json(&s, opt->json_flags, ret);
}

static int decode_battery(const uint8_t *buf, size_t len,
			  const struct decode_options *opt,
			  struct json_object **ret, struct proto_error *err)
{
	struct battery_level b;
	int r = battery_level_parse(buf, len, &b, err);

	return r < 0 ? r : battery_level_to_json(&b, opt->json_flags, ret);
}

static int decode_pmd_data(const uint8_t *buf, size_t len,
			   const struct decode_options *opt,
			   struct json_object **ret, struct proto_error *err)
{
	/* ~57 KiB: too big for a polite stack frame. */
	_cleanup_free_ struct pmd_data_frame *f = malloc(sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;

	r = pmd_data_frame_parse(buf, len, &opt->pmd, f, err);
	return r < 0 ? r : pmd_data_frame_to_json(f, opt->json_flags, ret);
}

static int decode_pmd_cp(const uint8_t *buf, size_t len,
			 const struct decode_options *opt,
			 struct json_object **ret, struct proto_error *err)
{
	struct pmd_cp_response c;
	int r = pmd_cp_response_parse(buf, len, &c, err);

	return r < 0 ? r : pmd_cp_response_to_json(&c, opt->json_flags, ret);
}

static int decode_pmd_settings(const uint8_t *buf, size_t len,
			       const struct decode_options *opt,
			       struct json_object **ret, struct proto_error *err)
{
	struct pmd_settings s;
	int r = pmd_settings_parse(buf, len, &s, err);

	return r < 0 ? r : pmd_settings_to_json(&s, opt->json_flags, ret);
}

static const struct decoder {
	const char *name;
	const char *what;
	decode_fn_t decode;
} decoders[] = {
	{ "2a53", "RSC Measurement", decode_rsc },
	{ "2a54", "RSC Feature", decode_rsc_feature },
	{ "2a37", "Heart Rate Measurement", decode_hrm },
	{ "2a63", "Cycling Power Measurement", decode_cps },
	{ "2acd", "Treadmill Data", decode_treadmill },
	{ "2ad4", "Supported Speed Range", decode_speed_range },
	{ "2ada", "Fitness Machine Status", decode_status },
	{ "2a19", "Battery Level", decode_battery },
	{ "pmd-data", "PMD data frame", decode_pmd_data },
	{ "pmd-cp", "PMD control point response", decode_pmd_cp },
	{ "pmd-settings", "PMD settings list", decode_pmd_settings },
};

static const struct decoder *decoder_find(const char *arg)
{
	char name[16];
	size_t n;

	/* Case-insensitive, with an optional 0x in front of a UUID. */
	if (arg[0] == '0' && (arg[1] == 'x' || arg[1] == 'X'))
		arg += 2;
	n = strlen(arg);
	if (n >= sizeof(name))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		name[i] = (char)tolower((unsigned char)arg[i]);

	for (size_t i = 0; i < ELEMENTSOF(decoders); i++)
		if (streq(name, decoders[i].name))
			return &decoders[i];
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: gaitctl decode [OPTIONS] CHAR HEX...\n"
		"Decode one GATT payload and print it as one JSON object.\n\n"
		"CHAR: 2a53 (RSC), 2a54 (RSC feature), 2a37 (heart rate),\n"
		"      2a63 (cycling power), 2acd (treadmill), 2ad4 (speed range),\n"
		"      2ada (machine status), 2a19 (battery), pmd-data, pmd-cp,\n"
		"      pmd-settings\n"
		"HEX:  payload bytes, e.g. '84 24 c8 00' or 8424c800\n\n"
		"Options:\n"
		"  --raw               add flags and wire integers\n"
		"  --factor F          PMD conversion factor (start response)\n"
		"  --sample-rate HZ    PMD sample rate for per-sample timestamps\n"
		"  --previous-ns NS    PMD timestamp of the previous frame\n"
		"Exit: 0 decoded, 64 usage, 65 malformed payload.\n");
}

static int parse_options(int argc, char **argv, struct decode_options *opt)
{
	static const struct option longopts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "factor", required_argument, NULL, 'f' },
		{ "sample-rate", required_argument, NULL, 's' },
		{ "previous-ns", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned long long u;
	double d;
	int c;

	optind = 0;		/* main() may have used getopt already */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			opt->json_flags |= PROTO_JSON_RAW;
			break;
		case 'f':
			if (parse_double(optarg, &d) < 0 || d == 0) {
				fprintf(stderr, "gaitctl decode: bad --factor '%s'\n", optarg);
				return -EINVAL;
			}
			opt->pmd.factor = (float)d;
			break;
		case 's':
			if (parse_unsigned(optarg, 100000, &u) < 0) {
				fprintf(stderr, "gaitctl decode: bad --sample-rate '%s'\n",
					optarg);
				return -EINVAL;
			}
			opt->pmd.sample_rate_hz = (unsigned)u;
			break;
		case 'p':
			if (parse_unsigned(optarg, UINT64_MAX, &u) < 0) {
				fprintf(stderr, "gaitctl decode: bad --previous-ns '%s'\n",
					optarg);
				return -EINVAL;
			}
			opt->pmd.previous_timestamp_ns = u;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return -EINVAL;
		}
	}
	return 0;
}

int gaitctl_decode(int argc, char **argv)
{
	struct decode_options opt = { .pmd.factor = 1.0f };
	_cleanup_(json_putp) struct json_object *o = NULL;
	/* Room for "xx " per byte plus separators the user may type. */
	char hex[4 * DECODE_MAX_BYTES];
	const struct decoder *dec;
	struct proto_error err = {};
	uint8_t buf[DECODE_MAX_BYTES];
	size_t len;
	int r;

	r = parse_options(argc, argv, &opt);
	if (r > 0)
		return 0;
	if (r < 0) {
		usage(stderr);
		return EX_USAGE;
	}

	if (argc - optind < 2) {
		usage(stderr);
		return EX_USAGE;
	}

	dec = decoder_find(argv[optind]);
	if (!dec) {
		fprintf(stderr, "gaitctl decode: unknown characteristic '%s'\n",
			argv[optind]);
		return EX_USAGE;
	}

	/* HEX may come as one argument or as several (unquoted "84 24 ..."). */
	hex[0] = '\0';
	for (int i = optind + 1; i < argc; i++) {
		size_t used = strlen(hex), n = strlen(argv[i]);

		if (n + 2 > sizeof(hex) - used) {
			fprintf(stderr, "gaitctl decode: payload longer than %d bytes\n",
				DECODE_MAX_BYTES);
			return EX_DATAERR;
		}
		if (used)
			hex[used++] = ' ';
		memcpy(hex + used, argv[i], n + 1);
	}

	r = parse_hex(hex, buf, sizeof(buf), &len);
	if (r == -ENOBUFS) {
		fprintf(stderr, "gaitctl decode: payload longer than %d bytes\n",
			DECODE_MAX_BYTES);
		return EX_DATAERR;
	}
	if (r < 0) {
		fprintf(stderr, "gaitctl decode: '%s' is not hex bytes\n", hex);
		return EX_USAGE;
	}

	r = dec->decode(buf, len, &opt, &o, &err);
	if (r == -EBADMSG || r == -EOPNOTSUPP || r == -EINVAL) {
		fprintf(stderr,
			"gaitctl decode: malformed %s (%s) payload: %s: %s at byte %zu (payload is %zu bytes)\n",
			dec->name, dec->what, err.field ? err.field : "data",
			err.reason ? err.reason : "invalid", err.offset, len);
		return EX_DATAERR;
	}
	if (r < 0) {
		fprintf(stderr, "gaitctl decode: %s\n", strerror(-r));
		return EXIT_FAILURE;
	}

	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	return fflush(stdout) == 0 ? 0 : EXIT_FAILURE;
}
