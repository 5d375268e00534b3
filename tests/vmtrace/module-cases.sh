#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Drive the deliberate-bug module's lock-order cases (a ABBA, b cpuhp/cpus_read_lock, d rwsem
# read/write, e control) one after the other, so nothing deadlocks. Run under the tracer.
set -eu
d=/sys/kernel/debug/klt_testmod
echo 1 >$d/a1
echo 1 >$d/a2
echo 1 >$d/b
echo 0 >/sys/devices/system/cpu/cpu1/online # the ONLINE callback takes mutex_m on the way up
echo 1 >/sys/devices/system/cpu/cpu1/online
echo 1 >$d/d1
echo 1 >$d/d2
echo 1 >$d/e
echo 1 >$d/e
