#pragma once
/* The pacing arithmetic of lib/http/engine.c, as pure functions with no I/O and no
 * clock: the AWS SDKs' "standard" retry mode (aws-wire.md §10: which failures
 * are retried, full-jitter backoff, the retry quota, the servers' retry-after
 * hints). The per-key rate limit is lib/base/ratelimit. */

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/error.h"

#define AKR_RETRY_COST 5          /* tokens a retry takes */
#define AKR_RETRY_COST_TIMEOUT 10 /* tokens a retry after a timeout takes */
#define AKR_RETRY_NO_RETRY_REFUND 1 /* tokens a success without retry gives back */

/** The retry quota: one bucket of tokens shared by all requests of an engine,
 * starting full at @max. */
struct akr_retry_quota {
	unsigned tokens;
	unsigned max;
};

void akr_retry_quota_init(struct akr_retry_quota *q, unsigned max);
/** Takes the tokens one retry costs (AKR_RETRY_COST, or AKR_RETRY_COST_TIMEOUT
 * when the failed attempt timed out). Returns the number taken, or 0 when the
 * quota lacks them (then nothing is taken and the caller must not retry). */
unsigned akr_retry_quota_acquire(struct akr_retry_quota *q, bool after_timeout);
/** Records a success: gives back @last_retry_cost (what the success's last
 * retry took), or AKR_RETRY_NO_RETRY_REFUND when it needed no retry (0);
 * never above the maximum. */
void akr_retry_quota_release(struct akr_retry_quota *q, unsigned last_retry_cost);

/** Whether a failed attempt may be retried. @c is the failure's class;
 * @not_sent says the request provably never reached the server (the
 * connection could not be made). An idempotent request is retried on every
 * transient or throttling failure; a non-idempotent one only on throttling
 * answers (the service refused it unprocessed) and on @not_sent failures. */
bool akr_retry_allowed(enum akr_retry_class c, bool not_sent, bool idempotent);

/** The full-jitter delay before retry number @retry (1 for the first retry):
 * @rand01 × min(@base_ms × 2^(retry−1), @cap_ms), @rand01 in [0, 1).
 * Never negative, never above @cap_ms; no overflow for any @retry. */
int64_t akr_retry_backoff_ms(unsigned retry, int64_t base_ms, int64_t cap_ms, double rand01);

/** The wait a server asked for, in ms: `Retry-After` in whole seconds
 * (@retry_after, the HTTP-date form is ignored) or `x-amz-retry-after` in
 * milliseconds (@amz_retry_after); the larger when both are valid. Either may
 * be NULL. Returns -1 when neither holds a valid non-negative number. */
int64_t akr_retry_parse_hint_ms(const char *retry_after, const char *amz_retry_after);

/** @delay_ms raised to at least @hint_ms (ignored when < 0), the hint itself
 * capped at @cap_ms. */
int64_t akr_retry_apply_hint(int64_t delay_ms, int64_t hint_ms, int64_t cap_ms);

/** A small fast PRNG (splitmix64) for jitter only; never for secrets. */
struct akr_retry_rng {
	uint64_t state;
};
/** Seeds from getrandom(); falls back to the monotonic clock and @salt. */
void akr_retry_rng_seed(struct akr_retry_rng *rng, uint64_t salt);
/** Uniform in [0, 1). */
double akr_retry_rng_next(struct akr_retry_rng *rng);
