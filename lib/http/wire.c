#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/base/strutil.h"
#include "lib/http/engine-internal.h"
#include "lib/http/sigv4.h"

#ifndef AKR_VERSION
#define AKR_VERSION "0"
#endif

/* One attempt. */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct akr_http_request *req = userdata;
	size_t n = size * nmemb;
	int r = akr_buf_append(&req->resp_body, ptr, n);

	if (r < 0) {
		/* Returning short aborts the transfer with CURLE_WRITE_ERROR. */
		req->cb_error = r;
		return 0;
	}
	return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct akr_http_request *req = userdata;
	size_t n = size * nitems, len = n, name_len;
	const char *colon, *v, *end;
	int r = 0;

	while (len > 0 && (ptr[len - 1] == '\r' || ptr[len - 1] == '\n'))
		len--;
	if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0) {
		/* A new status line (after a 1xx, or a new attempt): start over. */
		akr_buf_reset(&req->resp_headers);
		req->n_resp_headers = 0;
		return n;
	}
	colon = len ? memchr(ptr, ':', len) : NULL;
	if (!colon || colon == ptr)
		return n; /* the blank line ending the block, or junk: ignored */
	if (req->n_resp_headers >= HTTP_MAX_RESPONSE_HEADERS) {
		req->cb_error = -E2BIG;
		return 0;
	}
	name_len = (size_t)(colon - ptr);
	for (size_t i = 0; i < name_len && r == 0; i++) {
		char c = ptr[i];

		c = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		r = akr_buf_append(&req->resp_headers, &c, 1);
	}
	v = colon + 1;
	end = ptr + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (r == 0)
		r = akr_buf_append(&req->resp_headers, "", 1);
	if (r == 0)
		r = akr_buf_append(&req->resp_headers, v, (size_t)(end - v));
	if (r == 0)
		r = akr_buf_append(&req->resp_headers, "", 1);
	if (r < 0) {
		req->cb_error = r == -ENOMEM ? -ENOMEM : -E2BIG;
		return 0;
	}
	req->n_resp_headers++;
	return n;
}

const char *akr__http_resp_header(const struct akr_http_request *req, const char *name)
{
	const char *p = req->resp_headers.data;

	for (size_t i = 0; p && i < req->n_resp_headers; i++) {
		const char *v = p + strlen(p) + 1;

		if (strcmp(p, name) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

void akr__http_slist_free_wiped(struct curl_slist *l)
{
	for (struct curl_slist *i = l; i; i = i->next)
		OPENSSL_cleanse(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static int slist_add(struct curl_slist **l, struct akr_buf *line, const char *name,
		     const char *value)
{
	struct curl_slist *n;
	int r;

	akr_buf_reset(line);
	/* "Name:" with nothing after it tells curl to drop its own header.
	 * Plain appends: vsnprintf() copies a 1 KiB session token byte by byte. */
	r = akr_buf_append_str(line, name);
	if (r >= 0)
		r = akr_buf_append(line, value ? ": " : ":", value ? 2 : 1);
	if (r >= 0 && value)
		r = akr_buf_append_str(line, value);
	if (r < 0)
		return r;
	n = curl_slist_append(*l, line->data);
	akr_buf_reset(line);
	if (!n)
		return -ENOMEM;
	*l = n;
	return 0;
}

static int headers_build(struct akr_http_request *req, struct akr_sigv4_key_cache *keys,
			 struct curl_slist **ret)
{
	_cleanup_buf_ struct akr_buf line = { 0 };
	struct akr_sigv4_result sig = { 0 };
	struct curl_slist *l = NULL;
	bool signed_ = false;
	int r = 0;

	akr_buf_init(&line, HTTP_MAX_LINE, true);
	for (size_t i = 0; i < req->n_headers && r == 0; i++)
		r = slist_add(&l, &line, req->headers[i].name, req->headers[i].value);
	if (r == 0)
		r = slist_add(&l, &line, "Host", req->host_header);
	/* No "Expect: 100-continue" round trip; no form Content-Type of curl's. */
	if (r == 0)
		r = slist_add(&l, &line, "Expect", NULL);
	if (r == 0 && !req->has_content_type)
		r = slist_add(&l, &line, "Content-Type", NULL);
	if (r == 0 && req->signer) {
		struct akr_sigv4_header sh[HTTP_MAX_REQUEST_HEADERS + 1];
		struct akr_sigv4_request sreq = {
			.method = req->method,
			.path = req->path,
			.query = req->query,
			.headers = sh,
			.n_headers = req->n_headers + 1,
			.body = req->body,
			.body_len = req->body_len,
		};

		memcpy(sh, req->headers, req->n_headers * sizeof(sh[0]));
		sh[req->n_headers] = (struct akr_sigv4_header){ "host", req->host_header };
		/* Signed afresh on every attempt: a retry after a long backoff
		 * must not carry a stale date or expired credentials. */
		r = akr_sigv4_sign_request_cached(req->signer, keys, &sreq, (int64_t)time(NULL),
						  &sig);
		signed_ = r == 0;
		if (r == 0)
			r = slist_add(&l, &line, "X-Amz-Date", sig.amz_date);
		if (r == 0)
			r = slist_add(&l, &line, "Authorization", sig.authorization);
		if (r == 0 && sig.security_token)
			r = slist_add(&l, &line, "X-Amz-Security-Token", sig.security_token);
	}
	if (signed_)
		akr_sigv4_result_done(&sig);
	if (r < 0) {
		akr__http_slist_free_wiped(l);
		return r;
	}
	*ret = l;
	return 0;
}

#define SETOPT(e, opt, val)                                                                        \
	do {                                                                                       \
		CURLcode _c = curl_easy_setopt((e), (opt), (val));                                 \
		if (_c != CURLE_OK)                                                                \
			return _c == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL;                      \
	} while (0)

/* CURLOPT_PREREQFUNCTION of a request that is not idempotent: called each
 * time curl is about to send it. A second call within one attempt is curl's
 * silent resend after a reused connection died without an answer. */
static int prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port,
		     int local_port)
{
	struct akr_http_request *req = clientp;

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	return ++req->sends > 1 ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

static int easy_setup(struct akr_http_request *req, const struct akr_http_options *opts, CURL *e,
		      struct curl_slist *l)
{
	bool get_like = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0 ||
			(req->body_len == 0 && strcmp(req->method, "POST") != 0 &&
			 strcmp(req->method, "PUT") != 0);

	SETOPT(e, CURLOPT_URL, req->url);
	SETOPT(e, CURLOPT_PRIVATE, (void *)req);
	SETOPT(e, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(e, CURLOPT_WRITEDATA, (void *)req);
	SETOPT(e, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(e, CURLOPT_HEADERDATA, (void *)req);
	SETOPT(e, CURLOPT_ERRORBUFFER, req->errbuf);
	SETOPT(e, CURLOPT_OPENSOCKETFUNCTION, akr__http_open_socket);
	SETOPT(e, CURLOPT_OPENSOCKETDATA, (void *)req->h);
	SETOPT(e, CURLOPT_CLOSESOCKETFUNCTION, akr__http_close_socket);
	SETOPT(e, CURLOPT_CLOSESOCKETDATA, (void *)req->h);
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* HTTP/1.1 keep-alive: the Query APIs and the fake speak nothing else,
	 * and one connection per request in flight is what the caps count. */
	SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(e, CURLOPT_TIMEOUT_MS, (long)req->attempt_timeout_ms);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (opts->ca_bundle)
		SETOPT(e, CURLOPT_CAINFO, opts->ca_bundle);
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_USERAGENT, "iam-access-key-rotator/" AKR_VERSION);
	SETOPT(e, CURLOPT_HTTPHEADER, l);
	SETOPT(e, CURLOPT_VERBOSE, opts->verbose ? 1L : 0L);
	/* curl silently sends a request again, on a new connection, when a
	 * reused keep-alive connection dies before any answer, although the
	 * server may have acted on it. A request that must not be sent twice
	 * refuses that second send (prereq_cb), so it can share the pooled
	 * connections of every account instead of opening one of its own each
	 * time; and it only takes a connection idle for under 31 s (half the
	 * 60 s default idle timeout of AWS's load balancers; curl's own limit
	 * is 118 s), so that a server closing it under the request, and so the
	 * refusal (reported as a reset connection, outcome unknown), stays
	 * rare. Not much shorter: the check closes every pooled connection
	 * idle for longer (1 s made B3 open 436 connections instead of 86). */
	req->sends = 0;
	if (!req->idempotent) {
		SETOPT(e, CURLOPT_PREREQFUNCTION, prereq_cb);
		SETOPT(e, CURLOPT_PREREQDATA, (void *)req);
		SETOPT(e, CURLOPT_MAXAGE_CONN, 30L);
	}
	if (strcmp(req->method, "HEAD") == 0)
		SETOPT(e, CURLOPT_NOBODY, 1L);
	else if (get_like)
		SETOPT(e, CURLOPT_HTTPGET, 1L);
	else {
		/* The body goes as-is with its length: never chunked, never
		 * re-encoded. req->body outlives the easy handle. */
		SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		SETOPT(e, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
	}
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
	    strcmp(req->method, "POST") != 0)
		SETOPT(e, CURLOPT_CUSTOMREQUEST, req->method);
	return 0;
}

int akr__http_map_curl_error(CURLcode c, const char **tag, enum akr_retry_class *cls,
			     bool *not_sent, bool *timed_out)
{
	*cls = AKR_RETRY_TRANSIENT;
	*not_sent = false;
	*timed_out = false;
	switch (c) {
	case CURLE_OPERATION_TIMEDOUT:
		*tag = "timeout";
		*timed_out = true;
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		*tag = "connection-refused";
		*not_sent = true;
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		*tag = "dns";
		*not_sent = true;
		return -EHOSTUNREACH;
	case CURLE_ABORTED_BY_CALLBACK: /* only prereq_cb aborts this way */
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		*tag = "connection-reset";
		return -ECONNRESET;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
		/* A certificate that fails today fails on the next attempt too. */
		*tag = "tls-verify";
		*cls = AKR_RETRY_NONE;
		return -EIO;
	case CURLE_OUT_OF_MEMORY:
		*tag = "no-memory";
		*cls = AKR_RETRY_NONE;
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		*tag = "invalid-request";
		*cls = AKR_RETRY_NONE;
		return -EINVAL;
	default:
		*tag = "transport";
		return -EIO;
	}
}

enum akr_retry_class akr__http_classify_answer(struct akr_http_request *req)
{
	struct akr_error *e = &req->err;
	const char *rid;

	akr_error_clear(e);
	if (req->parse_error)
		(void)req->parse_error(req->status, req->resp_body.data ? req->resp_body.data : "",
				       req->resp_body.len, e);
	if (e->kind == AKR_ERROR_NONE || e->kind == AKR_ERROR_PARSE)
		akr_error_set(e, AKR_ERROR_AWS, req->status, e->code[0] ? e->code : NULL,
			      "HTTP status %ld", req->status);
	e->kind = AKR_ERROR_AWS;
	e->http_status = req->status;
	/* The engine, not the parser, decides: one table for every service. */
	e->retry = akr_error_classify(req->status, e->code);
	rid = akr__http_resp_header(req, "x-amzn-requestid");
	if (!rid)
		rid = akr__http_resp_header(req, "x-amz-request-id");
	if (!e->request_id[0] && rid)
		(void)snprintf(e->request_id, sizeof(e->request_id), "%s", rid);
	return e->retry;
}

static bool is_method(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 16)
		return false;
	for (; *s; s++)
		if (*s < 'A' || *s > 'Z')
			return false;
	return true;
}

/* Headers the engine writes itself; a caller cannot bring its own. */
static bool is_managed_header(const char *name, bool signed_)
{
	static const char *const managed[] = {
		"host", "content-length", "transfer-encoding", "expect", "connection",
	};
	static const char *const by_signer[] = {
		"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
	};

	for (size_t i = 0; i < ELEMENTSOF(managed); i++)
		if (strcasecmp(name, managed[i]) == 0)
			return true;
	for (size_t i = 0; signed_ && i < ELEMENTSOF(by_signer); i++)
		if (strcasecmp(name, by_signer[i]) == 0)
			return true;
	return false;
}

/* Parses and re-serialises the URL; works out the Host header curl would
 * send (the port only when it is not the scheme's default). */
static int url_parse(struct akr_http_request *req, const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *user = NULL, *path = NULL, *query = NULL,
	     *full = NULL;
	int r = -EINVAL;
	CURLUcode uc;
	size_t n;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		goto out;
	/* Credentials never travel in URLs here. */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) != CURLUE_NO_USER)
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
		goto out;
	uc = curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (uc != CURLUE_OK && uc != CURLUE_NO_PORT)
		goto out;
	if (port && strcmp(port, strcmp(scheme, "https") == 0 ? "443" : "80") == 0) {
		curl_free(port);
		port = NULL;
	}
	uc = curl_url_get(u, CURLUPART_QUERY, &query, 0);
	if (uc != CURLUE_OK && uc != CURLUE_NO_QUERY)
		goto out;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK)
		goto out;
	r = -ENOMEM;
	n = strlen(host) + (port ? strlen(port) + 1 : 0) + 1;
	req->host_header = malloc(n);
	req->path = strdup(path);
	req->query = query ? strdup(query) : NULL;
	req->url = strdup(full);
	if (!req->host_header || !req->path || (query && !req->query) || !req->url)
		goto out;
	(void)snprintf(req->host_header, n, "%s%s%s", host, port ? ":" : "", port ? port : "");
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_free(path);
	curl_free(query);
	curl_free(full);
	curl_url_cleanup(u);
	return r;
}

/* Copies the caller's headers into one allocation. */
static int headers_copy(struct akr_http_request *req, const struct akr_http_header *in, size_t n)
{
	size_t size = n * sizeof(struct akr_sigv4_header);
	char *p;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(in[i].name) + strlen(in[i].value) + 2;

		if (size > SIZE_MAX - l)
			return -ENOMEM;
		size += l;
	}
	if (n == 0)
		return 0;
	req->headers = malloc(size);
	if (!req->headers)
		return -ENOMEM;
	p = (char *)(req->headers + n);
	for (size_t i = 0; i < n; i++) {
		size_t ln = strlen(in[i].name) + 1, lv = strlen(in[i].value) + 1;

		req->headers[i].name = memcpy(p, in[i].name, ln);
		p += ln;
		req->headers[i].value = memcpy(p, in[i].value, lv);
		p += lv;
		if (strcasecmp(in[i].name, "content-type") == 0)
			req->has_content_type = true;
	}
	req->n_headers = n;
	return 0;
}

int akr__http_desc_validate(const struct akr_http_request_desc *d)
{
	if (!is_method(d->method) || !d->url || (d->n_headers && !d->headers) ||
	    d->n_headers > HTTP_MAX_REQUEST_HEADERS || (d->body_len && !d->body) ||
	    d->timeout_ms < 0)
		return -EINVAL;
	if (d->body_len && (strcmp(d->method, "GET") == 0 || strcmp(d->method, "HEAD") == 0))
		return -EINVAL;
	for (size_t i = 0; i < d->n_headers; i++)
		if (!akr_is_http_token(d->headers[i].name) ||
		    !akr_is_http_header_value(d->headers[i].value) ||
		    is_managed_header(d->headers[i].name, d->signer != NULL))
			return -EINVAL;
	return 0;
}

int akr__http_request_copy(struct akr_http_request *req, const struct akr_http_request_desc *d)
{
	int r;

	akr_buf_init(&req->resp_body, req->max_response_bytes, d->sensitive);
	akr_buf_init(&req->resp_headers, HTTP_MAX_RESPONSE_HEADER_BYTES, false);
	r = url_parse(req, d->url);
	if (r < 0)
		return r;
	req->method = strdup(d->method);
	if (!req->method)
		return -ENOMEM;
	r = headers_copy(req, d->headers, d->n_headers);
	if (r < 0)
		return r;
	if (d->body_len) {
		req->body = malloc(d->body_len);
		if (!req->body)
			return -ENOMEM;
		memcpy(req->body, d->body, d->body_len);
		req->body_len = d->body_len;
	}
	return 0;
}

void akr__http_request_clear(struct akr_http_request *req)
{
	free(req->method);
	free(req->url);
	free(req->host_header);
	free(req->path);
	free(req->query);
	free(req->headers);
	/* The request may carry a secret of its own (a password mail). */
	if (req->body)
		OPENSSL_clear_free(req->body, req->body_len);
	req->method = req->url = req->host_header = req->path = req->query = NULL;
	req->headers = NULL;
	req->body = NULL;
	akr_buf_done(&req->resp_body);
	akr_buf_done(&req->resp_headers);
}

int akr__http_easy_new(struct akr_http_request *req, const struct akr_http_options *opts,
		       struct akr_sigv4_key_cache *keys, CURL *reuse, CURL **ret_easy,
		       struct curl_slist **ret_slist)
{
	struct curl_slist *l = NULL;
	CURL *e;
	int r;

	r = headers_build(req, keys, &l);
	if (r < 0) {
		if (reuse)
			curl_easy_cleanup(reuse);
		return r;
	}
	e = reuse ? reuse : curl_easy_init();
	if (!e) {
		akr__http_slist_free_wiped(l);
		return -ENOMEM;
	}
	r = easy_setup(req, opts, e, l);
	if (r < 0) {
		curl_easy_cleanup(e);
		akr__http_slist_free_wiped(l);
		return r;
	}
	*ret_easy = e;
	*ret_slist = l;
	return 0;
}
