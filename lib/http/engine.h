#pragma once
/* The non-blocking HTTP engine: libcurl's multi interface driven by a libuv
 * loop (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION, uv_poll_t, uv_timer_t).
 * Many requests at once under a global cap and a cap per key (an account),
 * a token-bucket rate limit per key, keep-alive, TLS verification, and the
 * AWS SDKs' standard retry mode (aws-wire.md §10). Each attempt is signed
 * afresh through lib/http/sigv4. Nothing here blocks the loop.
 *
 * Scheduling: requests of one key start in FIFO order; keys that may start
 * one take turns (round robin), so a key at its cap or out of tokens never
 * holds up the others. A retry waits out its backoff without holding a slot,
 * then goes first in its key's queue; every attempt counts against the caps
 * and takes a rate token.
 *
 * Time: desc->timeout_ms bounds the whole request from its first attempt on,
 * backoff waits and later attempts included (a deadline): each attempt gets
 * what is left of it (CURLOPT_TIMEOUT_MS) and at most connect_timeout_ms to
 * connect, and a retry whose wait would end past the deadline is not made.
 * akr_http_shutdown() cancels what is in flight and bounds what is left.
 *
 * Memory: an attempt starts only when room for its whole answer (its
 * max_response_bytes plus the header limit) fits in max_buffered_bytes next
 * to those of the attempts on the wire; otherwise it waits, and nothing
 * else starts before it (no large answer waits forever behind small ones).
 * So the answers buffered at once never exceed max_buffered_bytes, whatever
 * the servers send; a larger limit than the budget is cut to the budget.
 *
 * Retries (standard mode): transient failures (no answer, connection refused
 * or reset, timeout, TLS handshake failure, HTTP 500/502/503/504, the
 * RequestTimeout codes) and throttling (akr_error_classify(): the throttling
 * codes and any 429) are retried; nothing else, and never a certificate that
 * failed verification. Retry i (1, 2, ...) waits rand[0,1) × min(base ×
 * 2^(i−1), max_delay), at least what `Retry-After` (seconds) or
 * `x-amz-retry-after` (ms) asks, that hint capped at max_delay. A retry takes
 * 5 tokens from the engine's retry quota (10 after a timeout); a success
 * gives back what its last retry took, or 1; without the tokens the error is
 * returned and stats.quota_exhausted counts it.
 * A request with idempotent == false is retried only when it provably was not
 * processed: a throttling answer, or a connection that could not be made
 * (connection refused, name resolution), never after a timeout, a reset or a
 * 5xx, since the service may have acted on it. Such a request also goes on a
 * new connection: curl silently resends a request whose reused keep-alive
 * connection died before the answer, and that must not happen to it.
 *
 * Wire details: the Host header is set explicitly ("host[:port]", the port
 * only when not the scheme's default) and that same value is signed; an
 * empty `Expect:` suppresses 100-continue; Content-Type is exactly the one in
 * desc->headers (none when absent); the body goes as-is with its length,
 * never chunked; HTTP/1.1 with keep-alive; TLS peer and host verification
 * always on. Logs are at debug level only and carry no header values. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "lib/base/error.h"

struct akr_http;
struct akr_http_request;
struct akr_sigv4_signer;

/** Engine settings; a field left 0 (or NULL) takes its default. */
struct akr_http_options {
	size_t max_in_flight;      /* global cap on requests on the wire; default 64 */
	size_t max_per_key;        /* cap per key; default 8 */
	const char *ca_bundle;     /* PEM file, NULL = $AWS_CA_BUNDLE, else the system's */
	unsigned max_attempts;     /* first try included; default 3 */
	int64_t base_delay_ms;     /* backoff base; default 1000 (throttling uses the same) */
	int64_t max_delay_ms;      /* backoff cap; default 20000 */
	unsigned retry_quota;      /* tokens; default 500; a retry takes 5 (10 after a timeout) */
	int64_t connect_timeout_ms; /* default 10000 */
	size_t max_buffered_bytes; /* answers buffered at once; default 24 MiB, at least 1 MiB */
	bool verbose;              /* CURLOPT_VERBOSE; tests only */
};

struct akr_http_header {
	const char *name;
	const char *value;
};

/** What to send. Everything is copied by akr_http_request_start(); the caller
 * may free its copies as soon as it returns (signer excepted: borrowed).
 * Headers are "Name", "value" pairs without CR/LF; Host, Content-Length,
 * Transfer-Encoding, Expect and Connection are the engine's (and, with a
 * signer, Authorization and X-Amz-*-Date/Security-Token/Content-Sha256). The
 * request body copy is wiped when the request is freed. */
struct akr_http_request_desc {
	const char *method; /* "GET", "POST", "PUT" */
	const char *url;    /* absolute http:// or https:// URL, no user:password */
	const struct akr_http_header *headers;
	size_t n_headers;
	const uint8_t *body;
	size_t body_len;
	const char *key;              /* concurrency/rate key (account id); NULL = none */
	int64_t timeout_ms;           /* the whole request, every attempt and wait
				       * included, from its first attempt on; 0 = 30000 */
	size_t max_response_bytes;    /* 0 = 256 KiB; a larger body fails with -E2BIG; also
				       * what the attempt reserves of max_buffered_bytes */
	bool sensitive;               /* response may hold a secret: wiped on free */
	bool idempotent;              /* false: retry only failures that prove the request
				       * was not processed (throttling answers, connect failures) */
	bool survives_shutdown;       /* cleanup work (a rollback): akr_http_shutdown()
				       * does not cancel it, it only bounds it */
	const struct akr_sigv4_signer *signer; /* borrowed; NULL = unsigned */
	/* Called with the parsed error code of a non-2xx answer to classify it
	 * (the engine knows HTTP, not AWS error documents). NULL = by status only. */
	int (*parse_error)(long status, const char *body, size_t len, struct akr_error *reterr);
};

/** What came back. Borrowed, valid only during the completion callback.
 * At most 100 headers and 64 KiB of them, or the attempt fails with -E2BIG. */
struct akr_http_response {
	long status;
	const struct akr_http_header *headers; /* names lower-cased */
	size_t n_headers;
	const char *body; /* NUL-terminated */
	size_t body_len;
	unsigned attempts; /* how many attempts were made */
};

/** Completion: @r is 0 on a 2xx answer; -EPROTO with @err filled on a non-2xx
 * answer (after retries); -ETIMEDOUT, -ECONNRESET, -ECONNREFUSED,
 * -EHOSTUNREACH (name resolution), -EIO (TLS, other transport failures) on
 * transport failures; -E2BIG for an oversized body or header block;
 * -ECANCELED on cancellation (then @resp is NULL); -ENOKEY or another -errno
 * when the request could not be signed or set up.
 * @err is non-NULL exactly when @r < 0: kind AWS (code from parse_error, HTTP
 * status, request id from the x-amzn-RequestId header when the parser left it
 * empty, retry class per akr_error_classify()), TRANSPORT (code "timeout",
 * "connection-refused", "connection-reset", "dns", "tls-verify", "transport"),
 * PARSE ("response-too-large") or LOCAL ("canceled", "no-credentials",
 * "request"). @resp is non-NULL whenever an HTTP status line arrived (also on
 * -E2BIG and transport failures after it, with what was received), with the
 * attempt count. Both are borrowed for the duration of the call. */
typedef void (*akr_http_done_cb)(void *userdata, int r, const struct akr_http_response *resp,
				 const struct akr_error *err);

/** Creates an engine on @loop. @opts may be NULL for the defaults.
 * Returns 0, -ENOMEM, -EIO (curl init failed). Caller frees with akr_http_free(). */
int akr_http_new(uv_loop_t *loop, const struct akr_http_options *opts, struct akr_http **ret);

/** Cancels everything (callbacks run with -ECANCELED, from the loop), then
 * closes the engine's handles; the memory is released from the close
 * callbacks, so run the loop afterwards until it has no more handles.
 * May be called from inside a completion callback (the teardown then waits
 * until the engine's frame unwinds). A callback may not start new requests
 * on a freed engine (start returns -ECANCELED meanwhile). NULL does nothing. */
void akr_http_free(struct akr_http *h);

/** Queues a request. If it returns < 0, @cb never runs; if 0, @cb runs exactly
 * once, never from inside this call. @ret_req (may be NULL) gets a handle
 * usable with akr_http_request_cancel() until @cb runs (owned by the engine).
 * Returns 0, -EINVAL (bad method, URL, header, body on GET/HEAD), -ENOMEM,
 * -ECANCELED (the engine is being freed). May be called from a callback. */
int akr_http_request_start(struct akr_http *h, const struct akr_http_request_desc *desc,
			   akr_http_done_cb cb, void *userdata, struct akr_http_request **ret_req);

/** Cancels one request, whatever its state (queued, on the wire, waiting to
 * retry): its transfer stops now, its callback runs with -ECANCELED from the
 * loop (a uv_timer at 0 ms), never from inside this call. Also overrides an
 * outcome not yet delivered. */
void akr_http_request_cancel(struct akr_http_request *req);
/** Cancels every queued and in-flight request, as akr_http_request_cancel(). */
void akr_http_cancel_all(struct akr_http *h);

/** The engine's part of stopping the daemon. At once: every request not
 * marked survives_shutdown is canceled (-ECANCELED, as akr_http_request_cancel()),
 * except a non-idempotent one on the wire (it may have taken effect: it gets
 * half of @grace_ms to answer, then is canceled), and from now on no request
 * makes another attempt after a failure. What is
 * left (the surviving requests and those started later: rollbacks, the
 * alert) must end within @grace_ms from now: attempts are cut to that, and
 * at that moment whatever is still pending fails with -ETIMEDOUT (code
 * "timeout", "stopping"). New requests are still accepted. A second call only
 * shortens the grace. */
void akr_http_shutdown(struct akr_http *h, int64_t grace_ms);

/** Caps the rate of @key at @rps requests per second (burst = max(1, rps));
 * 0 removes the cap. Every key has an adaptive rate (lib/base/ratelimit.h,
 * the AWS SDKs' adaptive mode): unlimited, or at the cap, until the first
 * throttled answer; then it drops to 0.7 × the measured rate of answers and
 * grows back along a cubic curve, never above the cap. May be called at any
 * time; queued requests follow the new rate. A new bucket holds one token, so
 * work ramps up at the rate rather than bursting. @key NULL is the group of
 * requests without a key. Attempts (retries included) take a token; queued
 * requests wait on a timer for it.
 * Returns 0, -EINVAL (negative or not finite), -ENOMEM. */
int akr_http_set_rate(struct akr_http *h, const char *key, double rps);
/** The rate in force for @key, 0 when unlimited. */
double akr_http_get_rate(struct akr_http *h, const char *key);

/** Counters since akr_http_new(): requests accepted, completed with r == 0 or
 * r < 0 (canceled included), retries scheduled, throttling answers seen,
 * retries refused by the quota, requests that waited for answer room first
 * in line (those behind them are not counted);
 * attempts on the wire and requests waiting in queues now (not those in
 * backoff), and the most on the wire at once; answer bytes reserved now and
 * the most reserved at once. */
struct akr_http_stats {
	uint64_t started, succeeded, failed, retries, throttled, quota_exhausted, room_waits;
	size_t in_flight, queued, max_in_flight_seen;
	size_t reserved_bytes, max_reserved_bytes_seen;
};
void akr_http_get_stats(const struct akr_http *h, struct akr_http_stats *ret);
