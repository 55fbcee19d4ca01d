#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Replace the generated block "<!-- NAME:begin ... -->" ... "<!-- NAME:end -->"
# of a markdown file with the contents of BODY (which carries both markers);
# nothing else is touched. Fails when the file has no such block.
# Usage: doc-markers.py DOC NAME BODY
import re
import sys

doc, name, body_path = sys.argv[1:4]
body = open(body_path).read()
text = open(doc).read()
pattern = re.compile(r"<!-- %s:begin.*?<!-- %s:end -->\n" % (re.escape(name), re.escape(name)),
                     re.S)
if not pattern.search(text):
    sys.exit("no %s markers in %s" % (name, doc))
open(doc, "w").write(pattern.sub(lambda m: body, text, count=1))
