#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/base/secret.h"

struct akr_secret *akr_secret_new(const void *data, size_t len)
{
	struct akr_secret *s = malloc(sizeof(*s));

	if (!s || len == SIZE_MAX) {
		free(s);
		return NULL;
	}
	s->buf = malloc(len + 1);
	if (!s->buf) {
		free(s);
		return NULL;
	}
	if (len)
		memcpy(s->buf, data, len);
	s->buf[len] = '\0';
	s->len = len;
	return s;
}

struct akr_secret *akr_secret_new_str(const char *str)
{
	return akr_secret_new(str, strlen(str));
}

struct akr_secret *akr_secret_free(struct akr_secret *s)
{
	if (!s)
		return NULL;
	if (s->buf) {
		OPENSSL_cleanse(s->buf, s->len + 1);
		free(s->buf);
	}
	free(s);
	return NULL;
}

void akr_wipe_free(void *p)
{
	if (!p)
		return;
	OPENSSL_cleanse(p, malloc_usable_size(p));
	free(p);
}

void *akr_wipe_realloc(void *p, size_t size)
{
	size_t old;
	void *n;

	if (!p)
		return malloc(size);
	/* Never realloc in place: the old block must be wiped, not handed back. */
	n = malloc(size);
	if (!n)
		return NULL;
	old = malloc_usable_size(p);
	memcpy(n, p, old < size ? old : size);
	akr_wipe_free(p);
	return n;
}
