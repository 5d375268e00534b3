// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kvmfd: create a VM (and one vCPU) and hand the VM's file descriptor to a klt_testmod case
 * (default /sys/kernel/debug/klt_testmod/k), which then takes that VM's own locks in an order
 * rules/kvm.rules forbids. Exit status 0 when the write succeeded, 1 otherwise.
 *
 *   kvmfd [CASE_FILE]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/sys/kernel/debug/klt_testmod/k";
	int kvm, vm, vcpu, f;
	char buf[16];

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("kvmfd: /dev/kvm");
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0) {
		perror("kvmfd: KVM_CREATE_VM");
		return 1;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0) {
		perror("kvmfd: KVM_CREATE_VCPU");
		return 1;
	}
	f = open(path, O_WRONLY | O_CLOEXEC);
	if (f < 0) {
		fprintf(stderr, "kvmfd: %s: %s\n", path, strerror(errno));
		return 1;
	}
	snprintf(buf, sizeof(buf), "%d\n", vm);
	if (write(f, buf, strlen(buf)) < 0) {
		fprintf(stderr, "kvmfd: write %s: %s\n", path, strerror(errno));
		return 1;
	}
	close(f);
	close(vcpu);
	close(vm);
	close(kvm);
	return 0;
}
