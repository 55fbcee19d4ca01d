# SPDX-License-Identifier: GPL-2.0-or-later
# proto/: pure GATT payload decoders and their JSON encoders (libgkproto.a).
PROTO_SRCS := $(wildcard proto/*.c)
$(eval $(call module_lib,proto,$(PROTO_SRCS)))
