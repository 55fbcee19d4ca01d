#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Independent PMD frame decoder for tests/it-bluez-sim.sh: reads the probe's
# "packet HEX" lines on stdin, decodes raw (type 1) and delta (0x80/0x81)
# frames per notes/ble.md 1.7 and checks them against the ramp trace the test
# plays: ax = 0.1 t g, ay = -0.05 t g, az = 1 g, gx = 10 t dps, gz = -5 dps.
# Usage: pmd-check.py RATE_HZ GYRO_FACTOR EXPECTED_FRAME_TYPE[,TYPE2]
import struct
import sys


def delta_frame(body):
    """Reference sample + [bits][count] blocks, LSB-first bit stream."""
    ref = list(struct.unpack_from("<3h", body, 0))
    out = [ref]
    pos = 6
    while pos < len(body):
        if len(body) - pos < 2:
            raise ValueError("truncated block header")
        bits, count = body[pos], body[pos + 1]
        pos += 2
        nbytes = (bits * 3 * count + 7) // 8
        if len(body) - pos < nbytes or bits == 0 or bits > 16:
            raise ValueError("bad block bits=%d count=%d" % (bits, count))
        stream = int.from_bytes(body[pos:pos + nbytes], "little")
        pos += nbytes
        k = 0
        for _ in range(count):
            prev = out[-1]
            sample = []
            for c in range(3):
                v = (stream >> (k * bits)) & ((1 << bits) - 1)
                if v & (1 << (bits - 1)):
                    v -= 1 << bits
                sample.append(prev[c] + v)
                k += 1
            out.append(sample)
    return out


def main():
    rate = float(sys.argv[1])
    gyro_factor = float(sys.argv[2])
    want_types = {int(t, 16) for t in sys.argv[3].split(",")}
    streams = {}
    for line in sys.stdin:
        if not line.startswith("packet "):
            continue
        p = bytes.fromhex(line.split()[1])
        mtype, ts, ftype = p[0] & 0x3F, struct.unpack_from("<Q", p, 1)[0], p[9]
        if ftype not in want_types:
            print("# FAIL frame type 0x%02x" % ftype)
            return 1
        body = p[10:]
        if ftype == 0x01:
            if len(body) % 6:
                print("# FAIL raw frame length %d" % len(body))
                return 1
            samples = [list(struct.unpack_from("<3h", body, i))
                       for i in range(0, len(body), 6)]
        else:
            samples = delta_frame(body)
        streams.setdefault(mtype, []).append((ts, samples))

    if not streams:
        print("# FAIL no frames")
        return 1
    for mtype, frames in sorted(streams.items()):
        # Timestamps: last sample of each frame, n / rate apart.
        for (t_a, _), (t_b, s_b) in zip(frames, frames[1:]):
            want = len(s_b) * 1e9 / rate
            if abs((t_b - t_a) - want) > 2:
                print("# FAIL type %d timestamp step %d, want %.0f" % (mtype, t_b - t_a, want))
                return 1
        flat = [s for _, f in frames for s in f]
        if mtype == 2:
            t0 = flat[0][0] / 100.0
            for i, (x, y, z) in enumerate(flat):
                t = t0 + i / rate
                if abs(x - 100 * t) > 2 or abs(y + 50 * t) > 2 or z != 1000:
                    print("# FAIL acc sample %d (%d,%d,%d) at t=%.3f" % (i, x, y, z, t))
                    return 1
        elif mtype == 5:
            lsb = 10.0 / gyro_factor
            t0 = flat[0][0] / lsb
            for i, (x, y, z) in enumerate(flat):
                t = t0 + i / rate
                if abs(x - lsb * t) > 2 or y != 0 or abs(z - (-5 / gyro_factor)) > 1:
                    print("# FAIL gyro sample %d (%d,%d,%d) at t=%.3f" % (i, x, y, z, t))
                    return 1
        print("# decoded type %d: %d frames, %d samples, %d per frame"
              % (mtype, len(frames), len(flat), len(frames[-1][1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
