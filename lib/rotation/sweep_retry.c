/* Trying a throttled read again later: the sweep's deferred calls (on
 * lib/base/defer) and the wait before each try (lib/http/retry's backoff). */
#include <stdbool.h>
#include <stdint.h>

#include <openssl/rand.h>

#include "lib/base/defer.h"
#include "lib/http/retry.h"
#include "lib/rotation/sweep-internal.h"

int akr__sweep_defer(struct akr_sweep *s, int64_t delay_ms, void (*fn)(void *arg), void *arg)
{
	return akr_defer(&s->deferred, s->stopping ? 0 : delay_ms, fn, arg);
}

bool akr__sweep_retry_read(const struct akr_error *err, unsigned attempt, int64_t *ret_delay_ms)
{
	uint32_t rnd = 0;
	int64_t half;

	/* Throttling only: everything else had its attempts in the engine. */
	if (!err || err->retry != AKR_RETRY_THROTTLING || attempt >= SWEEP_READ_RETRIES)
		return false;
	/* A window that doubles from 1 s up to 32 s: its first half is always
	 * waited, the second is full jitter, so that the accounts throttled
	 * together do not come back together. */
	half = (int64_t)500 << (attempt < 5 ? attempt : 5);
	(void)RAND_bytes((unsigned char *)&rnd, sizeof(rnd));
	*ret_delay_ms = half + akr_retry_backoff_ms(attempt + 1, 500, 16000,
						    (double)rnd / 4294967296.0);
	return true;
}
