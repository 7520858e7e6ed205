#pragma once
/* The generic AWS client layer shared by aws_sts/aws_orgs/aws_iam/aws_ses/
 * aws_sns: credentials and identities, service endpoints, one signed call with
 * credential refresh, and AWS error documents mapped to struct akr_error.
 * Service modules build request bodies and parse answers; this layer sends. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/http/sigv4.h"

struct akr_http;
struct akr_clock;
struct akr_endpoints;
struct akr_secret;
struct akr_aws_identity;

enum akr_service {
	AKR_SERVICE_STS,
	AKR_SERVICE_IAM,
	AKR_SERVICE_ORGANIZATIONS,
	AKR_SERVICE_SES,
	AKR_SERVICE_SNS,
	_AKR_SERVICE_MAX,
};
/** "sts", "iam", "organizations", "ses", "sns": the SigV4 signing name. */
const char *akr_service_signing_name(enum akr_service s);

/** One set of credentials, owned. */
struct akr_aws_creds {
	char *access_key_id;
	struct akr_secret *secret_access_key;
	struct akr_secret *session_token; /* NULL for long-term keys */
	int64_t expiration_sec;           /* 0 = does not expire */
};
void akr_aws_creds_done(struct akr_aws_creds *c);
/** Deep copy. Returns 0 or -ENOMEM. */
int akr_aws_creds_copy(const struct akr_aws_creds *src, struct akr_aws_creds *ret);
/** Replaces @dst's contents with @src's (taking ownership; @src is left empty). */
void akr_aws_creds_move(struct akr_aws_creds *dst, struct akr_aws_creds *src);

typedef void (*akr_aws_refresh_done_cb)(void *userdata, int r, const struct akr_error *err);
/** Obtains fresh credentials asynchronously and stores them in id->creds
 * before calling @cb. Contract as every async start in lib/. */
typedef int (*akr_aws_refresh_fn)(void *refresher, struct akr_aws_identity *id,
				  akr_aws_refresh_done_cb cb, void *cbdata);

struct akr_aws_refresh_waiter;

/** Credentials that calls sign with, refreshable when they expire.
 * Embedded by its owner (creds.c, sweep.c); init/done. */
struct akr_aws_identity {
	struct akr_aws_creds creds;
	akr_aws_refresh_fn refresh; /* NULL: static credentials */
	void *refresher;
	char account_id[13];        /* the account these credentials act in, "" unknown */
	/* Calls waiting for a refresh in progress (one refresh serves them all). */
	struct akr_aws_refresh_waiter *waiters;
	bool refreshing;
};
void akr_aws_identity_init(struct akr_aws_identity *id);
/** Fails every waiter with -ECANCELED and frees the credentials. */
void akr_aws_identity_done(struct akr_aws_identity *id);
/** Refreshes now, coalescing concurrent requests into one refresh. */
int akr_aws_identity_refresh(struct akr_aws_identity *id, akr_aws_refresh_done_cb cb, void *userdata);

/** How a call reaches the network: akr_http_request_start() on the client's
 * engine, unless a test injects a fake (as lib/delivery takes its transport).
 * The contract of akr_http_request_start(), with @transport_data (borrowed)
 * in place of the engine and no request handle. */
typedef int (*akr_aws_transport_fn)(void *transport_data, const struct akr_http_request_desc *desc,
				    akr_http_done_cb cb, void *userdata);

/** Where calls go and with what: borrowed pointers that must outlive calls. */
struct akr_aws_client {
	struct akr_http *http;
	akr_aws_transport_fn transport; /* NULL: akr_http_request_start() on @http */
	void *transport_data;           /* handed to @transport */
	const struct akr_endpoints *endpoints;
	struct akr_aws_identity *identity;
	const struct akr_clock *clock; /* for expiry decisions; NULL = real time */
	const char *region;            /* region of SES, SNS and STS calls */
	const char *key;               /* http concurrency/rate key: the account id */
	int64_t timeout_ms;            /* per request, all attempts; 0 = http default */
	bool survives_shutdown;        /* cleanup calls (rollbacks): see akr_http_shutdown() */
};

/** One operation to send. Copied by akr_aws_call(). */
struct akr_aws_call_desc {
	enum akr_service service;
	const char *action;  /* for logs and errors: "ListUsers" */
	const char *what;    /* for errors: the call and its target; NULL = "<action> in
			      * account <identity's account>" */
	const char *path;    /* "/" unless REST (SESv2) */
	const char *content_type;
	const char *target;  /* X-Amz-Target for JSON 1.1, else NULL */
	const uint8_t *body;
	size_t body_len;
	size_t max_response_bytes;
	bool sensitive;      /* the answer holds a secret (CreateAccessKey, AssumeRole) */
	bool anonymous;      /* unsigned (AssumeRoleWithWebIdentity): no credentials needed */
	bool idempotent;
};

/** Completion of one call: @r 0 with the 2xx body; else -errno with @err. */
typedef void (*akr_aws_done_cb)(void *userdata, int r, const char *body, size_t len,
				const struct akr_error *err);

/** Sends one signed call. Refreshes the identity first when its credentials
 * expire within 10 minutes (by @c->clock), and once more, then retries once,
 * when the service answers ExpiredToken. AWS error documents (Query XML or
 * JSON) are parsed into @err with their retry class. Async contract as
 * akr_http_request_start(). */
int akr_aws_call(const struct akr_aws_client *c, const struct akr_aws_call_desc *desc,
		 akr_aws_done_cb cb, void *userdata);

/** Parses an AWS error answer (Query XML <ErrorResponse>, JSON __type/message,
 * or SESv2's x-amzn-ErrorType header absent here) into @reterr. Always fills
 * @reterr; returns 0 if a code was found, -EBADMSG otherwise. */
int akr_aws_parse_error(long status, const char *body, size_t len, struct akr_error *reterr);
