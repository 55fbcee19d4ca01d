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
