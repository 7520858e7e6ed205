#include <time.h>

#include "lib/base/clock.h"

int64_t akr_clock_now_sec(const struct akr_clock *c)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + (c ? c->offset_sec : 0);
}

void akr_clock_init_at(struct akr_clock *c, int64_t at_sec)
{
	c->offset_sec = 0;
	c->offset_sec = at_sec - akr_clock_now_sec(c);
}
