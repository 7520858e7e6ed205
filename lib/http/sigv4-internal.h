#pragma once
/* Shared between the files of the sigv4 module, split by concern, each
 * using only those before it:
 *   sigv4_hash.c       SHA-256 with one fetched context, HMAC-SHA256 with
 *                      its pads wiped, hex digests
 *   sigv4_canonical.c  the canonical request (header values, path, query,
 *                      the headers to sign) and the X-Amz-Date check
 *   sigv4_keycache.c   deriving the signing key and the cache of derived
 *                      keys
 *   sigv4.c            the string to sign, the signature and the signed
 *                      headers of a request */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "lib/http/sigv4.h"

struct akr_buf;

#define SIGV4_MAX_SECRET 256
#define SHA256_LEN 32

/* ---- sigv4_hash.c ---- */

/* SHA-256 with the algorithm fetched once and one context reused: with
 * OpenSSL 3, EVP_sha256() in every EVP_Digest() and HMAC() (EVP_Q_mac) look
 * the implementation up again each time, which cost more than the hashing
 * (about 40 % of the daemon's CPU per request went into signing). */
struct sha256 {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

/** Fetches the algorithm and a context into @h. Returns 0 or -EIO. */
int akr__sigv4_sha256_init(struct sha256 *h);
/** Frees what akr__sigv4_sha256_init() fetched; a zeroed @h is fine. */
void akr__sigv4_sha256_done(struct sha256 *h);
/** SHA-256 of @a then @b (may be empty) into @out. Returns 0 or -EIO. */
int akr__sigv4_sha256_2(struct sha256 *h, const void *a, size_t alen, const void *b, size_t blen,
			uint8_t out[static SHA256_LEN]);
/** HMAC-SHA256 of @data with @key into @out (may be @key). Returns 0 or -EIO. */
int akr__sigv4_hmac_sha256(struct sha256 *h, const uint8_t *key, size_t key_len, const void *data,
			   size_t len, uint8_t out[static SHA256_LEN]);
/** Lower-case hex SHA-256 of @data into @out, with @shared or (NULL) a
 * context fetched for the call. Returns 0 or -EIO. */
int akr__sigv4_sha256_hex_with(struct sha256 *shared, const void *data, size_t len,
			       char out[static AKR_SIGV4_HEX_LEN + 1]);

/* ---- sigv4_canonical.c ---- */

/** Whether @s (may be NULL) is an X-Amz-Date, "YYYYMMDDTHHMMSSZ". */
bool akr__sigv4_is_amz_date(const char *s);
/** akr_sigv4_canonical_request() hashing with @shared (may be NULL). */
int akr__sigv4_canonical_request(struct sha256 *shared, const struct akr_sigv4_request *req,
				 const char *amz_date, const char *session_token,
				 const struct akr_sigv4_options *opts, struct akr_buf *out,
				 struct akr_buf *ret_signed_headers);

/* ---- sigv4_keycache.c ---- */

/* Every derived key of one signature, wiped by a cleanup attribute on every path. */
struct sigv4_key_material {
	uint8_t secret[4 + SIGV4_MAX_SECRET]; /* "AWS4" + secret access key */
	uint8_t k[SHA256_LEN];                /* kDate, then kRegion, kService, kSigning */
	uint8_t mac[SHA256_LEN];
};

void akr__sigv4_key_material_wipe(struct sigv4_key_material *m);
/** The SHA-256 context of @c, for every hash of a signature made with it. */
struct sha256 *akr__sigv4_key_cache_sha256(struct akr_sigv4_key_cache *c);
/** Derives kSigning for @secret (@slen bytes, at most SIGV4_MAX_SECRET),
 * the date of @amz_date, @region and @service into @out. Returns 0 or -EIO. */
int akr__sigv4_derive_signing_key(struct sha256 *sha, const char *secret, size_t slen,
				  const char *amz_date, const char *region, const char *service,
				  uint8_t out[static SHA256_LEN]);
/** The hex signature of @string_to_sign with the signing key from @c,
 * derived and kept when missing. Returns 0 or -EIO. */
int akr__sigv4_cached_signature(struct akr_sigv4_key_cache *c, const char *secret, size_t slen,
				const char *amz_date, const char *region, const char *service,
				const char *string_to_sign, size_t len,
				char ret_hex[static AKR_SIGV4_HEX_LEN + 1]);
