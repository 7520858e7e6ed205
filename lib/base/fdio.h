#pragma once
/* Whole reads and writes on a file descriptor, retrying EINTR and short
 * transfers: the one place lib/ loops over read(2) and write(2). */

#include <stddef.h>

struct akr_buf;

/** Writes all @n bytes of @p (borrowed) to @fd. Returns 0, or -errno of the
 * failed write(2) (-EIO when write(2) wrote nothing). On failure an unknown
 * prefix may have been written: callers that need all or nothing cut the
 * file back themselves. */
int akr_write_all(int fd, const void *p, size_t n);

/** Appends what @fd holds until end of file to @b, whose maximum bounds it.
 * Returns 0, -E2BIG (more than @b's maximum; @b then holds a prefix), or
 * -errno of the failed read(2). */
int akr_read_all(int fd, struct akr_buf *b);
