// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kvmhold: create one KVM VM and keep it until killed (SIGTERM/SIGINT), then exit 0.
 *
 * KVM's first live VM enables the preempt-notifier static key and the last one disables it:
 * with VMs created and destroyed one at a time the kernel re-patches __schedule's text at every
 * VM. QEMU's TCG can then run a stale translation of the patched text ("Oops: int3" in code
 * nobody probes, tests/vm/README.md). One VM held for the whole workload keeps the key on, so
 * the VM churn around it patches nothing. Exit 1 if the VM cannot be created.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm;

	if (kvm < 0) {
		fprintf(stderr, "kvmhold: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "kvmhold: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("kvmhold: holding a VM\n");
	fflush(stdout);
	while (!stop)
		pause();
	close(vm);
	close(kvm);
	return 0;
}
