/* credential_process: split, spawn, read, parse (see credprocess.h). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <uv.h>

#include "lib/aws/client.h"
#include "lib/aws/creddoc.h"
#include "lib/aws/credprocess.h"
#include "lib/base/error.h"
#include "lib/base/macro.h"
#include "lib/base/strutil.h"

#define CODE "CredentialProcessError"

void akr_credprocess_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* POSIX shell word splitting without expansions, as Python's shlex.split()
 * that the SDKs use: blanks separate words; '...' is literal; "..." keeps
 * all but \" \\ \$ \` (and \newline, dropped); a backslash outside quotes
 * escapes the next character. */
int akr_credprocess_split(const char *command, char ***ret_argv)
{
	size_t len = command ? strlen(command) : 0, n = 0;
	_cleanup_free_ char *word = NULL;
	char **argv = NULL;
	const char *p = command;

	if (len == 0 || len > 8192)
		return -EINVAL;
	/* At most len/2 + 1 words, each at most len bytes. */
	argv = calloc(len / 2 + 2, sizeof(*argv));
	word = malloc(len + 1);
	if (!argv || !word) {
		free(argv);
		return -ENOMEM;
	}
	while (*p) {
		size_t w = 0;
		bool have = false;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
			have = true;
			if (*p == '\'') {
				const char *end = strchr(p + 1, '\'');

				if (!end)
					goto invalid;
				memcpy(word + w, p + 1, (size_t)(end - p - 1));
				w += (size_t)(end - p - 1);
				p = end + 1;
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && p[1] && strchr("\"\\$`\n", p[1])) {
						p++;
						if (*p == '\n')
							continue;
					}
					word[w++] = *p;
				}
				if (*p != '"')
					goto invalid;
				p++;
			} else if (*p == '\\') {
				if (!p[1])
					goto invalid;
				if (p[1] != '\n')
					word[w++] = p[1];
				p += 2;
			} else {
				word[w++] = *p++;
			}
		}
		if (!have)
			break;
		argv[n] = strndup(word, w);
		if (!argv[n]) {
			akr_credprocess_argv_free(argv);
			return -ENOMEM;
		}
		n++;
	}
	if (n == 0)
		goto invalid;
	*ret_argv = argv;
	return 0;
invalid:
	akr_credprocess_argv_free(argv);
	return -EINVAL;
}

/* ---- the output ---------------------------------------------------------- */

int akr_credprocess_parse(const char *out, size_t len, struct akr_aws_creds *ret,
			  struct akr_error *reterr)
{
	return akr_creddoc_parse(&akr_creddoc_process, out, len, ret, reterr);
}

/* ---- the process --------------------------------------------------------- */

struct run {
	uv_process_t proc;
	uv_pipe_t out;
	uv_timer_t timer;
	int open_handles;
	akr_credprocess_cb cb;
	void *userdata;
	char *program; /* argv[0], for messages */
	char *buf;     /* the output, wiped */
	size_t len;
	bool exited, eof, timed_out, too_big;
	int64_t status;
	int term_signal;
};

static void run_free(struct run *x)
{
	if (x->buf)
		OPENSSL_clear_free(x->buf, AKR_CREDPROCESS_MAX_OUTPUT + 1);
	free(x->program);
	free(x);
}

static void on_close(uv_handle_t *h)
{
	struct run *x = h->data;

	if (--x->open_handles == 0)
		run_free(x);
}

static void finish_if_done(struct run *x)
{
	struct akr_aws_creds creds = { 0 };
	struct akr_error err = { 0 };
	int r;

	if (!x->exited || !x->eof || !x->cb)
		return;
	(void)uv_timer_stop(&x->timer);
	if (x->timed_out) {
		r = -ETIMEDOUT;
		akr_error_set(&err, AKR_ERROR_LOCAL, 0, CODE,
			      "credential_process '%.100s' did not finish in time and was killed",
			      x->program);
	} else if (x->too_big) {
		r = -E2BIG;
		akr_error_set(&err, AKR_ERROR_LOCAL, 0, CODE,
			      "credential_process '%.100s' printed more than %u bytes", x->program,
			      AKR_CREDPROCESS_MAX_OUTPUT);
	} else if (x->status != 0 || x->term_signal != 0) {
		r = -EPROTO;
		akr_error_set(&err, AKR_ERROR_LOCAL, 0, CODE,
			      "credential_process '%.100s' failed (%s %d; its stderr is in the log)",
			      x->program, x->term_signal ? "signal" : "exit status",
			      x->term_signal ? x->term_signal : (int)x->status);
	} else {
		r = akr_credprocess_parse(x->buf, x->len, &creds, &err);
	}
	x->cb(x->userdata, r, r < 0 ? NULL : &creds, r < 0 ? &err : NULL);
	x->cb = NULL;
	akr_aws_creds_done(&creds);
	uv_close((uv_handle_t *)&x->proc, on_close);
	uv_close((uv_handle_t *)&x->out, on_close);
	uv_close((uv_handle_t *)&x->timer, on_close);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
	struct run *x = p->data;

	x->exited = true;
	x->status = status;
	x->term_signal = term_signal;
	finish_if_done(x);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct run *x = h->data;

	(void)suggested;
	/* One byte more than allowed, to see an overrun. */
	*buf = uv_buf_init(x->buf + x->len, (unsigned)(AKR_CREDPROCESS_MAX_OUTPUT + 1 - x->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct run *x = s->data;

	(void)buf;
	if (n > 0) {
		x->len += (size_t)n;
		if (x->len > AKR_CREDPROCESS_MAX_OUTPUT) {
			x->too_big = true;
			x->len = AKR_CREDPROCESS_MAX_OUTPUT;
			(void)uv_process_kill(&x->proc, SIGKILL);
			(void)uv_read_stop(s);
			x->eof = true;
		}
	} else if (n < 0) {
		(void)uv_read_stop(s);
		x->eof = true;
	}
	finish_if_done(x);
}

static void on_timeout(uv_timer_t *t)
{
	struct run *x = t->data;

	x->timed_out = true;
	(void)uv_process_kill(&x->proc, SIGKILL);
	/* A child of the process may still hold stdout open: stop waiting for it. */
	(void)uv_read_stop((uv_stream_t *)&x->out);
	x->eof = true;
	finish_if_done(x);
}

int akr_credprocess_run(uv_loop_t *loop, const char *command, int64_t timeout_ms,
			akr_credprocess_cb cb, void *userdata)
{
	uv_process_options_t o = { 0 };
	uv_stdio_container_t stdio[3];
	char **argv = NULL;
	struct run *x;
	int r;

	if (!loop || !cb)
		return -EINVAL;
	r = akr_credprocess_split(command, &argv);
	if (r < 0)
		return r;
	x = calloc(1, sizeof(*x));
	if (!x || !(x->buf = calloc(1, AKR_CREDPROCESS_MAX_OUTPUT + 1)) ||
	    !(x->program = strdup(argv[0]))) {
		if (x)
			run_free(x);
		akr_credprocess_argv_free(argv);
		return -ENOMEM;
	}
	x->cb = cb;
	x->userdata = userdata;
	x->proc.data = x->out.data = x->timer.data = x;
	r = uv_pipe_init(loop, &x->out, 0);
	if (r < 0) {
		run_free(x);
		akr_credprocess_argv_free(argv);
		return r;
	}
	x->open_handles = 1;
	r = uv_timer_init(loop, &x->timer);
	if (r < 0)
		goto fail_handles;
	x->open_handles++;

	stdio[0] = (uv_stdio_container_t){ .flags = UV_IGNORE };
	stdio[1] = (uv_stdio_container_t){ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE,
					   .data.stream = (uv_stream_t *)&x->out };
	stdio[2] = (uv_stdio_container_t){ .flags = UV_INHERIT_FD, .data.fd = 2 };
	o.file = argv[0];
	o.args = argv;
	o.exit_cb = on_exit_cb;
	o.stdio = stdio;
	o.stdio_count = 3;
	r = uv_spawn(loop, &x->proc, &o);
	akr_credprocess_argv_free(argv);
	argv = NULL;
	if (r < 0) {
		/* The process handle must be closed even when spawn failed. */
		x->open_handles++;
		x->cb = NULL;
		uv_close((uv_handle_t *)&x->proc, on_close);
		goto fail_handles;
	}
	x->open_handles++;
	r = uv_read_start((uv_stream_t *)&x->out, on_alloc, on_read);
	if (r == 0)
		r = uv_timer_start(&x->timer, on_timeout,
				   (uint64_t)(timeout_ms > 0 ? timeout_ms : AKR_CREDPROCESS_TIMEOUT_MS),
				   0);
	if (r < 0) {
		/* Running: kill it; the callbacks then finish without a caller. */
		x->cb = NULL;
		(void)uv_process_kill(&x->proc, SIGKILL);
		uv_close((uv_handle_t *)&x->proc, on_close);
		goto fail_handles;
	}
	return 0;

fail_handles:
	x->cb = NULL;
	uv_close((uv_handle_t *)&x->out, on_close);
	if (x->open_handles >= 2 && !uv_is_closing((uv_handle_t *)&x->timer))
		uv_close((uv_handle_t *)&x->timer, on_close);
	akr_credprocess_argv_free(argv);
	return r;
}
