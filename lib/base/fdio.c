#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "lib/base/buf.h"
#include "lib/base/fdio.h"

int akr_write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n > 0) {
		ssize_t w = write(fd, q, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int akr_read_all(int fd, struct akr_buf *b)
{
	char chunk[65536];
	ssize_t n;
	int r;

	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		r = akr_buf_append(b, chunk, (size_t)n);
		if (r < 0)
			return r;
	}
	return 0;
}
