#pragma once
/* The sweep's clock: the wall clock, optionally shifted (--now) so that a plan
 * can be computed "as of" another time and tests can follow the fake AWS
 * endpoint's clock. Pure modules take `now` as a parameter instead. */

#include <stdint.h>

struct akr_clock {
	int64_t offset_sec; /* added to the real wall clock */
};

/** Wall-clock seconds since the epoch, UTC, plus the offset. */
int64_t akr_clock_now_sec(const struct akr_clock *c);
/** A clock that reads @at_sec now and then runs forward in real time. */
void akr_clock_init_at(struct akr_clock *c, int64_t at_sec);
