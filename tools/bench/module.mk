# SPDX-License-Identifier: GPL-2.0-or-later
# tools/bench: whole-daemon resource and latency bench (make bench-daemon) and
# the soak (make soak; the short version is tests/it-soak.sh in make check).
BINS += $(BUILD)/bench-notify-stamp

$(BUILD)/bench-notify-stamp: $(BUILD)/tools/bench/notify-stamp.o $(BUILD)/libgkcommon.a
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libgkcommon.a $(LDLIBS)

# Not in BINS: built without $(SAN) (it is preloaded into a plain build only).
$(BUILD)/bench-nodelay.so: tools/bench/nodelay.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 -O2 $(WARNINGS) -fPIC -shared -o $@ $< -ldl

BENCH_SECONDS ?= 60
# make soak: the 30-minute CI soak of R5 (tests/it-soak.sh, longer); a fault
# every SOAK_FAULT_EVERY s, RSS compared from SOAK_REF s on (every fault kind
# has run once by then). Writes its figures into docs/reliability.md.
SOAK_SECONDS ?= 1800
SOAK_FAULT_EVERY ?= 30
SOAK_REF ?= 240

.PHONY: bench-daemon soak
# Writes the "## Whole daemon" section of docs/performance.md.
bench-daemon: $(BUILD)/gaitkeeperd $(BUILD)/bluez-sim $(BUILD)/bluez-sim-probe \
		$(BUILD)/bench-notify-stamp $(BUILD)/bench-nodelay.so
	GK_BUILD=$(BUILD) BENCH_SECONDS=$(BENCH_SECONDS) tools/bench/bench-daemon.sh \
		--doc docs/performance.md

soak: $(BUILD)/gaitkeeperd $(BUILD)/bluez-sim
	GK_BUILD=$(BUILD) SOAK_SECONDS=$(SOAK_SECONDS) SOAK_FAULT_EVERY=$(SOAK_FAULT_EVERY) \
		SOAK_REF=$(SOAK_REF) SOAK_DOC=docs/reliability.md bash tests/it-soak.sh
