// SPDX-License-Identifier: GPL-2.0-or-later
/* Battery Level 0x2A19 decoder (BAS v1.0). */
#include "proto/battery.h"
#include "proto/reader.h"

int battery_level_parse(const uint8_t *buf, size_t len,
			struct battery_level *ret, struct proto_error *error)
{
	struct reader r;
	uint8_t level;

	reader_init(&r, buf, len);
	if (reader_u8(&r, &level) < 0)
		return proto_truncated(error, r.pos, "battery level");

	/* BAS: 0..100 percent; 101..255 are reserved for future use. */
	if (level > 100)
		return proto_fail(error, -EBADMSG, 0, "battery level",
				  "reserved value above 100");

	*ret = (struct battery_level) {
		.battery_level_pct = level,
		.trailing = reader_remaining(&r),
	};
	return 0;
}
