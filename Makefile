# SPDX-License-Identifier: GPL-2.0-or-later
# gaitkeeper top-level build. Each module adds its sources, binaries, tests
# and fuzz targets in its own <dir>/module.mk, included below.

BUILD      ?= build
PREFIX     ?= /usr/local
DESTDIR    ?=
FUZZ_SECONDS ?= 60
CC         ?= cc
FUZZ_CC    ?= clang

DEBIAN_PACKAGES := build-essential pkg-config clang libclang-rt-14-dev \
	llvm libsystemd-dev libconfig-dev libpaho-mqtt-dev libbluetooth-dev \
	libjson-c-dev libcmocka-dev dbus-daemon dbus-bin mosquitto \
	mosquitto-clients tshark python3 valgrind cppcheck clang-tools \
	systemd procps jq coreutils openssl

PKG_MODULES := libsystemd libconfig json-c bluez

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 \
	-Wmissing-declarations -Wredundant-decls -Wcast-align \
	-Werror=implicit-function-declaration -Werror=missing-prototypes \
	-Werror=return-type -Wno-unused-parameter -fno-common
ifeq ($(findstring clang,$(CC)),)
WARNINGS += -Wimplicit-fallthrough=5
else
WARNINGS += -Wimplicit-fallthrough
endif
ifeq ($(CI),true)
WARNINGS += -Werror
endif

OPT      ?= -O2 -g
SAN      ?=
CFLAGS   += -std=gnu17 $(OPT) $(WARNINGS) -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -MMD -MP $(SAN)
CPPFLAGS += -I. $(shell pkg-config --cflags $(PKG_MODULES) 2>/dev/null)
LDFLAGS  += -Wl,--as-needed $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKG_MODULES) 2>/dev/null) \
	-lpaho-mqtt3as -lm -lpthread

# Filled in by the module.mk files.
LIBS      :=
BINS      :=
TEST_BINS :=
FUZZERS   :=

.PHONY: all deps check test sanitize valgrind fuzz analyze install clean \
	run validate bench bench-form check-headers

all:

# Keep intermediate objects (test and fuzz .o files) between runs.
.SECONDARY:

# ---- libraries: one static archive per module ------------------------------
# $(call module_lib,name,sources) makes $(BUILD)/libgk<name>.a
define module_lib
$(BUILD)/libgk$(1).a: $(patsubst %.c,$(BUILD)/%.o,$(2))
	@mkdir -p $$(dir $$@)
	$$(AR) rcs $$@ $$^
LIBS += $(BUILD)/libgk$(1).a
endef

COMMON_SRCS := $(wildcard common/*.c)
$(eval $(call module_lib,common,$(COMMON_SRCS)))

-include proto/module.mk form/module.mk ble/module.mk config/module.mk \
	daemon/module.mk tools/module.mk tools/bluez-sim/module.mk \
	tools/demo/module.mk tools/bench/module.mk systemd/module.mk tests/module.mk

# Link order: users before what they use.
LINK_LIBS = $(filter $(BUILD)/libgkdaemon.a,$(LIBS)) \
	$(filter $(BUILD)/libgkble.a,$(LIBS)) \
	$(filter $(BUILD)/libgkconfig.a,$(LIBS)) \
	$(filter $(BUILD)/libgkform.a,$(LIBS)) \
	$(filter $(BUILD)/libgkproto.a,$(LIBS)) \
	$(BUILD)/libgkcommon.a

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# ---- tests: every tests/test-*.c is one cmocka binary -------------------------
TEST_SRCS := $(wildcard tests/test-*.c)
TEST_BINS += $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

$(BUILD)/tests/test-%: $(BUILD)/tests/test-%.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LINK_LIBS) $(LDLIBS) -lcmocka

# Every tests/fuzz-*.c also builds as a plain replay driver (gcc, no libFuzzer)
# so that `make check` runs the committed corpus under the normal toolchain.
FUZZ_SRCS := $(wildcard tests/fuzz-*.c)
FUZZ_REPLAYS := $(patsubst tests/%.c,$(BUILD)/tests/replay-%,$(FUZZ_SRCS))
FUZZERS += $(patsubst tests/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/tests/replay-%: $(BUILD)/tests/%.o $(BUILD)/tests/lib/fuzz-replay.o $(LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/lib/fuzz-replay.o $(LINK_LIBS) $(LDLIBS)

# libFuzzer builds: clang, ASan+UBSan, every pure module compiled in once
# (objects under $(BUILD)/fuzz/obj), then linked into each fuzzer.
# A module whose pure parser lives outside these adds it to FUZZ_EXTRA_SRCS.
FUZZ_LIB_SRCS = $(COMMON_SRCS) $(PROTO_SRCS) $(FORM_SRCS) $(CONFIG_SRCS) \
	$(FUZZ_EXTRA_SRCS)
FUZZ_LIB_OBJS = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(FUZZ_LIB_SRCS))
FUZZ_CFLAGS := -std=gnu17 -g -O1 -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -I.
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
		$(shell pkg-config --cflags $(PKG_MODULES)) -c -o $@ $<
$(BUILD)/fuzz/fuzz-%: $(BUILD)/fuzz/obj/tests/fuzz-%.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ \
		$(shell pkg-config --libs libconfig json-c) -lm

# LD_PRELOAD fault injection for integration tests (not sanitized: they only
# forward to the real function)
TEST_PRELOADS := $(BUILD)/tests/lib/paho-no-lost.so $(BUILD)/tests/lib/clock-step.so
$(BUILD)/tests/lib/%.so: tests/lib/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 -O2 -g $(WARNINGS) -shared -fPIC -o $@ $< -ldl

all: $(LIBS) $(BINS)

tests: $(TEST_BINS) $(FUZZ_REPLAYS) $(TEST_PRELOADS)

# ---- targets ---------------------------------------------------------------
deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "deps: installing$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else \
		echo "deps: missing packages; run:"; \
		echo "  sudo apt-get install -y$$missing"; \
		exit 1; \
	fi

check: all tests
	@GK_BUILD=$(BUILD) GK_VALGRIND=$(GK_VALGRIND) tests/run-tests.sh \
		$(TEST_BINS) $(FUZZ_REPLAYS) $(sort $(wildcard tests/it-*.sh))

test: deps
	$(MAKE) -j$$(nproc) all tests
	$(MAKE) check

sanitize: deps
	$(MAKE) BUILD=build-san OPT="-O1 -g -fno-omit-frame-pointer" \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" \
		check

valgrind: deps
	$(MAKE) BUILD=build-vg GK_VALGRIND=1 check

# Targets run FUZZ_JOBS at a time (default: one per core), each for
# FUZZ_SECONDS; new inputs stay out of tests/fuzz-corpus (tests/lib/fuzz-run.sh).
FUZZ_JOBS ?= $(shell nproc 2>/dev/null || echo 1)
fuzz: $(FUZZERS)
	@printf '%s\n' $(FUZZERS) | xargs -P $(FUZZ_JOBS) -n 1 tests/lib/fuzz-run.sh $(FUZZ_SECONDS)

# clang 14's analyzer and cppcheck 2.10 do not model __attribute__((cleanup)):
# every _cleanup_ variable shows as a leak (unix.Malloc, memleak) and every
# ownership hand-over (fd = -EBADF) as a dead store. Those checks are off here;
# leaks are caught at run time by `make sanitize` (LSan) and `make valgrind`.
analyze: deps
	rm -rf build-scan
	scan-build --status-bugs -disable-checker unix.Malloc \
		-disable-checker deadcode.DeadStores -o $(BUILD)/scan \
		$(MAKE) BUILD=build-scan all
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem --suppress=memleak \
		--suppress=resourceLeak -I. common proto form ble config daemon tools

check-headers:
	@set -e; for h in $$(git ls-files '*.h'); do \
		echo "#include \"$$h\"" | $(CC) $(CPPFLAGS) -std=gnu17 -Wall \
			-fsyntax-only -x c - || { echo "check-headers: $$h"; exit 1; }; \
	done; echo "check-headers: ok"

clean:
	rm -rf build build-san build-vg build-scan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
