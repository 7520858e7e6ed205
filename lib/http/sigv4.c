#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "lib/base/buf.h"
#include "lib/http/sigv4.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_MAX_SECRET 256
#define SIGV4_MAX_HEADERS 128
#define SIGV4_MAX_QUERY_PARAMS 1024
#define SIGV4_MAX_PATH 8192
/* Canonical requests carry session tokens (often > 1000 bytes) and headers,
 * never bodies: 1 MiB is far beyond anything real. */
#define SIGV4_MAX_CANONICAL (1024 * 1024)
#define SHA256_LEN 32
#define SHA256_BLOCK 64

/* botocore's SIGNED_HEADERS_BLACKLIST: proxies and curl may change or add
 * these, so a signature over them would not verify. */
static const char *const unsigned_headers[] = {
	"user-agent", "expect", "connection", "transfer-encoding", "x-amzn-trace-id",
};

/* Headers the signer produces itself: a request must not bring its own. */
static const char *const reserved_headers[] = {
	"authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256",
};

/* Every derived key of one signature, wiped by a cleanup attribute on every path. */
struct sigv4_key_material {
	uint8_t secret[4 + SIGV4_MAX_SECRET]; /* "AWS4" + secret access key */
	uint8_t k[SHA256_LEN];                /* kDate, then kRegion, kService, kSigning */
	uint8_t mac[SHA256_LEN];
};

static void key_material_wipe(struct sigv4_key_material *m)
{
	OPENSSL_cleanse(m, sizeof(*m));
}

struct canon_header {
	char *name; /* lower-cased copy */
	const char *value;
	size_t order;
};

struct query_param {
	char *key; /* canonical (encoded) forms */
	char *value;
};

static int openssl_failed(void)
{
	/* Drained so that a later, unrelated OpenSSL call does not report it. */
	ERR_clear_error();
	return -EIO;
}

/* SHA-256 with the algorithm fetched once and one context reused: with
 * OpenSSL 3, EVP_sha256() in every EVP_Digest() and HMAC() (EVP_Q_mac) look
 * the implementation up again each time, which cost more than the hashing
 * (about 40 % of the daemon's CPU per request went into signing). */
struct sha256 {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

static void sha256_done(struct sha256 *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	h->ctx = NULL;
	h->md = NULL;
}

static int sha256_init(struct sha256 *h)
{
	h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx) {
		sha256_done(h);
		return openssl_failed();
	}
	return 0;
}

/* @a then @b (may be empty) into @out. */
static int sha256_2(struct sha256 *h, const void *a, size_t alen, const void *b, size_t blen,
		    uint8_t out[static SHA256_LEN])
{
	unsigned n = 0;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 || EVP_DigestUpdate(h->ctx, a, alen) != 1 ||
	    (blen && EVP_DigestUpdate(h->ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != SHA256_LEN)
		return openssl_failed();
	return 0;
}

static int sha256_hex(struct sha256 *h, const void *data, size_t len,
		      char out[static AKR_SIGV4_HEX_LEN + 1])
{
	uint8_t md[SHA256_LEN];
	int r = sha256_2(h, data, len, NULL, 0, md);

	if (r < 0)
		return r;
	akr_hex_encode(md, SHA256_LEN, out);
	return 0;
}

/* Every block that holds key material in one HMAC, wiped on every path. */
struct hmac_pads {
	uint8_t key[SHA256_BLOCK];
	uint8_t pad[SHA256_BLOCK];
	uint8_t inner[SHA256_LEN];
};

static void hmac_pads_wipe(struct hmac_pads *p)
{
	OPENSSL_cleanse(p, sizeof(*p));
}

/* RFC 2104 HMAC-SHA256. @out may be @key. */
static int hmac_sha256(struct sha256 *h, const uint8_t *key, size_t key_len, const void *data,
		       size_t len, uint8_t out[static SHA256_LEN])
{
	_cleanup_(hmac_pads_wipe) struct hmac_pads p = { 0 };
	int r;

	if (key_len > SHA256_BLOCK) {
		r = sha256_2(h, key, key_len, NULL, 0, p.key);
		if (r < 0)
			return r;
	} else
		memcpy(p.key, key, key_len);
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		p.pad[i] = p.key[i] ^ 0x36;
	r = sha256_2(h, p.pad, SHA256_BLOCK, data, len, p.inner);
	if (r < 0)
		return r;
	for (size_t i = 0; i < SHA256_BLOCK; i++)
		p.pad[i] = p.key[i] ^ 0x5c;
	return sha256_2(h, p.pad, SHA256_BLOCK, p.inner, SHA256_LEN, out);
}

static bool is_amz_date(const char *s)
{
	if (!s || strlen(s) != AKR_SIGV4_AMZ_DATE_LEN || s[8] != 'T' || s[15] != 'Z')
		return false;
	for (size_t i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

/* Region and signing name end up in the credential scope and the
 * Authorization header: a strict alphabet keeps both unambiguous. */
static bool is_scope_part(const char *s)
{
	if (!s || !*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

/* RFC 7230 tchar. */
static bool is_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
			return false;
	}
	return true;
}

/* CR/LF would split the header on the wire; a tab is legal HTTP. */
static bool is_header_value(const char *v)
{
	if (!v)
		return false;
	for (; *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || (unsigned char)*v == 0x7f)
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

		if (!is_token(hd->name) || !is_header_value(hd->value)) {
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

/* SHA-256 of @data into @out with @shared (the cache's, may be NULL: one
 * fetched for the call). */
static int sha256_hex_with(struct sha256 *shared, const void *data, size_t len,
			   char out[static AKR_SIGV4_HEX_LEN + 1])
{
	struct sha256 sha = { 0 };
	int r;

	if (shared)
		return sha256_hex(shared, data, len, out);
	r = sha256_init(&sha);
	if (r < 0)
		return r;
	r = sha256_hex(&sha, data, len, out);
	sha256_done(&sha);
	return r;
}

static int canonical_request(struct sha256 *shared, const struct akr_sigv4_request *req,
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
	if (!req || !is_token(req->method) || !is_amz_date(amz_date) ||
	    (req->body_len && !req->body) || (session_token && akr_has_control_chars(session_token)))
		return -EINVAL;
	if (req->path && akr_has_control_chars(req->path))
		return -EINVAL;
	if (req->query && akr_has_control_chars(req->query))
		return -EINVAL;

	r = sha256_hex_with(shared, req->body ? (const void *)req->body : "", req->body_len,
			    payload_hash);
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
	return canonical_request(NULL, req, amz_date, session_token, opts, out,
				 ret_signed_headers);
}

static int string_to_sign(struct sha256 *shared, const char *amz_date, const char *region,
			  const char *service, const char *canonical, size_t len,
			  struct akr_buf *out)
{
	char hash[AKR_SIGV4_HEX_LEN + 1];
	int r;

	if (!is_amz_date(amz_date) || !is_scope_part(region) || !is_scope_part(service) ||
	    !canonical)
		return -EINVAL;
	r = sha256_hex_with(shared, canonical, len, hash);
	if (r < 0)
		return r;
	return akr_buf_appendf(out, SIGV4_ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s", amz_date,
			       amz_date, region, service, hash);
}

struct key_cache_entry {
	uint64_t last_use; /* 0: free */
	char date[9];      /* YYYYMMDD */
	char region[65];
	char service[65];
	uint8_t secret_digest[SHA256_LEN]; /* SHA-256 of the secret access key */
	uint8_t k_signing[SHA256_LEN];
};

struct akr_sigv4_key_cache {
	struct sha256 sha; /* fetched once for every signature made with the cache */
	uint64_t clock;
	uint64_t derived, hits;
	struct key_cache_entry e[AKR_SIGV4_KEY_CACHE_SIZE];
};

struct akr_sigv4_key_cache *akr_sigv4_key_cache_new(void)
{
	struct akr_sigv4_key_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (sha256_init(&c->sha) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

struct akr_sigv4_key_cache *akr_sigv4_key_cache_free(struct akr_sigv4_key_cache *c)
{
	if (!c)
		return NULL;
	sha256_done(&c->sha);
	OPENSSL_clear_free(c, sizeof(*c));
	return NULL;
}

void akr_sigv4_key_cache_stats(const struct akr_sigv4_key_cache *c, uint64_t *ret_derived,
			       uint64_t *ret_hits)
{
	*ret_derived = c ? c->derived : 0;
	*ret_hits = c ? c->hits : 0;
}

/* kDate..kSigning of "AWS4" + @secret for the day of @amz_date. */
static int derive_signing_key(struct sha256 *sha, const char *secret, size_t slen,
			      const char *amz_date, const char *region, const char *service,
			      uint8_t out[static SHA256_LEN])
{
	_cleanup_(key_material_wipe) struct sigv4_key_material km = { 0 };
	int r;

	memcpy(km.secret, "AWS4", 4);
	memcpy(km.secret + 4, secret, slen);
	r = hmac_sha256(sha, km.secret, 4 + slen, amz_date, 8, km.k);
	if (r >= 0)
		r = hmac_sha256(sha, km.k, SHA256_LEN, region, strlen(region), km.k);
	if (r >= 0)
		r = hmac_sha256(sha, km.k, SHA256_LEN, service, strlen(service), km.k);
	if (r >= 0)
		r = hmac_sha256(sha, km.k, SHA256_LEN, "aws4_request", strlen("aws4_request"), km.k);
	if (r >= 0)
		memcpy(out, km.k, SHA256_LEN);
	return r;
}

/* The signature of @string_to_sign with the signing key from @c (derived and
 * kept when missing). Arguments are validated by the caller. */
static int cached_signature(struct akr_sigv4_key_cache *c, const char *secret, size_t slen,
			    const char *amz_date, const char *region, const char *service,
			    const char *string_to_sign, size_t len,
			    char ret_hex[static AKR_SIGV4_HEX_LEN + 1])
{
	_cleanup_(key_material_wipe) struct sigv4_key_material km = { 0 };
	struct key_cache_entry *hit = NULL, *victim = &c->e[0];
	int r;

	r = sha256_2(&c->sha, secret, slen, NULL, 0, km.k);
	if (r < 0)
		return r;
	for (size_t i = 0; i < AKR_SIGV4_KEY_CACHE_SIZE; i++) {
		struct key_cache_entry *e = &c->e[i];

		if (e->last_use < victim->last_use)
			victim = e;
		if (e->last_use && memcmp(e->date, amz_date, 8) == 0 &&
		    strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0 &&
		    CRYPTO_memcmp(e->secret_digest, km.k, SHA256_LEN) == 0) {
			hit = e;
			break;
		}
	}
	if (hit)
		c->hits++;
	else {
		hit = victim;
		OPENSSL_cleanse(hit, sizeof(*hit));
		r = derive_signing_key(&c->sha, secret, slen, amz_date, region, service,
				       hit->k_signing);
		if (r < 0) {
			OPENSSL_cleanse(hit, sizeof(*hit));
			return r;
		}
		memcpy(hit->date, amz_date, 8);
		memcpy(hit->region, region, strlen(region) + 1);
		memcpy(hit->service, service, strlen(service) + 1);
		memcpy(hit->secret_digest, km.k, SHA256_LEN);
		c->derived++;
	}
	hit->last_use = ++c->clock;
	r = hmac_sha256(&c->sha, hit->k_signing, SHA256_LEN, string_to_sign, len, km.mac);
	if (r < 0)
		return r;
	akr_hex_encode(km.mac, SHA256_LEN, ret_hex);
	return 0;
}

int akr_sigv4_string_to_sign(const char *amz_date, const char *region, const char *service,
			     const char *canonical_request, size_t len, struct akr_buf *out)
{
	return string_to_sign(NULL, amz_date, region, service, canonical_request, len, out);
}

int akr_sigv4_signature(const char *secret_access_key, const char *amz_date, const char *region,
			const char *service, const char *string_to_sign, size_t len,
			char ret_hex[static AKR_SIGV4_HEX_LEN + 1])
{
	_cleanup_(key_material_wipe) struct sigv4_key_material km = { 0 };
	struct sha256 sha = { 0 };
	size_t slen;
	int r;

	if (!secret_access_key || !is_amz_date(amz_date) || !is_scope_part(region) ||
	    !is_scope_part(service) || !string_to_sign)
		return -EINVAL;
	slen = strlen(secret_access_key);
	if (slen == 0 || slen > SIGV4_MAX_SECRET)
		return -EINVAL;

	r = sha256_init(&sha);
	if (r < 0)
		return r;
	r = derive_signing_key(&sha, secret_access_key, slen, amz_date, region, service, km.k);
	if (r >= 0)
		r = hmac_sha256(&sha, km.k, SHA256_LEN, string_to_sign, len, km.mac);
	sha256_done(&sha);
	if (r < 0)
		return r;
	akr_hex_encode(km.mac, SHA256_LEN, ret_hex);
	return 0;
}

static int sign_at(const struct akr_sigv4_signer *signer, struct akr_sigv4_key_cache *cache,
		   const struct akr_sigv4_request *req, const char *amz_date,
		   const struct akr_sigv4_options *opts, struct akr_sigv4_result *ret)
{
	_cleanup_buf_ struct akr_buf canonical = { 0 }, sts = { 0 };
	_cleanup_buf_ struct akr_buf signed_headers = { 0 }, auth = { 0 };
	struct akr_sigv4_creds creds = { 0 };
	char signature[AKR_SIGV4_HEX_LEN + 1];
	char *token = NULL, *authorization = NULL;
	int r;

	/* The canonical request holds the session token. */
	akr_buf_init(&canonical, SIGV4_MAX_CANONICAL, true);
	akr_buf_init(&sts, 1024, false);
	akr_buf_init(&signed_headers, 64 * 1024, false);
	akr_buf_init(&auth, 128 * 1024, false);

	if (!signer || !signer->get_creds || !req || !ret || !is_amz_date(amz_date) ||
	    !is_scope_part(signer->region) || !is_scope_part(signer->service))
		return -EINVAL;
	r = signer->get_creds(signer->userdata, &creds);
	if (r < 0)
		return r;
	if (!creds.access_key_id || !*creds.access_key_id || !creds.secret_access_key ||
	    !*creds.secret_access_key)
		return -ENOKEY;
	if (!is_scope_part(creds.access_key_id))
		return -EINVAL;
	if (creds.session_token && !*creds.session_token)
		creds.session_token = NULL;

	r = canonical_request(cache ? &cache->sha : NULL, req, amz_date, creds.session_token, opts,
			      &canonical, &signed_headers);
	if (r < 0)
		return r;
	r = string_to_sign(cache ? &cache->sha : NULL, amz_date, signer->region, signer->service,
			   canonical.data, canonical.len, &sts);
	if (r < 0)
		return r;
	if (cache) {
		size_t slen = strlen(creds.secret_access_key);

		if (slen > SIGV4_MAX_SECRET)
			return -EINVAL;
		r = cached_signature(cache, creds.secret_access_key, slen, amz_date,
				     signer->region, signer->service, sts.data, sts.len,
				     signature);
	} else
		r = akr_sigv4_signature(creds.secret_access_key, amz_date, signer->region,
					signer->service, sts.data, sts.len, signature);
	if (r < 0)
		return r;
	r = akr_buf_appendf(&auth,
			    SIGV4_ALGORITHM " Credential=%s/%.8s/%s/%s/aws4_request, "
					    "SignedHeaders=%s, Signature=%s",
			    creds.access_key_id, amz_date, signer->region, signer->service,
			    signed_headers.data, signature);
	if (r < 0)
		return r;

	if (creds.session_token) {
		size_t tlen = strlen(creds.session_token);

		token = malloc(tlen + 1);
		if (!token)
			return -ENOMEM;
		memcpy(token, creds.session_token, tlen + 1);
	}
	r = akr_buf_steal(&auth, &authorization);
	if (r < 0) {
		if (token)
			OPENSSL_clear_free(token, strlen(token));
		return r;
	}
	*ret = (struct akr_sigv4_result){ .authorization = authorization, .security_token = token };
	memcpy(ret->amz_date, amz_date, AKR_SIGV4_AMZ_DATE_LEN + 1);
	return 0;
}

int akr_sigv4_sign_request_at(const struct akr_sigv4_signer *signer,
			      const struct akr_sigv4_request *req, const char *amz_date,
			      const struct akr_sigv4_options *opts, struct akr_sigv4_result *ret)
{
	return sign_at(signer, NULL, req, amz_date, opts, ret);
}

int akr_sigv4_sign_request_cached(const struct akr_sigv4_signer *signer,
				  struct akr_sigv4_key_cache *cache,
				  const struct akr_sigv4_request *req, int64_t now_sec,
				  struct akr_sigv4_result *ret)
{
	char amz_date[AKR_SIGV4_AMZ_DATE_LEN + 1];

	if (now_sec < 0)
		return -EINVAL;
	akr_time_format_amz(now_sec, amz_date, sizeof(amz_date));
	return sign_at(signer, cache, req, amz_date, NULL, ret);
}

int akr_sigv4_sign_request(const struct akr_sigv4_signer *signer, const struct akr_sigv4_request *req,
			   int64_t now_sec, struct akr_sigv4_result *ret)
{
	return akr_sigv4_sign_request_cached(signer, NULL, req, now_sec, ret);
}

void akr_sigv4_result_done(struct akr_sigv4_result *res)
{
	if (!res)
		return;
	free(res->authorization);
	if (res->security_token)
		OPENSSL_clear_free(res->security_token, strlen(res->security_token));
	*res = (struct akr_sigv4_result){ 0 };
}
