/* The canonical request of SigV4 (aws-wire.md §2): the header values
 * normalised, the canonical path and query, the headers collected, checked
 * and sorted, and the X-Amz-Date format. Hashing is sigv4_hash.c's; keys and
 * signatures are not known here. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/macro.h"
#include "lib/base/strutil.h"
#include "lib/http/sigv4-internal.h"

#define SIGV4_MAX_HEADERS 128
#define SIGV4_MAX_QUERY_PARAMS 1024
#define SIGV4_MAX_PATH 8192

/* botocore's SIGNED_HEADERS_BLACKLIST: proxies and curl may change or add
 * these, so a signature over them would not verify. */
static const char *const unsigned_headers[] = {
	"user-agent", "expect", "connection", "transfer-encoding", "x-amzn-trace-id",
};

/* Headers the signer produces itself: a request must not bring its own. */
static const char *const reserved_headers[] = {
	"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
};

struct canon_header {
	char *name; /* lower-cased copy */
	const char *value;
	size_t order;
};

struct query_param {
	char *key; /* canonical (encoded) forms */
	char *value;
};

bool akr__sigv4_is_amz_date(const char *s)
{
	if (!s || strlen(s) != AKR_SIGV4_AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
		return false;
	for (size_t i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return true;
	return false;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims the value and collapses inner runs of blanks to one space, as
 * botocore's ' '.join(value.split()) and the test suite expect. */
static int append_header_value(struct akr_buf *out, const char *v)
{
	bool pending_space = false, any = false;
	int r;

	while (*v) {
		size_t run;

		if (is_blank(*v)) {
			pending_space = any;
			v++;
			continue;
		}
		if (pending_space) {
			r = akr_buf_append(out, " ", 1);
			if (r < 0)
				return r;
			pending_space = false;
		}
		/* A run of non-blank characters at once (a session token is one). */
		for (run = 1; v[run] && !is_blank(v[run]); run++)
			;
		r = akr_buf_append(out, v, run);
		if (r < 0)
			return r;
		v += run;
		any = true;
	}
	return 0;
}

/* RFC 3986 dot-segment removal plus the merge of empty segments, as AWS does
 * for every service but S3; a trailing '/' is kept. */
static int append_canonical_path(struct akr_buf *out, const char *path, bool normalize)
{
	_cleanup_free_ size_t *start = NULL, *len = NULL;
	size_t n_segments = 0, cap = 1, plen;
	int r;

	if (!path || !*path)
		path = "/";
	plen = strlen(path);
	if (plen > SIGV4_MAX_PATH)
		return -EINVAL;
	if (path[0] != '/') {
		r = akr_buf_append(out, "/", 1);
		if (r < 0)
			return r;
	}
	if (!normalize)
		return akr_str_append_uri_encoded(out, path, plen, true);

	for (size_t i = 0; i < plen; i++)
		if (path[i] == '/')
			cap++;
	start = calloc(cap, sizeof(size_t));
	len = calloc(cap, sizeof(size_t));
	if (!start || !len)
		return -ENOMEM;

	for (size_t i = 0; i < plen;) {
		size_t j = i;

		while (j < plen && path[j] != '/')
			j++;
		if (j - i == 2 && path[i] == '.' && path[i + 1] == '.') {
			if (n_segments > 0)
				n_segments--;
		} else if (j > i && !(j - i == 1 && path[i] == '.')) {
			start[n_segments] = i;
			len[n_segments] = j - i;
			n_segments++;
		}
		i = j + 1;
	}

	if (n_segments == 0)
		return akr_buf_append(out, "/", path[0] == '/' ? 1 : 0);
	for (size_t k = 0; k < n_segments; k++) {
		r = akr_buf_append(out, "/", k == 0 && path[0] != '/' ? 0 : 1);
		if (r < 0)
			return r;
		r = akr_str_append_uri_encoded(out, path + start[k], len[k], false);
		if (r < 0)
			return r;
	}
	if (path[plen - 1] == '/')
		return akr_buf_append(out, "/", 1);
	return 0;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes %XX (a malformed escape stays literal) and re-encodes by RFC 3986,
 * so that "%E1%88%B4" and the raw UTF-8 bytes sign the same. */
static int canonical_query_part(const char *s, size_t n, char **ret)
{
	_cleanup_free_ char *decoded = malloc(n + 1);
	struct akr_buf out;
	size_t m = 0;
	int r;

	if (!decoded)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex_value(s[i + 1]) >= 0 &&
		    hex_value(s[i + 2]) >= 0) {
			decoded[m++] = (char)(hex_value(s[i + 1]) << 4 | hex_value(s[i + 2]));
			i += 2;
		} else {
			decoded[m++] = s[i];
		}
	}
	akr_buf_init(&out, 3 * m + 1, false);
	r = akr_str_append_uri_encoded(&out, decoded, m, false);
	if (r >= 0)
		r = akr_buf_steal(&out, ret);
	akr_buf_done(&out);
	return r;
}

static int query_param_cmp(const void *a, const void *b)
{
	const struct query_param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

static void query_params_free(struct query_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].key);
		free(p[i].value);
	}
	free(p);
}

static int append_canonical_query(struct akr_buf *out, const char *query)
{
	struct query_param *params = NULL;
	size_t n = 0, cap = 1;
	int r = 0;

	if (!query || !*query)
		return 0;
	for (const char *p = query; *p; p++)
		if (*p == '&')
			cap++;
	if (cap > SIGV4_MAX_QUERY_PARAMS)
		return -EINVAL;
	params = calloc(cap, sizeof(*params));
	if (!params)
		return -ENOMEM;

	for (const char *p = query; *p;) {
		size_t plen = strcspn(p, "&");
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;

		if (plen > 0) {
			r = canonical_query_part(p, klen, &params[n].key);
			if (r >= 0)
				r = eq ? canonical_query_part(eq + 1, plen - klen - 1, &params[n].value)
				       : canonical_query_part("", 0, &params[n].value);
			n++;
			if (r < 0)
				goto out;
		}
		p += plen;
		if (*p == '&')
			p++;
	}

	qsort(params, n, sizeof(*params), query_param_cmp);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = akr_buf_appendf(out, "%s%s=%s", i ? "&" : "", params[i].key, params[i].value);
out:
	query_params_free(params, n);
	return r;
}

static int canon_header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void canon_headers_free(struct canon_header *h, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(h[i].name);
	free(h);
}

static int canon_header_add(struct canon_header *h, size_t *n, const char *name, const char *value)
{
	char *lname = strdup(name);

	if (!lname)
		return -ENOMEM;
	for (char *c = lname; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	h[*n] = (struct canon_header){ .name = lname, .value = value, .order = *n };
	(*n)++;
	return 0;
}

/* Collects the headers to sign: the request's, minus the never-signed ones,
 * plus the signer's own. */
static int collect_headers(const struct akr_sigv4_request *req, const char *amz_date,
			   const char *session_token, const char *content_sha256,
			   struct canon_header **ret, size_t *ret_n)
{
	struct canon_header *h;
	size_t n = 0;
	bool have_host = false;
	int r = 0;

	if (req->n_headers > SIGV4_MAX_HEADERS || (req->n_headers && !req->headers))
		return -EINVAL;
	h = calloc(req->n_headers + 3, sizeof(*h));
	if (!h)
		return -ENOMEM;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct akr_sigv4_header *hd = &req->headers[i];

		if (!akr_is_http_token(hd->name) || !akr_is_http_header_value(hd->value)) {
			r = -EINVAL;
			goto fail;
		}
		r = canon_header_add(h, &n, hd->name, hd->value);
		if (r < 0)
			goto fail;
		if (in_list(h[n - 1].name, reserved_headers, ELEMENTSOF(reserved_headers))) {
			r = -EINVAL;
			goto fail;
		}
		if (in_list(h[n - 1].name, unsigned_headers, ELEMENTSOF(unsigned_headers))) {
			free(h[--n].name);
			continue;
		}
		if (strcmp(h[n - 1].name, "host") == 0)
			have_host = true;
	}
	if (!have_host) {
		r = -EINVAL;
		goto fail;
	}

	r = canon_header_add(h, &n, "x-amz-date", amz_date);
	if (r >= 0 && session_token)
		r = canon_header_add(h, &n, "x-amz-security-token", session_token);
	if (r >= 0 && content_sha256)
		r = canon_header_add(h, &n, "x-amz-content-sha256", content_sha256);
	if (r < 0)
		goto fail;

	qsort(h, n, sizeof(*h), canon_header_cmp);
	*ret = h;
	*ret_n = n;
	return 0;
fail:
	canon_headers_free(h, n);
	return r;
}

int akr__sigv4_canonical_request(struct sha256 *shared, const struct akr_sigv4_request *req,
				 const char *amz_date, const char *session_token,
				 const struct akr_sigv4_options *opts, struct akr_buf *out,
				 struct akr_buf *ret_signed_headers)
{
	static const struct akr_sigv4_options defaults = { 0 };
	char payload_hash[AKR_SIGV4_HEX_LEN + 1];
	struct canon_header *h = NULL;
	size_t n = 0;
	int r;

	if (!opts)
		opts = &defaults;
	if (!req || !akr_is_http_token(req->method) || !akr__sigv4_is_amz_date(amz_date) ||
	    (req->body_len && !req->body) || (session_token && akr_has_control_chars(session_token)))
		return -EINVAL;
	if (req->path && akr_has_control_chars(req->path))
		return -EINVAL;
	if (req->query && akr_has_control_chars(req->query))
		return -EINVAL;

	r = akr__sigv4_sha256_hex_with(shared, req->body ? (const void *)req->body : "",
				       req->body_len, payload_hash);
	if (r < 0)
		return r;
	r = collect_headers(req, amz_date, opts->omit_session_token ? NULL : session_token,
			    opts->sign_content_sha256 ? payload_hash : NULL, &h, &n);
	if (r < 0)
		return r;

	r = akr_buf_appendf(out, "%s\n", req->method);
	if (r >= 0)
		r = append_canonical_path(out, req->path, !opts->no_normalize_path);
	if (r >= 0)
		r = akr_buf_append(out, "\n", 1);
	if (r >= 0)
		r = append_canonical_query(out, req->query);
	if (r >= 0)
		r = akr_buf_append(out, "\n", 1);

	/* One line per distinct name; repeats are joined with ',' in the order
	 * they were given (the sort is stable through .order). */
	for (size_t i = 0; i < n && r >= 0; i++) {
		bool first = i == 0 || strcmp(h[i - 1].name, h[i].name) != 0;
		bool last = i + 1 == n || strcmp(h[i + 1].name, h[i].name) != 0;

		if (first) {
			r = akr_buf_append_str(out, h[i].name);
			if (r >= 0)
				r = akr_buf_append(out, ":", 1);
		} else
			r = akr_buf_append(out, ",", 1);
		if (r >= 0)
			r = append_header_value(out, h[i].value);
		if (r >= 0 && last)
			r = akr_buf_append(out, "\n", 1);
	}
	if (r >= 0)
		r = akr_buf_append(out, "\n", 1);
	for (size_t i = 0; i < n && r >= 0; i++) {
		if (i > 0 && strcmp(h[i - 1].name, h[i].name) == 0)
			continue;
		r = akr_buf_append(out, ";", i ? 1 : 0);
		if (r >= 0)
			r = akr_buf_append_str(out, h[i].name);
		if (r >= 0 && ret_signed_headers) {
			r = akr_buf_append(ret_signed_headers, ";", i ? 1 : 0);
			if (r >= 0)
				r = akr_buf_append_str(ret_signed_headers, h[i].name);
		}
	}
	if (r >= 0)
		r = akr_buf_append(out, "\n", 1);
	if (r >= 0)
		r = akr_buf_append(out, payload_hash, AKR_SIGV4_HEX_LEN);

	canon_headers_free(h, n);
	return r;
}

int akr_sigv4_canonical_request(const struct akr_sigv4_request *req, const char *amz_date,
				const char *session_token, const struct akr_sigv4_options *opts,
				struct akr_buf *out, struct akr_buf *ret_signed_headers)
{
	return akr__sigv4_canonical_request(NULL, req, amz_date, session_token, opts, out,
					    ret_signed_headers);
}
