#pragma once
/* struct akr_secret: secret bytes (a secret access key, a session token, a zip
 * password), allocated once at final size and wiped with OPENSSL_cleanse
 * before the memory is freed. Never log or print one. */

#include <stddef.h>
#include <stdint.h>

#include "lib/base/macro.h"

struct akr_secret {
	uint8_t *buf; /* NUL-terminated for convenience; len excludes the NUL */
	size_t len;
};

/** Copies @len bytes into a new secret. Returns NULL only on ENOMEM. Caller
 * frees with akr_secret_free(). */
struct akr_secret *akr_secret_new(const void *data, size_t len);
struct akr_secret *akr_secret_new_str(const char *s);
/** Wipes and frees; NULL does nothing. Returns NULL. */
struct akr_secret *akr_secret_free(struct akr_secret *s);
static inline const char *akr_secret_str(const struct akr_secret *s)
{
	return s ? (const char *)s->buf : NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct akr_secret *, akr_secret_free)

/** For parsers' memory hooks in sensitive mode (expat, yajl): free() and
 * realloc() that wipe the whole old block (malloc_usable_size) first. */
void akr_wipe_free(void *p);
void *akr_wipe_realloc(void *p, size_t size);
#define _cleanup_secret_ _cleanup_(akr_secret_freep)
