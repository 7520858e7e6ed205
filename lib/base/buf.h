#pragma once
/* akr_buf: a growable byte buffer with a hard maximum fixed at creation.
 * Going past the maximum is an error (-E2BIG), never a silent realloc: every
 * buffer that holds data from outside (AWS answers) is bounded. A buffer marked
 * sensitive is wiped with OPENSSL_cleanse whenever memory is released or moved. */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/macro.h"

struct akr_buf {
	char *data;   /* always NUL-terminated when non-NULL (not counted in len) */
	size_t len;
	size_t cap;
	size_t max;   /* maximum len */
	bool sensitive;
};

/** An empty buffer that may grow to @max bytes, for initialising where declared. */
#define AKR_BUF_INIT(max_, sensitive_) ((struct akr_buf){ .max = (max_), .sensitive = (sensitive_) })

/** Initialises an empty buffer that may grow to @max bytes. Allocates nothing. */
void akr_buf_init(struct akr_buf *b, size_t max, bool sensitive);
/** Frees the memory (wiped first if sensitive) and resets to empty; keeps max. */
void akr_buf_done(struct akr_buf *b);
/** Truncates to zero length, keeping the allocation (wiped if sensitive). */
void akr_buf_reset(struct akr_buf *b);
/** Appends @n bytes. Returns 0, -E2BIG past the maximum, -ENOMEM. */
int akr_buf_append(struct akr_buf *b, const void *p, size_t n);
int akr_buf_append_str(struct akr_buf *b, const char *s);
int akr_buf_appendf(struct akr_buf *b, const char *fmt, ...) _printf_(2, 3);
int akr_buf_vappendf(struct akr_buf *b, const char *fmt, va_list ap) _printf_(2, 0);
/** Hands the data on as a malloc'ed NUL-terminated string (caller frees, with
 * OPENSSL_clear_free if sensitive); the buffer is left empty. Never NULL on
 * success: an empty buffer gives "". Returns 0 or -ENOMEM. */
int akr_buf_steal(struct akr_buf *b, char **ret);

static inline void akr_buf_donep(struct akr_buf *b)
{
	akr_buf_done(b);
}
#define _cleanup_buf_ _cleanup_(akr_buf_donep)
