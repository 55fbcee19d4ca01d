#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Compares Wireshark's btatt dissector (tshark) with `gaitctl decode --raw`
# on every packet of a capture written by gen-pcap.py: raw (unscaled) field
# values for RSC 0x2A53, HRM 0x2A37 and CPS 0x2A63, and which packets are
# rejected as malformed. Prints "RESULT <name> <ok|fail> <detail>" lines.
# Usage: compare.py GAITCTL CAPTURE.pcap MANIFEST.tsv
import json
import subprocess
import sys

DECODE_AS = ["-d", "btatt.handle==0x000e,btgatt.uuid0x2a53",
             "-d", "btatt.handle==0x0010,btgatt.uuid0x2a37",
             "-d", "btatt.handle==0x0012,btgatt.uuid0x2a63"]

R = "btatt.rsc_measurement."
H = "btatt.heart_rate_measurement."
C = "btatt.cycling_power_measurement."

# (tshark field, our --raw JSON key). Extreme angles are left out on
# purpose: Wireshark 4.0 reads them big-endian with swapped labels.
FIELDS = {
    "2a53": [(R + "flags", "flags"),
             (R + "instantaneous_speed", "raw_speed"),
             (R + "instantaneous_cadence", "cadence_per_min"),
             (R + "instantaneous_stride_length", "raw_stride_length"),
             (R + "total_distance", "raw_total_distance")],
    "2a37": [(H + "flags", "flags"),
             (H + "value.8", "heart_rate_bpm/8"),
             (H + "value.16", "heart_rate_bpm/16"),
             (H + "energy_expended", "energy_expended_kj"),
             (H + "rr_interval", "raw_rr")],
    "2a63": [(C + "flags", "flags"),
             (C + "instantaneous_power", "power_w"),
             (C + "pedal_power_balance", "raw_pedal_power_balance"),
             (C + "accumulated_torque", "raw_accumulated_torque"),
             (C + "wheel_revolution_data_cumulative_wheel_revolutions", "wheel_revolutions"),
             (C + "wheel_revolution_data_last_wheel_event_time", "raw_last_wheel_event"),
             (C + "crank_revolution_data_cumulative_crank_revolutions", "crank_revolutions"),
             (C + "crank_revolution_data_last_crank_event_time", "raw_last_crank_event"),
             (C + "extreme_force_magnitudes_maximum_force_magnitude", "max_force_n"),
             (C + "extreme_force_magnitudes_minimum_force_magnitude", "min_force_n"),
             (C + "extreme_torque_magnitudes_maximum_torque_magnitude", "raw_max_torque"),
             (C + "extreme_torque_magnitudes_minimum_torque_magnitude", "raw_min_torque"),
             (C + "top_dead_spot_angle", "top_dead_spot_angle_deg"),
             (C + "bottom_dead_spot_angle", "bottom_dead_spot_angle_deg"),
             (C + "accumulated_energy", "accumulated_energy_kj")],
}


def tshark(capture, args):
    out = subprocess.run(["tshark", "-r", capture] + DECODE_AS + args,
                         check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def parse_value(text):
    """tshark text -> int, list of ints (repeated field) or None (absent)."""
    if text == "":
        return None
    parts = [int(p, 0) for p in text.split(",")]
    return parts if len(parts) > 1 else parts[0]


def ours(j, key):
    if key.startswith("heart_rate_bpm/"):
        width = 16 if j["flags"] & 1 else 8
        return j["heart_rate_bpm"] if key.endswith("/%d" % width) else None
    v = j.get(key)
    if key == "raw_rr":
        # tshark: no rr_interval field for 0 intervals, a scalar for 1
        if not v:
            return None
        return v if len(v) > 1 else v[0]
    return v


def main():
    gaitctl, capture, manifest = sys.argv[1:4]
    packets = {}
    for line in open(manifest):
        frame, char, hexs = line.rstrip("\n").split("\t")
        packets[int(frame)] = (char, hexs)

    malformed = {int(x) for x in tshark(capture, ["-Y", "_ws.malformed",
                                                  "-T", "fields", "-e", "frame.number"]) if x}
    fields = sorted({f for fl in FIELDS.values() for f, _ in fl})
    rows = tshark(capture, ["-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
                            "-E", "aggregator=,", "-e", "frame.number"] +
                  [a for f in fields for a in ("-e", f)])

    compared = {"2a53": 0, "2a37": 0, "2a63": 0}
    failures = {"2a53": [], "2a37": [], "2a63": []}
    reject_mismatch = []
    rejected = 0
    for row in rows:
        cols = row.split("\t")
        frame = int(cols[0])
        values = dict(zip(fields, cols[1:]))
        char, hexs = packets[frame]
        p = subprocess.run([gaitctl, "decode", "--raw", char, hexs],
                           capture_output=True, text=True)
        we_reject = p.returncode == 65
        if p.returncode not in (0, 65):
            failures[char].append("frame %d %s: exit %d" % (frame, hexs, p.returncode))
            continue
        if we_reject != (frame in malformed):
            reject_mismatch.append("frame %d %s %s: gaitctl %s, tshark %s" % (
                frame, char, hexs, "rejects" if we_reject else "accepts",
                "malformed" if frame in malformed else "fine"))
            continue
        if we_reject:
            rejected += 1
            continue
        j = json.loads(p.stdout)
        for tfield, key in FIELDS[char]:
            theirs = parse_value(values.get(tfield, ""))
            mine = ours(j, key)
            if theirs != mine:
                failures[char].append("frame %d %s: %s=%r but %s=%r" % (
                    frame, hexs, tfield, theirs, key, mine))
        compared[char] += 1

    names = {"2a53": "RSC Measurement", "2a37": "Heart Rate Measurement",
             "2a63": "Cycling Power Measurement"}
    for char in ("2a53", "2a37", "2a63"):
        f = failures[char]
        print("RESULT %s-fields %s %d packets agree with tshark on every raw field%s" % (
            char, "fail" if f or compared[char] < 50 else "ok", compared[char],
            "; " + " | ".join(f[:5]) if f else ""))
    print("RESULT malformed %s %d truncated packets rejected by both%s" % (
        "fail" if reject_mismatch or rejected < 10 else "ok", rejected,
        "; " + " | ".join(reject_mismatch[:5]) if reject_mismatch else ""))
    print("RESULT total %s %d packets" % ("ok" if len(rows) == len(packets) else "fail", len(rows)))


if __name__ == "__main__":
    main()
