#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/array.h"

#define ARRAY_MIN_CAP 16

int akr_array_grow(void **items, size_t *cap, size_t n, size_t n_more, size_t size)
{
	size_t want, ncap, bytes, old;
	uint8_t *p;

	if (__builtin_add_overflow(n, n_more, &want))
		return -ENOMEM;
	old = !*items ? 0 : cap ? *cap : n;
	if (cap && want <= *cap && *items)
		return 0;
	ncap = want;
	if (cap) {
		ncap = *cap < ARRAY_MIN_CAP ? ARRAY_MIN_CAP : *cap;
		while (ncap < want)
			if (__builtin_mul_overflow(ncap, 2, &ncap))
				return -ENOMEM;
	}
	if (ncap == 0)
		ncap = 1; /* realloc(p, 0) may free p */
	if (__builtin_mul_overflow(ncap, size, &bytes))
		return -ENOMEM;
	p = realloc(*items, bytes);
	if (!p)
		return -ENOMEM;
	if (ncap > old)
		memset(p + old * size, 0, (ncap - old) * size);
	*items = p;
	if (cap)
		*cap = ncap;
	return 0;
}
