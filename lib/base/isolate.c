#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/base/error.h"
#include "lib/base/fdio.h"
#include "lib/base/isolate.h"
#include "lib/base/macro.h"
#include "lib/base/secret.h"

/* What the child writes to the pipe: this header, then @len bytes: the
 * result when @r is 0, else its struct akr_error (the same binary made it). */
struct isolated_header {
	int32_t r;
	uint32_t len;
};

static _Noreturn void child_main(int fd, akr_isolated_fn fn, void *arg)
{
	struct akr_secret *out = NULL;
	struct akr_error err = { 0 };
	struct isolated_header h;
	int r = fn(arg, &out, &err);

	if (r >= 0 && (!out || out->len > UINT32_MAX))
		r = -EIO;
	h.r = r < 0 ? r : 0;
	h.len = r < 0 ? (uint32_t)sizeof(err) : (uint32_t)out->len;
	if (akr_write_all(fd, &h, sizeof(h)) < 0 ||
	    akr_write_all(fd, r < 0 ? (const void *)&err : out->buf, h.len) < 0)
		_exit(3);
	out = akr_secret_free(out);
	_exit(0);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads exactly @n bytes before @deadline. Returns 0, -ETIMEDOUT, -EPIPE (end
 * of file first) or -errno. */
static int read_exact(int fd, void *p, size_t n, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		int64_t left = deadline - mono_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)(left > INT32_MAX ? INT32_MAX : left));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		k = read(fd, (uint8_t *)p + got, n - got);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EPIPE;
		got += (size_t)k;
	}
	return 0;
}

/* -ETIMEDOUT and -EPIPE are told by the caller, who knows how the child ended. */
static int read_failed(int r, const char *what, struct akr_error *reterr)
{
	if (r != -ETIMEDOUT && r != -EPIPE)
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "IsolatedError",
			      "%s: cannot read its answer: %s", what, strerror(-r));
	return r;
}

/* The child's answer: its result in *@ret, or its error (-EPIPE: none). */
static int read_answer(int fd, const char *what, size_t max_bytes, int64_t deadline,
		       struct akr_secret **ret, struct akr_error *reterr)
{
	_cleanup_secret_ struct akr_secret *out = NULL;
	struct isolated_header h;
	struct akr_error err;
	int r;

	r = read_exact(fd, &h, sizeof(h), deadline);
	if (r < 0)
		return read_failed(r, what, reterr);
	if (h.r < 0) {
		if (h.r < -4095 || h.len != sizeof(err))
			return -EPIPE;
		r = read_exact(fd, &err, sizeof(err), deadline);
		if (r < 0)
			return read_failed(r, what, reterr);
		err.code[sizeof(err.code) - 1] = '\0';
		err.message[sizeof(err.message) - 1] = '\0';
		akr_error_set(reterr, err.kind, 0, err.code[0] ? err.code : "IsolatedError", "%s",
			      err.message[0] ? err.message : what);
		return h.r;
	}
	if (h.r != 0 || h.len == 0)
		return -EPIPE;
	if (h.len > max_bytes) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "IsolatedError",
			      "%s: the result is larger than %zu bytes", what, max_bytes);
		return -E2BIG;
	}
	out = akr_secret_new("", 0);
	if (!out)
		return -ENOMEM;
	free(out->buf);
	out->len = 0;
	out->buf = calloc(1, (size_t)h.len + 1);
	if (!out->buf)
		return -ENOMEM;
	out->len = h.len;
	r = read_exact(fd, out->buf, out->len, deadline);
	if (r < 0)
		return read_failed(r, what, reterr);
	*ret = TAKE_PTR(out);
	return 0;
}

/* Waits for the child, killing it first if @kill_it. Returns its status. */
static int reap(pid_t pid, bool kill_it)
{
	int status = 0;

	if (kill_it)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int akr_isolated_run(const char *what, akr_isolated_fn fn, void *arg, size_t max_bytes,
		     int timeout_ms, struct akr_secret **ret, struct akr_error *reterr)
{
	_cleanup_secret_ struct akr_secret *out = NULL;
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	sigset_t all, old;
	int fds[2], r, status;
	pid_t pid;

	if (!what || !fn || !ret || max_bytes == 0)
		return -EINVAL;
	if (pipe2(fds, O_CLOEXEC) < 0) {
		r = -errno;
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "IsolatedError",
			      "%s: cannot make a pipe: %s", what, strerror(-r));
		return r;
	}
	/* Blocked across fork(): the child starts with every signal blocked
	 * and keeps them so; the parent gets its mask back at once. */
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		(void)close(fds[0]);
		child_main(fds[1], fn, arg);
	}
	r = pid < 0 ? -errno : 0;
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	(void)close(fds[1]);
	if (r < 0) {
		(void)close(fds[0]);
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "IsolatedError",
			      "%s: cannot start its process: %s", what, strerror(-r));
		return r;
	}

	r = read_answer(fds[0], what, max_bytes, deadline, &out, reterr);
	(void)close(fds[0]);
	status = reap(pid, r == -ETIMEDOUT || r == -E2BIG);
	if (r == -ETIMEDOUT) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "IsolatedError",
			      "%s: took longer than %d ms; its process was killed", what, timeout_ms);
		return r;
	}
	if (r == -E2BIG)
		return r;
	if (WIFSIGNALED(status)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "IsolatedError",
			      "%s: its process was killed by signal %d (%s)", what, WTERMSIG(status),
			      strsignal(WTERMSIG(status)));
		return -ECHILD;
	}
	if (r == -EPIPE || (r >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "IsolatedError",
			      "%s: its process ended (exit status %d) without a whole answer", what,
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return -ECHILD;
	}
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	return 0;
}
