#pragma once
/* The non-blocking HTTP engine: libcurl's multi interface driven by a libuv
 * loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION, uv_poll_t, uv_timer_t).
 * Many requests at once under a global cap and a cap per key (an account),
 * a token-bucket rate limit per key, keep-alive, TLS verification, and the
 * AWS SDKs' standard retry mode (aws-wire.md §10). Each attempt is signed
 * afresh through lib/sigv4. Nothing here blocks the loop. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lib/error.h"

struct akr_http;
struct akr_http_request;
struct akr_sigv4_signer;

struct akr_http_options {
	size_t max_in_flight;      /* global cap on requests on the wire; default 64 */
	size_t max_per_key;        /* cap per key; default 8 */
	const char *ca_bundle;     /* PEM file, NULL = $AWS_CA_BUNDLE, else the system's */
	unsigned max_attempts;     /* first try included; default 3 */
	int64_t base_delay_ms;     /* backoff base; default 1000 (throttling uses the same) */
	int64_t max_delay_ms;      /* backoff cap; default 20000 */
	unsigned retry_quota;      /* tokens; default 500; a retry takes 5 (10 after a timeout) */
	int64_t connect_timeout_ms; /* default 10000 */
	bool verbose;              /* CURLOPT_VERBOSE; tests only */
};

struct akr_http_header {
	const char *name;
	const char *value;
};

/** What to send. Everything is copied by akr_http_request_start(); the caller
 * may free its copies as soon as it returns. */
struct akr_http_request_desc {
	const char *method; /* "GET", "POST", "PUT" */
	const char *url;    /* absolute http:// or https:// URL */
	const struct akr_http_header *headers;
	size_t n_headers;
	const uint8_t *body;
	size_t body_len;
	const char *key;              /* concurrency/rate key (account id); NULL = none */
	int64_t timeout_ms;           /* per attempt; 0 = 30000 */
	size_t max_response_bytes;    /* 0 = 4 MiB; a larger body fails with -E2BIG */
	bool sensitive;               /* response may hold a secret: wiped on free */
	bool idempotent;              /* false: retry only failures that prove the request
				       * was not processed (throttling answers, connect failures) */
	const struct akr_sigv4_signer *signer; /* borrowed; NULL = unsigned */
	/* Called with the parsed error code of a non-2xx answer to classify it
	 * (the engine knows HTTP, not AWS error documents). NULL = by status only. */
	int (*parse_error)(long status, const char *body, size_t len, struct akr_error *reterr);
};

/** What came back. Borrowed, valid only during the completion callback. */
struct akr_http_response {
	long status;
	const struct akr_http_header *headers; /* names lower-cased */
	size_t n_headers;
	const char *body; /* NUL-terminated */
	size_t body_len;
	unsigned attempts; /* how many attempts were made */
};

/** Completion: @r is 0 on a 2xx answer; -EPROTO with @err filled on a non-2xx
 * answer (after retries); -ETIMEDOUT, -ECONNRESET, -ECONNREFUSED, -EIO on
 * transport failures; -E2BIG for an oversized body; -ECANCELED on cancellation
 * (then @resp is NULL). @resp is non-NULL whenever an HTTP answer arrived. */
typedef void (*akr_http_done_cb)(void *userdata, int r, const struct akr_http_response *resp,
				 const struct akr_error *err);

/** Creates an engine on @loop. @opts may be NULL for the defaults.
 * Returns 0, -ENOMEM, -EIO (curl init failed). Caller frees with akr_http_free(). */
int akr_http_new(uv_loop_t *loop, const struct akr_http_options *opts, struct akr_http **ret);

/** Cancels everything (callbacks run with -ECANCELED, from the loop), then
 * closes the engine's handles; the memory is released from the close
 * callbacks, so run the loop afterwards until it has no more handles.
 * NULL does nothing. */
void akr_http_free(struct akr_http *h);

/** Queues a request. If it returns < 0, @cb never runs; if 0, @cb runs exactly
 * once, never from inside this call. @ret_req (may be NULL) gets a handle
 * usable with akr_http_request_cancel() until @cb runs. */
int akr_http_request_start(struct akr_http *h, const struct akr_http_request_desc *desc,
			   akr_http_done_cb cb, void *userdata, struct akr_http_request **ret_req);

/** Cancels one request: its callback runs with -ECANCELED from the loop. */
void akr_http_request_cancel(struct akr_http_request *req);
/** Cancels every queued and in-flight request. */
void akr_http_cancel_all(struct akr_http *h);

/** Sets the rate limit of @key to @rps requests per second (burst = max(1, rps));
 * 0 removes the limit. May be called at any time; queued requests follow the
 * new rate. Returns 0 or -ENOMEM. */
int akr_http_set_rate(struct akr_http *h, const char *key, double rps);
double akr_http_get_rate(struct akr_http *h, const char *key);

struct akr_http_stats {
	uint64_t started, succeeded, failed, retries, throttled, quota_exhausted;
	size_t in_flight, queued, max_in_flight_seen;
};
void akr_http_get_stats(const struct akr_http *h, struct akr_http_stats *ret);
