#pragma once
/* AWS Signature Version 4 (header signing) over OpenSSL.
 * ../shared/aws-wire.md §2; test vectors in ../shared/sigv4-testsuite. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_buf;

/** A borrowed view of one set of credentials, valid during the call. */
struct akr_sigv4_creds {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL for long-term keys */
};

/** Fills @ret with the credentials to sign with now. Returns 0 or -errno
 * (e.g. -ENOKEY when none are available). Must not block. */
typedef int (*akr_sigv4_creds_cb)(void *userdata, struct akr_sigv4_creds *ret);

/** Who signs and for what scope. Borrowed by requests; must outlive them. */
struct akr_sigv4_signer {
	const char *region;  /* e.g. "us-east-1" */
	const char *service; /* signing name: "iam", "sts", "organizations", "ses", "sns" */
	akr_sigv4_creds_cb get_creds;
	void *userdata;
};

struct akr_sigv4_header {
	const char *name;
	const char *value;
};

/** The request as it goes on the wire. @headers must contain "host" exactly as
 * sent (with a non-default port); repeated names are joined with ','. */
struct akr_sigv4_request {
	const char *method;
	const char *path;  /* raw path, without query: "/" */
	const char *query; /* raw query without '?', may be NULL or "" */
	const struct akr_sigv4_header *headers;
	size_t n_headers;
	const uint8_t *body;
	size_t body_len;
};

/** The headers signing adds, owned; free with akr_sigv4_result_done(). */
struct akr_sigv4_result {
	char amz_date[17];    /* X-Amz-Date value */
	char *authorization;  /* Authorization value */
	char *security_token; /* X-Amz-Security-Token value, NULL without session token */
};

/** Signs @req at @now_sec with the signer's current credentials: the headers
 * x-amz-date and (for session credentials) x-amz-security-token are added to
 * the signed set, together with every header of @req except those AWS SDKs
 * never sign (user-agent, expect, connection, transfer-encoding, content-length
 * is signed only if present in the test suite sense: we sign what is given).
 * Returns 0, -ENOKEY (no credentials), -EINVAL (bad request), -ENOMEM. */
int akr_sigv4_sign_request(const struct akr_sigv4_signer *signer, const struct akr_sigv4_request *req,
			   int64_t now_sec, struct akr_sigv4_result *ret);
void akr_sigv4_result_done(struct akr_sigv4_result *res);

/* Lower-level steps, public for the test suite and for diagnostics
 * (aws-wire.md §2). None of them reads the clock. */

/** Variations of the canonical form that the AWS test suite exercises; a zeroed
 * struct (or NULL) is what every service this project calls expects. */
struct akr_sigv4_options {
	bool no_normalize_path;  /* S3 style: keep '.', '..' and empty segments */
	bool sign_content_sha256; /* also add and sign x-amz-content-sha256 */
	bool omit_session_token;  /* sign without x-amz-security-token (still sent) */
};

#define AKR_SIGV4_AMZ_DATE_LEN 16 /* "YYYYMMDDTHHMMSSZ" */
#define AKR_SIGV4_HEX_LEN 64      /* a hex SHA-256 or signature, without NUL */

/** Appends the canonical request of @req signed at @amz_date to @out: method,
 * canonical URI (normalised unless @opts says otherwise, each byte outside
 * A-Z a-z 0-9 - _ . ~ / percent-encoded), canonical query (parameters decoded
 * then re-encoded by RFC 3986, sorted by key then value), canonical headers
 * (lower-cased, sorted, values trimmed with inner blank runs collapsed,
 * repeats joined with ',', plus x-amz-date and, for a non-NULL
 * @session_token, x-amz-security-token), the signed headers and the payload
 * hash. user-agent, expect, connection, transfer-encoding and x-amzn-trace-id
 * are never signed. When @ret_signed_headers is non-NULL the signed headers
 * list ("host;x-amz-date") is appended to it as well. All borrowed.
 * Returns 0; -EINVAL for a request that cannot be signed (no host header, a
 * header of the signer's own such as authorization or x-amz-date, CR/LF or
 * another control character in a header, a bad name or date); -E2BIG when
 * @out is full; -ENOMEM; -EIO when OpenSSL fails. */
int akr_sigv4_canonical_request(const struct akr_sigv4_request *req, const char *amz_date,
				const char *session_token, const struct akr_sigv4_options *opts,
				struct akr_buf *out, struct akr_buf *ret_signed_headers);

/** Appends "AWS4-HMAC-SHA256\n<amz_date>\n<yyyymmdd>/<region>/<service>/
 * aws4_request\n<hex sha256 of the canonical request>" to @out.
 * Returns 0, -EINVAL (bad date, region or service), -E2BIG, -ENOMEM, -EIO. */
int akr_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
			     const char *canonical_request, size_t len, struct akr_buf *out);

/** Derives the signing key from @secret_access_key for the date of @amz_date,
 * @region and @service (kDate..kSigning, wiped before returning on every path)
 * and writes the lower-case hex HMAC-SHA256 of @string_to_sign into
 * @ret_hex (AKR_SIGV4_HEX_LEN + 1 bytes, NUL-terminated).
 * Returns 0, -EINVAL (bad date, empty or overlong secret), -EIO (OpenSSL). */
int akr_sigv4_signature(const char *secret_access_key, const char *amz_date, const char *region,
			const char *service, const char *string_to_sign, size_t len,
			char ret_hex[static AKR_SIGV4_HEX_LEN + 1]);

/** A cache of derived signing keys (kSigning), one per secret access key,
 * date, region and service: the key changes once a day, so a request costs
 * one HMAC instead of five. Entries are found by a SHA-256 of the secret
 * (compared in constant time), never by the secret itself; the least
 * recently used is replaced when all AKR_SIGV4_KEY_CACHE_SIZE are taken.
 * Everything is wiped on free. One event loop: not thread-safe. */
struct akr_sigv4_key_cache;
#define AKR_SIGV4_KEY_CACHE_SIZE 64

/** Returns a new empty cache, or NULL (ENOMEM). Free with
 * akr_sigv4_key_cache_free(). */
struct akr_sigv4_key_cache *akr_sigv4_key_cache_new(void);
/** Wipes and frees @c; NULL does nothing. Returns NULL. */
struct akr_sigv4_key_cache *akr_sigv4_key_cache_free(struct akr_sigv4_key_cache *c);
/** Counters since akr_sigv4_key_cache_new(): signing keys derived, and
 * found in the cache. */
void akr_sigv4_key_cache_stats(const struct akr_sigv4_key_cache *c, uint64_t *ret_derived,
			       uint64_t *ret_hits);

/** akr_sigv4_sign_request() with the signing key taken from @cache (borrowed,
 * may be NULL: derived every time). Same result, contract and error codes. */
int akr_sigv4_sign_request_cached(const struct akr_sigv4_signer *signer,
				  struct akr_sigv4_key_cache *cache,
				  const struct akr_sigv4_request *req, int64_t now_sec,
				  struct akr_sigv4_result *ret);

/** akr_sigv4_sign_request() at an explicit @amz_date ("YYYYMMDDTHHMMSSZ")
 * with @opts (may be NULL). Same contract and error codes. */
int akr_sigv4_sign_request_at(const struct akr_sigv4_signer *signer,
			      const struct akr_sigv4_request *req, const char *amz_date,
			      const struct akr_sigv4_options *opts, struct akr_sigv4_result *ret);
