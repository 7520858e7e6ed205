/* The report's files: the state directory's report-<run id>.json and its
 * last-report.json link, a copy where the operator asks for it (--report
 * FILE), both written by one atomic writer, and pruning old reports by
 * report_retention_days. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/base/atomicfile.h"
#include "lib/base/macro.h"
#include "lib/base/timeutil.h"
#include "lib/rotation/report.h"

static int write_json_cb(FILE *f, void *userdata)
{
	return akr_report_write_json(userdata, f);
}

int akr_report_write_file(const struct akr_report *r, const char *path)
{
	if (!r || !path)
		return -EINVAL;
	/* Like the state directory's reports: the operator's alone (0600). */
	return akr_atomic_write(path, 0600, write_json_cb, (void *)r);
}

int akr_report_write(const struct akr_report *r, const char *dir, char **ret_path)
{
	char path[4096], last[4200], lasttmp[4300];
	int ret;

	if (!r || !dir)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/report-%s.json", dir, akr_report_run_id(r)) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	(void)snprintf(last, sizeof(last), "%s/last-report.json", dir);
	(void)snprintf(lasttmp, sizeof(lasttmp), "%s/.last-report.json.tmp", dir);
	/* Names, addresses and key ids: for the daemon's user only, written
	 * as the --report copy is (akr_report_write_file). */
	ret = akr_report_write_file(r, path);
	if (ret < 0)
		return ret;
	/* last-report.json: a symlink swapped in atomically. */
	(void)unlink(lasttmp);
	if (symlink(strrchr(path, '/') + 1, lasttmp) == 0 && rename(lasttmp, last) < 0)
		(void)unlink(lasttmp);
	if (ret_path) {
		*ret_path = strdup(path);
		if (!*ret_path)
			return -ENOMEM;
	}
	return 0;
}

/* The start time in a report's file name "report-YYYYMMDDTHHMMSSZ-xxxxxx.json"
 * (the run id begins with the sweep's start, see sweep.c). */
static int report_name_time(const char *name, int64_t *ret_sec)
{
	unsigned v[6];
	const char *p;
	size_t len = strlen(name);
	static const unsigned width[6] = { 4, 2, 2, 2, 2, 2 };

	if (strncmp(name, "report-", 7) != 0 || len < 7 + 16 + 5 ||
	    strcmp(name + len - 5, ".json") != 0)
		return -EINVAL;
	p = name + 7;
	for (size_t i = 0; i < 6; i++) {
		v[i] = 0;
		for (unsigned k = 0; k < width[i]; k++, p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			v[i] = v[i] * 10 + (unsigned)(*p - '0');
		}
		if (i == 2 && *p++ != 'T')
			return -EINVAL;
	}
	if (*p != 'Z' || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60)
		return -EINVAL;
	*ret_sec = akr_days_from_civil(v[0], v[1], v[2]) * AKR_SEC_PER_DAY +
		   (int64_t)v[3] * 3600 + (int64_t)v[4] * 60 + v[5];
	return 0;
}

int akr_report_prune(const char *dir, int64_t now_sec, int retention_days, size_t *ret_removed)
{
	_cleanup_close_ int dfd = -1;
	char keep[NAME_MAX + 1] = "";
	size_t removed = 0;
	struct dirent *de;
	ssize_t n;
	DIR *d;
	int r = 0;

	if (!dir || retention_days < 0)
		return -EINVAL;
	if (retention_days == 0) {
		if (ret_removed)
			*ret_removed = 0;
		return 0;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	/* The report last-report.json points at is kept whatever its age. */
	n = readlinkat(dfd, "last-report.json", keep, sizeof(keep) - 1);
	keep[n > 0 ? (size_t)n : 0] = '\0';

	d = fdopendir(dfd);
	if (!d)
		return -errno;
	dfd = -1; /* owned by d now */
	while ((errno = 0, de = readdir(d))) {
		int64_t at;

		if (report_name_time(de->d_name, &at) < 0 || strcmp(de->d_name, keep) == 0)
			continue; /* not one of ours: never touched */
		if (akr_time_days_between(at, now_sec) < retention_days)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
			if (errno != ENOENT && r == 0)
				r = -errno;
			continue;
		}
		removed++;
	}
	if (errno && r == 0)
		r = -errno;
	(void)closedir(d);
	if (ret_removed)
		*ret_removed = removed;
	return r;
}
