#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "lib/http/retry.h"
#include "lib/base/strutil.h"

void akr_retry_quota_init(struct akr_retry_quota *q, unsigned max)
{
	*q = (struct akr_retry_quota){ .tokens = max, .max = max };
}

unsigned akr_retry_quota_acquire(struct akr_retry_quota *q, bool after_timeout)
{
	unsigned cost = after_timeout ? AKR_RETRY_COST_TIMEOUT : AKR_RETRY_COST;

	if (q->tokens < cost)
		return 0;
	q->tokens -= cost;
	return cost;
}

void akr_retry_quota_release(struct akr_retry_quota *q, unsigned last_retry_cost)
{
	unsigned give = last_retry_cost ? last_retry_cost : AKR_RETRY_NO_RETRY_REFUND;

	q->tokens = give > q->max - q->tokens ? q->max : q->tokens + give;
}

bool akr_retry_allowed(enum akr_retry_class c, bool not_sent, bool idempotent)
{
	if (not_sent)
		return true;
	if (c == AKR_RETRY_THROTTLING)
		return true;
	return idempotent && c == AKR_RETRY_TRANSIENT;
}

int64_t akr_retry_backoff_ms(unsigned retry, int64_t base_ms, int64_t cap_ms, double rand01)
{
	int64_t ceiling = base_ms < 0 ? 0 : base_ms;

	if (cap_ms < 0)
		cap_ms = 0;
	/* Doubling stops at the cap, so the shift never overflows. */
	for (unsigned i = 1; i < retry && ceiling < cap_ms; i++)
		ceiling = ceiling > cap_ms / 2 ? cap_ms : ceiling * 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	if (!(rand01 >= 0.0) || rand01 >= 1.0)
		rand01 = 0.0;
	return (int64_t)(rand01 * (double)ceiling);
}

static int64_t parse_hint(const char *s, int64_t unit_ms)
{
	int64_t v;

	if (!s)
		return -1;
	s += strspn(s, " \t");
	if (akr_parse_int64(s, 0, INT64_MAX / 1000, &v) < 0)
		return -1;
	return v * unit_ms;
}

int64_t akr_retry_parse_hint_ms(const char *retry_after, const char *amz_retry_after)
{
	int64_t a = parse_hint(retry_after, 1000), b = parse_hint(amz_retry_after, 1);

	return a > b ? a : b;
}

int64_t akr_retry_apply_hint(int64_t delay_ms, int64_t hint_ms, int64_t cap_ms)
{
	if (hint_ms < 0)
		return delay_ms;
	if (hint_ms > cap_ms)
		hint_ms = cap_ms;
	return hint_ms > delay_ms ? hint_ms : delay_ms;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void akr_retry_rng_seed(struct akr_retry_rng *rng, uint64_t salt)
{
	uint64_t seed = 0;
	struct timespec ts;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		(void)clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	}
	rng->state = seed ^ salt;
}

double akr_retry_rng_next(struct akr_retry_rng *rng)
{
	return (double)(splitmix64(&rng->state) >> 11) * 0x1.0p-53;
}
