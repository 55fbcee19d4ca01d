# SPDX-License-Identifier: GPL-2.0-or-later
# form: the running-form detection core (pure: libc, libm, json-c).
FORM_SRCS := $(wildcard form/*.c)
$(eval $(call module_lib,form,$(FORM_SRCS)))

# make validate: replay the shared recordings and score them (docs/validation.md).
DATA ?= ../shared/data
validate: $(BUILD)/gaitctl
	python3 form/validate.py --gaitctl $(BUILD)/gaitctl --data $(DATA) \
		--scorer $(DATA)/../tools/score-contacts --out docs/validation.md
