#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# form validation: runs `gaitctl analyze` on the shared recordings, scores it
# and writes docs/validation.md (every figure there comes from this script).
import argparse
import csv
import io
import json
import math
import os
import random
import statistics as st
import subprocess
import sys
import tempfile

TARGETS = {  # issue 4
    'f1': ('>=', 0.99),
    'ic_mae_ms': ('<=', 10.0),
    'to_mae_ms': ('<=', 15.0),
    'gct_rmse_ms': ('<=', 15.0),
    'cadence_err_spm': ('<=', 1.0),
}


def analyze(gaitctl, path, mount, speed=None):
    cmd = [gaitctl, 'analyze', '--mount', mount]
    if speed is not None:
        cmd += ['--speed-mps', str(speed)]
    cmd.append(path)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line]


def score(scorer, truth, events_by_trial):
    with tempfile.NamedTemporaryFile('w', suffix='.jsonl', delete=False) as f:
        for trial, events in events_by_trial.items():
            for e in events:
                if e['event'] == 'contact':
                    f.write(json.dumps(dict(e, trial=trial)) + '\n')
        name = f.name
    try:
        out = subprocess.run([sys.executable, scorer, truth, name, '--json'],
                             check=True, capture_output=True, text=True).stdout
        human = subprocess.run([sys.executable, scorer, truth, name],
                               check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(name)
    return json.loads(out), human.strip().splitlines()[-1]


def read_trace(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], [[float(x) for x in r] for r in rows[1:]]


def fmt_num(x, d=3):
    s = '%.*f' % (d, x)
    s = s.rstrip('0').rstrip('.') if '.' in s else s
    return '0' if s in ('-0', '') else s


def write_trace(path, header, rows, decimals):
    with open(path, 'w') as f:
        f.write(','.join(header) + '\n')
        for r in rows:
            f.write(','.join([('%.*f' % (decimals, r[0]))] +
                             [fmt_num(x, 5) for x in r[1:]]) + '\n')


def variant_unclipped(header, rows, seed):
    """Undo the authors' flat zero: noisy, partly negative flight values."""
    rnd = random.Random(seed)
    iz = header.index('az_g')
    out = []
    for r in rows:
        r = list(r)
        if r[iz] == 0.0:
            r[iz] = rnd.gauss(-0.1, 0.15)
        out.append(r)
    return out


def variant_noisy(header, rows, seed, sd):
    """Unclipped flight plus white sensor noise on every channel."""
    rnd = random.Random(seed + 1000)
    return [[r[0]] + [x + rnd.gauss(0, sd) for x in r[1:]]
            for r in variant_unclipped(header, rows, seed)]


def variant_decimated(rows, step):
    return [list(r) for r in rows[::step]]


def variant_holes(rows, seed, p, block_s):
    """Lost BLE notifications: each block_s of samples is dropped with chance p.

    The first block is kept: analyze counts time from the first sample."""
    rnd = random.Random(seed + 2000)
    out, cur, keep = [], None, True
    for r in rows:
        b = int(r[0] / block_s)
        if b != cur:
            cur, keep = b, b == 0 or rnd.random() >= p
        if keep:
            out.append(list(r))
    return out


def rotation(yaw, pitch, roll):
    """Rotation matrix (rows) from z-y-x angles in degrees."""
    a, b, c = (math.radians(x) for x in (yaw, pitch, roll))
    ca, sa, cb, sb, cc, sc = (math.cos(a), math.sin(a), math.cos(b),
                              math.sin(b), math.cos(c), math.sin(c))
    return [[ca * cb, ca * sb * sc - sa * cc, ca * sb * cc + sa * sc],
            [sa * cb, sa * sb * sc + ca * cc, sa * sb * cc - ca * sc],
            [-sb, cb * sc, cb * cc]]


def variant_rotated(header, rows, m):
    """The sensor mounted otherwise: (forward, 0 lateral, vertical) turned by m."""
    ix, iz = header.index('ax_g'), header.index('az_g')
    out = []
    for r in rows:
        v = (r[ix], 0.0, r[iz])
        out.append([r[0]] + [sum(m[i][k] * v[k] for k in range(3)) for i in range(3)])
    return out


def median(xs):
    xs = [x for x in xs if x is not None]
    return st.median(xs) if xs else None


def contacts(events):
    return [e for e in events if e['event'] == 'contact']


def check(name, value):
    op, lim = TARGETS[name]
    return value >= lim if op == '>=' else value <= lim


def ankle_strikes(path, thr=3.0, refractory=0.45):
    hdr, rows = read_trace(path)
    t = [r[0] for r in rows]
    m = [math.sqrt(sum(x * x for x in r[1:])) for r in rows]
    pk = []
    for i in range(1, len(m) - 1):
        if m[i] > thr and m[i] >= m[i - 1] and m[i] >= m[i + 1]:
            if pk and t[i] - t[pk[-1]] < refractory:
                if m[i] > m[pk[-1]]:
                    pk[-1] = i
                continue
            pk.append(i)
    return [t[i] for i in pk]


def rate_spm(times, per_event=1.0):
    if len(times) < 2:
        return None
    return per_event * 60.0 * (len(times) - 1) / (times[-1] - times[0])


def solve(X, y):
    """Least squares by the normal equations (a few unknowns)."""
    n = len(X[0])
    A = [[sum(x[a] * x[b] for x in X) for b in range(n)] for a in range(n)]
    B = [sum(x[a] * v for x, v in zip(X, y)) for a in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(A[r][c]))
        A[c], A[p], B[c], B[p] = A[p], A[c], B[p], B[c]
        for r in range(n):
            if r != c:
                m = A[r][c] / A[c][c]
                A[r] = [a - m * b for a, b in zip(A[r], A[c])]
                B[r] -= m * B[c]
    return [B[c] / A[c][c] for c in range(n)]


def to_model_cv(sac, trials):
    """
    Refit the toe-off model of form/detector.c (TO = peak + c0 + c1 d_low +
    c2 d_high + c3 step, times in ms) leaving one trial out at a time, on
    the force-plate events and the gravity-projected vertical channel.
    Returns (in-sample coefficients, out-of-sample RMSE ms, in-sample RMSE ms).
    """
    fs = 500.0
    truth = {}
    with open(os.path.join(sac, 'contacts.csv')) as f:
        for r in csv.DictReader(f):
            if r['complete'] == '1':
                truth.setdefault(int(r['trial']), []).append(
                    (float(r['ic_s']), float(r['to_s'])))
    rows = []
    for t in trials:
        tr = int(t['trial'])
        _, data = read_trace(os.path.join(sac, t['file']))
        mx = st.mean(r[1] for r in data)
        mz = st.mean(r[2] for r in data)
        n = math.hypot(mx, mz)
        v = [(r[1] * mx + r[2] * mz) / n for r in data]
        con = truth[tr]
        for k in range(len(con) - 1):
            i, j, nxt = (round(con[k][0] * fs), round(con[k][1] * fs),
                         round(con[k + 1][0] * fs))
            p = max(range(i, j), key=lambda q: v[q])
            feats = []
            for level in (0.25, 1.25):
                q = p + int(0.08 * fs)
                while q < nxt and v[q] > level:
                    q += 1
                feats.append((q - p) / fs * 1000)
            step = (con[k + 1][0] - con[k][0]) * 1000
            rows.append((tr, [1.0, feats[0], feats[1], step],
                         (con[k][1] * fs - p) / fs * 1000))
    errs = []
    for tr in sorted({r[0] for r in rows}):
        w_ = solve([r[1] for r in rows if r[0] != tr], [r[2] for r in rows if r[0] != tr])
        errs += [sum(a * b for a, b in zip(w_, r[1])) - r[2] for r in rows if r[0] == tr]
    coef = solve([r[1] for r in rows], [r[2] for r in rows])
    ins = [sum(a * b for a, b in zip(coef, r[1])) - r[2] for r in rows]
    rms = lambda e: math.sqrt(sum(x * x for x in e) / len(e))
    return coef, rms(errs), rms(ins), len(rows)


def scored_truth(truth_csv, duration=4.96):
    """The truth ICs score-contacts scores (complete, away from the edges), s."""
    out = {}
    with open(truth_csv) as f:
        for r in csv.DictReader(f):
            if (r['complete'] == '1' and float(r['ic_s']) >= 0.5 - 1e-9 and
                    float(r['to_s']) <= duration - 0.1 + 1e-9):
                out.setdefault(int(r['trial']), []).append(float(r['ic_s']))
    return out


def plate_cadence(truth_csv):
    """
    Per trial: the engine's cadence definition on the force plate's complete
    contacts (intervals between consecutive ones only).
    """
    ics = {}
    with open(truth_csv) as f:
        for r in csv.DictReader(f):
            ics.setdefault(int(r['trial']), []).append(
                (int(r['contact_index']), float(r['ic_s']), r['complete'] == '1'))
    out = {}
    for tr, rows in ics.items():
        rows.sort()
        iv = [1000 * (b[1] - a[1]) for a, b in zip(rows, rows[1:])
              if a[2] and b[2] and b[0] == a[0] + 1]
        out[tr] = engine_cadence(iv)
    return out


def engine_cadence(intervals_ms):
    """
    The engine's live cadence (docs/form-metrics.md, cadence_spm): 120000 /
    the mean stride (two consecutive step times), strides more than 40 % from
    their median dropped; with fewer than 2 strides, 60000 / the mean step
    time, steps more than 40 % from their median dropped.
    """
    if not intervals_ms:
        return None
    strides = [a + b for a, b in zip(intervals_ms, intervals_ms[1:])]
    if len(strides) >= 2:
        m = st.median(strides)
        kept = [x for x in strides if 0.6 * m < x < 1.4 * m]
        if kept:
            return 120000.0 / st.mean(kept)
    m = st.median(intervals_ms)
    kept = [x for x in intervals_ms if 0.6 * m < x < 1.4 * m]
    return 60000.0 / st.mean(kept) if kept else None


def median_cadence(ics):
    d = [b - a for a, b in zip(ics, ics[1:])]
    return 60.0 / st.median(d) if d else None


def match_ics(truth, pred, tol=0.06):
    """Greedy smallest-|error| pairing (as score-contacts): [(truth, pred)]."""
    cand = sorted((abs(p - t), i, j) for i, t in enumerate(truth)
                  for j, p in enumerate(pred) if abs(p - t) <= tol)
    ut, up, pairs = set(), set(), []
    for _, i, j in cand:
        if i not in ut and j not in up:
            ut.add(i)
            up.add(j)
            pairs.append((truth[i], pred[j]))
    return sorted(pairs)


def join_and(items):
    """'a', 'a and b', 'a, b and c'."""
    return ' and '.join(x for x in (', '.join(items[:-1]), items[-1]) if x) if items else ''


def rms(xs):
    return math.sqrt(sum(x * x for x in xs) / len(xs)) if xs else float('nan')


def ic_jitter(pairs_by_trial):
    """
    IC error split into what moves the cadence and what does not: a constant
    offset per trial does not change any interval; the within-trial spread
    (SD around the trial's mean error) and the difference between the mean
    errors of alternate steps (A = 1st, 3rd, ... contact; B = the others:
    left/right, side unknown here) do.
    """
    out = {}
    for tr, pairs in pairs_by_trial.items():
        e = [1000 * (p - t) for t, p in pairs]
        if len(e) < 3:
            continue
        out[tr] = dict(sd=st.pstdev(e), ab=st.mean(e[0::2]) - st.mean(e[1::2]),
                       worst=max(range(len(e)), key=lambda k: abs(e[k] - st.mean(e))),
                       err=e)
    return out


def jitter_model(truth_by_trial, sigma_ms, reps=200, seed=4):
    """
    Expected mean cadence error of an IC detector that is exact up to
    Gaussian jitter sigma, given that the truth ICs are whole 2 ms samples
    (true event uniformly within +-1 ms): (mean, 5th, 95th percentile) spm.
    """
    rnd = random.Random(seed)
    means = []
    for _ in range(reps):
        errs = []
        for ics in truth_by_trial.values():
            p = [t + (rnd.uniform(-1, 1) + rnd.gauss(0, sigma_ms)) / 1000 for t in ics]
            errs.append(abs(median_cadence(p) - median_cadence(ics)))
        means.append(st.mean(errs))
    means.sort()
    return st.mean(means), means[reps // 20], means[reps - 1 - reps // 20]


def smooth_v(data, resultant=False, ap=False, width=5, tilt=0):
    """
    Gravity-projected vertical channel (or the resultant |a|, the total
    specific force, proportional to the whole ground reaction force),
    smoothed as the engine does at 500 Hz (two centred boxcars of width
    samples; 1: not smoothed).
    """
    mx = st.mean(r[1] for r in data)
    mz = st.mean(r[2] for r in data)
    n = math.hypot(mx, mz)
    if resultant:
        v = [math.hypot(r[1], r[2]) for r in data]
    elif tilt:  # the vertical tilted back (up and backward) by tilt degrees
        c, s = math.cos(math.radians(tilt)), math.sin(math.radians(tilt))
        v = [(c * (r[1] * mx + r[2] * mz) - s * (r[1] * mz - r[2] * mx)) / n for r in data]
    elif ap:  # the other axis of the sagittal plane (sign irrelevant here)
        v = [(r[1] * mz - r[2] * mx) / n for r in data]
    else:
        v = [(r[1] * mx + r[2] * mz) / n for r in data]
    h = width // 2
    for _ in range(2 if h else 0):  # two boxcars, centred (delay removed)
        v = [st.mean(v[max(0, i - h):i + h + 1]) for i in range(len(v))]
    return v


def template_aligned(v, pairs, fs, w0=-15, w1=25, rounds=3):
    """
    [(truth, ic)] with each ic moved to where its window v[ic + w0 .. ic + w1]
    (samples) best fits, up to a gain and an offset, the mean of the windows
    at the current ics (searched in whole samples within +-6, then tenths).
    """
    def at(x):
        i = min(max(int(math.floor(x)), 0), len(v) - 2)
        f = x - i
        return v[i] * (1 - f) + v[i + 1] * f

    def window(x):
        return [at(x + k) for k in range(w0, w1 + 1)]

    def misfit(x, tm, tc, tv):
        xs = window(x)
        xm = st.mean(xs)
        g = sum((a - xm) * b for a, b in zip(xs, tc)) / tv
        return sum((a - xm - g * b) ** 2 for a, b in zip(xs, tc))

    cur = [ic * fs for _, ic in pairs]
    for _ in range(rounds):
        wins = [window(x) for x in cur]
        tmpl = [st.mean(c) for c in zip(*wins)]
        tm = st.mean(tmpl)
        tc = [b - tm for b in tmpl]
        tv = sum(b * b for b in tc)
        new = []
        for x in cur:
            best = min(range(-6, 7), key=lambda s: misfit(x + s, tm, tc, tv))
            fine = min(range(-10, 11),
                       key=lambda s: misfit(x + best + s / 10.0, tm, tc, tv))
            new.append(x + best + fine / 10.0)
        cur = new
    return [(t, x / fs) for (t, _), x in zip(pairs, cur)]


def ic_alternatives(sac, trials, truth_by_trial, fs=500.0):
    """
    Candidate IC features on the same channel, found around each truth IC
    (only the stance peak and the flight minimum are located from it): the
    within-trial spread and A/B difference of each, and the cadence error it
    gives, with no offset (offsets do not move intervals).
    """
    def cross(v, i, level):
        f = (level - v[i - 1]) / (v[i] - v[i - 1]) if v[i] != v[i - 1] else 0.5
        return (i - 1 + min(max(f, 0.0), 1.0)) / fs

    def ap_feature(a, e, kind):
        # the AP minimum within -4..+40 ms of e (parabola through 3 samples)
        k0 = int(e * fs)
        m = min(range(k0 - 2, k0 + 20), key=lambda k: a[k])
        d = a[m - 1] - 2 * a[m] + a[m + 1]
        if kind == 'apmin':
            return (m + (0.5 * (a[m - 1] - a[m + 1]) / d if d else 0.0)) / fs
        # the largest value in the 50 ms before it, and the crossing half way down
        mx = max(range(m - 25, m), key=lambda k: a[k])
        level = a[mx] + 0.5 * (a[m] - a[mx])
        q = m
        while q > mx + 1 and a[q - 1] < level:
            q -= 1
        f = (a[q - 1] - level) / (a[q - 1] - a[q]) if a[q - 1] != a[q] else 0.5
        return (q - 1 + f) / fs

    # (row, kind, level, channel): 'v' is the engine's (gravity-projected,
    # two 5-sample boxcars), 'res' the resultant, 'raw' and 'wide' other smoothing
    feats = (
        ('30 % of flight-min-to-peak rise (engine)', 'frac', 0.3, 'v'),
        ('15 % of the rise', 'frac', 0.15, 'v'),
        ('50 % of the rise', 'frac', 0.5, 'v'),
        ('flight minimum + 0.3 g', 'abs', 0.3, 'v'),
        ('flight minimum + 0.8 g', 'abs', 0.8, 'v'),
        ('1 g (vertical force = body weight)', 'level', 1.0, 'v'),
        ('steepest-slope tangent back to the flight minimum', 'tangent', None, 'v'),
        ('mean of the 10/20/30/40 % crossings', 'multi', None, 'v'),
        ('resultant of all axes (not vertical), 30 % of its rise', 'frac', 0.3, 'res'),
        ('30 % of the rise of the vertical tilted 30° back (towards the braking jolt)',
         'frac', 0.3, 'tilt30'),
        ('the same, tilted 60° back (the lowest spread of a sweep from 50° forward '
         'to 90° back)',
         'frac', 0.3, 'tilt60'),
        ('the engine\'s 30 % with no smoothing (raw 500 Hz samples)', 'frac', 0.3, 'raw'),
        ('the engine\'s 30 % after two 11-sample (22 ms) boxcars instead of 5', 'frac', 0.3,
         'wide'),
        ('the AP acceleration\'s minimum after the engine\'s feature (braking peak), '
         'interpolated', 'apmin', None, 'v'),
        ('the AP acceleration falling through 50 % of its last swing before that minimum',
         'ap50', None, 'v'),
    )
    res = {f[0]: {} for f in feats}
    ap_rows = []  # (trial, truth ic, engine feature, AP acc at it)
    for t in trials:
        tr = int(t['trial'])
        _, data = read_trace(os.path.join(sac, t['file']))
        chans = dict(v=smooth_v(data), res=smooth_v(data, resultant=True),
                     raw=smooth_v(data, width=1), wide=smooth_v(data, width=11),
                     tilt30=smooth_v(data, tilt=30), tilt60=smooth_v(data, tilt=60))
        apc = smooth_v(data, ap=True)
        for ic in truth_by_trial.get(tr, []):
            for name, kind, x, chan in feats:
                v = chans[chan]
                i = int(round(ic * fs))
                if i < 80 or i + 60 >= len(v):
                    continue
                p = max(range(i, i + 60), key=lambda k: v[k])
                lo_i = min(range(p - 75, p), key=lambda k: v[k])
                lo, amp = v[lo_i], v[p] - v[lo_i]

                def at(level):
                    q = p
                    while q > lo_i + 1 and v[q - 1] > level:
                        q -= 1
                    return cross(v, q, level)

                if kind == 'frac':
                    e = at(lo + x * amp)
                elif kind == 'abs':
                    e = at(lo + x)
                elif kind == 'level':
                    e = at(x)
                elif kind == 'tangent':
                    k = max(range(lo_i + 1, p + 1), key=lambda k: v[k] - v[k - 1])
                    e = (k - 0.5 - ((v[k] + v[k - 1]) / 2 - lo) / (v[k] - v[k - 1])) / fs
                elif kind in ('apmin', 'ap50'):
                    e = ap_feature(apc, at(lo + 0.3 * amp), kind)
                else:
                    e = st.mean(at(lo + f * amp) for f in (0.1, 0.2, 0.3, 0.4))
                res[name].setdefault(tr, []).append((ic, e))
                if name.endswith('(engine)'):
                    ap_rows.append((tr, ic, e, apc[int(round(e * fs))]))
    # The engine's feature shifted by a linear function of the AP acceleration
    # at that instant, fitted on the other trials (leave one trial out).
    name = ('30 % of the rise, shifted by a linear fit on the AP acceleration '
            'there (leave-one-trial-out)')
    res[name] = {}
    for hold in sorted(set(r[0] for r in ap_rows)):
        fit = [r for r in ap_rows if r[0] != hold]
        c = solve([[1.0, r[3]] for r in fit], [r[1] - r[2] for r in fit])
        res[name][hold] = [(r[1], r[2] + c[0] + c[1] * r[3]) for r in ap_rows if r[0] == hold]
    feats += ((name, 'ap', None, 'v'),)
    # The whole loading rise instead of one crossing: each contact's window
    # aligned by least squares (gain and offset free) to the mean of its
    # trial's windows, starting from the engine's feature; uses no truth.
    name = ('the engine\'s feature moved to the best least-squares fit of the '
            'trial\'s mean loading rise (-30…+50 ms, gain and offset free)')
    res[name] = {}
    for t in trials:
        tr = int(t['trial'])
        if tr not in res[feats[0][0]]:
            continue
        _, data = read_trace(os.path.join(sac, t['file']))
        res[name][tr] = template_aligned(smooth_v(data), res[feats[0][0]][tr], fs)
    feats += ((name, 'template', None, 'v'),)
    rows = []
    for name, *_ in feats:
        j = ic_jitter(res[name])
        cad = [abs(median_cadence([p for _, p in pr]) - median_cadence([t for t, _ in pr]))
               for pr in res[name].values()]
        rows.append((name, rms([x['sd'] for x in j.values()]),
                     st.mean(abs(x['ab']) for x in j.values()), st.mean(cad), max(cad),
                     shuffled_cadence(res[name])))
    return rows


def shuffled_cadence(pairs_by_trial, reps=200, seed=3):
    """
    The mean cadence error (median-interval definition, matched contacts)
    with each trial's IC errors kept but dealt out in a random order
    (seeded): what the same errors give without their order, which carries
    the side (left/right) pattern. (mean, 5th, 95th percentile) spm.
    """
    rnd = random.Random(seed)
    means = []
    for _ in range(reps):
        errs = []
        for pr in pairs_by_trial.values():
            e = [p - t for t, p in pr]
            rnd.shuffle(e)
            t = [t for t, _ in pr]
            errs.append(abs(median_cadence([a + b for a, b in zip(t, e)]) - median_cadence(t)))
        means.append(st.mean(errs))
    means.sort()
    return st.mean(means), means[reps // 20], means[reps - 1 - reps // 20]


def cadence_section(w, res, ev, truth_csv, sac, trials):
    """Why the cadence error is what it is (docs/validation.md)."""
    truth = scored_truth(truth_csv)
    pairs = {}
    for tr, events in ev.items():
        pred = sorted(c['ic_s'] for c in contacts(events))
        pairs[tr] = match_ics(truth.get(tr, []), pred)
    jit = ic_jitter(pairs)
    w('## Cadence error: where it comes from\n\n')
    w('Per trial: the scorer\'s median IC-to-IC interval for truth and '
      'prediction; the mean interval of the steps starting at the 1st, 3rd, ... '
      'scored contact (A) and of the others (B), truth / predicted (the runner '
      'alternates a longer and a shorter step; side is unknown, no ML axis); '
      'the within-trial SD of the IC error (its per-trial mean removed: a '
      'constant offset moves no interval); the A − B difference of the mean IC '
      'error; the contact furthest from its trial\'s mean error. "spm per ms" '
      'is how much 1 ms of median interval moves the cadence.\n\n')
    w('| trial | median interval truth ms | pred ms | Δ ms | spm per ms | error spm | '
      'A steps truth / pred ms | B steps truth / pred ms | IC error SD ms | '
      'A − B IC error ms | furthest contact (#, error ms) |\n'
      '|---|---|---|---|---|---|---|---|---|---|---|\n')
    ivl_err, per = [], []
    for r in res['trials']:
        tr = r['trial']
        if tr not in jit or not r['cadence_pred_spm']:
            continue
        mt, mp = 60000.0 / r['cadence_truth_spm'], 60000.0 / r['cadence_pred_spm']
        pr = pairs[tr]
        ti = [1000 * (b[0] - a[0]) for a, b in zip(pr, pr[1:])]
        pi = [1000 * (b[1] - a[1]) for a, b in zip(pr, pr[1:])]
        ivl_err += [b - a for a, b in zip(ti, pi)]
        j = jit[tr]
        per.append(dict(trial=tr, d=mp - mt, err=r['cadence_err_spm'], ab=j['ab'],
                        gap=abs(st.mean(ti[0::2]) - st.mean(ti[1::2])), n=len(ti),
                        gap_pred=abs(st.mean(pi[0::2]) - st.mean(pi[1::2])),
                        eng=abs(engine_cadence(pi) - engine_cadence(ti))))
        w('| %d | %.1f | %.1f | %+.1f | %.2f | %.2f | %.1f / %.1f | %.1f / %.1f | %.1f | '
          '%+.1f | %d, %+.1f |\n' % (
              tr, mt, mp, mp - mt, 60000.0 / mt ** 2, r['cadence_err_spm'],
              st.mean(ti[0::2]), st.mean(pi[0::2]), st.mean(ti[1::2]), st.mean(pi[1::2]),
              j['sd'], j['ab'], j['worst'] + 1, j['err'][j['worst']]))
    sd = rms([x['sd'] for x in jit.values()])
    ab = st.mean(abs(x['ab']) for x in jit.values())
    w('\nPooled within-trial IC error SD %.2f ms; mean |A − B| %.2f ms; '
      'IC-to-IC interval error RMS %.2f ms (%d intervals). At these cadences '
      '1 ms of median interval is %.2f–%.2f spm, and the truth ICs themselves are '
      'whole 2 ms samples.\n\n' % (sd, ab, rms(ivl_err), len(ivl_err),
                                   min(60000.0 / (60000.0 / r['cadence_truth_spm']) ** 2
                                       for r in res['trials'] if r['cadence_truth_spm']),
                                   max(60000.0 / (60000.0 / r['cadence_truth_spm']) ** 2
                                       for r in res['trials'] if r['cadence_truth_spm'])))
    fore = set(int(t['trial']) for t in trials if float(t['slope_deg']) >= 10)
    for label, grp in (('rearfoot-strike trials (below +10°)',
                        [x for x in per if x['trial'] not in fore]),
                       ('+10° trials (mid/forefoot strikes)',
                        [x for x in per if x['trial'] in fore])):
        dg = [x['gap_pred'] - x['gap'] for x in grp]
        if dg:
            w('In the %s: the predicted long/short step alternation (|A − B| of the mean '
              'intervals) is smaller than the force plate\'s in %d, larger in %d; mean '
              'change %+.1f ms (%+.1f to %+.1f).\n' % (
                  label,
                  sum(d < 0 for d in dg), sum(d > 0 for d in dg), st.mean(dg), min(dg),
                  max(dg)))
    w('\nSo part of the IC error follows the step (its side or its length) with '
      'opposite signs for the two strike patterns; with no mediolateral axis or gyro '
      'the sides cannot be told apart here, and a correction by strike pattern would be '
      'fitted on the %d forefoot trials of one runner.\n\n' % len(fore))
    eng = [x['eng'] for x in per]
    w('The engine\'s own cadence (the live `cadence_spm`: 120000 / the mean stride, strides '
      'more than 40 %% from their median dropped) over the same scored intervals, against '
      'the same definition on the force-plate ICs: mean error %.2f spm, largest %.2f spm '
      '(trial %d), %d of %d trials within 1 spm. A mean over a trial\'s steps does not '
      'follow one contact at a cluster edge as the scorer\'s median does; the target is '
      'scored with the median.\n\n' % (
          st.mean(eng), max(eng), max(per, key=lambda x: x['eng'])['trial'],
          sum(e <= 1.0 for e in eng), len(eng)))
    w('What a detector with a given jitter would score here (truth ICs + '
      'uniform ±1 ms for the sampling of the truth + Gaussian jitter σ, '
      'scorer\'s median-interval cadence, 200 seeded repetitions; mean over '
      'the %d trials, 5–95 %% range of that mean):\n\n' % len(truth))
    w('| IC jitter σ ms | expected cadence error spm | 5–95 % |\n|---|---|---|\n')
    model = {}
    for s_ in (0.0, 1.0, 1.5, 2.0, round(sd, 2), 3.0):
        m, lo_, hi = jitter_model(truth, s_)
        model[s_] = m
        w('| %s%s | %.2f | %.2f–%.2f |\n' % (
            '%.2f' % s_, ' (measured)' if s_ == round(sd, 2) else '', m, lo_, hi))
    w('\nAlternative IC features on the same gravity-projected channel, smoothed '
      'as the engine does unless the row says otherwise (python re-implementation; '
      'the first row is the engine\'s definition and should match the figures '
      'above):\n\n')
    w('| IC feature | within-trial SD ms | mean abs(A − B) ms | cadence error spm | '
      'worst trial spm | errors shuffled: spm (5–95 %) |\n|---|---|---|---|---|---|\n')
    alts = ic_alternatives(sac, trials, truth)
    for name, a_sd, a_ab, a_cad, a_max, shuf in alts:
        w('| %s | %.2f | %.2f | %.2f | %.2f | %.2f (%.2f–%.2f) |\n' % (
            name, a_sd, a_ab, a_cad, a_max, *shuf))
    eng_shuf = shuffled_cadence(pairs)
    eng_real = st.mean(abs(median_cadence([p for _, p in pr]) -
                           median_cadence([t for t, _ in pr])) for pr in pairs.values())
    below = [a[0] for a in alts if a[3] < a[5][1]]
    above = [a[0] for a in alts if a[3] > a[5][2]]
    inside = eng_shuf[1] <= eng_real <= eng_shuf[2]
    w('\nThe last column deals each trial\'s IC errors out again in a random order '
      '(200 seeded shuffles, matched contacts): the same errors without their order. '
      'The engine\'s own contacts (the scorer\'s matches, edges excluded) score '
      '%.2f spm in their real order and %.2f (%.2f–%.2f) shuffled: %s. Rows scoring '
      'below their shuffled range: %s; above it: %s. For those, the order of their '
      'errors on these 19 trials (a side pattern, a trend within a trial) moved the '
      'score beyond what errors of their size give; nothing lets one expect the same '
      'order on other recordings.\n\n' % (
          eng_real, *eng_shuf,
          'within the range, so its score is what errors of its size give, in any order'
          if inside else 'outside the range, so the order of its errors matters',
          '; '.join(below) or 'none', '; '.join(above) or 'none'))
    return dict(sd=sd, ab=ab, ivl=rms(ivl_err), model=model, eng_mean=st.mean(eng),
                eng_max=max(eng),
                per=per, pairs=pairs,
                best_alt=min(a[1] for a in alts), alts=alts)


def clip_section(w, pairs_by_trial, sac, trials, fs=500.0):
    """
    IC error against how long the published vertical channel still reads
    its clipped zero after the true IC: there the start of the loading rise
    is hidden, so a level crossing must come late. Errors are taken
    relative to each trial's median error (a constant offset moves no
    interval). Also: the scorer's cadence error if every contact in the
    late bins were put at its trial's median offset (needs the truth; an
    upper bound on what any handling of the artefact could gain).
    pairs_by_trial: the (truth IC, predicted IC) pairs of cadence_section().
    """
    bins = ((0, 0, 'positive at IC'), (2, 6, '2–6'), (8, 10, '8–10'),
            (12, 10 ** 6, '≥ 12'))
    rows, fixed = [], {}
    for t in trials:
        tr = int(t['trial'])
        pairs = pairs_by_trial.get(tr, [])
        if len(pairs) < 3:
            continue
        hdr, data = read_trace(os.path.join(sac, t['file']))
        if 'az_g' not in hdr:
            continue
        iz = hdr.index('az_g')
        med = st.median(1000 * (p_ - t_) for t_, p_ in pairs)
        adj = []
        for t_, p_ in pairs:
            i = int(round(t_ * fs))
            n = 0
            while i + n < len(data) and data[i + n][iz] == 0.0:
                n += 1
            clip_ms = 1000.0 * n / fs
            dev = 1000 * (p_ - t_) - med
            rows.append((clip_ms, dev))
            adj.append((t_, t_ + med / 1000 if clip_ms >= 8 else p_))
        fixed[tr] = (median_cadence([a for a, _ in adj]), median_cadence([b for _, b in adj]))
    w('How the IC error depends on the clipping, per contact: how long the published '
      'vertical channel still reads its flat zero after the force-plate IC (the '
      'start of the loading rise is then hidden under it), against the IC error '
      'relative to its trial\'s median error (a constant offset moves no '
      'interval).\n\n')
    w('| clipped after the true IC, ms | contacts | mean relative IC error ms | '
      'SD ms |\n|---|---|---|---|\n')
    late = []
    for lo, hi, label in bins:
        d = [dev for c, dev in rows if lo <= c <= hi]
        if lo >= 8:
            late += d
        w('| %s | %d | %s | %s |\n' % (
            label, len(d), '%+.1f' % st.mean(d) if d else 'n/a',
            '%.1f' % st.stdev(d) if len(d) > 1 else 'n/a'))
    orac = st.mean(abs(b - a) for a, b in fixed.values()) if fixed else float('nan')
    w('\nThe %d contacts clipped for 8 ms or more after their IC come %+.1f ms late '
      'on average. Put exactly at their trial\'s median offset (which needs '
      'the truth), the cadence error would be %.2f spm: the artefact explains part '
      'of the error, not all of it. A live sensor has no flat zero.\n\n' % (
          len(late), st.mean(late) if late else float('nan'), orac))


# Trials 28 and 30 come from another recording block with the sensor mounted
# differently (shared/data/sacral-treadmill/README.md, "Axes and signs").
OTHER_MOUNTING = {28, 30}


def slope_tilt_section(w, sac, trials, truth_csv):
    """Pelvic tilt against belt slope, to check the engine's incline model."""
    ics = {}
    with open(truth_csv) as f:
        for r in csv.DictReader(f):
            ics.setdefault(int(r['trial']), []).append(float(r['ic_s']))
    by_slope, xs, ys = {}, [], []
    for t in trials:
        tr = int(t['trial'])
        if tr in OTHER_MOUNTING:
            continue
        ic = sorted(ics[tr])
        n = (len(ic) - 1) // 2 * 2          # whole strides: an even number of steps
        if n < 2:
            continue
        hdr, rows = read_trace(os.path.join(sac, t['file']))
        i_t, i_ap = hdr.index('t_s'), hdr.index('ax_g')
        ap = [r[i_ap] for r in rows if ic[0] <= r[i_t] < ic[n]]
        tilt = math.degrees(math.asin(max(-1.0, min(1.0, -sum(ap) / len(ap)))))
        slope = float(t['slope_deg'])
        by_slope.setdefault(slope, []).append(tilt)
        xs.append(slope)
        ys.append(tilt)
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    k = sxy / sxx
    w('## Belt slope and pelvic tilt\n\n')
    w('The engine judges lean against the belt: it takes one degree of forward '
      'lean per degree of belt slope off before comparing with the baseline '
      '(notes 5.6; docs/form-metrics.md, "Incline"). Here, per trial, the '
      'sacrum\'s forward tilt from gravity: asin(−mean AP acceleration) over whole '
      'strides (first to last force-plate IC, an even number of steps; on a '
      'treadmill the mean specific force over strides is gravity). The AP '
      'channel was not clipped; the clipped vertical one is not used. Trials %s '
      '(another mounting) are left out.\n\n'
      % ' and '.join(str(x) for x in sorted(OTHER_MOUNTING)))
    w('| slope ° | trials | tilt ° (mean) | range ° |\n|---|---|---|---|\n')
    for slope in sorted(by_slope):
        v = by_slope[slope]
        w('| %g | %d | %.1f | %.1f–%.1f |\n' % (slope, len(v), sum(v) / len(v),
                                                 min(v), max(v)))
    w('\nLeast-squares fit over the %d trials: %.2f ° of tilt per ° of slope, '
      'r = %.3f. So this runner\'s pelvis tipped forward at least as much as the '
      'belt; the engine\'s one degree per degree takes off less than that on a '
      'sacrum or waist mount (%.1f ° of the %.1f ° at 10 %% incline), which keeps '
      'the lean alerts on the side of raising. One runner; trunk lean of a chest '
      'mount is not measured here.\n\n'
      % (len(xs), k, sxy / math.sqrt(sxx * syy), math.degrees(math.atan(0.1)),
         k * math.degrees(math.atan(0.1))))
    return k


def still_blocks(path, block_s=0.5, sd_max=0.05):
    """The detector's stillness blocks: (end_s, max per-axis SD, mean vector, still)."""
    hdr, rows = read_trace(path)
    ix = [hdr.index(k) for k in ('ax_g', 'ay_g', 'az_g')]
    out, blk = [], []
    for r in rows:
        if not blk:
            t0 = r[0]
        blk.append([r[i] for i in ix])
        if r[0] - t0 >= block_s - 1e-9:
            n = len(blk)
            m = [sum(b[k] for b in blk) / n for k in range(3)]
            sd = max(math.sqrt(max(sum(b[k] ** 2 for b in blk) / n - m[k] ** 2, 0))
                     for k in range(3))
            norm = math.sqrt(sum(x * x for x in m))
            out.append((r[0], sd, m, sd < sd_max and abs(norm - 1) < 0.2))
            blk = []
    return out


def angle_deg(a, b):
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(x * x for x in b))
    c = sum(x * y for x, y in zip(a, b)) / (na * nb)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def standing_section(w, path, events):
    """Evidence for the stillness rule and for keeping the lean reference over a stop."""
    blocks = still_blocks(path)
    con = contacts(events)
    w('## Standing still and the lean reference (outdoor hip run)\n\n')
    w('The engine takes "up" from the last still 0.5 s block (every axis < 0.05 g SD, '
      'mean 1 ± 0.2 g) before the first step (docs/form-metrics.md). The first blocks of '
      'the run, the runner standing and then setting off:\n\n'
      '| block end s | largest axis SD g | still |\n|---|---|---|\n')
    for end, sd, m, still in blocks:
        if end > con[0]['ic_s'] + 1:
            break
        w('| %.2f | %.3f | %s |\n' % (end, sd, 'yes' if still else 'no'))
    gaps = [(b['ic_s'] - a['ic_s'], a['ic_s'], b['ic_s']) for a, b in zip(con, con[1:])]
    gap, t_a, t_b = max(gaps)
    first = [b for b in blocks if b[3] and b[0] <= con[0]['ic_s']]
    stop = [b for b in blocks if b[3] and t_b - 3 <= b[0] <= t_b]

    def tilt(lo, hi):
        return median([c['pelvic_tilt_deg'] for c in con
                       if lo <= c['ic_s'] < hi and c['pelvic_tilt_deg'] is not None])
    before, after = tilt(t_a - 120, t_a), tilt(t_b + 10, t_b + 130)
    w('\nFirst contact at %.2f s. The longest stop without steps: %.0f s (%.1f-%.1f s), '
      'the sensor streaming throughout.' % (con[0]['ic_s'], gap, t_a, t_b))
    if first and stop:
        w(' Its last still block before running on is %.1f° from the standing "up" '
          'at the start.' % angle_deg(first[-1][2], stop[-1][2]))
    if before is not None and after is not None:
        w(' Median pelvic tilt (against the start\'s reference) in the 2 minutes before '
          'the stop %.1f°, in the 2 minutes after it (from 10 s on) %.1f°. Without a '
          'reference measurement this cannot tell which standing posture is the truer '
          'upright; the engine keeps the start\'s reference over a stop while the sensor '
          'streams, so that the lean stays comparable with the baseline learned from it, '
          'and takes it again only between runs: when the stream resumes after a '
          'minute without samples (taken off, switched off), or when a still block is '
          'more than 20° from standing (put back otherwise).' % (before, after))
    w('\n\n')


def holes_section(w, args, od, hip):
    """Steps and impact load of the outdoor hip run with samples lost."""
    base = [x for x in hip if x['event'] == 'summary'][-1]
    w('\nSteps in holes: the whole outdoor hip run replayed with samples lost as in '
      '"Robustness" (fixed seed); contacts = those reported; the summary\'s `steps` '
      'includes `steps_estimated`, the steps counted in holes from the step time '
      'around them (docs/form-metrics.md, "Lost samples"); impact load = the '
      'summary\'s, steps without a measured peak counting the mean one.\n\n')
    w('| samples lost | holes | contacts | steps_estimated | steps | vs lossless | '
      'impact load vs lossless |\n|---|---|---|---|---|---|---|\n')
    w('| none | %d | %d | %d | %d | | |\n' % (base['imu_holes'], len(contacts(hip)),
                                              base['steps_estimated'], base['steps']))
    hdr, rows = read_trace(os.path.join(od, 'hip.csv'))
    with tempfile.TemporaryDirectory() as tmp:
        for label, p, block in (('5 % of 180 ms blocks', 0.05, 0.18),
                                ('10 % of 180 ms blocks', 0.10, 0.18),
                                ('5 % of 40 ms blocks', 0.05, 0.04)):
            path = os.path.join(tmp, 'hip.csv')
            write_trace(path, hdr, variant_holes(rows, 1, p, block), 2)
            ev = analyze(args.gaitctl, path, 'waist')
            s = [x for x in ev if x['event'] == 'summary'][-1]
            w('| %s | %d | %d | %d | %d | %+.1f %% | %+.1f %% |\n' % (
                label, s['imu_holes'], len(contacts(ev)), s['steps_estimated'], s['steps'],
                100.0 * (s['steps'] - base['steps']) / base['steps'],
                100.0 * (s['impact_load'] - base['impact_load']) / base['impact_load']))
    w('\n')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gaitctl', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--scorer', required=True)
    ap.add_argument('--out', required=True)
    args = ap.parse_args()

    sac = os.path.join(args.data, 'sacral-treadmill')
    truth = os.path.join(sac, 'contacts.csv')
    with open(os.path.join(sac, 'trials.csv')) as f:
        listed = list(csv.DictReader(f))
    with open(truth) as f:
        have_truth = {int(r['trial']) for r in csv.DictReader(f)}
    trials = [t for t in listed if int(t['trial']) in have_truth]
    no_truth = [t['trial'] for t in listed if int(t['trial']) not in have_truth]
    if not trials:
        sys.exit('validate: no trial in %s has force-plate truth' % sac)

    md = io.StringIO()
    w = md.write
    failures = []
    w('# Validation of the form core\n\n')
    w('Generated by `make validate` (form/validate.py); do not edit. Every figure '
      'below is computed from `gaitctl analyze` output on the shared recordings '
      '(`DATA=%s`).\n\n' % args.data)
    w('## Method\n\n')
    w('* Each trace is replayed through `gaitctl analyze` exactly as the daemon '
      'feeds the engine (one IMU sample at a time, belt speed once a second when '
      'known, session started at the first sample and stopped at the last).\n'
      '* Contacts: initial contact (IC) where the gravity-projected vertical '
      'acceleration rises through 30 % of the way from the flight minimum to the '
      'stance peak, minus 7 ms; toe-off (TO) from a linear model of the times the '
      'vertical acceleration falls through 0.25 g and 1.25 g after the stance '
      'peak and of the step time (docs/form-metrics.md). These constants were '
      'fitted on the sacral trials below (leave-one-trial-out RMSE of the TO '
      'model reported below), so the sacral figures are in-sample; the '
      'held-back trials and the robustness variants are the out-of-sample '
      'checks.\n'
      '* Scoring: `score-contacts` from shared/tools (60 ms tolerance, '
      'edges excluded).\n\n')

    coef, cv_rms, in_rms, n_rows = to_model_cv(sac, trials)
    engine = {}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'detector.c')) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == '#define' and parts[1].startswith('TO_C'):
                engine[parts[1]] = parts[2].strip('()')
    w('* Toe-off model refitted here on the force-plate events (%d contacts): '
      'c0 %.1f, c1 %.3f, c2 %.3f, c3 %.3f (form/detector.c uses %s, %s, %s, %s); '
      'in-sample RMSE %.1f ms, leave-one-trial-out RMSE %.1f ms (TO relative to '
      'the stance peak, truth ICs).\n\n'
      % (n_rows, coef[0], coef[1], coef[2], coef[3], engine.get('TO_C0_MS'),
         engine.get('TO_C_LOW'), engine.get('TO_C_HIGH'), engine.get('TO_C_STEP'),
         in_rms, cv_rms))

    # ---- sacral trials ---------------------------------------------------
    ev = {}
    for t in trials:
        ev[int(t['trial'])] = analyze(args.gaitctl, os.path.join(sac, t['file']),
                                      'sacrum', float(t['speed_mps']))
    res, line = score(args.scorer, truth, ev)
    w('## Sacral treadmill trials (force-plate truth)\n\n')
    w('%d trials, one runner, %s Hz two-axis sacral accelerometer.%s\n\n' % (
        len(trials), '/'.join(sorted({t['rate_hz'] for t in trials})),
        ' Listed without truth, not scored: trial %s.' % ', '.join(no_truth)
        if no_truth else ''))
    w('| figure | value | target | met |\n|---|---|---|---|\n')
    for k, (op, lim) in TARGETS.items():
        ok = check(k, res[k])
        if not ok:
            failures.append('sacral %s = %.3g (target %s %g)' % (k, res[k], op, lim))
        w('| %s | %.3f | %s %g | %s |\n' % (k, res[k], op, lim, 'yes' if ok else '**no**'))
    w('\nDetections %d, truth %d, TP %d, FP %d, FN %d. IC error mean %+.1f ms '
      '(SD %.1f); TO error mean %+.1f ms (SD %.1f); GCT error mean %+.1f ms. '
      'Largest per-trial cadence error %.2f spm.\n\n' % (
          res['n_pred'], res['n_truth'], res['tp'], res['fp'], res['fn'],
          res['ic_err_mean_ms'], res['ic_err_sd_ms'], res['to_err_mean_ms'],
          res['to_err_sd_ms'], res['gct_err_mean_ms'], res['cadence_err_max_spm']))
    w('Scorer line: `%s`\n\n' % line)
    w('| trial | speed m/s | slope ° | truth | TP | FP | FN | IC MAE ms | TO MAE ms | '
      'GCT RMSE ms | cadence truth | cadence pred | error spm |\n'
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|\n')
    tmeta = {int(t['trial']): t for t in trials}
    for tr in res['trials']:
        m = tmeta[tr['trial']]
        one, _ = score(args.scorer, truth, {tr['trial']: ev[tr['trial']]})
        w('| %d | %s | %s | %d | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f |\n' % (
            tr['trial'], m['speed_mps'], m['slope_deg'], tr['n_truth'], tr['tp'],
            tr['fp'], tr['fn'], one['ic_mae_ms'], one['to_mae_ms'], one['gct_rmse_ms'],
            tr['cadence_truth_spm'], tr['cadence_pred_spm'] or float('nan'),
            tr['cadence_err_spm']))
    w('\nThe scorer takes cadence from the median IC-to-IC interval of ~13 '
      'steps; this runner alternates long and short steps (L/R), so a few ms '
      'of IC jitter can move the median from one cluster to the other. The '
      'engine\'s own live cadence (120000 / the mean stride, strides more than '
      '40 % from their median dropped) is scored at the end of the next section.\n\n')
    cad_why = cadence_section(w, res, ev, truth, sac, trials)

    # ---- robustness: the clipping artefact and lower rates ----------------
    w('## Robustness: not relying on the zeroed flight phase\n\n')
    w('The published vertical channel had its negative values set to 0. The '
      'same trials are re-run with (a) every exact zero replaced by noise '
      '(Gaussian, mean -0.1 g, SD 0.15 g, fixed seed), as a live sensor reads '
      'in flight, also with white noise (SD 0.1 g) added to every sample of both '
      'axes, and (b) decimated to 250, 100, 50 and 25 Hz (every 2nd, 5th, '
      '10th, 20th sample; 25 Hz is the Polar H10 minimum), and (c) turned as a '
      'sensor mounted otherwise would read them: pitched 30° forward, upside '
      'down, and an oblique three-axis orientation (z-y-x angles 35°, −50°, '
      '70°; the lateral axis, absent from the recording, is 0), and (d) with '
      'samples lost as lost BLE notifications lose them: every 180 ms block '
      '(a Polar H10 ACC notification at 200 Hz) or 40 ms block dropped with '
      'a 5 % or 10 % chance (fixed seed, never the first block). A contact '
      'whose loading rise or peak falls in a hole of 100 ms or more is not '
      'reported, and a step with a hole in it has no step time, toe-off or '
      'integrals (docs/form-metrics.md, "Lost samples"); the contacts lost '
      'count as misses, and the cadence column, the median interval between '
      'consecutive reported contacts, then spans two steps where one is '
      'missing (the engine\'s own cadence uses step times, which a hole '
      'leaves unset). Targets apply to the published data only; these rows show '
      'how much the figures depend on the artefact, the rate, the mounting '
      'and lost samples.\n\n')
    w('| variant | F1 | IC MAE ms | TO MAE ms | GCT RMSE ms | cadence err spm |\n'
      '|---|---|---|---|---|---|\n')
    w('| published (500 Hz, clipped) | %.3f | %.1f | %.1f | %.1f | %.2f |\n' % (
        res['f1'], res['ic_mae_ms'], res['to_mae_ms'], res['gct_rmse_ms'],
        res['cadence_err_spm']))
    with tempfile.TemporaryDirectory() as tmp:
        for label, fn, dec in (
                ('flight zeros -> noise (500 Hz)', lambda h, r, s: variant_unclipped(h, r, s), 3),
                ('unclipped + white noise SD 0.1 g', lambda h, r, s: variant_noisy(h, r, s, 0.1), 3),
                ('decimated 250 Hz', lambda h, r, s: variant_decimated(r, 2), 3),
                ('decimated 100 Hz', lambda h, r, s: variant_decimated(r, 5), 2),
                ('decimated 50 Hz', lambda h, r, s: variant_decimated(r, 10), 2),
                ('decimated 25 Hz', lambda h, r, s: variant_decimated(r, 20), 2),
                ('pitched 30°', lambda h, r, s: variant_rotated(h, r, rotation(0, 30, 0)), 3),
                ('upside down', lambda h, r, s: variant_rotated(h, r, rotation(0, 0, 180)), 3),
                ('oblique 3-axis', lambda h, r, s: variant_rotated(h, r, rotation(35, -50, 70)), 3),
                ('5 % of 180 ms blocks lost', lambda h, r, s: variant_holes(r, s, 0.05, 0.18), 3),
                ('10 % of 180 ms blocks lost', lambda h, r, s: variant_holes(r, s, 0.10, 0.18), 3),
                ('5 % of 40 ms blocks lost', lambda h, r, s: variant_holes(r, s, 0.05, 0.04), 3)):
            evv = {}
            for t in trials:
                hdr, rows = read_trace(os.path.join(sac, t['file']))
                p = os.path.join(tmp, t['file'])
                rows = fn(hdr, rows, int(t['trial']))
                if len(rows[0]) == 4:
                    hdr = ['t_s', 'ax_g', 'ay_g', 'az_g']
                write_trace(p, hdr, rows, dec)
                evv[int(t['trial'])] = analyze(args.gaitctl, p, 'sacrum',
                                               float(t['speed_mps']))
            r2, _ = score(args.scorer, truth, evv)
            w('| %s | %.3f | %.1f | %.1f | %.1f | %.2f |\n' % (
                label, r2['f1'], r2['ic_mae_ms'], r2['to_mae_ms'],
                r2['gct_rmse_ms'], r2['cadence_err_spm']))
    w('\n')
    clip_section(w, cad_why['pairs'], sac, trials)

    # ---- step-frequency manipulation ---------------------------------------
    w('## Step frequency ±10 % at 3.33 m/s: ordering and overstriding indicators\n\n')
    w('Per trial: engine cadence = the live cadence\'s definition (120000 / the '
      'mean stride, strides more than 40 % from their median dropped) over all contacts; '
      'force plate = the same on the force plate\'s complete contacts; trials.csv = the '
      'dataset\'s own figure for the trial. GCT and braking = medians of the per-contact '
      'values. Overstriding indicators should be higher at −10 % than at preferred '
      '(Heiderscheit 2011).\n\n')
    plate = plate_cadence(truth)
    w('| slope ° | condition | trial | cadence trials.csv | cadence force plate | '
      'cadence engine | GCT ms | braking m/s |\n|---|---|---|---|---|---|---|---|\n')
    per = {}
    for t in trials:
        c = contacts(ev[int(t['trial'])])
        steps = [x['step_time_ms'] for x in c if x['step_time_ms']]
        per[int(t['trial'])] = (engine_cadence(steps),
                                median([x['gct_ms'] for x in c]),
                                median([x['braking_mps'] for x in c]))
    triplets = {}
    for t in trials:
        if t['stepfreq_condition']:
            triplets.setdefault(t['slope_deg'], {}).setdefault(
                t['stepfreq_condition'], int(t['trial']))
    order_ok = gct_ok = brk_ok = n_trip = 0
    for slope in sorted(triplets, key=float):
        tri = triplets[slope]
        for cond in ('minus10', 'preferred', 'plus10'):
            if cond in tri:
                tr = tri[cond]
                cad, gct, brk = per[tr]
                w('| %s | %s | %d | %s | %.1f | %.1f | %.1f | %s |\n' % (
                    slope, cond, tr, tmeta[tr]['cadence_spm'], plate[tr], cad, gct,
                    '%.3f' % brk if brk is not None else 'null'))
        if all(k in tri for k in ('minus10', 'preferred', 'plus10')):
            n_trip += 1
            c = {k: per[tri[k]] for k in tri}
            order_ok += c['minus10'][0] < c['preferred'][0] < c['plus10'][0]
            gct_ok += c['minus10'][1] > c['preferred'][1]
            brk_ok += (c['minus10'][2] or 0) > (c['preferred'][2] or 0)
    w('\nCadence ordered −10 %% < preferred < +10 %% in %d of %d slopes; GCT '
      'higher at −10 %% than preferred in %d of %d; braking higher in %d of %d.\n\n'
      % (order_ok, n_trip, gct_ok, n_trip, brk_ok, n_trip))
    if order_ok < n_trip:
        failures.append('cadence ordering wrong in %d slope(s)' % (n_trip - order_ok))
    if gct_ok < n_trip:
        failures.append('GCT not higher at -10 %% in %d slope(s)' % (n_trip - gct_ok))
    if brk_ok < n_trip:
        failures.append('braking not higher at -10 %% in %d slope(s)' % (n_trip - brk_ok))

    slope_tilt_section(w, sac, trials, truth)

    # ---- raw 512 Hz stream -------------------------------------------------
    raw = analyze(args.gaitctl, os.path.join(sac, 'raw-sacral-512hz.csv'), 'sacrum', 3.0)
    rc = contacts(raw)
    w('## Raw 512 Hz sacral stream (no truth, not clipped, saturating)\n\n')
    st_ = [x['step_time_ms'] for x in rc if x['step_time_ms']]
    w('Contacts detected: %d (README: 13 running steps after ~1 s of standing, '
      'median step interval about 0.37 s). Engine cadence %.1f spm '
      '(median step %.0f ms); median GCT %.0f ms, median flight %.0f ms.\n\n' % (
          len(rc), engine_cadence(st_) or float('nan'),
          median(st_) or float('nan'), median([x['gct_ms'] for x in rc]) or float('nan'),
          median([x['flight_ms'] for x in rc]) or float('nan')))
    w('| IC s | TO s | GCT ms | flight ms |\n|---|---|---|---|\n')
    for x in rc:
        w('| %s | %s | %s | %s |\n' % (x['ic_s'], x['to_s'], x['gct_ms'], x['flight_ms']))
    if not 11 <= len(rc) <= 14:
        failures.append('raw 512 Hz: %d contacts, expected about 13' % len(rc))
    w('\n')

    # ---- outdoor hip vs ankle ---------------------------------------------
    od = os.path.join(args.data, 'outdoor-hip-ankle')
    hip = analyze(args.gaitctl, os.path.join(od, 'hip.csv'), 'waist')
    strikes = ankle_strikes(os.path.join(od, 'ankle.csv'))
    hc = [x['ic_s'] for x in contacts(hip)]
    act = {int(round(x['t_s'])): x['activity'] for x in hip if x['event'] == 'metrics'}
    w('## Outdoor run: hip cadence vs ankle left-foot strikes, minute by minute\n\n')
    w('Reference: left-foot strikes from the ankle unit (acceleration magnitude '
      'peaks above 3 g, 0.45 s refractory); cadence = 2 × strike rate. Hip: the '
      'engine\'s contacts; cadence = step rate. Both rates are (events − 1) / '
      '(last − first) within the minute. Compared minutes: the ankle strides '
      'are steady (every stride gap < 1 s, ≥ 70 strikes) and the engine says '
      '"running" at every tick of the minute.\n\n')
    w('| minute | ankle spm | hip spm | difference |\n|---|---|---|---|\n')
    diffs = []
    for k in range(25):
        a = [s for s in strikes if 60 * k <= s < 60 * (k + 1)]
        h = [s for s in hc if 60 * k <= s < 60 * (k + 1)]
        gaps = [b - a_ for a_, b in zip(a, a[1:])]
        running = all(act.get(s) == 'running' for s in range(60 * k + 1, 60 * (k + 1)))
        if len(a) < 70 or not gaps or max(gaps) >= 1.0 or not running:
            continue
        ra, rh = rate_spm(a, 2.0), rate_spm(h)
        diffs.append(rh - ra)
        w('| %d | %.1f | %.1f | %+.2f |\n' % (k, ra, rh, rh - ra))
    bad = [d for d in diffs if abs(d) > 1.0]
    w('\n%d minutes compared, largest |difference| %.2f spm, %d beyond 1 spm.\n\n' % (
        len(diffs), max(abs(d) for d in diffs) if diffs else float('nan'), len(bad)))
    if bad or not diffs:
        failures.append('outdoor: %d of %d minutes beyond 1 spm' % (len(bad), len(diffs)))

    segs = (('standing 6:49-8:03', 409 + 5, 483 - 5, 'standing'),
            ('walk and stops 12:25-14:10', 745 + 5, 850 - 5, 'not running'),
            ('faster running 22:55-23:50', 1375 + 5, 1430 - 5, 'running'),
            ('walking 23:50-25:00', 1430 + 5, 1499, 'not running'))
    w('| segment (README) | expected | ticks | running | walking | standing |\n'
      '|---|---|---|---|---|---|\n')
    for name, a, b, exp in segs:
        ticks = [act.get(s) for s in range(a, b) if s in act]
        cnt = {k: sum(1 for x in ticks if x == k) for k in ('running', 'walking', 'standing')}
        w('| %s | %s | %d | %d | %d | %d |\n' % (name, exp, len(ticks), cnt['running'],
                                                   cnt['walking'], cnt['standing']))
        frac_run = cnt['running'] / max(len(ticks), 1)
        if exp == 'not running' and frac_run > 0.05:
            failures.append('outdoor %s: %.0f %% of ticks running' % (name, 100 * frac_run))
        if exp == 'running' and frac_run < 0.9:
            failures.append('outdoor %s: only %.0f %% running' % (name, 100 * frac_run))
        if exp == 'standing' and cnt['standing'] / max(len(ticks), 1) < 0.9:
            failures.append('outdoor %s: not standing' % name)
    # side labelling, scored against the ankle's left-foot strikes
    hip_s = analyze(args.gaitctl, os.path.join(od, 'hip.csv'), 'sacrum')
    ok = bad = unk = 0
    for c in contacts(hip_s):
        near = min((abs(s_ - c['ic_s']) for s_ in strikes
                    if abs(s_ - c['ic_s']) < 0.5), default=9)
        left = near < 0.12
        if c['side'] == 'unknown':
            unk += 1
        elif (c['side'] == 'left') == left:
            ok += 1
        else:
            bad += 1
    w('\nSide labelling (lateral-acceleration vote, notes 5.4) run on the hip unit '
      'as if it were a midline mount, scored against the ankle (a hip contact '
      'within 0.12 s of a left-foot strike is left): %d right, %d wrong, %d '
      'unknown, accuracy %.1f %% of the labelled steps. A clip on one hip is '
      'too lopsided for this, so the engine reports no side (and no GCT '
      'balance) for `--mount waist`.\n\n' % (ok, bad, unk, 100.0 * ok / max(ok + bad, 1)))

    holes_section(w, args, od, hip)

    summ = [x for x in hip if x['event'] == 'summary']
    if summ:
        s = summ[-1]
        w('\nSummary of the outdoor run: duration %s s, running %s s, walking %s s, '
          'standing %s s, %s steps, median cadence %s spm.\n\n' % (
              s['duration_s'], s['running_s'], s['walking_s'], s['standing_s'],
              s['steps'], s['metrics']['cadence_spm']['median']))

    standing_section(w, os.path.join(od, 'hip.csv'), hip)

    # ---- verdict -----------------------------------------------------------
    w('## Failures and limits\n\n')
    if failures:
        for f_ in failures:
            w('* **%s**\n' % f_)
    else:
        w('* No target missed in this run.\n')
    if not check('cadence_err_spm', res['cadence_err_spm']):
        need = min((s_ for s_, m in cad_why['model'].items() if m <= TARGETS['cadence_err_spm'][1]),
                   key=lambda s_: -s_, default=None)
        per = cad_why['per']
        top = sorted(per, key=lambda x: -x['err'])[:4]
        eng_sd = cad_why['alts'][0][1]
        better = [a for a in cad_why['alts'][1:] if a[1] < eng_sd]
        w('* Why the cadence target is missed (section "Cadence error: where it comes '
          'from"): the scorer\'s cadence is 60 / the median of %d–%d IC-to-IC '
          'intervals per trial, and this runner\'s A and B steps differ by %.0f–%.0f ms '
          '(median %.0f ms), so the median sits at the edge of one cluster and follows '
          'the IC error of one or two contacts. Those errors are not a bias (a constant '
          'offset moves no interval) but within-trial jitter: SD %.2f ms pooled (mean '
          '|A − B| %.2f ms), interval error RMS %.2f ms. A detector with that jitter is '
          'expected to score %.2f spm here (measured %.2f); %s. %s The largest errors: '
          '%s.\n' % (
              min(x['n'] for x in per), max(x['n'] for x in per),
              min(x['gap'] for x in per), max(x['gap'] for x in per),
              st.median(x['gap'] for x in per),
              cad_why['sd'], cad_why['ab'], cad_why['ivl'],
              cad_why['model'][round(cad_why['sd'], 2)], res['cadence_err_spm'],
              ('reaching <= 1 spm in expectation needs a jitter of about %.1f ms' % need)
              if need is not None else 'no jitter level in the model reaches the target',
              ('None of the %d alternative IC features tried on the same channel has less '
               'jitter than the engine\'s (%.2f ms), and picking the one whose cadence error '
               'happens to be lowest on these %d trials would fit the noise of a '
               'median of about %.0f intervals, so the engine keeps its IC definition.' % (
                   len(cad_why['alts']) - 1, eng_sd, len(per),
                   st.median(x['n'] for x in per))) if not better else
              ('Less jitter than the engine\'s definition (%.2f ms, cadence error %.2f spm in '
               'the re-implementation) comes only from %s, yet the cadence error does not '
               'fall with it: the miss is set by a few contacts at the cluster edges (the '
               '"furthest contact" column, e.g. a slow first rise of the loading), not by the '
               'average jitter, so swapping the IC feature to win this figure on %d trials '
               'would be fitting noise; the engine keeps its IC definition.' % (
                   eng_sd, cad_why['alts'][0][3],
                   join_and(['"%s" (%.2f ms, %.2f spm)' % (b_[0], b_[1], b_[3])
                             for b_ in better]),
                   len(per))),
              '; '.join('trial %d %.2f spm (median interval %+.1f ms, A − B IC error %+.1f ms)'
                        % (x['trial'], x['err'], x['d'], x['ab']) for x in top)))
        w('* What this figure does not say: the cadence the engine reports (the live '
          '`cadence_spm`, a mean stride) is within %.2f spm of the force plate\'s on '
          'every trial (mean %.2f spm) over the same intervals (section "Cadence error: '
          'where it comes from"). The target is scored on the median interval, and '
          'that is the figure above.\n' % (cad_why['eng_max'], cad_why['eng_mean']))
    w('* Only one runner has force-plate truth; the contact constants are fitted '
      'on these trials (see Method). The 12 held-back trials are not in this repository.\n'
      '* Side (left/right) needs a mediolateral axis; the sacral trials have '
      'none, so side is "unknown" there.\n'
      '* Trunk lean / pelvic tilt is relative to the start of the run; braking '
      'and vertical oscillation come from integrated trunk acceleration and '
      'have no reference measurement here.\n')

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(md.getvalue())
    print('validate: %s' % line)
    print('validate: %d failure(s)%s' % (len(failures),
                                          ''.join('\n  - ' + x for x in failures)))
    print('validate: wrote %s' % args.out)
    # docs/validation.md is written either way; a missed target is a failure
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
