#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP relay between gaitkeeperd and mosquitto that cuts the link on cue.

Usage: mqtt-cut.py LISTEN_PORT BROKER_PORT LOG

The client (gaitkeeperd) connects to LISTEN_PORT on 127.0.0.1; each
connection is relayed to the broker on BROKER_PORT. Signals change what the
relay does, and each change is logged once applied ("hold", "down", "up"),
as is each connection ("open N", "close N"):
  SIGUSR1  hold: both connections stay open but nothing passes either way,
           as a link that died without a word (a Wi-Fi drop): the client's
           QoS 1 messages go out and stay unacknowledged, and nothing tells
           either side that the link is gone
  SIGUSR2  down: every relayed connection is closed and the port no longer
           listens, as a broker that is away (connects are refused); the
           broker sees its client vanish (no DISCONNECT: it keeps the
           session and sends the Will)
  SIGHUP   up: listen and relay again
Clients of the broker that do not come through the relay (a test's
subscriber) see none of it.
"""
import selectors
import signal
import socket
import sys
import time

listen_port, broker_port, log_path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
log = open(log_path, "a", buffering=1)
sel = selectors.DefaultSelector()
wanted = ["up"]			# set by the signal handlers, applied by the loop
mode = None
listener = None
peers = {}			# socket -> its other end
n_conn = 0


def say(what):
    log.write("%.3f %s\n" % (time.time(), what))


def listen():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", listen_port))
    s.listen(16)
    sel.register(s, selectors.EVENT_READ)
    return s


def close_pair(s):
    other = peers.pop(s, None)
    for x in (s, other):
        if x is None:
            continue
        peers.pop(x, None)
        sel.unregister(x)
        x.close()
    say("close")


def apply(new):
    global mode, listener
    if new == "down":
        for s in [s for s in peers if s in peers]:
            if s in peers:
                close_pair(s)
        if listener:
            sel.unregister(listener)
            listener.close()
            listener = None
    elif new == "up" and not listener:
        listener = listen()
    mode = new
    say(new)


for sig, m in ((signal.SIGUSR1, "hold"), (signal.SIGUSR2, "down"), (signal.SIGHUP, "up")):
    signal.signal(sig, lambda _s, _f, m=m: wanted.append(m))
signal.signal(signal.SIGTERM, lambda _s, _f: sys.exit(0))

while True:
    while wanted:
        apply(wanted.pop(0))
    for key, _ in sel.select(timeout=0.1):
        s = key.fileobj
        if s is listener:
            c, _ = s.accept()
            b = socket.create_connection(("127.0.0.1", broker_port))
            peers[c], peers[b] = b, c
            sel.register(c, selectors.EVENT_READ)
            sel.register(b, selectors.EVENT_READ)
            n_conn += 1
            say("open %d" % n_conn)
            continue
        if s not in peers:
            continue
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
        if not data:
            close_pair(s)
        elif mode != "hold":
            peers[s].sendall(data)
