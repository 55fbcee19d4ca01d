#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A deliberately faulty MQTT 5 broker for tests/it-mqtt-broker-faults.sh.

Usage: bad-broker.py PORT LOG

Mosquitto cannot be made to misbehave on cue; this can. It speaks just enough
MQTT 5 for one client (gaitkeeperd) and logs what it does, one line each:
  * a connect asking for a durable session (clean start 0), the first time:
    CONNACK without a session, then SUBACKs and PINGRESPs but no PUBACK for
    HOLD_S (6) seconds, longer than a quick drop, so that the client's QoS 1
    messages stay in flight; then the socket is closed ("held N")
  * every later durable connect: CONNACK "session present", then the socket
    is closed right after the first PUBLISH, acknowledged ("dropped"), as
    mosquitto did once with a resumed session it found malformed
  * a connect with clean start 1: CONNACK without a session and then a
    well-behaved sink: PUBACK, SUBACK, PINGRESP; each PUBLISH logged as
    "publish QOS TOPIC" ("clean" first)
"""
import socket
import sys
import time

HOLD_S = 6.0


def read_packet(c):
    h = c.recv(1)
    if not h:
        return None
    mult, length = 1, 0
    while True:
        b = c.recv(1)
        if not b:
            return None
        length += (b[0] & 127) * mult
        mult *= 128
        if not b[0] & 128:
            break
    body = b''
    while len(body) < length:
        x = c.recv(length - len(body))
        if not x:
            return None
        body += x
    return h[0], body


def varint(buf, i):
    mult, v = 1, 0
    while True:
        b = buf[i]
        i += 1
        v += (b & 127) * mult
        mult *= 128
        if not b & 128:
            return v, i


def answer(c, p, log, ack_publish):
    """Reply to one packet as a broker would; returns the PUBLISH topic or None."""
    kind, body = p[0] >> 4, p[1]
    if kind == 3:
        qos = (p[0] >> 1) & 3
        tl = body[0] * 256 + body[1]
        topic = body[2:2 + tl].decode(errors='replace')
        if qos and ack_publish:
            c.sendall(bytes([0x40, 2]) + body[2 + tl:4 + tl])
        if ack_publish:
            log.write('publish %d %s\n' % (qos, topic))
        return topic
    if kind == 8:
        pid = body[0:2]
        plen, i = varint(body, 2)
        i += plen
        n = 0
        while i < len(body):
            tl = body[i] * 256 + body[i + 1]
            i += 2 + tl + 1
            n += 1
        c.sendall(bytes([0x90, 3 + n]) + pid + bytes([0]) + bytes([1] * n))
    elif kind == 12:
        c.sendall(bytes([0xd0, 0]))
    return None


def main():
    port, log = int(sys.argv[1]), open(sys.argv[2], 'a', buffering=1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port))
    s.listen(4)
    durable = 0
    while True:
        c, _ = s.accept()
        try:
            p = read_packet(c)
            if p is None or p[0] >> 4 != 1:
                continue
            clean = bool(p[1][7] & 0x02)
            if clean:
                log.write('clean\n')
                c.sendall(bytes([0x20, 3, 0, 0, 0]))
                while True:
                    p = read_packet(c)
                    if p is None or p[0] >> 4 == 14:
                        break
                    answer(c, p, log, True)
                log.write('clean session closed\n')
                continue
            durable += 1
            if durable == 1:
                c.sendall(bytes([0x20, 3, 0, 0, 0]))
                c.settimeout(0.2)
                end, held = time.time() + HOLD_S, 0
                while time.time() < end:
                    try:
                        p = read_packet(c)
                    except socket.timeout:
                        continue
                    if p is None:
                        break
                    if answer(c, p, log, False) is not None:
                        held += 1
                log.write('held %d\n' % held)
            else:
                c.sendall(bytes([0x20, 3, 1, 0, 0]))
                c.settimeout(3)
                while True:
                    p = read_packet(c)
                    if p is None or p[0] >> 4 == 3:
                        break
                    answer(c, p, log, True)
                if p is not None:
                    answer(c, p, log, True)
                log.write('dropped\n')
        except (OSError, IndexError) as e:
            log.write('error %s\n' % e)
        finally:
            c.close()


main()
