# SPDX-License-Identifier: GPL-2.0-or-later
# bluez-sim: a simulated BlueZ 5.66 (org.bluez) with running sensors, for tests
# and the demo. Uses libsystemd, libm, common/ and form/ (the trace CSV parser).
BLUEZ_SIM_SRCS := $(wildcard tools/bluez-sim/*.c)
BINS += $(BUILD)/bluez-sim

$(BUILD)/bluez-sim: $(patsubst %.c,$(BUILD)/%.o,$(BLUEZ_SIM_SRCS)) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)

# The scripted BlueZ client used by tests/it-bluez-sim.sh.
BINS += $(BUILD)/bluez-sim-probe

$(BUILD)/bluez-sim-probe: $(BUILD)/tests/bluez-sim-probe/probe.o $(BUILD)/libgkcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(BUILD)/libgkcommon.a $(LDLIBS)

# The PMD control point request parser is pure: fuzzed (tests/fuzz-sim-pmd-request.c).
FUZZ_EXTRA_SRCS += tools/bluez-sim/pmd-request.c

# Its replay driver needs the parser too (it lives in no module library).
$(BUILD)/tests/replay-fuzz-sim-pmd-request: $(BUILD)/tests/fuzz-sim-pmd-request.o \
		$(BUILD)/tools/bluez-sim/pmd-request.o $(BUILD)/tests/lib/fuzz-replay.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)

# Its run model (tests/test-sim-trace.c) needs the trace code too.
$(BUILD)/tests/test-sim-trace: $(BUILD)/tests/test-sim-trace.o \
		$(BUILD)/tools/bluez-sim/trace.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS) -lcmocka
