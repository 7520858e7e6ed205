#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/base/buf.h"

void akr_buf_init(struct akr_buf *b, size_t max, bool sensitive)
{
	*b = (struct akr_buf){ .max = max, .sensitive = sensitive };
}

void akr_buf_done(struct akr_buf *b)
{
	if (b->data && b->sensitive)
		OPENSSL_cleanse(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void akr_buf_reset(struct akr_buf *b)
{
	if (!b->data)
		return;
	if (b->sensitive)
		OPENSSL_cleanse(b->data, b->len);
	b->len = 0;
	b->data[0] = '\0';
}

static int buf_reserve(struct akr_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return -E2BIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->sensitive) {
		/* No realloc: the old block must be wiped, not left to the allocator. */
		p = malloc(cap);
		if (!p)
			return -ENOMEM;
		if (b->data) {
			memcpy(p, b->data, b->len + 1);
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
	} else {
		p = realloc(b->data, cap);
		if (!p)
			return -ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return 0;
}

int akr_buf_append(struct akr_buf *b, const void *p, size_t n)
{
	int r = buf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int akr_buf_append_str(struct akr_buf *b, const char *s)
{
	return akr_buf_append(b, s, strlen(s));
}

int akr_buf_vappendf(struct akr_buf *b, const char *fmt, va_list ap)
{
	va_list aq;
	int n, r;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return -EINVAL;
	r = buf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int akr_buf_appendf(struct akr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = akr_buf_vappendf(b, fmt, ap);
	va_end(ap);
	return r;
}

int akr_buf_steal(struct akr_buf *b, char **ret)
{
	if (!b->data) {
		char *e = strdup("");
		if (!e)
			return -ENOMEM;
		*ret = e;
		return 0;
	}
	*ret = b->data;
	b->data = NULL;
	b->len = b->cap = 0;
	return 0;
}
