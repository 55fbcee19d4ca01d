#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A deliberately faulty MQTT 5 broker for tests/it-mqtt-broker-faults.sh
and tests/it-mqtt-takeover-0x8e.sh.

Usage: bad-broker.py PORT LOG
       bad-broker.py --takeover FLAG [--takeover-after S] [--disconnect HEX[,HEX...]]
                     PORT LOG

Mosquitto cannot be made to misbehave on cue; this can. It speaks just enough
MQTT 5 for one client (gaitkeeperd) and logs what it does, one line each.
By default:
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

With --takeover (tests/it-mqtt-takeover-0x8e.sh) it plays a broker on which
another client keeps taking our session, as brokers other than mosquitto
2.0.11 say it: while the file FLAG exists, each connect gets a CONNACK
("session present" from the second on: the other client kept it), SUBACKs
and PINGRESPs, and S seconds later (--takeover-after, default 0.5) a
DISCONNECT with reason 0x8E (session taken over), then the socket is closed.
The first connection's PUBLISHes are acknowledged (ours until the other
client comes), later ones are not: they are in flight when the session is
taken. Once FLAG is gone it is a well-behaved sink that resumes the session.
Lines, each starting with the time in seconds (time.monotonic(), the same
clock for all):
  T connect clean=0|1 id=CLIENT_ID   every CONNECT, its clean start flag
  T held QOS TOPIC                   a PUBLISH left unacknowledged
  T publish QOS TOPIC                a PUBLISH acknowledged
  T takeover 0x8e                    the DISCONNECT was sent
  T closed                           the client closed the link
--disconnect gives the whole DISCONNECT packet in hex, several in turn when
comma-separated; the default e0028e00 is reason 0x8E and an empty property
list, e0018e the shortest form MQTT 5 allows (3.14.2.2.1: the property length
left out).
"""
import argparse
import os
import socket
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


def connect_fields(body):
    """Clean start flag and client id of an MQTT 5 CONNECT's body."""
    clean = bool(body[7] & 0x02)
    plen, i = varint(body, 10)
    i += plen
    idlen = body[i] * 256 + body[i + 1]
    return clean, body[i + 2:i + 2 + idlen].decode(errors='replace')


def serve_takeover(c, p, log, flag, after_s, disconnect, resumed):
    """One connection in --takeover mode (p: its CONNECT); True if taken over."""
    def stamp(what):
        log.write('%.3f %s\n' % (time.monotonic(), what))

    clean, client_id = connect_fields(p[1])
    stamp('connect clean=%d id=%s' % (clean, client_id))
    taken = os.path.exists(flag)
    ack = not (taken and resumed)
    c.sendall(bytes([0x20, 3, 1 if resumed and not clean else 0, 0, 0]))
    c.settimeout(0.05 if taken else None)
    end = time.monotonic() + after_s
    while not taken or time.monotonic() < end:
        try:
            p = read_packet(c)
        except socket.timeout:
            continue
        if p is None or p[0] >> 4 == 14:
            stamp('closed')
            return False
        topic = answer(c, p, log, False)
        if topic is None:
            continue
        qos = (p[0] >> 1) & 3
        if qos and ack:
            tl = p[1][0] * 256 + p[1][1]
            c.sendall(bytes([0x40, 2]) + p[1][2 + tl:4 + tl])
        stamp('%s %d %s' % ('publish' if ack else 'held', qos, topic))
    c.sendall(disconnect)
    stamp('takeover 0x%02x' % disconnect[2])
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--takeover', metavar='FLAG')
    ap.add_argument('--takeover-after', metavar='S', type=float, default=0.5)
    ap.add_argument('--disconnect', metavar='HEX[,HEX...]', default='e0028e00',
                    type=lambda a: [bytes.fromhex(x) for x in a.split(',')])
    ap.add_argument('port', type=int)
    ap.add_argument('log')
    args = ap.parse_args()
    port, log = args.port, open(args.log, 'a', buffering=1)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', port))
    s.listen(4)
    durable, taken = 0, 0
    while True:
        c, _ = s.accept()
        try:
            p = read_packet(c)
            if p is None or p[0] >> 4 != 1:
                continue
            if args.takeover:
                disconnect = args.disconnect[taken % len(args.disconnect)]
                if serve_takeover(c, p, log, args.takeover, args.takeover_after, disconnect,
                                  durable > 0):
                    taken += 1
                durable += 1
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
