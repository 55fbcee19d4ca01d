// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: bluez-sim's PMD control point request parser, cross-checked with proto/pmd. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/pmd.h"
#include "tools/bluez-sim/pmd-request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_caps(const uint16_t *l, size_t max, unsigned v)
{
	for (size_t i = 0; i < max && l[i]; i++)
		if (l[i] == v)
			return true;
	return false;
}

static void check(enum sim_pmd_model model, const uint8_t *data, size_t size)
{
	struct sim_pmd_request req;
	uint8_t params[PMD_SETTINGS_MAX], resp[PMD_RESPONSE_HEADER + PMD_SETTINGS_MAX];
	struct pmd_cp_response *parsed = malloc(sizeof(*parsed));
	struct pmd_settings *settings = malloc(sizeof(*settings));
	struct proto_error e;
	unsigned status = sim_pmd_request_parse(model, data, size, &req);
	size_t np = 0, n;

	if (!parsed || !settings)
		abort();
	if (req.type != (req.type_byte & 0x3fu) || status > PMD_INVALID_CHANNELS)
		abort();
	if (status == PMD_OK) {
		/* Well formed: a known op and type, caps for it, online. */
		if (!req.caps || req.caps->type != req.type || (req.type_byte & 0x80) ||
		    req.op < PMD_OP_GET_SETTINGS || req.op > PMD_OP_STOP)
			abort();
		if (req.op == PMD_OP_START && req.settings_status == PMD_OK &&
		    (!in_caps(req.caps->rates, 5, req.rate) ||
		     (req.caps->ranges[0] && !in_caps(req.caps->ranges, 5, req.range))))
			abort();
		if (req.op == PMD_OP_GET_SETTINGS) {
			np = sim_pmd_caps_settings(req.caps, params);
			/* What the sim offers decodes with the daemon's parser. */
			if (np > sizeof(params) || pmd_settings_parse(params, np, settings, &e) < 0)
				abort();
		}
	}

	/* The indication decodes as what was answered. */
	n = sim_pmd_response(&req, status, params, np, resp);
	if (pmd_cp_response_parse(resp, n, parsed, &e) < 0 || parsed->op_code != req.op ||
	    parsed->status != status || parsed->more || parsed->n_params != (status ? 0 : np))
		abort();
	free(settings);
	free(parsed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(PMD_MODEL_H10, data, size);
	check(PMD_MODEL_VERITY_SENSE, data, size);
	return 0;
}
