# SPDX-License-Identifier: GPL-2.0-or-later
# form: the running-form detection core (pure: libc, libm, json-c).
FORM_SRCS := $(wildcard form/*.c)
$(eval $(call module_lib,form,$(FORM_SRCS)))
