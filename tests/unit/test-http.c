/* lib/http/engine.c against tests/unit/http_test_server.py (a scriptable HTTP/1.1
 * server, plain and TLS), and lib/http/retry.c's arithmetic on its own. */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <uv.h>

#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/http/retry.h"
#include "lib/base/log.h"
#include "lib/http/sigv4.h"
#include "tests/unit/testutil.h"

#ifndef SOURCE_DIR
#define SOURCE_DIR "."
#endif

#define TEST_AKID "AKIAIOSFODNN7EXAMPLE"
#define TEST_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TEST_TOKEN "FQoGZXIvYXdzEXAMPLESESSIONTOKENxyzzy"

struct server {
	pid_t pid;
	int stdin_fd;
	int port;
};

static struct server plain_srv, tls_srv;
static char tmpdir[] = "/tmp/test-http-XXXXXX";
static char cert_path[256], key_path[256];

/* Set while the test is inside an akr_http_* call: a callback must never
 * run then. */
static bool in_api;

static int64_t mono_ms(void)
{
	return (int64_t)(uv_hrtime() / 1000000);
}

static int server_start(struct server *s, const char *cert, const char *key)
{
	const char *py = getenv("PYTHON3");
	int in[2], out[2];
	char line[64];
	FILE *f;

	if (!py || !*py)
		py = "python3";
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		(void)dup2(in[0], STDIN_FILENO);
		(void)dup2(out[1], STDOUT_FILENO);
		if (cert)
			execlp(py, py, SOURCE_DIR "/tests/unit/http_test_server.py", "--tls", cert, key,
			       (char *)NULL);
		else
			execlp(py, py, SOURCE_DIR "/tests/unit/http_test_server.py", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->stdin_fd = in[1];
	f = fdopen(out[0], "r");
	if (!f || !fgets(line, sizeof(line), f) || sscanf(line, "port %d", &s->port) != 1)
		return -EIO;
	fclose(f);
	return 0;
}

static void server_stop(struct server *s)
{
	if (s->pid <= 0)
		return;
	close(s->stdin_fd);
	(void)kill(s->pid, SIGTERM);
	(void)waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

static size_t ctl_write(char *p, size_t size, size_t n, void *userdata)
{
	char *out = userdata;
	size_t have = strlen(out), add = size * n;

	if (have + add >= 8192)
		add = 8191 - have;
	memcpy(out + have, p, add);
	out[have + add] = '\0';
	return size * n;
}

/* A blocking GET of the plain server's control interface into @out (8 KiB). */
static void ctl(const char *path, char *out)
{
	char url[256];
	CURL *e = curl_easy_init();

	out[0] = '\0';
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/_ctl/%s", plain_srv.port, path);
	assert_non_null(e);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, ctl_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
	assert_int_equal(curl_easy_perform(e), CURLE_OK);
	curl_easy_cleanup(e);
}

static long ctl_stat(const char *name)
{
	char out[8192], *p;
	size_t n = strlen(name);

	ctl("stats", out);
	for (p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtol(p + n + 1, NULL, 10);
	return 0;
}

struct attempt_log {
	double t_ms[16];
	char date[16][32];
	char sig[16][32];
	char signature[16][80];
	char host[16][64];
	size_t n;
};

static void ctl_log(const char *id, struct attempt_log *log)
{
	char out[8192], path[128], *line, *nl;

	memset(log, 0, sizeof(*log));
	(void)snprintf(path, sizeof(path), "log?id=%s", id);
	ctl(path, out);
	for (line = out; *line && log->n < 16; line = nl + 1) {
		size_t i = log->n;

		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = '\0';

		if (sscanf(line, "%lf %31s %31s %79s %63s", &log->t_ms[i], log->date[i], log->sig[i],
			   log->signature[i], log->host[i]) == 5)
			log->n++;
	}
}

static int group_setup(void **state)
{
	char cmd[1024];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	(void)unsetenv("AWS_CA_BUNDLE");
	if (server_start(&plain_srv, NULL, NULL) < 0)
		return -1;
	if (!mkdtemp(tmpdir))
		return -1;
	(void)snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	(void)snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	(void)snprintf(cmd, sizeof(cmd),
		       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
		       "-keyout %s -out %s -days 2 -subj /CN=127.0.0.1 "
		       "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		       key_path, cert_path);
	if (system(cmd) != 0)
		return -1;
	return server_start(&tls_srv, cert_path, key_path);
}

static int group_teardown(void **state)
{
	char cmd[512];

	server_stop(&plain_srv);
	server_stop(&tls_srv);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	(void)system(cmd);
	curl_global_cleanup();
	return 0;
}

/* One engine on one fresh loop per test. */
struct fixture {
	uv_loop_t loop;
	struct akr_http *h;
};

static void fixture_init(struct fixture *f, const struct akr_http_options *opts)
{
	char out[8192];

	ctl("reset", out);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(akr_http_new(&f->loop, opts, &f->h), 0);
}

/* The engine's teardown: free, let the close callbacks run, and the loop
 * must be empty. */
static void fixture_done(struct fixture *f)
{
	in_api = true;
	akr_http_free(f->h);
	in_api = false;
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);
}

struct result {
	bool done;
	int calls;
	int r;
	long status;
	unsigned attempts;
	struct akr_error err;
	bool have_err;
	char body[512];
	size_t body_len;
	char custom_header[64];
	int64_t done_ms;
	const char *tag;
	struct fixture *free_engine_in_cb; /* frees the engine from the callback */
};

static void on_done(void *userdata, int r, const struct akr_http_response *resp,
		    const struct akr_error *err)
{
	struct result *res = userdata;

	assert_false(in_api);
	res->calls++;
	res->done = true;
	res->r = r;
	res->done_ms = mono_ms();
	if (r < 0)
		assert_non_null(err);
	else
		assert_null(err);
	if (err) {
		res->err = *err;
		res->have_err = true;
	}
	if (r == -ECANCELED)
		assert_null(resp);
	if (resp) {
		res->status = resp->status;
		res->attempts = resp->attempts;
		res->body_len = resp->body_len;
		assert_int_equal(resp->body[resp->body_len], '\0');
		(void)snprintf(res->body, sizeof(res->body), "%s", resp->body);
		for (size_t i = 0; i < resp->n_headers; i++) {
			for (const char *c = resp->headers[i].name; *c; c++)
				assert_false(*c >= 'A' && *c <= 'Z');
			if (strcmp(resp->headers[i].name, "x-custom-header") == 0)
				(void)snprintf(res->custom_header, sizeof(res->custom_header), "%s",
					       resp->headers[i].value);
		}
	}
	if (res->free_engine_in_cb) {
		akr_http_free(res->free_engine_in_cb->h);
		res->free_engine_in_cb = NULL;
	}
}

/* Extracts <Code> from a Query error document, as lib/aws/client.c does for real. */
static int parse_query_error(long status, const char *body, size_t len, struct akr_error *reterr)
{
	const char *b = strstr(body, "<Code>"), *e;
	char code[96];

	if (!b || !(e = strstr(b, "</Code>")) || (size_t)(e - b - 6) >= sizeof(code))
		return -EBADMSG;
	memcpy(code, b + 6, (size_t)(e - b - 6));
	code[e - b - 6] = '\0';
	akr_error_set(reterr, AKR_ERROR_AWS, status, code, "scripted");
	return 0;
}

struct req_opts {
	const char *method;
	const char *key;
	const uint8_t *body;
	size_t body_len;
	const struct akr_http_header *headers;
	size_t n_headers;
	int64_t timeout_ms;
	size_t max_response_bytes;
	bool non_idempotent;
	bool survives;
	bool parse;
	const struct akr_sigv4_signer *signer;
	const struct server *srv;
	bool https;
};

static int start_req(struct fixture *f, const struct req_opts *o, struct result *res,
		     struct akr_http_request **ret_req, const char *fmt, ...) _printf_(5, 6);

static int start_req(struct fixture *f, const struct req_opts *o, struct result *res,
		     struct akr_http_request **ret_req, const char *fmt, ...)
{
	static const struct req_opts none = { 0 };
	const struct server *srv;
	char path[512], url[600];
	struct akr_http_request_desc d;
	va_list ap;
	int r;

	if (!o)
		o = &none;
	srv = o->srv ? o->srv : &plain_srv;
	va_start(ap, fmt);
	(void)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	(void)snprintf(url, sizeof(url), "%s://127.0.0.1:%d%s", o->https ? "https" : "http",
		       srv->port, path);
	d = (struct akr_http_request_desc){
		.method = o->method ? o->method : "GET",
		.url = url,
		.headers = o->headers,
		.n_headers = o->n_headers,
		.body = o->body,
		.body_len = o->body_len,
		.key = o->key,
		.timeout_ms = o->timeout_ms,
		.max_response_bytes = o->max_response_bytes,
		.idempotent = !o->non_idempotent,
		.survives_shutdown = o->survives,
		.signer = o->signer,
		.parse_error = o->parse ? parse_query_error : NULL,
	};
	memset(res, 0, sizeof(*res));
	in_api = true;
	r = akr_http_request_start(f->h, &d, on_done, res, ret_req);
	in_api = false;
	return r;
}

static void run(struct fixture *f)
{
	(void)uv_run(&f->loop, UV_RUN_DEFAULT);
}

/* lib/http/retry.c */

static void test_retry_arithmetic(void **state)
{
	struct akr_retry_quota q;
	struct akr_retry_rng rng;

	/* Full jitter under min(base × 2^(i−1), cap). */
	assert_int_equal(akr_retry_backoff_ms(1, 100, 20000, 0.5), 50);
	assert_int_equal(akr_retry_backoff_ms(2, 100, 20000, 0.5), 100);
	assert_int_equal(akr_retry_backoff_ms(3, 100, 20000, 0.999), 399);
	assert_int_equal(akr_retry_backoff_ms(20, 100, 20000, 0.5), 10000);
	assert_int_equal(akr_retry_backoff_ms(4000000000u, 1000, 20000, 0.999999), 19999);
	assert_int_equal(akr_retry_backoff_ms(1, 100, 20000, 0.0), 0);
	assert_int_equal(akr_retry_backoff_ms(1, 100, 20000, 1.5), 0);

	/* Quota: 5 per retry, 10 after a timeout, refunds capped at the start. */
	akr_retry_quota_init(&q, 12);
	assert_int_equal(akr_retry_quota_acquire(&q, false), 5);
	assert_int_equal(akr_retry_quota_acquire(&q, false), 5);
	assert_int_equal(akr_retry_quota_acquire(&q, false), 0);
	assert_int_equal(q.tokens, 2);
	akr_retry_quota_release(&q, 5);
	assert_int_equal(q.tokens, 7);
	assert_int_equal(akr_retry_quota_acquire(&q, true), 0);
	akr_retry_quota_release(&q, 0);
	akr_retry_quota_release(&q, 10);
	assert_int_equal(q.tokens, 12);
	assert_int_equal(akr_retry_quota_acquire(&q, true), 10);

	/* Idempotency decides what may be retried. */
	assert_true(akr_retry_allowed(AKR_RETRY_TRANSIENT, false, true));
	assert_true(akr_retry_allowed(AKR_RETRY_THROTTLING, false, true));
	assert_false(akr_retry_allowed(AKR_RETRY_NONE, false, true));
	assert_false(akr_retry_allowed(AKR_RETRY_TRANSIENT, false, false));
	assert_true(akr_retry_allowed(AKR_RETRY_THROTTLING, false, false));
	assert_true(akr_retry_allowed(AKR_RETRY_TRANSIENT, true, false));

	/* Server hints. */
	assert_int_equal(akr_retry_parse_hint_ms("2", NULL), 2000);
	assert_int_equal(akr_retry_parse_hint_ms(NULL, "1500"), 1500);
	assert_int_equal(akr_retry_parse_hint_ms("1", "1500"), 1500);
	assert_int_equal(akr_retry_parse_hint_ms("Wed, 21 Oct 2015 07:28:00 GMT", NULL), -1);
	assert_int_equal(akr_retry_parse_hint_ms("-3", "x"), -1);
	assert_int_equal(akr_retry_parse_hint_ms(NULL, NULL), -1);
	assert_int_equal(akr_retry_apply_hint(10, 300, 20000), 300);
	assert_int_equal(akr_retry_apply_hint(10, 300000, 20000), 20000);
	assert_int_equal(akr_retry_apply_hint(500, 300, 20000), 500);
	assert_int_equal(akr_retry_apply_hint(500, -1, 20000), 500);

	akr_retry_rng_seed(&rng, 1);
	for (int i = 0; i < 1000; i++) {
		double x = akr_retry_rng_next(&rng);
		assert_true(x >= 0.0 && x < 1.0);
	}
}

/* Basics */

static void test_get_headers_and_body(void **state)
{
	struct fixture f;
	struct result res;
	struct akr_http_stats st;

	fixture_init(&f, NULL);
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/basic?echo=1"), 0);
	assert_false(res.done); /* never from inside start */
	run(&f);
	assert_int_equal(res.calls, 1);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.attempts, 1);
	assert_string_equal(res.custom_header, "Value");
	assert_non_null(strstr(res.body, "method=GET"));
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.succeeded, 1);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.queued, 0);
	fixture_done(&f);
}

static void test_post_body_as_is(void **state)
{
	static const struct akr_http_header hdrs[] = {
		{ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
		{ "X-Amz-Target", "Test.Op" },
	};
	struct req_opts o = { .method = "POST", .headers = hdrs, .n_headers = 2 };
	size_t n = 200 * 1024;
	uint8_t *body = malloc(n);
	unsigned char md[32];
	char hex[65], want[160];
	struct fixture f;
	struct result res;

	assert_non_null(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (uint8_t)(i * 7 + 3);
	o.body = body;
	o.body_len = n;
	EVP_Digest(body, n, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", md[i]);

	fixture_init(&f, NULL);
	assert_int_equal(start_req(&f, &o, &res, NULL, "/r/post?echo=1"), 0);
	/* Copied: the caller's buffer may go away at once. */
	memset(body, 0, n);
	free(body);
	run(&f);
	assert_int_equal(res.r, 0);
	(void)snprintf(want, sizeof(want), "len=%zu sha256=%s expect=- te=- ", n, hex);
	assert_non_null(strstr(res.body, want));
	assert_non_null(strstr(res.body, "ctype=application/x-www-form-urlencoded; charset=utf-8"));
	(void)snprintf(want, sizeof(want), "host=127.0.0.1:%d method=POST", plain_srv.port);
	assert_non_null(strstr(res.body, want));

	/* PUT with an empty body (IMDSv2's token call). */
	o = (struct req_opts){ .method = "PUT" };
	assert_int_equal(start_req(&f, &o, &res, NULL, "/r/put?echo=1"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	assert_non_null(strstr(res.body, "len=0 "));
	assert_non_null(strstr(res.body, "method=PUT"));
	fixture_done(&f);
}

static void test_invalid_requests(void **state)
{
	static const struct akr_http_header crlf[] = { { "X-Evil", "a\r\nHost: evil" } };
	static const struct akr_http_header host[] = { { "Host", "example.com" } };
	static const struct akr_http_header badname[] = { { "Bad Name", "x" } };
	static const struct akr_http_header date[] = { { "X-Amz-Date", "20200101T000000Z" } };
	static const struct akr_sigv4_signer signer = { "us-east-1", "iam", NULL, NULL };
	struct akr_http_request_desc d = { .method = "GET", .url = "http://127.0.0.1:1/" };
	struct fixture f;
	struct result res = { 0 };

	fixture_init(&f, NULL);
	assert_int_equal(akr_http_request_start(f.h, &d, NULL, &res, NULL), -EINVAL);
	d.url = "ftp://127.0.0.1/x";
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.url = "http://user:pw@127.0.0.1/x";
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.url = "not a url";
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.url = "http://127.0.0.1:1/";
	d.method = "get";
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.method = "GET";
	d.body = (const uint8_t *)"x";
	d.body_len = 1;
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.body = NULL;
	d.body_len = 0;
	d.headers = crlf;
	d.n_headers = 1;
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.headers = host;
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.headers = badname;
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	d.headers = date;
	d.signer = &signer;
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), -EINVAL);
	assert_int_equal(akr_http_set_rate(f.h, "k", -1), -EINVAL);
	assert_int_equal(akr_http_set_rate(f.h, "k", NAN), -EINVAL);
	run(&f);
	assert_int_equal(res.calls, 0);
	fixture_done(&f);
}

static void test_keep_alive_reuse(void **state)
{
	struct fixture f;
	struct result res;
	long conns;

	/* One after the other: one connection serves them all. */
	fixture_init(&f, NULL);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/ka%d", i), 0);
		run(&f);
		assert_int_equal(res.r, 0);
	}
	/* The engine's one connection, and the control query's own. */
	assert_int_equal(ctl_stat("connections"), 2);
	assert_int_equal(ctl_stat("requests"), 5);

	/* The server closes the idle connection: the engine stops watching it
	 * (it stays watched between transfers), curl finds it dead, closes it
	 * through the engine, and the next request goes on a new one. */
	conns = ctl_stat("connections");
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/ka-close?close_after=50"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	(void)usleep(300 * 1000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/ka-after%d", i), 0);
		run(&f);
		assert_int_equal(res.r, 0);
	}
	/* One new connection of the engine's, and the control query's own. */
	assert_int_equal(ctl_stat("connections") - conns, 2);
	fixture_done(&f);
}

static void test_writes_share_connections(void **state)
{
	struct req_opts post = { .method = "POST", .non_idempotent = true };
	struct req_opts get = { 0 };
	struct fixture f;
	struct result res;
	char key[16];

	/* Reads and writes of different accounts (keys), one after the other,
	 * to one host and port: a write takes a pooled connection like any
	 * request, so one connection serves them all (issue 11: connections
	 * opened at most the in-flight cap plus a handful). */
	fixture_init(&f, NULL);
	for (int i = 0; i < 4; i++) {
		(void)snprintf(key, sizeof(key), "acct-%d", i);
		get.key = post.key = key;
		assert_int_equal(start_req(&f, &get, &res, NULL, "/r/wr-get%d", i), 0);
		run(&f);
		assert_int_equal(res.r, 0);
		assert_int_equal(start_req(&f, &post, &res, NULL, "/r/wr-post%d", i), 0);
		run(&f);
		assert_int_equal(res.r, 0);
	}
	/* The engine's one connection, and the control query's own. */
	assert_int_equal(ctl_stat("connections"), 2);
	assert_int_equal(ctl_stat("requests"), 8);
	fixture_done(&f);
}

static void test_response_header_limits(void **state)
{
	struct fixture f;
	struct result res;

	fixture_init(&f, NULL);
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/hdr1?headers=80"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	/* Past 100 headers the answer is refused, not stored. */
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/hdr2?headers=150"), 0);
	run(&f);
	assert_int_equal(res.r, -E2BIG);
	assert_string_equal(res.err.code, "response-too-large");
	fixture_done(&f);
}

/* Caps */

static void test_global_cap(void **state)
{
	struct akr_http_options o = { .max_in_flight = 32, .max_per_key = 100 };
	static struct result res[100];
	struct akr_http_stats st;
	struct fixture f;

	fixture_init(&f, &o);
	for (int i = 0; i < 100; i++)
		assert_int_equal(start_req(&f, NULL, &res[i], NULL, "/r/cap%d?delay=400", i), 0);
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.in_flight, 32);
	assert_int_equal(st.queued, 68);
	run(&f);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].r, 0);
	}
	assert_int_equal(ctl_stat("max_open"), 32);
	assert_int_equal(ctl_stat("requests"), 100);
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.max_in_flight_seen, 32);
	assert_int_equal(st.succeeded, 100);
	fixture_done(&f);
}

static void test_per_key_cap(void **state)
{
	static const struct akr_http_header ka[] = { { "X-Test-Key", "A" } };
	static const struct akr_http_header kb[] = { { "X-Test-Key", "B" } };
	struct akr_http_options o = { .max_in_flight = 32, .max_per_key = 4 };
	struct req_opts a = { .key = "A", .headers = ka, .n_headers = 1 };
	struct req_opts b = { .key = "B", .headers = kb, .n_headers = 1 };
	static struct result ra[16], rb[4];
	int64_t last_b = 0;
	int a_before_last_b = 0;
	struct fixture f;

	fixture_init(&f, &o);
	/* Key A queues first and more than its cap: B must not wait behind it. */
	for (int i = 0; i < 16; i++)
		assert_int_equal(start_req(&f, &a, &ra[i], NULL, "/r/ka%d?delay=250", i), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(start_req(&f, &b, &rb[i], NULL, "/r/kb%d?delay=250", i), 0);
	run(&f);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(rb[i].r, 0);
		if (rb[i].done_ms > last_b)
			last_b = rb[i].done_ms;
	}
	for (int i = 0; i < 16; i++) {
		assert_int_equal(ra[i].r, 0);
		if (ra[i].done_ms < last_b)
			a_before_last_b++;
	}
	assert_int_equal(ctl_stat("max_open_key.A"), 4);
	assert_int_equal(ctl_stat("max_open_key.B"), 4);
	assert_int_equal(ctl_stat("max_open"), 8);
	/* B finished with A's first wave, not after A's 16 requests. */
	assert_true(a_before_last_b <= 8);
	fixture_done(&f);
}

/* Retries */

/* The engine's debug log goes to @path while a test runs: capture_start()
 * returns the saved stderr, which capture_stop() puts back. */
static int capture_start(const char *path)
{
	int saved, fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	akr_log_setup(AKR_LOG_STDERR, LOG_DEBUG);
	return saved;
}

static void capture_stop(int saved)
{
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	akr_log_setup(AKR_LOG_STDERR, LOG_INFO);
}

/* The backoff the engine scheduled before retry @retry (1-based) of request
 * @id, from its debug line "attempt N of 'URL' failed (...), retrying in D ms". */
static long long scheduled_delay(const char *logtext, const char *id, unsigned retry)
{
	char needle[96];
	const char *p, *q;
	long long d;

	(void)snprintf(needle, sizeof(needle), "attempt %u of '", retry);
	for (p = strstr(logtext, needle); p; p = strstr(p + 1, needle)) {
		const char *eol = strchr(p, '\n');
		const char *url = p + strlen(needle);
		size_t n = strlen(id);

		/* The URL's path is /r/ID?...: the id must end there. */
		q = strstr(url, id);
		if (!q || (eol && q > eol) || q[-1] != '/' || q[n] != '?')
			continue;
		q = strstr(p, "retrying in ");
		if (q && (!eol || q < eol) && sscanf(q, "retrying in %lld ms", &d) == 1)
			return d;
	}
	fail_msg("no retry %u of '%s' in the engine's log", retry, id);
	return -1;
}

static void test_retry_503_backoff_grows(void **state)
{
	struct akr_http_options o = { .max_attempts = 4, .base_delay_ms = 50, .max_delay_ms = 1000 };
	static struct result res[20];
	long long sum[3] = { 0 }, delay;
	long long waited, longest = 0;
	struct akr_http_stats st;
	struct attempt_log log;
	struct fixture f;
	char id[32], logpath[300], *logtext;
	uint64_t t0, elapsed_ms;
	int saved;

	/* Asserts on the schedule the engine computed (its debug log), not on
	 * how long the machine took: under load every wait only gets longer. */
	(void)snprintf(logpath, sizeof(logpath), "%s/backoff.log", tmpdir);
	saved = capture_start(logpath);
	fixture_init(&f, &o);
	t0 = uv_hrtime();
	for (int i = 0; i < 20; i++)
		assert_int_equal(start_req(&f, NULL, &res[i], NULL, "/r/b503x%d?fail=3", i), 0);
	run(&f);
	elapsed_ms = (uv_hrtime() - t0) / 1000000;
	capture_stop(saved);
	logtext = testutil_slurp(logpath);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(res[i].r, 0);
		assert_int_equal(res[i].attempts, 4);
		(void)snprintf(id, sizeof(id), "b503x%d", i);
		ctl_log(id, &log);
		assert_int_equal(log.n, 4); /* exactly N + 1 attempts reached the server */
		waited = 0;
		for (unsigned g = 0; g < 3; g++) {
			/* Full jitter: retry g+1 waits [0, 50 × 2^g) ms. */
			delay = scheduled_delay(logtext, id, g + 1);
			assert_true(delay >= 0 && delay < 50LL << g);
			sum[g] += delay;
			waited += delay;
		}
		longest = waited > longest ? waited : longest;
	}
	free(logtext);
	/* The waits were waited: the requests took at least the longest sum of
	 * one request's backoffs (the loop's millisecond clock aside). Measured
	 * on this side: the test server's own timestamps lag under load, which
	 * made a per-gap check there fail on a busy machine. */
	if ((long long)elapsed_ms < longest - 3)
		fail_msg("the 20 requests took %llu ms, less than one's backoffs (%lld ms)",
			 (unsigned long long)elapsed_ms, longest);
	/* Means near 25, 50 and 100 ms: jitter cannot make all twenty
	 * immediate, nor the third waits as short as the first. */
	assert_true(sum[0] / 20 >= 8);
	assert_true(sum[2] > 2 * sum[0]);
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.retries, 60);
	assert_int_equal(st.succeeded, 20);
	fixture_done(&f);
}

static void test_retry_throttling(void **state)
{
	struct akr_http_options o = { .max_attempts = 3, .base_delay_ms = 20 };
	struct req_opts q = { .parse = true, .non_idempotent = true };
	static struct result res[5];
	struct akr_http_stats st;
	struct fixture f;

	fixture_init(&f, &o);
	/* Throttling is retried even for a non-idempotent request. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(
			start_req(&f, &q, &res[i], NULL, "/r/thr%d?fail=2&status=400&code=Throttling", i),
			0);
	run(&f);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(res[i].r, 0);
		assert_int_equal(res[i].attempts, 3);
	}
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.throttled, 10);
	assert_int_equal(st.retries, 10);
	assert_int_equal(ctl_stat("requests"), 15);
	fixture_done(&f);
}

static void test_no_retry_on_client_error(void **state)
{
	struct akr_http_options o = { .base_delay_ms = 10 };
	struct req_opts q = { .parse = true };
	struct fixture f;
	struct result res;

	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/e400?fail=5&status=400&code=InvalidInput"),
			 0);
	run(&f);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.status, 400);
	assert_int_equal(res.attempts, 1);
	assert_true(res.have_err);
	assert_string_equal(res.err.code, "InvalidInput");
	assert_int_equal(res.err.http_status, 400);
	assert_int_equal(res.err.kind, AKR_ERROR_AWS);
	assert_int_equal(res.err.retry, AKR_RETRY_NONE);
	assert_string_equal(res.err.request_id, "rid-e400");
	assert_non_null(strstr(res.body, "<Code>InvalidInput</Code>"));
	assert_int_equal(ctl_stat("requests"), 1);

	/* IAM's LimitExceeded (409) is not the throttling LimitExceededException. */
	assert_int_equal(
		start_req(&f, &q, &res, NULL, "/r/e409?fail=5&status=409&code=LimitExceeded"), 0);
	run(&f);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.attempts, 1);
	fixture_done(&f);
}

static void test_attempts_exhausted(void **state)
{
	struct akr_http_options o = { .max_attempts = 3, .base_delay_ms = 10 };
	struct req_opts q = { .parse = true };
	struct fixture f;
	struct result res, res2;

	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/ex1?fail=10"), 0);
	/* Without a parser, the status alone classifies. */
	assert_int_equal(start_req(&f, NULL, &res2, NULL, "/r/ex2?fail=10&status=502"), 0);
	run(&f);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.attempts, 3);
	assert_int_equal(res.status, 503);
	assert_string_equal(res.err.code, "ServiceUnavailable");
	assert_int_equal(res.err.retry, AKR_RETRY_TRANSIENT);
	assert_int_equal(res2.r, -EPROTO);
	assert_int_equal(res2.attempts, 3);
	assert_int_equal(res2.err.http_status, 502);
	assert_string_equal(res2.err.code, "");
	assert_int_equal(ctl_stat("requests"), 6);
	fixture_done(&f);
}

static void test_retry_quota(void **state)
{
	struct akr_http_options o = { .max_attempts = 10, .base_delay_ms = 5, .retry_quota = 12 };
	struct akr_http_stats st;
	struct fixture f;
	struct result res;

	/* 12 tokens pay for two retries of 5: the third is refused. */
	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/quota1?fail=10"), 0);
	run(&f);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.attempts, 3);
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.quota_exhausted, 1);
	assert_int_equal(st.retries, 2);
	fixture_done(&f);

	/* A success gives its retry's tokens back: 10 tokens serve 1 + 2
	 * retries only because the first success refunded its 5. */
	o.retry_quota = 10;
	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/quota2?fail=1"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.attempts, 2);
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/quota3?fail=2"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.attempts, 3);
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.quota_exhausted, 0);
	fixture_done(&f);
}

static void test_retry_after_honoured(void **state)
{
	struct akr_http_options o = { .base_delay_ms = 1, .max_delay_ms = 500 };
	struct attempt_log log;
	struct fixture f;
	struct result r1, r2;
	char logpath[300], *logtext;
	int saved;

	/* The wait the engine chose (its debug log), not the server's
	 * timestamps, which lag on a busy machine. */
	(void)snprintf(logpath, sizeof(logpath), "%s/retry-after.log", tmpdir);
	saved = capture_start(logpath);
	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, NULL, &r1, NULL, "/r/ra1?fail=1&amz_retry_after=300"), 0);
	/* Retry-After: 1 s is more than max_delay: capped at 500 ms. */
	assert_int_equal(start_req(&f, NULL, &r2, NULL, "/r/ra2?fail=1&retry_after=1"), 0);
	run(&f);
	capture_stop(saved);
	logtext = testutil_slurp(logpath);
	assert_int_equal(r1.r, 0);
	assert_int_equal(r2.r, 0);
	ctl_log("ra1", &log);
	assert_int_equal(log.n, 2);
	assert_int_equal(scheduled_delay(logtext, "ra1", 1), 300);
	ctl_log("ra2", &log);
	assert_int_equal(log.n, 2);
	assert_int_equal(scheduled_delay(logtext, "ra2", 1), 500);
	free(logtext);
	fixture_done(&f);
}

/* Transport failures */

/* The timeout is the request's deadline across its attempts: an attempt
 * that hangs uses it up and is not tried again (it used to be tried
 * max_attempts times, each with the whole timeout). */
static void test_timeout(void **state)
{
	struct akr_http_options o = { .max_attempts = 3, .base_delay_ms = 5 };
	struct req_opts q = { .timeout_ms = 300 };
	struct akr_http_stats st;
	struct fixture f;
	struct result res;
	char url[64];
	int64_t t0 = mono_ms();

	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/hang1?hang=1"), 0);
	run(&f);
	assert_int_equal(res.r, -ETIMEDOUT);
	assert_string_equal(res.err.code, "timeout");
	assert_int_equal(res.err.kind, AKR_ERROR_TRANSPORT);
	/* The message names the endpoint. */
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/r/hang1", plain_srv.port);
	assert_non_null(strstr(res.err.message, url));
	assert_true(mono_ms() - t0 >= 290);
	assert_true(mono_ms() - t0 < 2000);
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.retries, 0);
	assert_int_equal(ctl_stat("requests"), 1);
	fixture_done(&f);
}

/* Slow failures: the attempts share one deadline; no retry is made whose
 * wait would end past it. */
static void test_deadline_spans_attempts(void **state)
{
	struct akr_http_options o = { .max_attempts = 10, .base_delay_ms = 5, .max_delay_ms = 10 };
	struct req_opts q = { .timeout_ms = 700, .parse = true };
	struct fixture f;
	struct result res;
	int64_t t0 = mono_ms();

	fixture_init(&f, &o);
	/* Every attempt answers 503 after 300 ms: 700 ms hold two, not ten. */
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/slow503?fail=10&delay=300"), 0);
	run(&f);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.status, 503);
	assert_true(res.attempts >= 2 && res.attempts <= 3);
	assert_true(mono_ms() - t0 < 2000);
	fixture_done(&f);
}

static void shutdown_cb(uv_timer_t *t)
{
	struct akr_http *h = t->data;

	in_api = true;
	akr_http_shutdown(h, 400);
	in_api = false;
	uv_close((uv_handle_t *)t, NULL);
}

/* akr_http_shutdown(): what is in flight is canceled at once, a survivor
 * (a rollback) is cut at the end of the grace, nothing is tried again, new
 * requests are still served within the grace. */
static void test_shutdown(void **state)
{
	struct akr_http_options o = { .max_attempts = 5, .base_delay_ms = 5, .max_delay_ms = 10 };
	struct req_opts survivor = { .survives = true, .timeout_ms = 30000 };
	struct req_opts plain = { .timeout_ms = 30000, .parse = true };
	struct result hang, backoff, surv, after_fail, after_ok;
	struct akr_http_stats st;
	struct fixture f;
	uv_timer_t t;
	int64_t t0 = mono_ms();

	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, &plain, &hang, NULL, "/r/sd-hang?hang=1"), 0);
	assert_int_equal(start_req(&f, &plain, &backoff, NULL, "/r/sd-fail?fail=100&delay=20"), 0);
	assert_int_equal(start_req(&f, &survivor, &surv, NULL, "/r/sd-surv?hang=1"), 0);
	assert_int_equal(uv_timer_init(&f.loop, &t), 0);
	t.data = f.h;
	assert_int_equal(uv_timer_start(&t, shutdown_cb, 150, 0), 0);
	run(&f);
	/* Canceled at once, at the shutdown (150 ms), not at the grace's end. */
	assert_int_equal(hang.r, -ECANCELED);
	assert_true(hang.done_ms - t0 < 400);
	assert_int_equal(backoff.r, -ECANCELED);
	assert_true(backoff.done_ms - t0 < 400);
	/* The survivor ran until the grace was over (150 + 400 ms). */
	assert_int_equal(surv.r, -ETIMEDOUT);
	assert_string_equal(surv.err.code, "timeout");
	assert_true(surv.done_ms - t0 >= 500);
	assert_true(surv.done_ms - t0 < 2000);

	/* After the shutdown: one attempt, no retry; and past the grace a new
	 * request fails at once. */
	assert_int_equal(start_req(&f, &plain, &after_fail, NULL, "/r/sd-after?fail=5"), 0);
	run(&f);
	assert_int_equal(after_fail.r, -ETIMEDOUT);
	assert_int_equal(after_fail.attempts, 0);
	fixture_done(&f);

	/* Within the grace a new request is served, but not retried. */
	fixture_init(&f, &o);
	in_api = true;
	akr_http_shutdown(f.h, 5000);
	in_api = false;
	assert_int_equal(start_req(&f, &plain, &after_fail, NULL, "/r/sd-new?fail=5"), 0);
	assert_int_equal(start_req(&f, &plain, &after_ok, NULL, "/r/sd-ok"), 0);
	run(&f);
	assert_int_equal(after_fail.r, -EPROTO);
	assert_int_equal(after_fail.attempts, 1);
	assert_int_equal(after_ok.r, 0);
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.retries, 0);
	fixture_done(&f);
}

static void test_reset_connection(void **state)
{
	struct akr_http_options o = { .base_delay_ms = 5 };
	struct req_opts post = { .method = "POST", .non_idempotent = true };
	struct fixture f;
	struct result res;

	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/rst1?reset=1"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.attempts, 2);
	assert_int_equal(ctl_stat("requests"), 2);

	/* The reset request may have been processed: not retried when not
	 * idempotent, not even by curl's silent resend on a reused keep-alive
	 * connection (the connection of rst1 is in the pool now). */
	assert_int_equal(start_req(&f, &post, &res, NULL, "/r/rst2?reset=1"), 0);
	run(&f);
	assert_int_equal(res.r, -ECONNRESET);
	assert_string_equal(res.err.code, "connection-reset");
	assert_int_equal(ctl_stat("requests"), 3);
	/* The server closes the reused connection in order under the request,
	 * with no answer: curl would send it again on a new connection by
	 * itself. A request that is not idempotent refuses that. */
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/drop0"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	assert_int_equal(start_req(&f, &post, &res, NULL, "/r/drop1?drop=1"), 0);
	run(&f);
	assert_int_equal(res.r, -ECONNRESET);
	assert_string_equal(res.err.code, "connection-reset");
	assert_non_null(strstr(res.err.message, "not sent again"));
	assert_int_equal(ctl_stat("requests"), 5);
	/* An idempotent one is sent again (by curl or by the engine). */
	assert_int_equal(start_req(&f, NULL, &res, NULL, "/r/drop2?drop=1"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	/* So is a 503. */
	assert_int_equal(start_req(&f, &post, &res, NULL, "/r/rst3?fail=1"), 0);
	run(&f);
	assert_int_equal(res.r, -EPROTO);
	assert_int_equal(res.attempts, 1);
	fixture_done(&f);
}

static void test_connection_refused(void **state)
{
	struct akr_http_options o = { .max_attempts = 3, .base_delay_ms = 5 };
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	struct akr_http_request_desc d = { .method = "POST" };
	struct akr_http_stats st;
	struct fixture f;
	struct result res = { 0 };
	char url[64];
	int fd;

	/* A port that was free a moment ago and has no listener. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
	d.url = url;
	d.idempotent = false; /* never sent, so retried all the same */

	fixture_init(&f, &o);
	assert_int_equal(akr_http_request_start(f.h, &d, on_done, &res, NULL), 0);
	run(&f);
	assert_int_equal(res.r, -ECONNREFUSED);
	assert_string_equal(res.err.code, "connection-refused");
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.retries, 2);
	assert_int_equal(st.failed, 1);
	fixture_done(&f);
}

static void test_response_too_large(void **state)
{
	struct req_opts q = { .max_response_bytes = 1000 };
	struct fixture f;
	struct result res;

	fixture_init(&f, NULL);
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/big?size=100000"), 0);
	run(&f);
	assert_int_equal(res.r, -E2BIG);
	assert_int_equal(res.err.kind, AKR_ERROR_PARSE);
	assert_true(res.body_len <= 1000);
	assert_int_equal(ctl_stat("requests"), 1);
	/* At the limit exactly is fine. */
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/big2?size=1000"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.body_len, 1000);
	fixture_done(&f);
}

/* TLS */

/* The answer budget: attempts start only while the largest answers they
 * may get fit in max_buffered_bytes together; the others wait their turn
 * and all complete. A limit larger than the budget is cut to it. */
static void test_answer_budget(void **state)
{
	struct akr_http_options o = { .max_in_flight = 16, .max_buffered_bytes = 1024 * 1024 };
	/* 256 KiB + 64 KiB of headers each: three fit in 1 MiB, not four. */
	struct req_opts q = { .max_response_bytes = 256 * 1024 };
	struct req_opts huge = { .max_response_bytes = 64 * 1024 * 1024 };
	static struct result res[8];
	struct akr_http_stats st;
	struct result big;
	struct fixture f;

	fixture_init(&f, &o);
	for (int i = 0; i < 8; i++)
		assert_int_equal(start_req(&f, &q, &res[i], NULL, "/r/room%d?size=200000&delay=200", i),
				 0);
	run(&f);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(res[i].r, 0);
		assert_int_equal(res[i].body_len, 200000);
	}
	akr_http_get_stats(f.h, &st);
	assert_int_equal(ctl_stat("max_open"), 3);
	assert_true(st.max_reserved_bytes_seen <= 1024 * 1024);
	assert_int_equal(st.reserved_bytes, 0);
	assert_true(st.room_waits >= 1);

	/* 64 MiB asked, the budget is 1 MiB: a 1.5 MB answer is refused. */
	assert_int_equal(start_req(&f, &huge, &big, NULL, "/r/room-big?size=1500000"), 0);
	run(&f);
	assert_int_equal(big.r, -E2BIG);
	assert_string_equal(big.err.code, "response-too-large");
	assert_non_null(strstr(big.err.message, "/r/room-big"));
	fixture_done(&f);
}

static void test_tls_verification(void **state)
{
	struct akr_http_options o = { .base_delay_ms = 5 };
	struct req_opts q = { .srv = &tls_srv, .https = true };
	struct akr_http_stats st;
	struct fixture f;
	struct result res;

	/* A self-signed certificate is refused, and not retried. */
	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/tls1"), 0);
	run(&f);
	assert_int_equal(res.r, -EIO);
	assert_string_equal(res.err.code, "tls-verify");
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.retries, 0);
	fixture_done(&f);

	/* Trusted through the options. */
	o.ca_bundle = cert_path;
	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/tls2"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	assert_int_equal(res.status, 200);
	fixture_done(&f);

	/* Trusted through $AWS_CA_BUNDLE. */
	o.ca_bundle = NULL;
	assert_int_equal(setenv("AWS_CA_BUNDLE", cert_path, 1), 0);
	fixture_init(&f, &o);
	(void)unsetenv("AWS_CA_BUNDLE");
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/tls3"), 0);
	run(&f);
	assert_int_equal(res.r, 0);
	fixture_done(&f);
}

/* Rate limit */

struct raise_ctx {
	struct akr_http *h;
	double rps;
};

static void raise_rate_cb(uv_timer_t *t)
{
	struct raise_ctx *c = t->data;

	assert_int_equal(akr_http_set_rate(c->h, "R", c->rps), 0);
	uv_close((uv_handle_t *)t, NULL);
}

static void test_rate_limit(void **state)
{
	struct akr_http_options o = { .max_per_key = 64 };
	struct req_opts q = { .key = "R" };
	static struct result res[40];
	struct raise_ctx rc;
	struct fixture f;
	uv_timer_t t;
	int64_t t0, el;

	fixture_init(&f, &o);
	assert_int_equal(akr_http_set_rate(f.h, "R", 20), 0);
	assert_true(akr_http_get_rate(f.h, "R") == 20);
	assert_true(akr_http_get_rate(f.h, "other") == 0);
	t0 = mono_ms();
	for (int i = 0; i < 40; i++)
		assert_int_equal(start_req(&f, &q, &res[i], NULL, "/r/rate%d", i), 0);
	run(&f);
	el = mono_ms() - t0;
	for (int i = 0; i < 40; i++)
		assert_int_equal(res[i].r, 0);
	/* One token at first, then 20/s: 39 more tokens take 1.95 s. */
	assert_true(el >= 1500);
	assert_true(el < 4000);

	/* Raised to 400/s after 0.5 s: the rest leave at once. */
	assert_int_equal(akr_http_set_rate(f.h, "R", 0), 0);
	assert_int_equal(akr_http_set_rate(f.h, "R", 20), 0);
	assert_int_equal(uv_timer_init(&f.loop, &t), 0);
	rc = (struct raise_ctx){ f.h, 400 };
	t.data = &rc;
	assert_int_equal(uv_timer_start(&t, raise_rate_cb, 500, 0), 0);
	t0 = mono_ms();
	for (int i = 0; i < 40; i++)
		assert_int_equal(start_req(&f, &q, &res[i], NULL, "/r/rateb%d", i), 0);
	run(&f);
	el = mono_ms() - t0;
	for (int i = 0; i < 40; i++)
		assert_int_equal(res[i].r, 0);
	assert_true(el >= 450);
	assert_true(el < 1200);
	assert_true(akr_http_get_rate(f.h, "R") == 400);
	fixture_done(&f);
}

/* Cancellation and shutdown */

struct cancel_ctx {
	struct akr_http *h;
	struct akr_http_request *one;
	bool all;
};

static void cancel_cb(uv_timer_t *t)
{
	struct cancel_ctx *c = t->data;

	in_api = true;
	if (c->one)
		akr_http_request_cancel(c->one);
	if (c->all)
		akr_http_cancel_all(c->h);
	in_api = false;
	uv_close((uv_handle_t *)t, NULL);
}

static void test_cancel(void **state)
{
	struct akr_http_options o = { .max_in_flight = 4, .max_attempts = 10, .base_delay_ms = 5000,
				      .max_delay_ms = 5000 };
	static struct result res[10];
	struct akr_http_request *reqs[10];
	struct akr_http_stats st;
	struct cancel_ctx cc;
	struct result rb;
	struct fixture f;
	uv_timer_t t;

	fixture_init(&f, &o);
	for (int i = 0; i < 10; i++)
		assert_int_equal(start_req(&f, NULL, &res[i], &reqs[i], "/r/cancel%d?hang=1", i), 0);
	/* One queued request canceled right away: delivered from the loop. */
	in_api = true;
	akr_http_request_cancel(reqs[9]);
	in_api = false;
	assert_false(res[9].done);
	assert_int_equal(uv_timer_init(&f.loop, &t), 0);
	cc = (struct cancel_ctx){ .h = f.h, .all = true };
	t.data = &cc;
	assert_int_equal(uv_timer_start(&t, cancel_cb, 200, 0), 0);
	run(&f);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].r, -ECANCELED);
		assert_string_equal(res[i].err.code, "canceled");
	}
	akr_http_get_stats(f.h, &st);
	assert_int_equal(st.failed, 10);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.queued, 0);

	/* A request waiting out a long backoff is canceled too. */
	assert_int_equal(start_req(&f, NULL, &rb, &reqs[0], "/r/cancelb?fail=5"), 0);
	assert_int_equal(uv_timer_init(&f.loop, &t), 0);
	cc = (struct cancel_ctx){ .h = f.h, .one = reqs[0] };
	t.data = &cc;
	assert_int_equal(uv_timer_start(&t, cancel_cb, 300, 0), 0);
	run(&f);
	assert_int_equal(rb.calls, 1);
	assert_int_equal(rb.r, -ECANCELED);
	fixture_done(&f);
}

static void stop_loop_cb(uv_timer_t *t)
{
	uv_stop(t->loop);
	uv_close((uv_handle_t *)t, NULL);
}

static void test_free_with_requests_in_flight(void **state)
{
	struct akr_http_options o = { .max_in_flight = 2 };
	static struct result res[4];
	struct fixture f;
	struct result r;
	uv_timer_t t;

	fixture_init(&f, &o);
	for (int i = 0; i < 4; i++)
		assert_int_equal(start_req(&f, NULL, &res[i], NULL, "/r/free%d?hang=1", i), 0);
	assert_int_equal(uv_timer_init(&f.loop, &t), 0);
	assert_int_equal(uv_timer_start(&t, stop_loop_cb, 150, 0), 0);
	run(&f); /* until the timer stops it: two on the wire, two queued */
	for (int i = 0; i < 4; i++)
		assert_false(res[i].done);
	/* Free: the callbacks come from the loop, then the loop is empty. */
	fixture_done(&f);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(res[i].calls, 1);
		assert_int_equal(res[i].r, -ECANCELED);
	}

	/* Freed from inside a completion callback, with others in flight. */
	fixture_init(&f, &o);
	assert_int_equal(start_req(&f, NULL, &r, NULL, "/r/free-cb"), 0);
	r.free_engine_in_cb = &f;
	assert_int_equal(start_req(&f, NULL, &res[0], NULL, "/r/free-cb2?hang=1"), 0);
	assert_int_equal(start_req(&f, NULL, &res[1], NULL, "/r/free-cb3?hang=1"), 0);
	run(&f);
	assert_int_equal(r.r, 0);
	assert_int_equal(res[0].r, -ECANCELED);
	assert_int_equal(res[1].r, -ECANCELED);
	assert_int_equal(uv_loop_close(&f.loop), 0);
}

/* Signing */

static int fixed_creds(void *userdata, struct akr_sigv4_creds *ret)
{
	ret->access_key_id = TEST_AKID;
	ret->secret_access_key = TEST_SECRET;
	ret->session_token = userdata;
	return 0;
}

static int no_creds(void *userdata, struct akr_sigv4_creds *ret)
{
	return -ENOKEY;
}

static bool file_contains(const char *path, const char *needle)
{
	char buf[65536];
	FILE *fp = fopen(path, "re");
	size_t n;

	if (!fp)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void test_signed_afresh_each_attempt(void **state)
{
	const struct akr_sigv4_signer signer = { "us-east-1", "iam", fixed_creds, TEST_TOKEN };
	const struct akr_sigv4_signer nokey = { "us-east-1", "iam", no_creds, NULL };
	static const struct akr_http_header hdrs[] = {
		{ "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
	};
	struct akr_http_options o = { .max_attempts = 3, .base_delay_ms = 10, .max_delay_ms = 2000 };
	struct req_opts q = { .method = "POST", .signer = &signer, .headers = hdrs, .n_headers = 1,
			      .body = (const uint8_t *)"Action=ListUsers&Version=2010-05-08",
			      .body_len = 35 };
	char logpath[300], host[64];
	struct attempt_log log;
	struct fixture f;
	struct result res;
	int saved;

	/* Debug logs go to a file, to be searched for the secrets below. */
	(void)snprintf(logpath, sizeof(logpath), "%s/debug.log", tmpdir);
	saved = capture_start(logpath);

	fixture_init(&f, &o);
	/* x-amz-retry-after keeps the attempts more than a second apart, so
	 * X-Amz-Date (whole seconds) must change. */
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/sig1?fail=1&amz_retry_after=1100&a=b%%20c"),
			 0);
	run(&f);

	capture_stop(saved);

	assert_int_equal(res.r, 0);
	assert_int_equal(res.attempts, 2);
	ctl_log("sig1", &log);
	assert_int_equal(log.n, 2);
	(void)snprintf(host, sizeof(host), "127.0.0.1:%d", plain_srv.port);
	for (size_t i = 0; i < 2; i++) {
		/* The server recomputed the signature over what it received,
		 * the Host header with its port included. */
		assert_string_equal(log.sig[i], "ok");
		assert_string_equal(log.host[i], host);
	}
	assert_string_not_equal(log.date[0], log.date[1]);
	assert_string_not_equal(log.signature[0], log.signature[1]);
	assert_true(file_contains(logpath, "retrying"));
	assert_false(file_contains(logpath, TEST_SECRET));
	assert_false(file_contains(logpath, TEST_TOKEN));
	assert_false(file_contains(logpath, log.signature[0]));

	/* No credentials: the request fails from the loop, not from start. */
	q.signer = &nokey;
	assert_int_equal(start_req(&f, &q, &res, NULL, "/r/sig2"), 0);
	assert_false(res.done);
	run(&f);
	assert_int_equal(res.r, -ENOKEY);
	assert_int_equal(res.err.kind, AKR_ERROR_LOCAL);
	fixture_done(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_arithmetic),
		cmocka_unit_test(test_get_headers_and_body),
		cmocka_unit_test(test_post_body_as_is),
		cmocka_unit_test(test_invalid_requests),
		cmocka_unit_test(test_keep_alive_reuse),
		cmocka_unit_test(test_response_header_limits),
		cmocka_unit_test(test_global_cap),
		cmocka_unit_test(test_per_key_cap),
		cmocka_unit_test(test_retry_503_backoff_grows),
		cmocka_unit_test(test_retry_throttling),
		cmocka_unit_test(test_no_retry_on_client_error),
		cmocka_unit_test(test_attempts_exhausted),
		cmocka_unit_test(test_retry_quota),
		cmocka_unit_test(test_retry_after_honoured),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_deadline_spans_attempts),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_reset_connection),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_response_too_large),
		cmocka_unit_test(test_answer_budget),
		cmocka_unit_test(test_tls_verification),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_free_with_requests_in_flight),
		cmocka_unit_test(test_signed_afresh_each_attempt),
		cmocka_unit_test(test_writes_share_connections),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
