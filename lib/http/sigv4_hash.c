/* The hashing under SigV4: one SHA-256 algorithm and context fetched and
 * reused, RFC 2104 HMAC-SHA256 with every block that holds key material
 * wiped, and hex digests; OpenSSL's errors are mapped here. Knows nothing of
 * requests or keys. */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "lib/base/macro.h"
#include "lib/base/strutil.h"
#include "lib/http/sigv4-internal.h"

#define SHA256_BLOCK 64

static int openssl_failed(void)
{
	/* Drained so that a later, unrelated OpenSSL call does not report it. */
	ERR_clear_error();
	return -EIO;
}

void akr__sigv4_sha256_done(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	h->ctx = NULL;
	h->md = NULL;
}

int akr__sigv4_sha256_init(struct sha256 *h)
{
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx) {
		akr__sigv4_sha256_done(h);
		return openssl_failed();
	}
	return 0;
}

/* @a then @b (may be empty) into @out. */
int akr__sigv4_sha256_2(struct sha256 *h, const void *a, size_t alen, const void *b, size_t blen,
			uint8_t out[static SHA256_LEN])
{
	unsigned n = 0;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, a, alen) != 1 ||
	    (blen && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != SHA256_LEN)
		return openssl_failed();
	return 0;
}

static int sha256_hex(struct sha256 *h, const void *data, size_t len,
		      char out[static AKR_SIGV4_HEX_LEN + 1])
{
	uint8_t md[SHA256_LEN];
	int r = akr__sigv4_sha256_2(h, data, len, NULL, 0, md);

	if (r < 0)
		return r;
	akr_hex_encode(md, SHA256_LEN, out);
	return 0;
}

/* Every block that holds key material in one HMAC, wiped on every path. */
struct hmac_pads {
	uint8_t key[SHA256_BLOCK];
	uint8_t pad[SHA256_BLOCK];
	uint8_t inner[SHA256_LEN];
};

static void hmac_pads_wipe(struct hmac_pads *p)
{
	OPENSSL_cleanse(p, sizeof(*p));
}

/* RFC 2104 HMAC-SHA256. @out may be @key. */
int akr__sigv4_hmac_sha256(struct sha256 *h, const uint8_t *key, size_t key_len, const void *data,
			   size_t len, uint8_t out[static SHA256_LEN])
{
	_cleanup_(hmac_pads_wipe) struct hmac_pads p = { 0 };
	int r;

	if (key_len > SHA256_BLOCK) {
		r = akr__sigv4_sha256_2(h, key, key_len, NULL, 0, p.key);
		if (r < 0)
			return r;
	} else
		memcpy(p.key, key, key_len);
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		p.pad[i] = p.key[i] ^ 0x36;
	r = akr__sigv4_sha256_2(h, p.pad, SHA256_BLOCK, data, len, p.inner);
	if (r < 0)
		return r;
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		p.pad[i] = p.key[i] ^ 0x5c;
	return akr__sigv4_sha256_2(h, p.pad, SHA256_BLOCK, p.inner, SHA256_LEN, out);
}

/* SHA-256 of @data into @out with @shared (the cache's, may be NULL: one
 * fetched for the call). */
int akr__sigv4_sha256_hex_with(struct sha256 *shared, const void *data, size_t len,
			       char out[static AKR_SIGV4_HEX_LEN + 1])
{
	struct sha256 sha = { 0 };
	int r;

	if (shared)
		return sha256_hex(shared, data, len, out);
	r = akr__sigv4_sha256_init(&sha);
	if (r < 0)
		return r;
	r = sha256_hex(&sha, data, len, out);
	akr__sigv4_sha256_done(&sha);
	return r;
}
