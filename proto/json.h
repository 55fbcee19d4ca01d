/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON encoders (json-c) for every decoded payload. Field names are the
 * public contract (docs/decoders.md): snake_case with a unit suffix; an
 * absent field is left out, never written as 0.
 */
#pragma once

#include <stdint.h>

struct json_object;
struct rsc_measurement;
struct rsc_feature;
struct hrm_measurement;
struct cps_measurement;
struct ftms_treadmill_data;
struct ftms_speed_range;
struct ftms_status;
struct pmd_cp_response;
struct pmd_settings;
struct pmd_data_frame;
struct battery_level;

/* Add the wire integers ("raw_*" keys and "flags") next to the scaled values. */
#define PROTO_JSON_RAW			(1u << 0)

/*
 * Each encoder returns 0 and sets *ret to a new object owned by the caller
 * (release with json_object_put()), or -ENOMEM.
 */
int rsc_measurement_to_json(const struct rsc_measurement *m, unsigned flags,
			    struct json_object **ret);
int rsc_feature_to_json(const struct rsc_feature *f, unsigned flags,
			struct json_object **ret);
int hrm_measurement_to_json(const struct hrm_measurement *m, unsigned flags,
			    struct json_object **ret);
int cps_measurement_to_json(const struct cps_measurement *m, unsigned flags,
			    struct json_object **ret);
int ftms_treadmill_data_to_json(const struct ftms_treadmill_data *d,
				unsigned flags, struct json_object **ret);
int ftms_speed_range_to_json(const struct ftms_speed_range *r, unsigned flags,
			     struct json_object **ret);
int ftms_status_to_json(const struct ftms_status *s, unsigned flags,
			struct json_object **ret);
int pmd_settings_to_json(const struct pmd_settings *s, unsigned flags,
			 struct json_object **ret);
/* Includes "settings" when the parameters parse as a settings list. */
int pmd_cp_response_to_json(const struct pmd_cp_response *r, unsigned flags,
			    struct json_object **ret);
int pmd_data_frame_to_json(const struct pmd_data_frame *f, unsigned flags,
			   struct json_object **ret);
int battery_level_to_json(const struct battery_level *b, unsigned flags,
			  struct json_object **ret);
