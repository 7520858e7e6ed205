#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "lib/base/log.h"
#include "tests/fuzz/fuzz.h"

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static void tmpdir_remove(void)
{
	if (tmpdir[0])
		(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fuzz_tmpdir(void)
{
	struct stat st;

	if (tmpdir[0])
		return tmpdir;
	(void)snprintf(tmpdir, sizeof(tmpdir), "%s/akr-fuzz-XXXXXX",
		       stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(tmpdir_remove);
	return tmpdir;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t done = 0;

	if (fd < 0) {
		perror(path);
		abort();
	}
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			perror(path);
			abort();
		}
		done += (size_t)n;
	}
	if (close(fd) < 0)
		abort();
}

size_t fuzz_split(const uint8_t *data, size_t size, char sep, char **fields, size_t max,
		  char **ret_block)
{
	char *block = malloc(size + 1);
	size_t n = 1;

	if (!block)
		abort();
	memcpy(block, data, size);
	block[size] = '\0';
	fields[0] = block;
	for (size_t i = 0; i < size && n < max; i++) {
		if (block[i] == sep) {
			block[i] = '\0';
			fields[n++] = block + i + 1;
		}
	}
	for (size_t i = n; i < max; i++)
		fields[i] = block + size; /* "" */
	*ret_block = block;
	return n;
}

void fuzz_quiet_logs(void)
{
	static int done;

	if (!done) {
		akr_log_setup(AKR_LOG_STDERR, LOG_CRIT);
		done = 1;
	}
}
