#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Wireshark as an independent oracle (notes/ble.md section 4): a DLT 201
# capture of HRM, RSC and CPS notifications (the 1.9 vectors plus 300
# deterministic random flag combinations and truncated copies) is decoded
# by tshark and by `gaitctl decode --raw`; raw fields and rejections agree.
source "$(dirname "$0")/lib/env.sh"

gaitctl=$GK_BUILD/gaitctl
if ! command -v tshark >/dev/null; then
	gk_skip "tshark cross-check" "tshark not installed"
	gk_done
	exit
fi
if [ ! -x "$gaitctl" ]; then
	gk_skip "tshark cross-check" "$gaitctl not built"
	gk_done
	exit
fi

here=$(dirname "$0")/tshark
if ! python3 "$here/gen-pcap.py" "$gk_tmp/gatt.pcap" "$gk_tmp/gatt.tsv" 300; then
	gk_not_ok "generate capture"
	gk_done
	exit
fi
gk_ok "generate capture ($(wc -l < "$gk_tmp/gatt.tsv") packets)"

if ! python3 "$here/compare.py" "$gaitctl" "$gk_tmp/gatt.pcap" "$gk_tmp/gatt.tsv" \
	> "$gk_tmp/result" 2> "$gk_tmp/err"; then
	gk_not_ok "compare ran: $(tail -3 "$gk_tmp/err")"
	gk_done
	exit
fi

while read -r tag name verdict detail; do
	[ "$tag" = RESULT ] || continue
	if [ "$verdict" = ok ]; then
		gk_ok "$name: $detail"
	else
		gk_not_ok "$name: $detail"
	fi
done < "$gk_tmp/result"
[ -s "$gk_tmp/result" ] || gk_not_ok "compare printed no results"

gk_done
