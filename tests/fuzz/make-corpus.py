#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Regenerate the committed seed corpora under tests/fuzz/corpus/<target>/.

Usage (from the repository root): python3 tests/fuzz/make-corpus.py [TXT2KLT]
TXT2KLT is the helper built from tests/fuzz/txt2klt.c (text -> binary with the library);
without it the binary seeds derived from the fixtures are skipped (hand-made ones remain).
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- binary format (docs/trace-format.md) ------------------------------------------------------
HDR = b"KLTRACE\0" + struct.pack("<II", 1, 16)
INFO, SYMBOLS, STACKS, EVENTS, COUNTERS, END = 1, 2, 3, 4, 5, 6


def chunk(typ, payload, crc=None, magic=0x43544C4B, flags=0, plen=None):
    if crc is None:
        crc = zlib.crc32(payload) & 0xFFFFFFFF
    if plen is None:
        plen = len(payload)
    return struct.pack("<IHHII", magic, typ, flags, plen, crc) + payload


def info(**kv):
    keys = ["tool", "kernel", "machine", "hostname", "clock", "attach", "start_realtime_ns"]
    vals = {k: "" for k in keys}
    vals["start_realtime_ns"] = "0"
    vals.update(kv)
    return b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in vals.items())


def sym(addr, typ, name, mod=b"", size=0):
    return struct.pack("<QQcBH", addr, size, typ, len(mod), len(name)) + name + mod


def stack(sid, ips):
    return struct.pack("<iI", sid, len(ips)) + b"".join(struct.pack("<Q", i) for i in ips)


def event(typ=1, kind=1, mode=0, cpu=0, ts=1000, pid=1, tid=1, lock=0xffffffff82000000, ip=0,
          stack_id=-1, flags=0, aux0=0, aux1=0, aux2=0, comm=b"task"):
    return struct.pack("<HBBIQIIQQiIIIiI16s", typ, kind, mode, cpu, ts, pid, tid, lock, ip,
                       stack_id, flags, aux0, aux1, aux2, 0, comm)


def counter(name, value):
    return struct.pack("<B", len(name)) + name + struct.pack("<Q", value)


def end(n):
    return chunk(END, struct.pack("<Q", n))


def binary_seeds():
    t = "fuzz_tracefile"
    info_c = chunk(INFO, info(tool="0.1.0", kernel="6.5.0-1-amd64", machine="x86_64",
                              hostname="h", clock="monotonic", attach="fentry",
                              start_realtime_ns="1700000000000000000"))
    syms = chunk(SYMBOLS, sym(0xffffffff82000000, b"D", b"lock_a") +
                 sym(0xffffffff82000100, b"D", b"lock_b") +
                 sym(0xffffffffc0001000, b"T", b"kvm_vm_ioctl", b"kvm", 0x200) +
                 sym(0xffff888100000000, b"C", b"kvm->lock"))
    stks = chunk(STACKS, stack(0, [0xffffffffc0001010, 0xffffffff81000000]) + stack(3, [1]))
    evs = [event(typ=1, ts=1000, stack_id=0, ip=0xffffffffc0001010),
           event(typ=2, ts=1001, stack_id=0),
           event(typ=1, ts=1100, lock=0xffffffff82000100, stack_id=3),
           event(typ=2, ts=1101, lock=0xffffffff82000100),
           event(typ=3, ts=1200, lock=0xffffffff82000100),
           event(typ=3, ts=1300),
           event(typ=16, ts=1400, kind=2, mode=1, aux0=0x82000000, aux1=0xffffffff, aux2=0,
                 flags=(1 << 20) | (2 << 16)),
           event(typ=9, ts=1500, lock=0xffffffffc0001000, aux0=1, aux1=100, aux2=-5, flags=3),
           event(typ=10, ts=1501, aux0=1, aux1=100, aux2=-16),
           event(typ=11, ts=1600, kind=0, lock=0, aux0=5, aux1=2),
           event(typ=12, ts=1601, kind=0, lock=0, aux0=99, aux1=2),
           event(typ=13, ts=1700, aux0=0x12),
           event(typ=14, ts=1701, aux2=-4),
           event(typ=15, ts=1800, kind=0, lock=0),
           event(typ=200, ts=1900)]
    evc = chunk(EVENTS, b"".join(evs))
    cnt = chunk(COUNTERS, counter(b"ringbuf_full", 3) + counter(b"map_full", 0))
    full = HDR + info_c + syms + stks + evc + cnt + end(len(evs))
    put(t, "full.klt", full)
    put(t, "empty", b"")
    put(t, "header-only.klt", HDR)
    put(t, "short-header.klt", HDR[:11])
    put(t, "bad-magic.klt", b"KLTRACX\0" + HDR[8:] + info_c + end(0))
    put(t, "version2.klt", b"KLTRACE\0" + struct.pack("<II", 2, 16) + info_c + end(0))
    put(t, "header-size-big.klt", b"KLTRACE\0" + struct.pack("<II", 1, 0xFFFFFFF0) + info_c)
    put(t, "header-size-24.klt", b"KLTRACE\0" + struct.pack("<II", 1, 24) + b"\0" * 8 + info_c +
        end(0))
    put(t, "header-size-small.klt", b"KLTRACE\0" + struct.pack("<II", 1, 8) + info_c + end(0))
    put(t, "minimal.klt", HDR + chunk(INFO, info()) + end(0))
    put(t, "no-end.klt", HDR + info_c + evc)
    put(t, "truncated-chunk-header.klt", HDR + info_c + evc[:9])
    put(t, "truncated-payload.klt", HDR + info_c + syms + evc[:200])
    put(t, "bad-crc.klt", HDR + info_c + chunk(EVENTS, b"".join(evs[:2]), crc=0xDEADBEEF) + end(2))
    put(t, "bad-chunk-magic.klt", HDR + info_c + chunk(EVENTS, evs[0], magic=0x41414141) + end(1))
    put(t, "huge-len.klt", HDR + info_c + chunk(EVENTS, evs[0], plen=0xFFFFFFFF))
    put(t, "len-64MiB-plus-1.klt", HDR + info_c + chunk(EVENTS, evs[0], plen=(64 << 20) + 1))
    put(t, "len-64MiB-cut.klt", HDR + info_c + chunk(EVENTS, evs[0], plen=64 << 20))
    put(t, "events-not-80.klt", HDR + info_c + chunk(EVENTS, evs[0] + b"x") + end(1))
    put(t, "stack-id-neg.klt", HDR + chunk(STACKS, stack(-1, [1, 2])) + end(0))
    put(t, "stack-id-big.klt", HDR + chunk(STACKS, stack(1 << 24, [1])) + end(0))
    put(t, "stack-id-64k.klt", HDR + chunk(STACKS, stack(65535, [1])) + end(0))
    put(t, "stack-nr-huge.klt", HDR + chunk(STACKS, struct.pack("<iI", 0, 0xFFFFFFFF)) + end(0))
    put(t, "stack-nr-zero.klt", HDR + chunk(STACKS, stack(2, []) + stack(2, [5, 6])) + end(0))
    put(t, "sym-overrun.klt", HDR + chunk(SYMBOLS, struct.pack("<QQcBH", 1, 0, b"T", 200, 60000)
                                           + b"abc") + end(0))
    put(t, "sym-dup-empty.klt", HDR + chunk(SYMBOLS, sym(0x10, b"T", b"") + sym(0x10, b"T", b"x")
                                            + sym(0x10, b"Z", b"weird\n name", b"m o d")) + end(0))
    put(t, "sym-nul-name.klt", HDR + chunk(SYMBOLS, sym(0x20, b"D", b"a\0b", b"\0")) + end(0))
    put(t, "info-odd.klt", HDR + chunk(INFO, b"tool\0" + b"x" * 300 + b"\0kernel\0unterminated")
        + end(0))
    put(t, "info-long.klt", HDR + chunk(INFO, info(hostname="h" * 200, clock="c" * 40,
                                                   start_realtime_ns="99999999999999999999999"))
        + end(0))
    put(t, "counters-many.klt", HDR + chunk(COUNTERS, b"".join(counter(b"c%02d" % i, i)
                                                               for i in range(40))) + end(0))
    put(t, "counter-long-name.klt", HDR + chunk(COUNTERS, counter(b"n" * 255, 1)) + end(0))
    put(t, "counter-replace.klt", HDR + chunk(COUNTERS, counter(b"a", 1)) +
        chunk(COUNTERS, counter(b"a", 2) + counter(b"", 7)) + end(0))
    put(t, "unknown-chunk.klt", HDR + info_c + chunk(77, b"future stuff", flags=0xffff) +
        chunk(EVENTS, b"") + end(0))
    put(t, "end-short.klt", HDR + info_c + chunk(END, b"\1\2"))
    put(t, "end-then-data.klt", HDR + info_c + end(0) + evc + end(1))
    put(t, "weird-events.klt", HDR + chunk(EVENTS, event(typ=1, kind=250, mode=9, comm=b"\xff\n #=\\" * 3 + b"x")
                                           + event(typ=16, flags=0xffffffff, aux2=0x7fffffff)
                                           + event(typ=11, aux0=0xffffffff, kind=3)
                                           + event(typ=0) + event(typ=3, stack_id=-7)
                                           + event(typ=9, lock=0, flags=0x8)
                                           + event(typ=6, kind=0, mode=2)) + end(7))
    put(t, "ts-decreasing.klt", HDR + chunk(EVENTS, event(ts=5000) + event(ts=10) +
                                            event(ts=0xFFFFFFFFFFFFFFFF)) + end(3))
    return full


def fixture_inputs():
    out = []
    for d in ("tests/fixtures", "examples"):
        p = os.path.join(ROOT, d)
        if not os.path.isdir(p):
            continue
        for n in sorted(os.listdir(p)):
            if n.endswith(".txt"):
                out.append(os.path.join(p, n))
    return out


def text_seeds():
    t = "fuzz_textfmt"
    for path in fixture_inputs():
        with open(path, "rb") as f:
            put(t, os.path.basename(path), f.read())
    put(t, "empty", b"")
    put(t, "header.txt", "@klt-text 1\n")
    put(t, "directives.txt",
        "@klt-text 1\n@info kernel 6.12.107+deb12-amd64\n@info start 17\n@info attach text\n"
        "@sym 0xffffffffc0001000 T kvm_vm_ioctl size=0x200 [kvm]\n"
        "@sym 0xffff888100000000 C kvm->lock\n@sym 0xffffffff82000000 D kvm_lock\n"
        "@stack 0 kvm_vm_ioctl+0x10 0xffffffff81000000\n@stack 7 kvm_vm_ioctl\n"
        "@counter ringbuf_full 3\n@counter map_full 0\n"
        "10 1/qemu-kvm lock kvm_lock mutex stack=#0\n"
        "11 1/qemu-kvm lock kvm->lock@0xffff888100000000 mutex at=kvm_vm_ioctl+0x30\n"
        "20 1 unlock kvm->lock@0xffff888100000000\n21 1 unlock kvm_lock\n")
    put(t, "all-ops.txt",
        "1 5/a\\x20b lock cpu_hotplug_lock percpu-rwsem read\n"
        "2 5 attempt m1 mutex\n3 5 acquired m1 mutex\n4 5 trylock m2 spinlock\n"
        "5 5 trylock-fail m3 rwsem write\n6 5 srcu-read-lock kvm_srcu\n"
        "7 5 srcu-read-unlock kvm_srcu\n8 5 synchronize-srcu kvm_srcu\n"
        "9 5 cpuhp-enter cb=kvm_online_cpu hpcpu=1 state=100 idx=-1 atomic multi\n"
        "10 5 cpuhp-exit hpcpu=1 state=100 ret=-16\n11 5 pm-begin dpm_suspend val=2\n"
        "12 5 pm-end weird_phase val=0\n13 5 contend-begin m1 mutex flags=0x2\n"
        "14 5 contend-end m1 ret=-4\n15 5 exit\n"
        "16 5 edge m2 mutex held=m1 held-kind=mutex held-mode=read held-stack=#3 stack=#4\n"
        "17 5 unlock cpu_hotplug_lock pid=4 cpu=3 mode=read\n"
        "18 5 lock 0xffff888012345678 pthread-mutex kind=6 aux0=1 aux1=2 aux2=-3 flags=0x8\n"
        "19 5 lock rw pthread-rwlock rread\n")
    put(t, "no-ts.txt", "1 lock a mutex\n1 unlock a\n2/x lock b rwsem read\n")
    put(t, "errors-1.txt", "1000 101/worker lock\n")
    put(t, "errors-2.txt", "18446744073709551616 1 lock a mutex\n")
    put(t, "errors-3.txt", "1 4294967296 lock a mutex\n")
    put(t, "comm-long.txt", "1 1/0123456789abcdef lock a mutex\n2 1/0123456789abcdefg lock a mutex\n")
    put(t, "escapes.txt", "1 1/\\x00\\xff\\\\\\x lock a\\x20b mutex\n@sym 0x1 T f\\x0a\n")
    put(t, "crlf-nul.txt", b"@klt-text 1\r\n1 1 lock a mutex\r\n\x00\n1 1 unlock a\n")
    put(t, "stack-big-id.txt", "@stack 65535 0x1\n@stack 16777216 0x1\n")
    put(t, "stack-deep.txt", "@stack 0 " + " ".join("f%d+0x%x" % (i, i) for i in range(80)) + "\n"
        "1 1 lock a mutex stack=" + ";".join("g%d" % i for i in range(40)) + "\n")
    put(t, "class-at.txt", "1 1 lock cls@0x10 mutex\n2 1 lock cls@0x20 mutex\n"
        "3 1 lock @0x30 mutex\n4 1 lock cls@ mutex\n")
    put(t, "counters-33.txt", "".join("@counter c%d %d\n" % (i, i) for i in range(33)))


def rules_seeds(full_klt):
    t = "fuzz_rules"
    with open(os.path.join(ROOT, "rules", "kvm.rules"), "rb") as f:
        put(t, "kvm.rules", f.read())
    put(t, "empty", b"")
    put(t, "comment-only.rules", "# nothing\n\n   \t# more\n")
    put(t, "order-chain.rules", "order a > b > c > d kernel 6.3..6.11 # chain\n")
    put(t, "ranges.rules", "order a > b kernel 6.12..\norder a > b kernel ..6.2\n"
        "order a > b kernel 6.6\nwatch-suspend x y* z? kernel 5.10..6.1\n")
    put(t, "globs.rules", "order kvm->* > *_lock > ?x*?*\nwatch-suspend **** ?\n")
    put(t, "bad-1.rules", "order a>b\n")
    put(t, "bad-2.rules", "order a > b kernel 6.x\n")
    put(t, "bad-3.rules", "order a > b kernel 99999999999.1..\n")
    put(t, "bad-4.rules", "order a > > b\norder > a\nwatch-suspend\n")
    put(t, "bad-5.rules", "order a > b kernel\norder a > b kernel 6.3 kernel 6.4\n")
    put(t, "bad-nul.rules", b"order a > b\x00\n")
    put(t, "bad-name.rules", "order a$ > b\n")
    put(t, "bad-directive.rules", "ordre a > b\n")
    put(t, "tabs-crlf.rules", "\torder\ta\t>\tb\t\r\nwatch-suspend\tq\r\n")
    put(t, "no-newline.rules", "order a > b")
    put(t, "range-reversed.rules", "order a > b kernel 6.11..6.3\norder a > b kernel ..\n")
    put(t, "long-name.rules", "order " + "a" * 5000 + " > b\n")


def derived_binary(txt2klt):
    if not txt2klt:
        return
    with tempfile.TemporaryDirectory() as tmp:
        for path in fixture_inputs():
            out = os.path.join(tmp, os.path.basename(path)[:-4] + ".klt")
            r = subprocess.run([txt2klt, path, out])
            if r.returncode == 0:
                with open(out, "rb") as f:
                    data = f.read()
                put("fuzz_tracefile", os.path.basename(out), data)
                # each such file also gives a cut-off and a corrupted variant
                if "abba" in path or "kvm-6.5-srcu" in path:
                    put("fuzz_tracefile", os.path.basename(out)[:-4] + "-cut.klt",
                        data[: len(data) * 2 // 3])
                    b = bytearray(data)
                    b[len(b) // 2] ^= 0x40
                    put("fuzz_tracefile", os.path.basename(out)[:-4] + "-bitflip.klt", bytes(b))
    for n in os.listdir(os.path.join(ROOT, "examples")):
        if n.endswith(".klt"):
            with open(os.path.join(ROOT, "examples", n), "rb") as f:
                put("fuzz_tracefile", n, f.read())


if __name__ == "__main__":
    full = binary_seeds()
    derived_binary(sys.argv[1] if len(sys.argv) > 1 else None)
    text_seeds()
    rules_seeds(full)
    for t in sorted(os.listdir(CORPUS)):
        d = os.path.join(CORPUS, t)
        print("%-16s %3d files, %6d bytes" % (t, len(os.listdir(d)),
                                             sum(os.path.getsize(os.path.join(d, x))
                                                 for x in os.listdir(d))))
