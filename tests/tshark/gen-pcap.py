#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes a DLT 201 (Bluetooth H4 with phdr) capture of ATT notifications for
# HRM 0x2A37, RSC 0x2A53 and CPS 0x2A63: the vectors of notes/ble.md 1.9
# plus deterministic random flag combinations (fixed seed), and a manifest
# "frame<TAB>char<TAB>hex" so tests/it-tshark.sh can decode the same bytes.
# Layout: notes/ble.md section 4. Usage: gen-pcap.py OUT.pcap OUT.tsv [N]
import random
import struct
import sys

# ATT value handles; it-tshark.sh maps them with Decode As.
HANDLES = {"2a53": 0x000E, "2a37": 0x0010, "2a63": 0x0012}

VECTORS = {
    "2a53": ["07 00 03 12 56 00 01 00 00 f0", "07 80 02 50 20 03 00 10 00 00",
             "00 80 02 50", "02 00 05 50 ff ff 00 01"],
    "2a37": ["00 55", "04 ff", "1e 55 32 00 21 00", "1f 01 01 32 01 01 00 02 01 ff ff",
             "17 01 01", "16 48 54 01 ec 02", "06 3c", "16 3c 11 04", "16 3c f5 03",
             "02 3c", "01 01 01"],
    "2a63": ["00 00 28 00", "2c 00 00 00 9f 00 0c 00 e5 42",
             "14 00 49 00 77 31 55 06 00 00 8f 7c", "14 00 4f 00 9e 34 5f 06 00 00 19 8d",
             "14 00 4c 00 0b 33 5a 06 00 00 f4 84", "14 00 2f 00 7f 30 51 06 00 00 9a 75",
             "14 00 27 00 a3 2f 4c 06 00 00 9d 6c"],
}

# CPS optional fields in wire order: (flag bit, bytes); angles excluded below.
CPS_FIELDS = [(0, 1), (2, 2), (4, 6), (5, 4), (6, 4), (7, 4), (8, 3), (9, 2),
              (10, 2), (11, 2)]


def rnd_bytes(rng, n):
    return bytes(rng.randrange(256) for _ in range(n))


def random_rsc(rng):
    flags = rng.randrange(8)
    n = 3 + (2 if flags & 1 else 0) + (4 if flags & 2 else 0)
    return bytes([flags]) + rnd_bytes(rng, n)


def random_hrm(rng):
    # RFU bits 5-7 stay clear: Wireshark flags them, we ignore them.
    flags = rng.randrange(32)
    body = rnd_bytes(rng, 2 if flags & 1 else 1)
    if flags & 8:
        body += rnd_bytes(rng, 2)
    if flags & 16:
        body += rnd_bytes(rng, 2 * rng.randrange(0, 8))
    return bytes([flags]) + body


def random_cps(rng):
    # Bit 8 (extreme angles) is left out: Wireshark 4.0 reads it big-endian.
    flags = rng.randrange(1 << 13) & ~(1 << 8)
    body = rnd_bytes(rng, 2)
    for bit, n in CPS_FIELDS:
        if flags & (1 << bit):
            body += rnd_bytes(rng, n)
    return struct.pack("<H", flags) + body


def record(handle, value):
    att = bytes([0x1B]) + struct.pack("<H", handle) + value
    l2cap = struct.pack("<HH", len(att), 0x0004) + att
    acl = struct.pack("<HH", 0x0040 | 0x2000, len(l2cap)) + l2cap
    return struct.pack(">I", 1) + b"\x02" + acl


def main():
    out_pcap, out_tsv = sys.argv[1], sys.argv[2]
    n_random = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    rng = random.Random(20240503)
    packets = []
    for char, vecs in VECTORS.items():
        for h in vecs:
            packets.append((char, bytes.fromhex(h)))
    gens = [("2a53", random_rsc), ("2a37", random_hrm), ("2a63", random_cps)]
    for i in range(n_random):
        char, gen = gens[i % 3]
        value = gen(rng)
        packets.append((char, value))
        # Every fifth one also cut short by 1..3 bytes: both must reject it.
        if i % 5 == 0:
            packets.append((char, value[:max(1, len(value) - 1 - rng.randrange(3))]))

    with open(out_pcap, "wb") as f, open(out_tsv, "w") as m:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 201))
        for i, (char, value) in enumerate(packets):
            rec = record(HANDLES[char], value)
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(rec), len(rec)))
            f.write(rec)
            m.write("%d\t%s\t%s\n" % (i + 1, char, value.hex()))


if __name__ == "__main__":
    main()
