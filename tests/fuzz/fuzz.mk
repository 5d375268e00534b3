# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# libFuzzer targets (tests/fuzz/README.md). Included from the top-level Makefile:
#
#   include tests/fuzz/fuzz.mk
#
#   make fuzz-build                 build $(OUTPUT)/fuzz/fuzz_{tracefile,textfmt,rules}
#   make fuzz-short                 each target FUZZ_SHORT_SECONDS (30) from a copy of its corpus
#   make fuzz [FUZZ_SECONDS=600]    long run per target, FUZZ_JOBS parallel workers (2)
#   make fuzz-one T=fuzz_rules      long run of one target
#
# New inputs found by `fuzz`/`fuzz-short` go to $(OUTPUT)/fuzz/corpus/<target> (not the committed
# seed corpus); crashes go to $(OUTPUT)/fuzz/artifacts/<target>/. `make fuzz-merge` minimizes
# the grown corpus back into tests/fuzz/corpus/<target> (review before committing).

# Defaults so the fragment also works alone: make -f tests/fuzz/fuzz.mk fuzz-build
OUTPUT ?= build
VERSION ?= 0.0.0

FUZZ_CC ?= clang
FUZZ_CFLAGS ?= -g -O1 -fno-omit-frame-pointer
FUZZ_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_DIR := $(OUTPUT)/fuzz
FUZZ_TARGETS := fuzz_tracefile fuzz_textfmt fuzz_rules
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 600
FUZZ_SHORT_SECONDS ?= 30
FUZZ_JOBS ?= 2
FUZZ_RSS_MB ?= 2048
FUZZ_TIMEOUT ?= 25
FUZZ_MAX_LEN ?= 16384
FUZZ_RUN_FLAGS = -rss_limit_mb=$(FUZZ_RSS_MB) -timeout=$(FUZZ_TIMEOUT) -max_len=$(FUZZ_MAX_LEN) \
	-print_final_stats=1
FUZZ_ASAN_OPTIONS ?= detect_leaks=1:allocator_may_return_null=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1
FUZZ_UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

# Every target links the whole library (src/core, src/io, src/render: what libklt.a holds), built
# with the fuzzer's sanitizers; the linker keeps what the target reaches.
FUZZ_LIB_SRCS := $(sort $(wildcard src/core/*.c src/io/*.c src/render/*.c))
FUZZ_LIB_HDRS := $(sort $(wildcard src/core/*.h src/io/*.h src/render/*.h include/*.h))
FUZZ_SRCS_fuzz_tracefile := $(FUZZ_LIB_SRCS)
FUZZ_SRCS_fuzz_textfmt := $(FUZZ_LIB_SRCS)
FUZZ_SRCS_fuzz_rules := $(FUZZ_LIB_SRCS)
FUZZ_LIBS_fuzz_tracefile := -ljson-c -lz
FUZZ_LIBS_fuzz_textfmt := -ljson-c -lz
FUZZ_LIBS_fuzz_rules := -ljson-c -lz

.PHONY: fuzz-build fuzz-short fuzz fuzz-one fuzz-merge fuzz-clean

fuzz-build: $(FUZZ_BINS)

$(FUZZ_DIR):
	$(Q)mkdir -p $@

# One link rule per target (no .SECONDEXPANSION, so including this changes nothing else).
define fuzz_bin_rule
$(FUZZ_DIR)/$(1): tests/fuzz/$(1).c tests/fuzz/fuzz_common.h $(FUZZ_SRCS_$(1)) \
		$(FUZZ_LIB_HDRS) | $(FUZZ_DIR)
	$$(call msg,FUZZ-CC,$$@)
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(FUZZ_SAN) -std=gnu11 -D_GNU_SOURCE \
		-DKLT_VERSION='"$$(VERSION)"' -Iinclude -Isrc/core -Isrc/io -Isrc/render -Itests/fuzz \
		$$< $(FUZZ_SRCS_$(1)) $(FUZZ_LIBS_$(1)) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_bin_rule,$(t))))

# One run: $(1) = target, $(2) = libFuzzer budget flags, $(3) = parallel flags
define fuzz_run
	@mkdir -p $(FUZZ_DIR)/corpus/$(1) $(FUZZ_DIR)/artifacts/$(1)
	@echo "== $(1): $(2) $(3)"
	cd $(FUZZ_DIR)/artifacts/$(1) && \
	ASAN_OPTIONS=$(FUZZ_ASAN_OPTIONS) UBSAN_OPTIONS=$(FUZZ_UBSAN_OPTIONS) \
	$(abspath $(FUZZ_DIR))/$(1) $(FUZZ_RUN_FLAGS) $(2) $(3) \
		-dict=$(abspath tests/fuzz/$(1).dict) \
		-artifact_prefix=$(abspath $(FUZZ_DIR))/artifacts/$(1)/ \
		$(abspath $(FUZZ_DIR))/corpus/$(1) $(abspath tests/fuzz/corpus/$(1))

endef

fuzz-short: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),-max_total_time=$(FUZZ_SHORT_SECONDS),))

fuzz: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),-max_total_time=$(FUZZ_SECONDS),\
		-fork=$(FUZZ_JOBS) -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1))

fuzz-one: $(FUZZ_DIR)/$(T)
	$(call fuzz_run,$(T),-max_total_time=$(FUZZ_SECONDS),\
		-fork=$(FUZZ_JOBS) -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)

fuzz-merge: $(FUZZ_BINS)
	$(foreach t,$(FUZZ_TARGETS),$(FUZZ_DIR)/$(t) -merge=1 tests/fuzz/corpus/$(t) \
		$(FUZZ_DIR)/corpus/$(t);)

fuzz-clean:
	rm -rf $(FUZZ_DIR)
