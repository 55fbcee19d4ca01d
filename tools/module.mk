# gaitctl: every tools/gaitctl*.c is part of it.
GAITCTL_SRCS := $(wildcard tools/gaitctl*.c)
BINS += $(BUILD)/gaitctl

$(BUILD)/gaitctl: $(patsubst %.c,$(BUILD)/%.o,$(GAITCTL_SRCS)) $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)
