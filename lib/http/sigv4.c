/* SigV4 signing (aws-wire.md §2): the string to sign, the signature, and
 * the signed headers of a request (Authorization, X-Amz-Date,
 * X-Amz-Security-Token) with or without a key cache. The canonical request
 * is sigv4_canonical.c's, the signing key sigv4_keycache.c's, the hashing
 * sigv4_hash.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/base/buf.h"
#include "lib/base/macro.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"
#include "lib/http/sigv4-internal.h"
#include "lib/http/sigv4.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
/* Canonical requests carry session tokens (often > 1000 bytes) and headers,
 * never bodies: 1 MiB is far beyond anything real. */
#define SIGV4_MAX_CANONICAL (1024 * 1024)

/* Region and signing name end up in the credential scope and the
 * Authorization header: a strict alphabet keeps both unambiguous. */
static bool is_scope_part(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static int string_to_sign(struct sha256 *shared, const char *amz_date, const char *region,
			  const char *service, const char *canonical, size_t len,
			  struct akr_buf *out)
{
	char hash[AKR_SIGV4_HEX_LEN + 1];
	int r;

	if (!akr__sigv4_is_amz_date(amz_date) || !is_scope_part(region) ||
	    !is_scope_part(service) || !canonical)
		return -EINVAL;
	r = akr__sigv4_sha256_hex_with(shared, canonical, len, hash);
	if (r < 0)
		return r;
	return akr_buf_appendf(out, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date,
			       amz_date, region, service, hash);
}

int akr_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
			     const char *canonical_request, size_t len, struct akr_buf *out)
{
	return string_to_sign(NULL, amz_date, region, service, canonical_request, len, out);
}

int akr_sigv4_signature(const char *secret_access_key, const char *amz_date, const char *region,
			const char *service, const char *string_to_sign, size_t len,
			char ret_hex[static AKR_SIGV4_HEX_LEN + 1])
{
	_cleanup_(akr__sigv4_key_material_wipe) struct sigv4_key_material km = { 0 };
	struct sha256 sha = { 0 };
	size_t slen;
	int r;

	if (!secret_access_key || !akr__sigv4_is_amz_date(amz_date) || !is_scope_part(region) ||
	    !is_scope_part(service) || !string_to_sign)
		return -EINVAL;
	slen = strlen(secret_access_key);
	if (slen == 0 || slen > SIGV4_MAX_SECRET)
		return -EINVAL;

	r = akr__sigv4_sha256_init(&sha);
	if (r < 0)
		return r;
	r = akr__sigv4_derive_signing_key(&sha, secret_access_key, slen, amz_date, region, service,
					  km.k);
	if (r >= 0)
		r = akr__sigv4_hmac_sha256(&sha, km.k, SHA256_LEN, string_to_sign, len, km.mac);
	akr__sigv4_sha256_done(&sha);
	if (r < 0)
		return r;
	akr_hex_encode(km.mac, SHA256_LEN, ret_hex);
	return 0;
}

static int sign_at(const struct akr_sigv4_signer *signer, struct akr_sigv4_key_cache *cache,
		   const struct akr_sigv4_request *req, const char *amz_date,
		   const struct akr_sigv4_options *opts, struct akr_sigv4_result *ret)
{
	_cleanup_buf_ struct akr_buf canonical = { 0 }, sts = { 0 };
	_cleanup_buf_ struct akr_buf signed_headers = { 0 }, auth = { 0 };
	struct akr_sigv4_creds creds = { 0 };
	/* The cache's SHA-256 context for every hash of this signature. */
	struct sha256 *sha = cache ? akr__sigv4_key_cache_sha256(cache) : NULL;
	char signature[AKR_SIGV4_HEX_LEN + 1];
	char *token = NULL, *authorization = NULL;
	int r;

	/* The canonical request holds the session token. */
	akr_buf_init(&canonical, SIGV4_MAX_CANONICAL, true);
	akr_buf_init(&sts, 1024, false);
	akr_buf_init(&signed_headers, 64 * 1024, false);
	akr_buf_init(&auth, 128 * 1024, false);

	if (!signer || !signer->get_creds || !req || !ret || !akr__sigv4_is_amz_date(amz_date) ||
	    !is_scope_part(signer->region) || !is_scope_part(signer->service))
		return -EINVAL;
	r = signer->get_creds(signer->userdata, &creds);
	if (r < 0)
		return r;
	if (!creds.access_key_id || !*creds.access_key_id || !creds.secret_access_key ||
	    !*creds.secret_access_key)
		return -ENOKEY;
	if (!is_scope_part(creds.access_key_id))
		return -EINVAL;
	if (creds.session_token && !*creds.session_token)
		creds.session_token = NULL;

	r = akr__sigv4_canonical_request(sha, req, amz_date, creds.session_token, opts, &canonical,
					 &signed_headers);
	if (r < 0)
		return r;
	r = string_to_sign(sha, amz_date, signer->region, signer->service, canonical.data,
			   canonical.len, &sts);
	if (r < 0)
		return r;
	if (cache) {
		size_t slen = strlen(creds.secret_access_key);

		if (slen > SIGV4_MAX_SECRET)
			return -EINVAL;
		r = akr__sigv4_cached_signature(cache, creds.secret_access_key, slen, amz_date,
						signer->region, signer->service, sts.data, sts.len,
						signature);
	} else
		r = akr_sigv4_signature(creds.secret_access_key, amz_date, signer->region,
					signer->service, sts.data, sts.len, signature);
	if (r < 0)
		return r;
	r = akr_buf_appendf(&auth,
			    SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
					    "SignedHeaders=%s, Signature=%s",
			    creds.access_key_id, amz_date, signer->region, signer->service,
			    signed_headers.data, signature);
	if (r < 0)
		return r;

	if (creds.session_token) {
		size_t tlen = strlen(creds.session_token);

		token = malloc(tlen + 1);
		if (!token)
			return -ENOMEM;
		memcpy(token, creds.session_token, tlen + 1);
	}
	r = akr_buf_steal(&auth, &authorization);
	if (r < 0) {
		if (token)
			OPENSSL_clear_free(token, strlen(token));
		return r;
	}
	*ret = (struct akr_sigv4_result){ .authorization = authorization, .security_token = token };
	memcpy(ret->amz_date, amz_date, AKR_SIGV4_AMZ_DATE_LEN + 1);
	return 0;
}

int akr_sigv4_sign_request_at(const struct akr_sigv4_signer *signer,
			      const struct akr_sigv4_request *req, const char *amz_date,
			      const struct akr_sigv4_options *opts, struct akr_sigv4_result *ret)
{
	return sign_at(signer, NULL, req, amz_date, opts, ret);
}

int akr_sigv4_sign_request_cached(const struct akr_sigv4_signer *signer,
				  struct akr_sigv4_key_cache *cache,
				  const struct akr_sigv4_request *req, int64_t now_sec,
				  struct akr_sigv4_result *ret)
{
	char amz_date[AKR_SIGV4_AMZ_DATE_LEN + 1];

	if (now_sec < 0)
		return -EINVAL;
	akr_time_format_amz(now_sec, amz_date, sizeof(amz_date));
	return sign_at(signer, cache, req, amz_date, NULL, ret);
}

int akr_sigv4_sign_request(const struct akr_sigv4_signer *signer, const struct akr_sigv4_request *req,
			   int64_t now_sec, struct akr_sigv4_result *ret)
{
	return akr_sigv4_sign_request_cached(signer, NULL, req, now_sec, ret);
}

void akr_sigv4_result_done(struct akr_sigv4_result *res)
{
	if (!res)
		return;
	free(res->authorization);
	if (res->security_token)
		OPENSSL_clear_free(res->security_token, strlen(res->security_token));
	*res = (struct akr_sigv4_result){ 0 };
}
