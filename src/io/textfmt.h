/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Text form of a trace (docs/text-format.md), private to src/io: what its parser files
 * (textfmt_lex.c: tokens, numbers, escapes; textfmt_sym.c: frames and locks; textfmt_parse.c:
 * directives and the driver; textfmt_event.c: event lines) and its writer (textfmt_write.c)
 * share. The parser is single pass, line by line, with no recursion; every lookup it does per
 * token is hashed, so its cost is linear in the input (it is fuzzed). The writer is canonical:
 * parsing its output and writing again gives the same bytes.
 */
#ifndef KLT_TEXTFMT_H
#define KLT_TEXTFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "container.h"
#include "trace.h"

#define TS_STEP 1000

struct tok {
	const char *s;
	size_t len;
	size_t col; /* 1-based */
};

struct parser {
	const char *name;
	struct klt_trace *t;
	struct klt_err *err;
	size_t line;
	struct tok *toks;
	size_t ntoks, tcap;
	uint64_t last_ts;
	bool have_ts;
	struct klt_hmap kinds; /* lock address -> the kind last seen (for unlock/contend-end) */
	struct klt_hmap stab;  /* interned stacks: (hash of frames, nr) -> stack id */
	uint64_t *frames;
	size_t fcap;
	uint64_t lock_k, func_k;
};

/* OPC_RAW: no positional arguments, every field by key (exit, and "ev-N" for future types) */
enum op_class { OPC_LOCK, OPC_CPUHP_ENTER, OPC_CPUHP_EXIT, OPC_PM, OPC_FUNC, OPC_RAW };

struct op_desc {
	const char *name;
	uint32_t type; /* enum klt_ev_type, or OP_LOCK_BOTH (outside the 16-bit event range) */
	uint8_t cls;
	uint8_t kind_opt;     /* 1: default srcu, 2: default last seen (else mutex), 0: required */
	uint8_t default_mode;
};

#define OP_LOCK_BOTH 0x10000u /* "lock": ATTEMPT then ACQUIRED; no event type can be it */

#define OP_LIST "lock, attempt, acquired, unlock, trylock, trylock-fail, srcu-read-lock, " \
	"srcu-read-unlock, synchronize-srcu, cpuhp-enter, cpuhp-exit, pm-begin, pm-end, " \
	"contend-begin, contend-end, exit, edge, func-enter, func-exit, init, ev-N"
#define KIND_LIST "mutex, rwsem, percpu-rwsem, spinlock, srcu, pthread-mutex, pthread-rwlock"
#define NUM_HINT "decimal or 0x-prefixed hex"

/* The operation of this name (not "ev-N"), or NULL. */
const struct op_desc *tx_op_by_name(const struct tok *tk);
/* The operation that writes events of this type ("lock" never: it is two), or NULL. */
const struct op_desc *tx_op_by_type(unsigned type);

static inline bool tx_tok_is(const struct tok *t, const char *s)
{
	size_t l = strlen(s);

	return t->len == l && !memcmp(t->s, s, l);
}

static inline bool tx_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* --- textfmt_lex.c ---------------------------------------------------------------------------- */

/* A token for an error message: at most 48 bytes, non-printables as '?'. */
const char *tx_show(const char *s, size_t len, char *buf, size_t blen);
/* "NAME:LINE:COL: message" into p->err; -EINVAL. */
int tx_perr(struct parser *p, size_t col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "NAME:LINE: out of memory" into p->err; -ENOMEM. */
int tx_oom(struct parser *p);
bool tx_parse_u64(const char *s, size_t len, uint64_t *out);
int tx_num_u64(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	       uint64_t *out);
int tx_num_u32(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	       uint32_t *out);
int tx_num_s32(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	       int32_t *out);
/* Decode \xHH escapes into a new string (*out, malloc'd). */
int tx_decode(struct parser *p, const char *s, size_t len, size_t col, const char *what,
	      char **out);
bool tx_all_digits(const char *s, size_t len);
/* Split [s, e) into p->toks; a '#' at the start or after a blank starts a comment. */
int tx_tokenize(struct parser *p, const char *s, const char *e);

/* --- textfmt_sym.c ---------------------------------------------------------------------------- */

/* FRAME: 0xADDR, SYMBOL or SYMBOL+0xOFF (a new SYMBOL gets a synthetic address). */
int tx_parse_frame(struct parser *p, const char *s, size_t len, size_t col, uint64_t *addr);
/* LOCK: NAME (static lock), 0xADDR (anonymous instance) or CLASS@0xADDR (explicit class). */
int tx_parse_lock(struct parser *p, const struct tok *tk, uint64_t *addr);
/* Room in p->frames for frame n, the one after frames 0..n-1: 0 or tx_oom(). */
int tx_frame_room(struct parser *p, size_t n);
/* FRAME;FRAME;... into p->frames, *nr of them. */
int tx_parse_frames(struct parser *p, const char *s, size_t len, size_t col, uint32_t *nr);

/* --- textfmt_parse.c, textfmt_event.c --------------------------------------------------------- */

/* The first stack id interned with these frames, or -1. */
int tx_stab_find(const struct parser *p, const uint64_t *ips, uint32_t nr);
/* Make the stack at id findable by its frames; the caller checked that none is (first id wins). */
int tx_stab_add(struct parser *p, uint32_t id);
/* One line of events: [TS] TID[/COMM] OP ARGS... key=value... */
int tx_event_line(struct parser *p);

#endif
