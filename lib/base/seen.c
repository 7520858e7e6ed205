#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/base/seen.h"

#define MIN_CAP 16

void akr_seen_init(struct akr_seen *s, size_t max)
{
	*s = (struct akr_seen){ .max = max };
}

void akr_seen_done(struct akr_seen *s)
{
	if (!s)
		return;
	free(s->slots);
	akr_seen_init(s, s->max);
}

static int digest(const struct akr_seen *s, const void *data, size_t len, uint64_t *ret)
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint64_t d;
	int ok;

	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, s->salt, sizeof(s->salt)) == 1 &&
	     EVP_DigestUpdate(ctx, data, len) == 1 && EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || md_len < sizeof(d))
		return -EIO;
	memcpy(&d, md, sizeof(d));
	/* 0 marks an empty slot. */
	*ret = d ? d : 1;
	return 0;
}

/* The slot that holds @d, or the empty slot where it would go. */
static size_t probe(const uint64_t *slots, size_t cap, uint64_t d)
{
	size_t i = (size_t)(d & (cap - 1));

	while (slots[i] && slots[i] != d)
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct akr_seen *s)
{
	size_t ncap = s->cap ? s->cap * 2 : MIN_CAP;
	uint64_t *n;

	if (ncap < s->cap || ncap > SIZE_MAX / sizeof(*n))
		return -ENOMEM;
	n = calloc(ncap, sizeof(*n));
	if (!n)
		return -ENOMEM;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i])
			n[probe(n, ncap, s->slots[i])] = s->slots[i];
	free(s->slots);
	s->slots = n;
	s->cap = ncap;
	return 0;
}

int akr_seen_add(struct akr_seen *s, const void *data, size_t len)
{
	uint64_t d;
	size_t i;
	int r;

	if (!s->salted) {
		if (RAND_bytes(s->salt, sizeof(s->salt)) != 1)
			return -EIO;
		s->salted = true;
	}
	r = digest(s, data, len, &d);
	if (r < 0)
		return r;
	if (s->cap) {
		i = probe(s->slots, s->cap, d);
		if (s->slots[i])
			return 0;
	}
	if (s->n >= s->max)
		return -E2BIG;
	/* At most half full, so that probes stay short. */
	if ((s->n + 1) * 2 > s->cap) {
		r = grow(s);
		if (r < 0)
			return r;
	}
	s->slots[probe(s->slots, s->cap, d)] = d;
	s->n++;
	return 1;
}

bool akr_seen_contains(const struct akr_seen *s, const void *data, size_t len)
{
	uint64_t d;

	if (!s->salted || !s->cap || digest(s, data, len, &d) < 0)
		return false;
	return s->slots[probe(s->slots, s->cap, d)] != 0;
}
