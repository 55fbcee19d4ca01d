# SPDX-License-Identifier: GPL-2.0-or-later
# form: the running-form detection core (pure: libc, libm, json-c).
FORM_SRCS := $(wildcard form/*.c)
$(eval $(call module_lib,form,$(FORM_SRCS)))

# make validate: replay the shared recordings and score them (docs/validation.md).
DATA ?= ../shared/data
validate: $(BUILD)/gaitctl
	python3 form/validate.py --gaitctl $(BUILD)/gaitctl --data $(DATA) \
		--scorer $(DATA)/../tools/score-contacts --out docs/validation.md

# make bench-form: one hour of 200 Hz 6-axis data through the core
# (tools/form-bench.c); writes the "## Form core" section of docs/performance.md.
BINS += $(BUILD)/form-bench
# Only what it uses (LIBS is not complete yet when this file is read: a fresh
# `make bench-form` would link archives nothing has built).
FORM_BENCH_LIBS = $(BUILD)/libgkform.a $(BUILD)/libgkproto.a $(BUILD)/libgkcommon.a
$(BUILD)/form-bench: $(BUILD)/tools/form-bench.o $(FORM_BENCH_LIBS)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(FORM_BENCH_LIBS) $(LDLIBS)

bench-form: $(BUILD)/form-bench
	@mkdir -p $(BUILD)/bench
	$(BUILD)/form-bench data/demo/hip-run-5min30.csv $(BUILD)/bench/form.md \
		> $(BUILD)/bench/form.log
	python3 form/doc-section.py docs/performance.md "Form core" $(BUILD)/bench/form.md
	@cat $(BUILD)/bench/form.log
