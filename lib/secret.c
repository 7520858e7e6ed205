#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/secret.h"

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
