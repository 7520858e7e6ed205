#pragma once
/* Helpers shared by the cmocka unit tests (tests/unit/test-*.c): each one
 * fails the running test with a message naming what went wrong, so a caller
 * never checks a return value. Not part of libakr. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct akr_buf;
struct akr_error;

/** The Python interpreter for helper scripts: $PYTHON3, else "python3". */
const char *testutil_python3(void);
/** The source tree: $SOURCE_DIR, else the SOURCE_DIR the test was built with. */
const char *testutil_source_dir(void);

/** Asserts that a call returned @want and filled @err as a parse error of
 * kind @kind whose message contains @needle. */
void testutil_expect_error(int got, const struct akr_error *err, int want, int kind,
			   const char *needle);
/** Asserts that @hay contains @needle, printing @hay when not. */
void testutil_assert_has(const char *hay, const char *needle);

/** Writes @text to @path (created or truncated). */
void testutil_write_file(const char *path, const char *text);
/** The whole of @path as a NUL-terminated string (at most 1 MiB); caller frees. */
char *testutil_slurp(const char *path);

/** Runs the Python program @script_text with @arg (may be NULL) as its one
 * argument and @len bytes of @input on its stdin; its stdout goes to @out
 * (initialised here, at most @max bytes; the caller frees it with
 * akr_buf_done()). Fails the test unless the program exits 0. This is how
 * the mail tests parse what lib/delivery builds with Python's email package. */
void testutil_run_python(const char *script_text, const char *arg, const void *input, size_t len,
			 struct akr_buf *out, size_t max);

/** A helper server started from the source tree: a Python script (or
 * package directory) that prints "listening on URL" as its first line. */
struct testutil_server {
	pid_t pid;
	char url[128];
	char log[512]; /* its stderr */
};

/** Starts $PYTHON3 @script (relative to the source tree) with the NULL-
 * terminated @args, stderr to @log_path. Fails the test, naming the log, when
 * the server exits or prints anything but "listening on URL" first. */
void testutil_server_start(struct testutil_server *s, const char *script,
			   const char *const *args, const char *log_path);
/** SIGTERM and reap; a server never started (pid 0) is ignored. */
void testutil_server_stop(struct testutil_server *s);

/** A fresh directory under /tmp for one test, and a file name in it. */
struct testutil_tmpdir {
	char dir[64];   /* /tmp/akr-test-NAME-XXXXXX */
	char path[128]; /* dir/FILE */
};
/** Creates the directory (fails the test when it cannot) named after @name,
 * with @file (may be "") as the file name of ->path. Free with
 * testutil_tmpdir_free(). Fits a cmocka setup: *state = testutil_tmpdir_new(). */
struct testutil_tmpdir *testutil_tmpdir_new(const char *name, const char *file);
/** Removes the directory with all it holds, and frees @t (NULL is ignored). */
void testutil_tmpdir_free(struct testutil_tmpdir *t);
/** Removes @path and, if a directory, all below it (symbolic links are not
 * followed). Returns 0 or -errno; a missing @path is 0. */
int testutil_rm_rf(const char *path);
