#pragma once
/* Rate limiting as pure arithmetic over a monotonic clock the caller passes
 * in (milliseconds), so that every rule is testable without waiting:
 *
 * - akr_token_bucket: @rate tokens per second, at most max(1, rate) held.
 * - akr_adaptive_rate: the client-side rate of the AWS SDKs' "adaptive"
 *   retry mode. A token bucket whose rate, once the server has throttled us,
 *   drops to AKR_ADAPTIVE_BETA × the measured rate of answers and then grows
 *   back along a cubic curve (CUBIC, RFC 8312), so that the client settles
 *   just under the rate the server allows instead of bouncing off it.
 *
 * No I/O, no clock, no allocation: callers embed the structs. */

#include <stdbool.h>
#include <stdint.h>

/** A token bucket: @rate tokens per second up to @burst = max(1, rate).
 * A new bucket holds one token, so a burst of work ramps up at the rate
 * instead of firing @burst requests at once. rate 0 = unlimited. */
struct akr_token_bucket {
	double rate;
	double burst;
	double tokens;
	int64_t last_ms; /* monotonic time of the last refill */
};

void akr_token_bucket_init(struct akr_token_bucket *b, double rate, int64_t now_ms);
/** Changes the rate at @now_ms: tokens earned so far are kept (up to the new
 * burst), later ones accrue at the new rate. A rate that is not a positive
 * finite number means unlimited. */
void akr_token_bucket_set_rate(struct akr_token_bucket *b, double rate, int64_t now_ms);
/** Takes one token if there is one (always true when unlimited). */
bool akr_token_bucket_take(struct akr_token_bucket *b, int64_t now_ms);
/** Milliseconds until a token is available (0 = now). */
int64_t akr_token_bucket_wait_ms(struct akr_token_bucket *b, int64_t now_ms);

#define AKR_ADAPTIVE_BETA 0.7      /* share of the measured rate kept on a throttle */
#define AKR_ADAPTIVE_SCALE 0.4     /* CUBIC's C: how fast the rate grows back */
#define AKR_ADAPTIVE_MIN_RATE 0.5  /* requests/s: never slower than this */
#define AKR_ADAPTIVE_SMOOTHING 0.8 /* weight of the newest measurement */
#define AKR_ADAPTIVE_SLOT_MS 500   /* answers are counted per half second */
#define AKR_ADAPTIVE_MAX_SCALE 2.0 /* the rate never runs ahead of 2 × measured */

/** The adaptive rate of one server-side limit (one account). Until the first
 * throttled answer the bucket runs at @max_rate (0 = unlimited); from then
 * on at the adaptive rate, never above @max_rate when that is > 0. */
struct akr_adaptive_rate {
	struct akr_token_bucket bucket;
	double max_rate; /* the configured cap, 0 = none */
	bool engaged;    /* a throttled answer was seen: the adaptive rate is in force */
	/* The measured rate of answers: counted per slot, smoothed. */
	double measured_rate;
	int64_t slot; /* the slot the count belongs to: now_ms / AKR_ADAPTIVE_SLOT_MS */
	uint64_t count;
	/* The cubic curve: the rate at the last throttle, the seconds the curve
	 * takes to climb back to it, and when the throttle came. */
	double w_max;
	double k_sec;
	int64_t last_throttle_ms;
};

/** @max_rate is the cap in requests per second; 0 (or anything not positive
 * and finite) means none. */
void akr_adaptive_rate_init(struct akr_adaptive_rate *a, double max_rate, int64_t now_ms);
/** Changes the cap; the adaptive state is kept. */
void akr_adaptive_rate_set_max(struct akr_adaptive_rate *a, double max_rate, int64_t now_ms);
/** Records one answer of the server at @now_ms, @throttled or not, and sets
 * the bucket's rate from it. */
void akr_adaptive_rate_record(struct akr_adaptive_rate *a, bool throttled, int64_t now_ms);
/** Takes a token for one request (always true while unlimited). */
bool akr_adaptive_rate_take(struct akr_adaptive_rate *a, int64_t now_ms);
/** Milliseconds until the next request may be sent (0 = now). */
int64_t akr_adaptive_rate_wait_ms(struct akr_adaptive_rate *a, int64_t now_ms);
/** The rate in force in requests per second, 0 = unlimited. */
double akr_adaptive_rate_current(const struct akr_adaptive_rate *a);
