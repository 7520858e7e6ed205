#pragma once
/* Replacing a file atomically: readers see the old file or the new one,
 * never a half-written one. Used for files read by others while the daemon
 * runs (run reports, the metrics file). */

#include <stdio.h>
#include <sys/types.h>

/** Fills @f (borrowed, open for writing). Returns 0 or -errno. */
typedef int (*akr_atomic_write_cb)(FILE *f, void *userdata);

/** Writes @path (borrowed) through @write_cb into a temporary file in the same
 * directory (".NAME.XXXXXX"), with mode @mode (not masked by the umask),
 * fsyncs it and renames it over @path. On any failure the temporary file is
 * removed and @path is left as it was. Returns 0, the callback's error, or
 * -errno. */
int akr_atomic_write(const char *path, mode_t mode, akr_atomic_write_cb write_cb, void *userdata);
