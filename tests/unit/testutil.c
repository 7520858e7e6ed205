#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "tests/unit/testutil.h"

const char *testutil_python3(void)
{
	const char *p = getenv("PYTHON3");

	return p && *p ? p : "python3";
}

const char *testutil_source_dir(void)
{
	const char *p = getenv("SOURCE_DIR");

	return p && *p ? p : SOURCE_DIR;
}

void testutil_expect_error(int got, const struct akr_error *err, int want, int kind,
			   const char *needle)
{
	assert_int_equal(got, want);
	assert_int_equal(err->kind, kind);
	if (!strstr(err->message, needle))
		fail_msg("'%s' does not contain '%s'", err->message, needle);
}

void testutil_assert_has(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("missing '%s' in:\n%s", needle, hay ? hay : "(null)");
}

void testutil_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

char *testutil_slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

void testutil_run_python(const char *script_text, const char *arg, const void *input, size_t len,
			 struct akr_buf *out, size_t max)
{
	char script[] = "/tmp/akr-testutil-py-XXXXXX", in[] = "/tmp/akr-testutil-in-XXXXXX";
	char cmd[512], chunk[4096];
	size_t n;
	int fd, status;
	FILE *f;

	fd = mkstemp(script);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, script_text, strlen(script_text)), (ssize_t)strlen(script_text));
	assert_int_equal(close(fd), 0);
	fd = mkstemp(in);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, input, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	(void)snprintf(cmd, sizeof(cmd), "'%s' '%s' %s%s%s < '%s'", testutil_python3(), script,
		       arg ? "'" : "", arg ? arg : "", arg ? "'" : "", in);
	f = popen(cmd, "r");
	assert_non_null(f);
	akr_buf_init(out, max, true); /* may hold secrets: wiped */
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(akr_buf_append(out, chunk, n), 0);
	status = pclose(f);
	(void)unlink(script);
	(void)unlink(in);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the Python helper failed (status %d); its output:\n%s", status,
			 out->data ? out->data : "");
}

void testutil_server_start(struct testutil_server *s, const char *script,
			   const char *const *args, const char *log_path)
{
	const char *argv[16];
	char path[512], line[256];
	size_t n = 0;
	int pipefd[2];
	FILE *f;

	memset(s, 0, sizeof(*s));
	(void)snprintf(s->log, sizeof(s->log), "%s", log_path);
	(void)snprintf(path, sizeof(path), "%s/%s", testutil_source_dir(), script);
	argv[n++] = testutil_python3();
	argv[n++] = path;
	for (size_t i = 0; args && args[i]; i++) {
		assert_true(n < sizeof(argv) / sizeof(argv[0]) - 1);
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		int log = open(s->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		(void)dup2(pipefd[1], STDOUT_FILENO);
		if (log >= 0)
			(void)dup2(log, STDERR_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	f = fdopen(pipefd[0], "r");
	assert_non_null(f);
	/* Blocks until the server prints its first line or exits (EOF): the
	 * state we need, bounded by the server's own start-up. */
	if (!fgets(line, sizeof(line), f) || sscanf(line, "listening on %127s", s->url) != 1) {
		fclose(f);
		testutil_server_stop(s);
		fail_msg("%s did not start (with %s); see %s", script, argv[0], s->log);
	}
	fclose(f);
}

void testutil_server_stop(struct testutil_server *s)
{
	if (s->pid <= 0)
		return;
	(void)kill(s->pid, SIGTERM);
	(void)waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

struct testutil_tmpdir *testutil_tmpdir_new(const char *name, const char *file)
{
	struct testutil_tmpdir *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	assert_true((size_t)snprintf(t->dir, sizeof(t->dir), "/tmp/akr-test-%s-XXXXXX", name) <
		    sizeof(t->dir));
	if (!mkdtemp(t->dir))
		fail_msg("mkdtemp %s: %s", t->dir, strerror(errno));
	assert_true((size_t)snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, file) <
		    sizeof(t->path));
	return t;
}

void testutil_tmpdir_free(struct testutil_tmpdir *t)
{
	if (!t)
		return;
	(void)testutil_rm_rf(t->dir);
	free(t);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -errno : 0;
}

int testutil_rm_rf(const char *path)
{
	int r = nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);

	if (r == -1)
		return errno == ENOENT ? 0 : -errno;
	return r;
}
