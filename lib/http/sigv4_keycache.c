/* The signing key of SigV4: deriving kSigning (kDate, kRegion, kService,
 * wiped on every path) and the cache of derived keys, found by a digest of
 * the secret and replaced least recently used, with the signature made from
 * a cached key. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/base/macro.h"
#include "lib/base/strutil.h"
#include "lib/http/sigv4-internal.h"

void akr__sigv4_key_material_wipe(struct sigv4_key_material *m)
{
	OPENSSL_cleanse(m, sizeof(*m));
}

struct key_cache_entry {
	uint64_t last_use; /* 0: free */
	char date[9];      /* YYYYMMDD */
	char region[65];
	char service[65];
	uint8_t secret_digest[SHA256_LEN]; /* SHA-256 of the secret access key */
	uint8_t k_signing[SHA256_LEN];
};

struct akr_sigv4_key_cache {
	struct sha256 sha; /* fetched once for every signature made with the cache */
	uint64_t clock;
	uint64_t derived, hits;
	struct key_cache_entry e[AKR_SIGV4_KEY_CACHE_SIZE];
};

struct akr_sigv4_key_cache *akr_sigv4_key_cache_new(void)
{
	struct akr_sigv4_key_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (akr__sigv4_sha256_init(&c->sha) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

struct akr_sigv4_key_cache *akr_sigv4_key_cache_free(struct akr_sigv4_key_cache *c)
{
	if (!c)
		return NULL;
	akr__sigv4_sha256_done(&c->sha);
	OPENSSL_clear_free(c, sizeof(*c));
	return NULL;
}

void akr_sigv4_key_cache_stats(const struct akr_sigv4_key_cache *c, uint64_t *ret_derived,
			       uint64_t *ret_hits)
{
	*ret_derived = c ? c->derived : 0;
	*ret_hits = c ? c->hits : 0;
}

struct sha256 *akr__sigv4_key_cache_sha256(struct akr_sigv4_key_cache *c)
{
	return &c->sha;
}

/* kDate..kSigning of "AWS4" + @secret for the day of @amz_date. */
int akr__sigv4_derive_signing_key(struct sha256 *sha, const char *secret, size_t slen,
				  const char *amz_date, const char *region, const char *service,
				  uint8_t out[static SHA256_LEN])
{
	_cleanup_(akr__sigv4_key_material_wipe) struct sigv4_key_material km = { 0 };
	int r;

	memcpy(km.secret, "AWS4", 4);
	memcpy(km.secret + 4, secret, slen);
	r = akr__sigv4_hmac_sha256(sha, km.secret, 4 + slen, amz_date, 8, km.k);
	if (r >= 0)
		r = akr__sigv4_hmac_sha256(sha, km.k, SHA256_LEN, region, strlen(region), km.k);
	if (r >= 0)
		r = akr__sigv4_hmac_sha256(sha, km.k, SHA256_LEN, service, strlen(service), km.k);
	if (r >= 0)
		r = akr__sigv4_hmac_sha256(sha, km.k, SHA256_LEN, "aws4_request",
					   strlen("aws4_request"), km.k);
	if (r >= 0)
		memcpy(out, km.k, SHA256_LEN);
	return r;
}

/* The signature of @string_to_sign with the signing key from @c (derived and
 * kept when missing). Arguments are validated by the caller. */
int akr__sigv4_cached_signature(struct akr_sigv4_key_cache *c, const char *secret, size_t slen,
				const char *amz_date, const char *region, const char *service,
				const char *string_to_sign, size_t len,
				char ret_hex[static AKR_SIGV4_HEX_LEN + 1])
{
	_cleanup_(akr__sigv4_key_material_wipe) struct sigv4_key_material km = { 0 };
	struct key_cache_entry *hit = NULL, *victim = &c->e[0];
	int r;

	r = akr__sigv4_sha256_2(&c->sha, secret, slen, NULL, 0, km.k);
	if (r < 0)
		return r;
	for (size_t i = 0; i < AKR_SIGV4_KEY_CACHE_SIZE; i++) {
		struct key_cache_entry *e = &c->e[i];

		if (e->last_use < victim->last_use)
			victim = e;
		if (e->last_use && memcmp(e->date, amz_date, 8) == 0 &&
		    strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0 &&
		    CRYPTO_memcmp(e->secret_digest, km.k, SHA256_LEN) == 0) {
			hit = e;
			break;
		}
	}
	if (hit)
		c->hits++;
	else {
		hit = victim;
		OPENSSL_cleanse(hit, sizeof(*hit));
		r = akr__sigv4_derive_signing_key(&c->sha, secret, slen, amz_date, region, service,
						  hit->k_signing);
		if (r < 0) {
			OPENSSL_cleanse(hit, sizeof(*hit));
			return r;
		}
		memcpy(hit->date, amz_date, 8);
		memcpy(hit->region, region, strlen(region) + 1);
		memcpy(hit->service, service, strlen(service) + 1);
		memcpy(hit->secret_digest, km.k, SHA256_LEN);
		c->derived++;
	}
	hit->last_use = ++c->clock;
	r = akr__sigv4_hmac_sha256(&c->sha, hit->k_signing, SHA256_LEN, string_to_sign, len,
				   km.mac);
	if (r < 0)
		return r;
	akr_hex_encode(km.mac, SHA256_LEN, ret_hex);
	return 0;
}
