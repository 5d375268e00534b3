// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kvmloop: create, run and destroy tiny KVM virtual machines in a loop from several threads.
 *
 * Each iteration opens /dev/kvm, creates a VM with one 4 KiB memory slot holding a single `hlt`,
 * creates a vCPU in real mode pointing at it, runs it until KVM_EXIT_HLT and closes everything.
 * This exercises kvm_lock, kvm->lock, vcpu->mutex, slots_lock and SRCU on every iteration, and
 * (with CPU hotplug running concurrently) KVM's hotplug callbacks.
 *
 * Loads kvm_amd first if /dev/kvm is missing (on kernels whose kvm module has
 * enable_virt_at_load, loads kvm with enable_virt_at_load=0 first, so virtualization is enabled
 * by the first VM, as in the KVM-locking scenarios). Exit status: 0 when every run exited with
 * HLT, 1 otherwise, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_ADDR 0x1000

static int iterations = 10;
static int nthreads = 2;
static int verbose;
static atomic_int runs_ok;
static atomic_int runs_bad;

static int run_one(int tid, int it)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run = MAP_FAILED;
	unsigned char *mem = MAP_FAILED;
	int kvm = -1, vm = -1, vcpu = -1, ret = -1;
	long run_size = 0;
	const char *what = "open /dev/kvm";

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		goto out;
	what = "KVM_CREATE_VM";
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0)
		goto out;
	what = "mmap guest memory";
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		goto out;
	mem[0] = 0xf4; /* hlt */
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = GUEST_ADDR;
	region.memory_size = 0x1000;
	region.userspace_addr = (unsigned long)mem;
	what = "KVM_SET_USER_MEMORY_REGION";
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		goto out;
	what = "KVM_CREATE_VCPU";
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0)
		goto out;
	what = "KVM_GET_VCPU_MMAP_SIZE";
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		goto out;
	what = "mmap kvm_run";
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		goto out;
	what = "KVM_GET_SREGS";
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		goto out;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	what = "KVM_SET_SREGS";
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		goto out;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ADDR;
	regs.rflags = 0x2;
	what = "KVM_SET_REGS";
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		goto out;
	what = "KVM_RUN";
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		break;
	}
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "kvmloop: thread %d iteration %d: exit reason %u, expected HLT (%d)\n",
			tid, it, run->exit_reason, KVM_EXIT_HLT);
		errno = 0;
		what = NULL;
		goto out;
	}
	ret = 0;
out:
	if (ret && what)
		fprintf(stderr, "kvmloop: thread %d iteration %d: %s: %s\n", tid, it, what,
			strerror(errno));
	if (run != MAP_FAILED)
		munmap(run, run_size);
	if (vcpu >= 0)
		close(vcpu);
	if (mem != MAP_FAILED)
		munmap(mem, 0x1000);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return ret;
}

static void *worker(void *arg)
{
	int tid = (int)(long)arg;

	for (int i = 0; i < iterations; i++) {
		if (run_one(tid, i) == 0)
			atomic_fetch_add(&runs_ok, 1);
		else
			atomic_fetch_add(&runs_bad, 1);
	}
	return NULL;
}

static void load_kvm(void)
{
	if (access("/dev/kvm", F_OK) == 0)
		return;
	/* 6.12+: keep virtualization off until the first VM (kvm_enable_virtualization()). */
	if (access("/sys/module/kvm", F_OK) != 0 &&
	    system("modinfo -F parm kvm 2>/dev/null | grep -q '^enable_virt_at_load:'") == 0) {
		if (system("modprobe kvm enable_virt_at_load=0") != 0)
			fprintf(stderr, "kvmloop: modprobe kvm enable_virt_at_load=0 failed\n");
	}
	if (system("modprobe kvm_amd") != 0)
		fprintf(stderr, "kvmloop: modprobe kvm_amd failed\n");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: kvmloop [-n ITERATIONS] [-t THREADS] [-v]\n"
		   "  run ITERATIONS tiny hlt VMs in each of THREADS threads (default 10 x 2)\n");
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	pthread_t *tids;
	double secs;
	int c;

	while ((c = getopt(argc, argv, "n:t:vh")) != -1) {
		switch (c) {
		case 'n': iterations = atoi(optarg); break;
		case 't': nthreads = atoi(optarg); break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (iterations < 1 || nthreads < 1 || nthreads > 256) {
		usage(stderr);
		return 2;
	}
	load_kvm();
	tids = calloc(nthreads, sizeof(*tids));
	if (!tids)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, worker, (void *)i) != 0) {
			fprintf(stderr, "kvmloop: pthread_create failed\n");
			return 1;
		}
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("kvmloop: %d threads x %d iterations: %d HLT exits, %d failures in %.2f s\n",
	       nthreads, iterations, atomic_load(&runs_ok), atomic_load(&runs_bad), secs);
	free(tids);
	return atomic_load(&runs_bad) == 0 && atomic_load(&runs_ok) == nthreads * iterations ? 0 : 1;
}
