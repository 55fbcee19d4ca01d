# gaitctl: every tools/gaitctl*.c is part of it.
GAITCTL_SRCS := $(wildcard tools/gaitctl*.c)
BINS += $(BUILD)/gaitctl

$(BUILD)/gaitctl: $(patsubst %.c,$(BUILD)/%.o,$(GAITCTL_SRCS)) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)

# The summary report (tools/gaitctl-report.c) renders a document read from
# outside (a file, MQTT, the bus): unit-tested and fuzzed on its own, so its
# test and replay driver link that one object too.
FUZZ_EXTRA_SRCS += tools/gaitctl-report.c

$(BUILD)/tests/test-gaitctl-report: $(BUILD)/tests/test-gaitctl-report.o \
		$(BUILD)/tools/gaitctl-report.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS) -lcmocka

$(BUILD)/tests/replay-fuzz-report: $(BUILD)/tests/fuzz-report.o \
		$(BUILD)/tools/gaitctl-report.o $(BUILD)/tests/lib/fuzz-replay.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)
