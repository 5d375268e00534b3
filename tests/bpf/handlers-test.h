/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The fake locks and classes tests/bpf/handlers.bpf.c and tests/bpf/handlers.c share. */
#ifndef KLT_HANDLERS_TEST_H
#define KLT_HANDLERS_TEST_H

#define HT_LOCK_A 0xffff888100000000ull
#define HT_LOCK_B (HT_LOCK_A + 0x100)
#define HT_LOCK_C (HT_LOCK_A + 0x1000)
#define HT_LOCK_D (HT_LOCK_A + 0x1100)
#define HT_LOCK_F (HT_LOCK_A + 0x2000)
#define HT_LOCK_G (HT_LOCK_A + 0x2100)
#define HT_LOCK_H (HT_LOCK_A + 0x3000)
#define HT_LOCK_G1 (HT_LOCK_A + 0x5000) /* the guard scenario: G1, then P, then Q */
#define HT_LOCK_P (HT_LOCK_A + 0x5100)
#define HT_LOCK_Q (HT_LOCK_A + 0x5200)
/* the default-scope scenarios: a watched lock, three others, a VM object with two locks */
#define HT_LOCK_W (HT_LOCK_A + 0x6000)
#define HT_LOCK_E1 (HT_LOCK_A + 0x6100)
#define HT_LOCK_E2 (HT_LOCK_A + 0x6200)
#define HT_LOCK_E3 (HT_LOCK_A + 0x6300)
#define HT_OBJ (HT_LOCK_A + 0x10000)
#define HT_OFF1 0x18
#define HT_OFF2 0x2a0
#define HT_KEY_C 0xffffffff83000000ull
#define HT_KEY_D 0xffffffff83000010ull
#define HT_NAME_C "&t->c"
#define HT_NAME_D "&t->d"
/* the inode scenario: two directories' and two files' i_rwsem on one file system type */
#define HT_KEY_I 0xffffffff83000020ull
#define HT_NAME_I "&inode->i_rwsem"
#define HT_FSNAME "htfs"
enum { HT_DIR1, HT_DIR2, HT_FILE1, HT_FILE2, HT_NINODE };

#endif
