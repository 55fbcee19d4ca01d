#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Turn the raw samples of tools/bench/bench-daemon.sh into the "Whole daemon"
# section of docs/performance.md and a key=value figures file whose last line
# is "daemon-bench: ...". Every number here comes from the samples.
import argparse
import bisect
import math
import sys

ap = argparse.ArgumentParser()
for a in ("meta", "snaps", "simstats", "sub1", "tmp", "md", "figures"):
    ap.add_argument("--" + a, required=True)
args = ap.parse_args()

meta = {}
for line in open(args.meta):
    k, _, v = line.rstrip("\n").partition("=")
    meta[k] = v
N = float(meta["seconds"])
K = int(meta["windows"])
HZ = float(meta["hz"])

# label -> role -> dict
snaps = {}
for line in open(args.snaps):
    f = line.split()
    if len(f) < 4 or f[3] == "gone":
        continue
    snaps.setdefault(f[0], {})[f[2]] = dict(
        t=float(f[1]), ticks=int(f[3]), ctx=int(f[4]), rss=int(f[5]), hwm=int(f[6]),
        fds=int(f[7]), threads=int(f[8]))

sims = {}
for line in open(args.simstats):
    f = line.split()
    if len(f) >= 4 and f[3].isdigit():
        sims.setdefault(f[0], {})[f[2][4:]] = dict(
            t=float(f[1]), n=int(f[3]), acq=int(f[4]) if len(f) > 4 and f[4].isdigit() else 0)


def need(label, role):
    try:
        return snaps[label][role]
    except KeyError:
        sys.exit("bench-report: no sample %s of %s (process gone?)" % (label, role))


def cpu_pct(a, b):
    return (b["ticks"] - a["ticks"]) / HZ / (b["t"] - a["t"]) * 100


def per_s(a, b, key):
    return (b[key] - a[key]) / (b["t"] - a["t"])


labels = ["w%d" % k for k in range(K + 1)]


def role_figures(role, first="w0", last=None, windows=True):
    last = last or labels[-1]
    a, b = need(first, role), need(last, role)
    r = dict(cpu=cpu_pct(a, b), ctx=per_s(a, b, "ctx"), rss=b["rss"], hwm=b["hwm"],
             fds=b["fds"], threads=b["threads"])
    if windows:
        ws = [cpu_pct(need(labels[i], role), need(labels[i + 1], role)) for i in range(K)]
        r["cpu_min"], r["cpu_max"] = min(ws), max(ws)
        cs = [per_s(need(labels[i], role), need(labels[i + 1], role), "ctx")
              for i in range(K)]
        r["ctx_min"], r["ctx_max"] = min(cs), max(cs)
        rs = [need(lab, role)["rss"] for lab in labels]
        r["rss_min"], r["rss_max"] = min(rs), max(rs)
        fs = [need(lab, role)["fds"] for lab in labels]
        r["fds_min"], r["fds_max"] = min(fs), max(fs)
    return r


fig = {role: role_figures(role) for role in ("daemon", "idle", "bluez-sim", "dbus-daemon",
                                            "mosquitto")}
t0, t1 = need("w0", "daemon")["t"], need(labels[-1], "daemon")["t"]


def mqtt_rate(path, prefix, lo, hi):
    n = 0
    for line in open(path, errors="replace"):
        f = line.split()
        if len(f) >= 2 and f[1].startswith(prefix):
            try:
                t = float(f[0])
            except ValueError:
                continue
            if lo <= t <= hi:
                n += 1
    return n / (hi - lo)


mqtt_bench = mqtt_rate(args.sub1, "gaitkeeper/bench/", t0, t1)
mqtt_idle = mqtt_rate(args.sub1, "gaitkeeper/idle/", t0, t1)


def notif_rate(first, last):
    a, b = sims.get(first, {}), sims.get(last, {})
    total, dt = 0, None
    for addr in a:
        if addr in b:
            total += b[addr]["n"] - a[addr]["n"]
            dt = b[addr]["t"] - a[addr]["t"]
    return total / dt if dt else float("nan")


def h10_acquire(label):
    for addr, v in sims.get(label, {}).items():
        if addr.startswith("A0:9E:1A"):
            return v["acq"]
    return -1


notif1 = notif_rate("w0", labels[-1])
acq1 = h10_acquire(labels[-1])

LATE_S = 0.005


def latency(tag):
    """Pair each run/step of run TAG with the ACC frame that produced it."""
    try:
        stamps = sorted(float(x) for x in open("%s/stamps-%s.txt" % (args.tmp, tag)) if x.strip())
        lt0, lt1 = float(meta[tag + "_t0"]), float(meta[tag + "_t1"])
    except (OSError, KeyError):
        return None
    late, lat = 0, []
    for line in open("%s/sub-%s.log" % (args.tmp, tag), errors="replace"):
        f = line.split()
        if len(f) < 2 or not f[1].endswith("/run/step"):
            continue
        t = float(f[0])
        if not lt0 <= t <= lt1:
            continue
        i = bisect.bisect_left(stamps, t) - 1
        # The watcher woke late: the frame that made this step is stamped
        # just after the message arrived. Its latency is unknown (below that
        # delay), so it is counted, not paired with the frame before (which
        # would add a frame period, 180 ms).
        if i + 1 < len(stamps) and stamps[i + 1] - t < LATE_S:
            late += 1
            continue
        if i >= 0:
            lat.append((t - stamps[i]) * 1000)
    lat.sort()

    def pct(p):
        if not lat:
            return float("nan")
        return lat[min(len(lat) - 1, max(0, math.ceil(p / 100 * len(lat)) - 1))]

    return dict(n=len(lat), late=late, p50=pct(50), p90=pct(90), p99=pct(99),
                max=lat[-1] if lat else float("nan"), lat=lat, secs=lt1 - lt0,
                nagle=len([x for x in lat if 30 <= x < 60]),
                frames=len([x for x in stamps if lt0 <= x <= lt1]) / (lt1 - lt0),
                acq=h10_acquire(tag + "1"),
                cpu=role_figures("daemon-" + tag, tag + "0", tag + "1", False)["cpu"],
                dbus=role_figures("dbus-daemon-" + tag, tag + "0", tag + "1", False)["cpu"])


L2 = latency("lat")
L3 = latency("nodelay")
if not L2:
    sys.exit("bench-report: no latency run")
p50, p90, p99, lmax, lat, late = L2["p50"], L2["p90"], L2["p99"], L2["max"], L2["lat"], L2["late"]

ZERO = 9  # notes/reliability.md 4.3: a Zero 2 W core ~0.11 of the CI vCPU
d, i = fig["daemon"], fig["idle"]
asan = meta.get("asan", "0") != "0"


def ok(cond):
    return "met" if cond else "**missed**"


md = []
w = md.append
w("Generated by `make bench-daemon` (tools/bench/bench-daemon.sh, tools/bench/bench-report.py); "
  "do not edit. Run %s on %s (%s CPUs, kernel %s)%s; load average %s at the start, %s at the "
  "end: other work on the machine shows in the spread." % (
      meta["date"], meta["cpu"], meta["nproc"], meta["kernel"],
      ", **ASan build**" if asan else "", meta["load_start"], meta["load_end"]))
w("")
w("Set-up: private dbus-daemon, mosquitto on loopback, `bluez-sim` with a Polar H10 streaming "
  "ACC at 200 Hz (the recording `data/demo/hip-run-5min30.csv`, resampled; 36 samples per "
  "frame) plus its 1 Hz heart rate, a footpod, a heart-rate strap and an FTMS treadmill (1 Hz "
  "each); gaitkeeperd with those four sensors and a running session (form core, `run/live`, "
  "sensor and gateway state). Beside it, in the same windows: a second gaitkeeperd without "
  "sensors (own private bus, same broker, connected), and the simulator, bus and broker "
  "processes%s. After %d s of warm-up, %d s in %d windows; CPU is `utime+stime` of "
  "`/proc/PID/stat` (all threads, %d Hz ticks) as %% of one core; context switches are "
  "voluntary + involuntary over all threads (wake-ups); the range is the windows' min-max." % (
      " (mosquitto with `set_tcp_nodelay true`)" if meta.get("broker_nodelay") == "1" else "",
      int(float(meta["warmup"])), int(N), K, int(HZ)))
w("")
w("| process | CPU % of one core | range | context switches/s | RSS KiB (peak) | fds | "
  "threads |")
w("|---|---|---|---|---|---|---|")
names = [("daemon", "gaitkeeperd, 4 sensors, session running"),
         ("idle", "gaitkeeperd, no sensors (baseline)"),
         ("bluez-sim", "bluez-sim (the 4 simulated sensors)"),
         ("dbus-daemon", "dbus-daemon (the private system bus)"),
         ("mosquitto", "mosquitto (both daemons' traffic)")]
for role, label in names:
    r = fig[role]
    w("| %s | %.3f | %.3f-%.3f | %.1f | %d (%d) | %d | %d |" % (
        label, r["cpu"], r["cpu_min"], r["cpu_max"], r["ctx"], r["rss"], r["hwm"], r["fds"],
        r["threads"]))
w("")
w("Traffic: %.1f notifications/s into the daemon (bluez-sim's counters; the H10's ACC over "
  "`AcquireNotify`: %s), %.2f MQTT messages/s out (%.2f from the daemon without sensors), "
  "counted by a subscriber." % (
      notif1, "yes" if acq1 > 0 else "no", mqtt_bench, mqtt_idle))
w("")
w("**Latency, notification → MQTT subscriber** (second run, %d s): %d `run/step` messages, each "
  "paired with the ACC frame whose processing produced it (the last frame a separate bus "
  "client saw before the message arrived): p50 **%.2f ms**, p90 %.2f ms, p99 **%.2f ms**, "
  "max %.2f ms; %.1f frames/s; %d more messages arrived less than %d ms before the watcher "
  "stamped the next frame (the watcher%s got its copy late from dbus-daemon) and are left "
  "out, as their frame is unknown. The path: bluez-sim emits the notification as a "
  "`PropertiesChanged` signal, dbus-daemon delivers it, sd-bus parses it, `ble/` decodes the "
  "PMD frame and stamps the samples, the form core takes the 36 samples and confirms a step, "
  "`publish.c` builds the JSON, Paho (QoS 0) hands it to its send thread, mosquitto forwards "
  "it, `mosquitto_sub` receives it. The start is the wake-up of the other bus client "
  "(`bench-notify-stamp`; dbus-daemon may hand it its copy after the daemon's, which "
  "shortens the figure by that lag), the end `mosquitto_sub`'s receive time. To make the frames "
  "visible, that client subscribes first, so BlueZ refuses the daemon's `AcquireNotify` and "
  "the daemon falls back to `StartNotify` (H10 `AcquireNotify` calls in this run: %d): the "
  "D-Bus path, the slower of the two (notes 4.2). The daemon used %.3f %% CPU in this run "
  "(`mqtt.step_events` on, ACC as D-Bus signals), dbus-daemon %.3f %%." % (
      round(L2["secs"]), L2["n"], p50, p90, p99, lmax, L2["frames"], late, LATE_S * 1000,
      ", though SCHED_FIFO," if meta.get("rt_clocks", "no") != "no" else "", L2["acq"],
      L2["cpu"], L2["dbus"]))
w("")
if L2["nagle"]:
    w("%d of the %d latencies (%.1f %%) lie between 30 and 60 ms." % (
        L2["nagle"], L2["n"], 100.0 * L2["nagle"] / max(1, L2["n"])))
else:
    w("None of the %d latencies lies between 30 and 60 ms." % L2["n"])
w("That band is where Nagle's algorithm shows: Paho MQTT C 1.3.12 leaves it on, and a QoS 0 "
  "message written while an earlier segment is still unacknowledged waits for the broker's "
  "delayed ACK (about 40 ms on Linux; a QoS 0 publish gets no PUBACK that would carry the ACK "
  "back early), whenever a `run/step` lands right behind another message. `daemon/mqtt.c` "
  "sets `TCP_NODELAY` on the broker socket after every connect for that reason.")
if L3:
    w("Third run, the same with `TCP_NODELAY` also forced from outside (`build/bench-nodelay.so` "
      "preloaded into the daemon; a cross-check that the daemon's own setting covers its "
      "socket, %d s): %d messages, p50 %.2f ms, p99 **%.2f ms**, max %.2f ms, %d between 30 "
      "and 60 ms (%d left out as above)." % (
          round(L3["secs"]), L3["n"], L3["p50"], L3["p99"], L3["max"], L3["nagle"],
          L3["late"]))
w("")
w("Targets (`shared/notes/reliability.md` sections 0 and 5; x86 CI class). A Raspberry Pi "
  "Zero 2 W is about %d× slower per core (notes 4.3): the last column scales the CPU figures "
  "by %d." % (ZERO, ZERO))
w("")
w("| target | measured | status | Zero 2 W estimate |")
w("|---|---|---|---|")
w("| P1 notification → subscriber p99 ≤ 2 ms (Zero 2 W ≤ 10 ms) | p99 %.2f ms (p50 %.2f) "
  "| %s "
  "| — |" % (p99, p50, ok(p99 <= 2)))
w("| P2 3 × 1 Hz sensors + a 200 Hz IMU ≤ 0.5 %% of a CI vCPU (≤ 5 %% of a Zero 2 W core) | "
  "%.3f %% (%.3f-%.3f) | %s | %.1f %% |" % (d["cpu"], d["cpu_min"], d["cpu_max"],
                                          ok(d["cpu"] <= 0.5), d["cpu"] * ZERO))
w("| P3 idle, no sensors: ≤ 0.05 %% CPU, ≤ 5 wake-ups/s | %.3f %%, %.1f context switches/s | "
  "%s | %.2f %% |" % (i["cpu"], i["ctx"], ok(i["cpu"] <= 0.05 and i["ctx"] <= 5),
                      i["cpu"] * ZERO))
w("| P4 RSS ≤ 10 MiB steady with 4 sensors | %d KiB (%d-%d over the windows) | %s | — |" % (
    d["rss"], d["rss_min"], d["rss_max"], ok(d["rss"] <= 10240)))
w("")
w("The daemon's open fds stayed at %d-%d over the windows. Share of the whole set-up: the "
  "daemon took %.3f %% of a core, the simulator %.3f %%, dbus-daemon %.3f %%, mosquitto "
  "%.3f %%." % (d["fds_min"], d["fds_max"], d["cpu"], fig["bluez-sim"]["cpu"],
                fig["dbus-daemon"]["cpu"], fig["mosquitto"]["cpu"]))
open(args.md, "w").write("\n".join(md) + "\n")

last = ("daemon-bench: cpu_pct=%.3f rss_kib=%d fds=%d ctxsw_per_s=%.1f mqtt_msgs_per_s=%.2f "
        "notif_per_s=%.1f idle_cpu_pct=%.3f idle_ctxsw_per_s=%.1f idle_rss_kib=%d "
        "sim_cpu_pct=%.3f dbus_cpu_pct=%.3f latency_n=%d latency_late=%d latency_p50_ms=%.3f "
        "latency_p99_ms=%.3f latency_max_ms=%.3f latency_nodelay_p99_ms=%.3f" % (
            d["cpu"], d["rss"], d["fds"], d["ctx"], mqtt_bench, notif1, i["cpu"], i["ctx"],
            i["rss"], fig["bluez-sim"]["cpu"], fig["dbus-daemon"]["cpu"], len(lat), late, p50, p99,
            lmax, L3["p99"] if L3 else float("nan")))
with open(args.figures, "w") as f:
    for role, r in fig.items():
        for k, v in r.items():
            f.write("%s_%s=%s\n" % (role.replace("-", "_"), k, v))
    f.write("latency_ms=%s\n" % " ".join("%.3f" % x for x in lat))
    if L3:
        f.write("latency_nodelay_ms=%s\n" % " ".join("%.3f" % x for x in L3["lat"]))
    f.write(last + "\n")
print("\n".join(md[-8:]), file=sys.stderr)
