#pragma once
/* The one way lib/ grows a heap array: every size multiplication checked,
 * capacity doubled where the caller keeps one. */

#include <stddef.h>

/** Makes room in *@items (elements of @size bytes, @n of them in use) for
 * @n_more more. With @cap, the capacity is *@cap and grows by doubling (16
 * at least) so that appending one at a time costs amortized O(1); without
 * (@cap NULL) the array is kept at exactly @n + @n_more elements. The new
 * room is zeroed. On failure *@items, *@cap and their contents are left as
 * they were. The block is realloc()ed: never use it for secrets.
 * Returns 0, -ENOMEM (out of memory, or the size would overflow). */
int akr_array_grow(void **items, size_t *cap, size_t n, size_t n_more, size_t size);

/** akr_array_grow() for a typed pointer @p: AKR_ARRAY_GROW(a->users, &a->cap, a->n, 1). */
#define AKR_ARRAY_GROW(p, cap, n, n_more) \
	akr_array_grow((void **)&(p), (cap), (n), (n_more), sizeof(*(p)))
