# SPDX-License-Identifier: GPL-2.0-or-later
# daemon/: gaitkeeperd. Everything but main.c goes into libgkdaemon.a so
# tests can link it; main.c only parses the command line and runs the loop.
DAEMON_SRCS := $(filter-out daemon/main.c,$(wildcard daemon/*.c))
$(eval $(call module_lib,daemon,$(DAEMON_SRCS)))

# The MQTT command parser is pure (json-c only): fuzzed with the pure modules.
FUZZ_EXTRA_SRCS += daemon/mqtt-command.c

BINS += $(BUILD)/gaitkeeperd

$(BUILD)/gaitkeeperd: $(BUILD)/daemon/main.o $(LIBS)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LINK_LIBS) $(LDLIBS)

# Regenerate the schema-driven reference files (test-config checks them).
.PHONY: config-docs
config-docs: $(BUILD)/gaitkeeperd
	$(BUILD)/gaitkeeperd --dump-schema=markdown > docs/config.md
	$(BUILD)/gaitkeeperd --dump-schema=example > config/gaitkeeper.conf.example

# Measure the MQTT/spool figures and write them into docs/reliability.md.
.PHONY: reliability-figures
reliability-figures: $(BUILD)/gaitkeeperd $(BUILD)/bluez-sim $(BUILD)/tests/test-spool
	GK_BUILD=$(BUILD) daemon/reliability-figures.sh

# The spool's replay of its file reads whatever the disk holds: fuzzed by
# tests/fuzz-spool.c with arbitrary file contents. It does file I/O, so it
# is added to that fuzzer only, not to the pure modules every fuzzer links.
$(BUILD)/fuzz/fuzz-spool: $(BUILD)/fuzz/obj/daemon/spool.o
