#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Replace (or append) one "## <title>" section of a markdown file with the
# contents of another file, leaving the other sections alone.
import sys

path, title, body_path = sys.argv[1:4]
body = open(body_path).read().rstrip('\n') + '\n'
try:
    lines = open(path).read().splitlines(keepends=True)
except FileNotFoundError:
    lines = ['# Performance\n', '\n']
head = '## %s\n' % title
out, i, done = [], 0, False
while i < len(lines):
    if lines[i] == head:
        out += [head, '\n', body, '\n']
        i += 1
        while i < len(lines) and not lines[i].startswith('## '):
            i += 1
        done = True
        continue
    out.append(lines[i])
    i += 1
if not done:
    if out and out[-1].strip():
        out.append('\n')
    out += [head, '\n', body]
open(path, 'w').write(''.join(out).rstrip('\n') + '\n')
