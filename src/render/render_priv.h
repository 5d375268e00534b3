/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers shared by the renderers (render_names.c), not part of the public render API. */
#ifndef KLT_RENDER_PRIV_H
#define KLT_RENDER_PRIV_H

#include <stdint.h>

#include "render.h"

/* "sym+0xoff [mod]", or "0x<redacted>" for kernel addresses when the view redacts. */
const char *klt_render_addr(const struct klt_view *v, uint64_t addr, char *buf, size_t len);
/* Instance index of the lock at addr, or -1. */
int64_t klt_render_find_lock(const struct klt_view *v, uint64_t addr);
const char *klt_render_hold_name(const struct klt_view *v, const struct lg_hold *h, char *buf,
				 size_t len);
/* Finding kind as reports spell it (JSON "kind"). */
const char *klt_render_kind_name(unsigned kind);

/*
 * Human-readable output (text report, --stats, live findings) must not carry a terminal escape
 * sequence or a line break from a recording: bytes < 0x20 and 0x7f of s become \xNN in buf (cut
 * at an escape's boundary when buf is short). JSON and DOT escape in their own syntax.
 */
const char *klt_render_esc(const char *s, char *buf, size_t len);
/* The same, in place (buf holds a NUL-terminated string, len its size). */
char *klt_render_esc_inplace(char *buf, size_t len);

#endif
