# SPDX-License-Identifier: GPL-2.0-or-later
# config/: libconfig loader and the schema table (libgkconfig.a).
CONFIG_SRCS := $(wildcard config/*.c)
$(eval $(call module_lib,config,$(CONFIG_SRCS)))
