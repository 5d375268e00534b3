// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kvmorder: drive the KVM paths whose lock orders made the 2024 deadlock fixed upstream by
 * 44d17459626052a2 ("KVM: Use dedicated mutex to protect kvm_usage_count to avoid deadlock"),
 * each with a real ioctl or parameter write, from one thread (nothing has to race: a lock-order
 * checker needs each order once, as lockdep does):
 *
 *   KVM_CREATE_VM          kvm_enable_virtualization(): kvm_usage_lock (on the buggy kernels
 *                          cpu_hotplug_lock, then kvm_lock)
 *   nx_huge_pages write    set_nx_huge_pages(): kvm_lock, then each VM's kvm->slots_lock
 *   memslot delete         kvm_set_memslot(): kvm->slots_lock, synchronize_srcu(&kvm->srcu)
 *   KVM_SET_MSRS APIC base  inside the vCPU's kvm->srcu read side, clearing the APIC-base enable
 *                          bit: static_branch_inc() -> cpus_read_lock()
 *
 * Usage: kvmorder [-n ROUNDS] [-w SECS]. Loads kvm_amd first if /dev/kvm is missing, then waits
 * SECS (default 3) seconds: a tracer that was started first attaches its KVM hooks and watches
 * kvm_lock when it has read the module load from its ring buffer, a moment after the load
 * (docs/live-tracing.md, "Modules loaded while tracing"). Prints one line per step that failed
 * and a summary; exit 0 when every step ran, 1 otherwise, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APICBASE_BSP (1ull << 8)
#define APICBASE_ENABLE (1ull << 11)
#define APIC_DEFAULT_BASE 0xfee00000ull
#define NX_PARAM "/sys/module/kvm/parameters/nx_huge_pages"

static int failed;

static void fail(const char *what)
{
	fprintf(stderr, "kvmorder: %s: %s\n", what, errno ? strerror(errno) : "failed");
	failed++;
}

static int set_apic_base(int vcpu, unsigned long long val)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e.index = MSR_IA32_APICBASE;
	m.e.data = val;
	return ioctl(vcpu, KVM_SET_MSRS, &m) == 1 ? 0 : -1;
}

static int set_slot(int vm, unsigned slot, void *mem, unsigned long size, unsigned long gpa)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (unsigned long)mem,
	};

	return ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

static int write_param(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = -1;

	if (fd >= 0) {
		ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
		close(fd);
	}
	return ret;
}

static void one_vm(int kvm, int round)
{
	unsigned char *mem;
	int vm, vcpu;

	errno = 0;
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	/* an in-kernel local APIC, so the APIC-base MSR reaches kvm_lapic_set_base() */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		fail("KVM_CREATE_IRQCHIP");
	mem = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fail("mmap");
		close(vm);
		return;
	}
	if (set_slot(vm, 0, mem, 0x1000, 0x1000) < 0)
		fail("KVM_SET_USER_MEMORY_REGION slot 0");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0) {
		fail("KVM_CREATE_VCPU");
	} else {
		/* xAPIC off (static_branch_inc: cpus_read_lock) and on again */
		if (set_apic_base(vcpu, APIC_DEFAULT_BASE | APICBASE_BSP) < 0)
			fail("KVM_SET_MSRS APIC base disabled");
		if (set_apic_base(vcpu, APIC_DEFAULT_BASE | APICBASE_BSP | APICBASE_ENABLE) < 0)
			fail("KVM_SET_MSRS APIC base enabled");
	}
	/* a memory slot created and deleted (synchronize_srcu under slots_lock) */
	if (set_slot(vm, 1, mem + 0x1000, 0x1000, 0x100000) < 0)
		fail("KVM_SET_USER_MEMORY_REGION slot 1 create");
	if (set_slot(vm, 1, mem + 0x1000, 0, 0x100000) < 0)
		fail("KVM_SET_USER_MEMORY_REGION slot 1 delete");
	/* nx_huge_pages changed while the VM lives (kvm_lock, then its slots_lock) */
	if (access(NX_PARAM, W_OK) == 0 &&
	    (write_param(NX_PARAM, round & 1 ? "off" : "force") < 0 ||
	     write_param(NX_PARAM, round & 1 ? "force" : "off") < 0))
		fail("write " NX_PARAM);
	if (vcpu >= 0)
		close(vcpu);
	munmap(mem, 0x2000);
	close(vm);
}

int main(int argc, char **argv)
{
	int c, rounds = 3, wait = 3, kvm;

	while ((c = getopt(argc, argv, "n:w:h")) != -1) {
		switch (c) {
		case 'n': rounds = atoi(optarg); break;
		case 'w': wait = atoi(optarg); break;
		case 'h':
			printf("usage: kvmorder [-n ROUNDS] [-w SECS]\n");
			return 0;
		default:
			fprintf(stderr, "usage: kvmorder [-n ROUNDS] [-w SECS]\n");
			return 2;
		}
	}
	if (rounds < 1) {
		fprintf(stderr, "kvmorder: -n %d: need at least one round\n", rounds);
		return 2;
	}
	if (access("/dev/kvm", F_OK) != 0) {
		if (system("modprobe kvm_amd 2>/dev/null") != 0)
			fprintf(stderr, "kvmorder: modprobe kvm_amd failed\n");
		else if (wait > 0)
			sleep(wait);
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fail("open /dev/kvm");
		return 1;
	}
	for (int i = 0; i < rounds; i++)
		one_vm(kvm, i);
	close(kvm);
	printf("kvmorder: %d rounds, %d failed steps\n", rounds, failed);
	return failed ? 1 : 0;
}
