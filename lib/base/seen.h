#pragma once
/* "Seen before?" for strings from untrusted answers: pagination markers (a
 * NextToken may be 100,000 characters), account ids, user names. A string is
 * remembered only by a 64-bit digest under a random per-set salt (SHA-256,
 * truncated), so memory does not follow the strings' length and a hostile
 * answer cannot make two strings collide without knowing the salt; an
 * accidental collision (odds about n²/2⁶⁵) only makes a new string look
 * seen. The table grows with the entries (16 bytes each at most) up to a
 * maximum fixed at init. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_seen {
	uint64_t *slots; /* open addressing; 0 = empty */
	size_t n, cap, max;
	uint8_t salt[16];
	bool salted;
};

/** An empty set that will hold at most @max strings (allocates nothing). */
void akr_seen_init(struct akr_seen *s, size_t max);
/** Frees the table; the set is empty (and usable) again. NULL does nothing. */
void akr_seen_done(struct akr_seen *s);

/** Remembers @data (@len bytes, borrowed). Returns 1 when it was not in the
 * set, 0 when it was; -E2BIG when the set already holds its maximum (nothing
 * is added); -ENOMEM; -EIO when the CSPRNG cannot give the salt. */
int akr_seen_add(struct akr_seen *s, const void *data, size_t len);

/** Whether @data was added before (never changes the set). */
bool akr_seen_contains(const struct akr_seen *s, const void *data, size_t len);

/** How many strings the set holds. */
static inline size_t akr_seen_count(const struct akr_seen *s)
{
	return s->n;
}
