#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# fuzz-run.sh SECONDS FUZZER: one libFuzzer target for SECONDS on a copy of its
# committed corpus (tests/fuzz-corpus/NAME, read only: new inputs go to a
# temporary directory), its log beside it. `make fuzz` runs FUZZ_JOBS of these
# at once. Prints the fuzzer's last line; on a finding, its log's tail and
# exit 1.
secs=$1
f=$2
name=$(basename "$f")
corpus=tests/fuzz-corpus/${name#fuzz-}
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus"
if ! "$f" -max_total_time="$secs" -print_final_stats=0 -artifact_prefix="$f-" \
	"$work" "$corpus" > "$f.log" 2>&1; then
	echo "fuzz: $name FAILED, log $f.log:"
	tail -40 "$f.log"
	exit 1
fi
echo "fuzz: $name ${secs}s: $(grep -E '^#[0-9]+.*DONE' "$f.log" | tail -1)"
