# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# VM-tier helpers sourced by the tests/vm-*.t scripts (after tests/lib/tap.sh, from the top of
# the work tree).
VMSH=tests/vm/vm.sh

# A machine without qemu skips the whole script (a guest that cannot boot is a failure).
vm_require_qemu() {
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "1..0 # SKIP qemu-system-x86_64 not installed (make deps)"
		exit 0
	fi
}

# vm_prepare K OUT [workloads]: a fresh OUT, then kernel K, its initramfs, the workload
# binaries (if asked) and the test module built for K; sets $ko to the module. Logs to
# OUT/prep.log; on failure one failed test line with the log, and status 1.
vm_prepare() {
	local k=$1 out=$2 wl=${3:-}
	rm -rf "$out"; mkdir -p "$out"
	if ! "$VMSH" fetch "$k" >"$out/prep.log" 2>&1 || ! "$VMSH" initramfs "$k" >>"$out/prep.log" 2>&1 ||
	   { [ -n "$wl" ] && ! "$VMSH" workloads >>"$out/prep.log" 2>&1; } ||
	   ! ko=$("$VMSH" module "$k" 2>>"$out/prep.log"); then
		nok "$k: fetch/initramfs/${wl:+workloads/}module build"
		tail -n 25 "$out/prep.log" | quote
		return 1
	fi
}
