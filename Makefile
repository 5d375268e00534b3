# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# kvmlocktrace build. Everything generated lives under $(OUTPUT) (default build/).

VERSION := 0.1.0
OUTPUT ?= build
prefix ?= /usr/local
DESTDIR ?=
bindir := $(prefix)/bin
datadir := $(prefix)/share/kvmlocktrace
libexecdir := $(prefix)/libexec/kvmlocktrace

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
ifeq ($(filter x86,$(ARCH)),)
$(error unsupported ARCH '$(ARCH)': only x86 (x86_64) has a committed vmlinux/<arch>/vmlinux.h; \
	run 'make vmlinux ARCH=$(ARCH)' on such a machine to add one)
endif
VMLINUX_H := vmlinux/$(ARCH)/vmlinux.h
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

CC ?= cc
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WARN := -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?= -O2 -g
override CFLAGS += $(WARN) -Werror -std=gnu11 -D_GNU_SOURCE -DKLT_VERSION='"$(VERSION)"'
override CPPFLAGS += -Iinclude -MMD -MP
LDLIBS_CORE := -ljson-c -lz
LDLIBS_TOOL := -lbpf -lelf $(LDLIBS_CORE)
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -D__KLT_BPF__ \
	-Iinclude -Ibpf -I$(dir $(VMLINUX_H)) -Wall -Werror

# src/ is layered (docs/architecture.md): core <- io <- render, core <- io <- live, and cli on top.
# Each folder is compiled with only the include paths of the layers it may use, so a core file
# that includes an io/, render/, live/ or cli/ header does not build. The library (libklt.a,
# linked by the unit tests, fuzzers and benches) is core + io + render: no libbpf, no terminal.
INC_core := -Isrc/core
INC_io := $(INC_core) -Isrc/io
INC_render := $(INC_io) -Isrc/render
INC_live := $(INC_io) -Isrc/live -I$(OUTPUT)
INC_cli := $(INC_render) -Isrc/live -Isrc/cli -I$(OUTPUT)
INC_ALL := $(INC_cli)
LIB_DIRS := core io render
TOOL_DIRS := live cli
LIB_SRCS := $(sort $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c)))
TOOL_SRCS := $(sort $(foreach d,$(TOOL_DIRS),$(wildcard src/$(d)/*.c)))
CORE_OBJS := $(LIB_SRCS:src/%.c=$(OUTPUT)/obj/%.o)
TOOL_OBJS := $(TOOL_SRCS:src/%.c=$(OUTPUT)/obj/%.o)
layer = $(INC_$(firstword $(subst /, ,$(1))))
BPF_SRCS := $(sort $(wildcard bpf/*.bpf.c))
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(OUTPUT)/%.bpf.o)
SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(OUTPUT)/%.skel.h)

UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(OUTPUT)/tests/%)
ASAN_DIR := $(OUTPUT)/asan
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
ASAN_UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(ASAN_DIR)/tests/%)
ASAN_CORE_OBJS := $(LIB_SRCS:src/%.c=$(ASAN_DIR)/obj/%.o)
ASAN_TOOL_OBJS := $(TOOL_SRCS:src/%.c=$(ASAN_DIR)/obj/%.o)

.PHONY: print-layer all clean install uninstall check check-unit deps vmlinux bench bench-lockdep tests-build demo unit
.DELETE_ON_ERROR:
# keep BPF objects: they are inputs of the skeletons and useful for bpftool inspection
.SECONDARY:

all: $(OUTPUT)/kvmlocktrace

$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/tests $(ASAN_DIR)/obj $(ASAN_DIR)/tests:
	$(Q)mkdir -p $@

# --- BPF -> skeleton ---------------------------------------------------------------------
$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
	$(Q)$(LLVM_STRIP) -g $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# --- userspace ---------------------------------------------------------------------------
$(OUTPUT)/obj/%.o: src/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(call layer,$*) $(CFLAGS) -c $< -o $@

# Where the installed binary finds rules/ and the VM harness.
$(OUTPUT)/obj/cli/cli_common.o $(ASAN_DIR)/obj/cli/cli_common.o $(OUTPUT)/obj/cli/cmd_vmtest.o \
	$(ASAN_DIR)/obj/cli/cmd_vmtest.o: override CFLAGS += -DKLT_DATADIR='"$(datadir)"' \
	-DKLT_LIBEXECDIR='"$(libexecdir)"'

$(OUTPUT)/libklt.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/kvmlocktrace: $(TOOL_OBJS) $(OUTPUT)/libklt.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS_TOOL) -o $@

# --- tests -------------------------------------------------------------------------------
$(OUTPUT)/tests/%: tests/unit/%.c $(OUTPUT)/libklt.a | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(INC_render) $(CFLAGS) -Itests/unit $< $(OUTPUT)/libklt.a -lcmocka $(LDLIBS_CORE) -o $@

$(ASAN_DIR)/obj/%.o: src/%.c | $(SKELS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(call layer,$*) $(CFLAGS) -O1 $(ASAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/libklt.a: $(ASAN_CORE_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

$(ASAN_DIR)/tests/%: tests/unit/%.c $(ASAN_DIR)/libklt.a | $(ASAN_DIR)/tests
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(CPPFLAGS) $(INC_render) $(CFLAGS) -O1 $(ASAN_FLAGS) -Itests/unit $< $(ASAN_DIR)/libklt.a -lcmocka $(LDLIBS_CORE) -o $@

$(ASAN_DIR)/kvmlocktrace: $(ASAN_TOOL_OBJS) $(ASAN_DIR)/libklt.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(ASAN_FLAGS) $^ $(LDLIBS_TOOL) -o $@

# tests/bpf-handlers.t: the lock handlers in raw_tp programs, their records checked (root).
$(OUTPUT)/tests/bpf-handlers.bpf.o: tests/bpf/handlers.bpf.c tests/bpf/handlers-test.h \
		bpf/state.bpf.h bpf/lockops.bpf.h include/klt_abi.h $(VMLINUX_H) | $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/bpf -c $< -o $@

$(OUTPUT)/tests/bpf-handlers: tests/bpf/handlers.c tests/bpf/handlers-test.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) -Itests/bpf $(CFLAGS) $< -lbpf -lelf -o $@

# Driver of the perf.data writer for tests/perfdata.t (plain and ASan builds).
$(OUTPUT)/tests/pd-write: tests/perfdata/pd-write.c $(OUTPUT)/libklt.a | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(INC_render) $(CFLAGS) $< $(OUTPUT)/libklt.a $(LDLIBS_CORE) -o $@

$(ASAN_DIR)/tests/pd-write: tests/perfdata/pd-write.c $(ASAN_DIR)/libklt.a | $(ASAN_DIR)/tests
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(CPPFLAGS) $(INC_render) $(CFLAGS) -O1 $(ASAN_FLAGS) $< $(ASAN_DIR)/libklt.a $(LDLIBS_CORE) -o $@

tests-build: $(OUTPUT)/kvmlocktrace $(UNIT_BINS) $(ASAN_UNIT_BINS) $(ASAN_DIR)/kvmlocktrace \
	$(OUTPUT)/bench/klt-gen $(OUTPUT)/tests/pd-write $(ASAN_DIR)/tests/pd-write \
	$(OUTPUT)/tests/bpf-handlers $(OUTPUT)/tests/bpf-handlers.bpf.o

# Build one unit test binary by name: make unit T=test_symtab
unit: $(OUTPUT)/tests/$(T)
	$(Q)$(OUTPUT)/tests/$(T)

# prove: a failed test's diagnostics (the tiers' "#" lines) in every run, CI's log included;
# passing runs print nothing more. PROVE_FLAGS=-v for everything.
PROVE_FLAGS ?= --failures --comments

# The README's test command: installs what it needs, builds, runs every test tier under prove.
check: deps
	$(Q)$(MAKE) --no-print-directory tests-build
	$(Q)KLT_BUILD=$(OUTPUT) prove $(PROVE_FLAGS) tests/*.t $(wildcard tests/vm/*.t)

# The host tiers only: tests/vm-*.t boot QEMU guests (make check runs those too).
check-unit: tests-build
	$(Q)KLT_BUILD=$(OUTPUT) prove $(PROVE_FLAGS) $(filter-out tests/vm-%.t,$(wildcard tests/*.t))

deps:
	$(Q)bash scripts/install-deps.sh

# The README's main command: set up, build, trace live with a built-in workload, then report on
# the bundled example recording.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)KLT_BUILD=$(OUTPUT) bash scripts/demo.sh

# --- bench -------------------------------------------------------------------------------
$(OUTPUT)/bench/klt-gen: bench/klt-gen.c $(OUTPUT)/libklt.a
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(INC_render) $(CFLAGS) $< $(OUTPUT)/libklt.a $(LDLIBS_CORE) -o $@

$(OUTPUT)/bench/empty.bpf.o: bench/empty.bpf.c $(VMLINUX_H) | $(OUTPUT)
	$(Q)mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bench/empty.skel.h: $(OUTPUT)/bench/empty.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name empty_bpf > $@

$(OUTPUT)/bench/klt-empty: bench/klt-empty.c $(OUTPUT)/bench/empty.skel.h $(OUTPUT)/obj/live/tracer_usym.o \
		$(OUTPUT)/libklt.a
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(INC_live) -I$(OUTPUT)/bench $(CFLAGS) $< $(OUTPUT)/obj/live/tracer_usym.o $(OUTPUT)/libklt.a \
		$(LDLIBS_TOOL) -o $@

# bench/handler-cost.sh: the lock handlers in raw_tp programs run by BPF_PROG_TEST_RUN, built
# against bpf/ and against the headers of HC_OLD (the handlers before lock initializers).
HC_OLD := f54dd36
$(OUTPUT)/bench/handler-cost.bpf.o: bench/handler-cost.bpf.c bpf/state.bpf.h bpf/lockops.bpf.h \
		include/klt_abi.h $(VMLINUX_H) | $(OUTPUT)
	$(Q)mkdir -p $(dir $@)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bench/hc-old/%.bpf.h:
	$(Q)mkdir -p $(dir $@)
	$(call msg,GIT,$@ from $(HC_OLD))
	$(Q)git show $(HC_OLD):bpf/$*.bpf.h > $@

$(OUTPUT)/bench/handler-cost-old.bpf.o: bench/handler-cost.bpf.c $(OUTPUT)/bench/hc-old/state.bpf.h \
		$(OUTPUT)/bench/hc-old/lockops.bpf.h include/klt_abi.h $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -I$(OUTPUT)/bench/hc-old -DKLT_HC_OLD $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bench/handler-cost: bench/handler-cost.c | $(OUTPUT)
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $< -lbpf -lelf -o $@

bench: $(OUTPUT)/kvmlocktrace $(OUTPUT)/bench/klt-gen $(OUTPUT)/bench/klt-empty
	$(Q)bash bench/engine.sh
	$(Q)bash bench/bpf-cost.sh
	$(Q)bash bench/handler-cost.sh
	$(Q)bash bench/overhead.sh
	$(Q)bash bench/userspace.sh
	$(Q)bash bench/storm.sh

# Lockdep as the oracle (issue 14): builds a production and a lockdep kernel from Debian's
# linux-source (tens of minutes each on 2 cores, cached), the same workload on both, one table.
bench-lockdep: $(OUTPUT)/kvmlocktrace
	$(Q)bash bench/lockdep-oracle.sh $(if $(SECS),--secs $(SECS))

# --- fuzzing: make fuzz-build | fuzz-short | fuzz [FUZZ_SECONDS=600] (tests/fuzz/README.md) ---
include tests/fuzz/fuzz.mk

# --- vmlinux.h ---------------------------------------------------------------------------
# Regenerate from kernel BTF: make vmlinux [VMLINUX_BTF=/path/to/vmlinux-or-btf]
vmlinux:
	$(call msg,GEN,$(VMLINUX_H) from $(VMLINUX_BTF))
	$(Q)mkdir -p $(dir $(VMLINUX_H))
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $(VMLINUX_H).tmp && mv $(VMLINUX_H).tmp $(VMLINUX_H)

# --- install -----------------------------------------------------------------------------
install: $(OUTPUT)/kvmlocktrace
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(datadir)/rules $(DESTDIR)$(datadir)/examples
	install -m 0755 $(OUTPUT)/kvmlocktrace $(DESTDIR)$(bindir)/kvmlocktrace
	install -m 0644 rules/*.rules $(DESTDIR)$(datadir)/rules/
	install -m 0644 examples/* $(DESTDIR)$(datadir)/examples/
	if [ -d tests/vm ]; then install -d $(DESTDIR)$(libexecdir)/vm && \
		cp -R tests/vm/. $(DESTDIR)$(libexecdir)/vm/; fi

uninstall:
	rm -f $(DESTDIR)$(bindir)/kvmlocktrace
	rm -rf $(DESTDIR)$(datadir) $(DESTDIR)$(libexecdir)

clean:
	rm -rf $(OUTPUT)

# The include paths of one layer, for tests/layers.t: make -s print-layer L=core
print-layer:
	@echo $(INC_$(L))

-include $(wildcard $(OUTPUT)/obj/*/*.d $(OUTPUT)/*.bpf.d $(ASAN_DIR)/obj/*/*.d $(OUTPUT)/tests/*.d $(ASAN_DIR)/tests/*.d)
