#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/atomicfile.h"

int akr_atomic_write(const char *path, mode_t mode, akr_atomic_write_cb write_cb, void *userdata)
{
	char tmp[4096];
	const char *slash;
	FILE *f;
	int fd, r;

	if (!path || !path[0] || !write_cb)
		return -EINVAL;
	slash = strrchr(path, '/');
	/* Same directory, so that rename() is atomic; a dot file, so that
	 * collectors that read *.prom or report-*.json never see it. */
	if (slash)
		r = snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	else
		r = snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", path);
	if (r < 0 || (size_t)r >= sizeof(tmp))
		return -ENAMETOOLONG;

	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		(void)close(fd);
		(void)unlink(tmp);
		return r;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		(void)close(fd);
		(void)unlink(tmp);
		return r;
	}
	r = write_cb(f, userdata);
	if (r >= 0 && (fflush(f) != 0 || fsync(fileno(f)) < 0))
		r = -errno;
	if (fclose(f) != 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	return 0;
}
