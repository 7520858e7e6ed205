#include <math.h>

#include "lib/base/ratelimit.h"

static void bucket_refill(struct akr_token_bucket *b, int64_t now_ms)
{
	if (now_ms > b->last_ms && b->rate > 0) {
		b->tokens += (double)(now_ms - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
}

void akr_token_bucket_init(struct akr_token_bucket *b, double rate, int64_t now_ms)
{
	*b = (struct akr_token_bucket){ .tokens = 1.0, .last_ms = now_ms };
	akr_token_bucket_set_rate(b, rate, now_ms);
}

void akr_token_bucket_set_rate(struct akr_token_bucket *b, double rate, int64_t now_ms)
{
	bucket_refill(b, now_ms);
	b->rate = rate > 0 && isfinite(rate) ? rate : 0;
	b->burst = b->rate > 1.0 ? b->rate : 1.0;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
}

bool akr_token_bucket_take(struct akr_token_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return true;
	bucket_refill(b, now_ms);
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

int64_t akr_token_bucket_wait_ms(struct akr_token_bucket *b, int64_t now_ms)
{
	if (b->rate <= 0)
		return 0;
	bucket_refill(b, now_ms);
	if (b->tokens >= 1.0)
		return 0;
	return (int64_t)ceil((1.0 - b->tokens) * 1000.0 / b->rate);
}

/* ---- the adaptive rate ---- */

static double sane_rate(double r)
{
	return r > 0 && isfinite(r) ? r : 0;
}

void akr_adaptive_rate_init(struct akr_adaptive_rate *a, double max_rate, int64_t now_ms)
{
	*a = (struct akr_adaptive_rate){
		.max_rate = sane_rate(max_rate),
		.slot = now_ms / AKR_ADAPTIVE_SLOT_MS,
		.last_throttle_ms = now_ms,
	};
	akr_token_bucket_init(&a->bucket, a->max_rate, now_ms);
}

/* The rate the bucket runs at: @want bounded by the cap and the floor. */
static void apply(struct akr_adaptive_rate *a, double want, int64_t now_ms)
{
	if (!a->engaged) {
		akr_token_bucket_set_rate(&a->bucket, a->max_rate, now_ms);
		return;
	}
	if (a->max_rate > 0 && !(want <= a->max_rate))
		want = a->max_rate;
	if (!(want >= AKR_ADAPTIVE_MIN_RATE))
		want = AKR_ADAPTIVE_MIN_RATE;
	akr_token_bucket_set_rate(&a->bucket, want, now_ms);
}

void akr_adaptive_rate_set_max(struct akr_adaptive_rate *a, double max_rate, int64_t now_ms)
{
	a->max_rate = sane_rate(max_rate);
	apply(a, a->engaged ? a->bucket.rate : 0, now_ms);
}

/* Counts one answer; at the first answer of a later slot, the count of the
 * slots since the last measurement becomes a rate and is folded into the
 * smoothed one. */
static void measure(struct akr_adaptive_rate *a, int64_t now_ms)
{
	int64_t slot = now_ms / AKR_ADAPTIVE_SLOT_MS;
	double r;

	a->count++;
	if (slot <= a->slot)
		return;
	r = (double)a->count * 1000.0 / ((double)(slot - a->slot) * AKR_ADAPTIVE_SLOT_MS);
	a->measured_rate = AKR_ADAPTIVE_SMOOTHING * r + (1 - AKR_ADAPTIVE_SMOOTHING) * a->measured_rate;
	a->count = 0;
	a->slot = slot;
}

/* CUBIC's window: beta × w_max at the throttle, w_max again after k_sec,
 * growing faster and faster beyond. */
static double cubic_rate(const struct akr_adaptive_rate *a, int64_t now_ms)
{
	double dt = (double)(now_ms - a->last_throttle_ms) / 1000.0 - a->k_sec;

	return AKR_ADAPTIVE_SCALE * dt * dt * dt + a->w_max;
}

void akr_adaptive_rate_record(struct akr_adaptive_rate *a, bool throttled, int64_t now_ms)
{
	double want;

	measure(a, now_ms);
	if (throttled) {
		/* The rate that drew the throttle: what was measured, or what the
		 * bucket let through when that was less. */
		double w = a->measured_rate;

		if (a->engaged && a->bucket.rate < w)
			w = a->bucket.rate;
		a->w_max = w;
		a->k_sec = cbrt(w * (1 - AKR_ADAPTIVE_BETA) / AKR_ADAPTIVE_SCALE);
		a->last_throttle_ms = now_ms;
		a->engaged = true;
		want = w * AKR_ADAPTIVE_BETA;
	} else {
		if (!a->engaged)
			return;
		want = cubic_rate(a, now_ms);
	}
	/* Never more than twice what was measured: a rate far above anything
	 * tried says nothing about what the server allows. */
	if (want > AKR_ADAPTIVE_MAX_SCALE * a->measured_rate)
		want = AKR_ADAPTIVE_MAX_SCALE * a->measured_rate;
	apply(a, want, now_ms);
}

bool akr_adaptive_rate_take(struct akr_adaptive_rate *a, int64_t now_ms)
{
	return akr_token_bucket_take(&a->bucket, now_ms);
}

int64_t akr_adaptive_rate_wait_ms(struct akr_adaptive_rate *a, int64_t now_ms)
{
	return akr_token_bucket_wait_ms(&a->bucket, now_ms);
}

double akr_adaptive_rate_current(const struct akr_adaptive_rate *a)
{
	return a->bucket.rate;
}
