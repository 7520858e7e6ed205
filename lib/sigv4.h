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
