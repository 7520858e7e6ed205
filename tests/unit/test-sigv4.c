#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/buf.h"
#include "lib/http/sigv4.h"
#include "lib/base/timeutil.h"

#define MAX_HEADERS 32

/* ---- helpers ---------------------------------------------------------- */

static char *read_file(const char *path, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct akr_buf b;
	char chunk[4096];
	char *s = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	akr_buf_init(&b, 1024 * 1024, false);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		assert_int_equal(akr_buf_append(&b, chunk, (size_t)n), 0);
	assert_true(n == 0);
	if (ret_len)
		*ret_len = b.len;
	assert_int_equal(akr_buf_steal(&b, &s), 0);
	return s;
}

struct test_creds {
	const char *akid, *secret, *token;
	int fail;
};

static int get_test_creds(void *userdata, struct akr_sigv4_creds *ret)
{
	const struct test_creds *c = userdata;

	if (c->fail)
		return c->fail;
	*ret = (struct akr_sigv4_creds){ c->akid, c->secret, c->token };
	return 0;
}

/* A tiny reader for the flat context.json of the suite: finds "key": and
 * copies a string value or reports true/false. */
static bool json_get(const char *json, const char *key, char *out, size_t size)
{
	char pat[64];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(json, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t')
		p++;
	if (*p == '"') {
		end = strchr(++p, '"');
	} else {
		end = p + strcspn(p, ",}\n ");
	}
	if (!end || (size_t)(end - p) >= size)
		return false;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return true;
}

static bool json_true(const char *json, const char *key)
{
	char v[16];

	return json_get(json, key, v, sizeof(v)) && strcmp(v, "true") == 0;
}

struct parsed_request {
	char *text; /* owns every string below */
	char *method, *path, *query;
	struct akr_sigv4_header headers[MAX_HEADERS];
	size_t n_headers;
	char *body;
	size_t body_len;
	char *folded[MAX_HEADERS]; /* values rebuilt from folded lines */
};

static void parsed_request_done(struct parsed_request *p)
{
	for (size_t i = 0; i < MAX_HEADERS; i++)
		free(p->folded[i]);
	free(p->text);
}

/* request.txt: "METHOD target HTTP/1.1", header lines "Name:value" (a line
 * starting with a blank continues the previous value: obs-fold, replaced by
 * one space), an empty line, then the body. The target may hold spaces. */
static void parse_request(char *text, size_t len, struct parsed_request *p)
{
	char *line = text, *nl, *sp, *last_sp, *q;

	*p = (struct parsed_request){ .text = text };
	nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	sp = strchr(line, ' ');
	last_sp = strrchr(line, ' ');
	assert_non_null(sp);
	assert_true(last_sp > sp);
	*sp = '\0';
	*last_sp = '\0';
	p->method = line;
	p->path = sp + 1;
	q = strchr(p->path, '?');
	if (q) {
		*q = '\0';
		p->query = q + 1;
	}
	if (!nl)
		return;

	for (line = nl + 1; line < text + len;) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (*line == '\0') {
			if (nl) {
				p->body = nl + 1;
				p->body_len = (size_t)(text + len - p->body);
			}
			break;
		}
		if (*line == ' ' || *line == '\t') {
			size_t k = p->n_headers - 1;
			const char *prev = p->headers[k].value;
			char *joined;

			assert_true(p->n_headers > 0);
			assert_true(asprintf(&joined, "%s %s", prev, line) > 0);
			free(p->folded[k]);
			p->folded[k] = joined;
			p->headers[k].value = joined;
		} else {
			char *colon = strchr(line, ':');

			assert_non_null(colon);
			assert_true(p->n_headers < MAX_HEADERS);
			*colon = '\0';
			p->headers[p->n_headers++] = (struct akr_sigv4_header){ line, colon + 1 };
		}
		if (!nl)
			break;
		line = nl + 1;
	}
}

/* Runs one suite case; returns true when canonical request, string to sign
 * and signature all match exactly. */
static bool run_vector(const char *dir, const char *name)
{
	char path[2048], ts[64], akid[64], secret[128], token[2048], region[64], service[64];
	char amz_date[AKR_SIGV4_AMZ_DATE_LEN + 1], sig[AKR_SIGV4_HEX_LEN + 1], needle[128];
	_cleanup_free_ char *ctx = NULL, *want_creq = NULL, *want_sts = NULL, *want_sig = NULL;
	_cleanup_buf_ struct akr_buf creq = { 0 }, sts = { 0 };
	struct parsed_request pr;
	struct akr_sigv4_options opts;
	struct akr_sigv4_result res;
	struct test_creds tc;
	struct akr_sigv4_signer signer;
	struct akr_sigv4_request req;
	size_t rlen;
	char *rtext;
	int64_t when;
	bool ok = true, has_token;
	int r;

	akr_buf_init(&creq, 1 << 20, false);
	akr_buf_init(&sts, 4096, false);

#define LOAD(var, file)                                                                            \
	do {                                                                                       \
		snprintf(path, sizeof(path), "%s/%s/%s", dir, name, file);                        \
		var = read_file(path, NULL);                                                       \
		assert_non_null(var);                                                              \
	} while (0)
	LOAD(ctx, "context.json");
	LOAD(want_creq, "header-canonical-request.txt");
	LOAD(want_sts, "header-string-to-sign.txt");
	LOAD(want_sig, "header-signature.txt");
#undef LOAD
	snprintf(path, sizeof(path), "%s/%s/request.txt", dir, name);
	rtext = read_file(path, &rlen);
	assert_non_null(rtext);
	parse_request(rtext, rlen, &pr);

	assert_true(json_get(ctx, "access_key_id", akid, sizeof(akid)));
	assert_true(json_get(ctx, "secret_access_key", secret, sizeof(secret)));
	has_token = json_get(ctx, "token", token, sizeof(token));
	assert_true(json_get(ctx, "region", region, sizeof(region)));
	assert_true(json_get(ctx, "service", service, sizeof(service)));
	assert_true(json_get(ctx, "timestamp", ts, sizeof(ts)));
	assert_int_equal(akr_time_parse_iso8601(ts, &when), 0);
	akr_time_format_amz(when, amz_date, sizeof(amz_date));
	opts = (struct akr_sigv4_options){
		.no_normalize_path = !json_true(ctx, "normalize"),
		.sign_content_sha256 = json_true(ctx, "sign_body"),
		.omit_session_token = json_true(ctx, "omit_session_token"),
	};

	req = (struct akr_sigv4_request){
		.method = pr.method,
		.path = pr.path,
		.query = pr.query,
		.headers = pr.headers,
		.n_headers = pr.n_headers,
		.body = (const uint8_t *)pr.body,
		.body_len = pr.body_len,
	};

	r = akr_sigv4_canonical_request(&req, amz_date, has_token ? token : NULL, &opts, &creq,
					NULL);
	if (r < 0 || strcmp(creq.data, want_creq) != 0) {
		print_error("%s: canonical request (r=%d)\n--- got\n%s\n--- want\n%s\n", name, r,
			    creq.data ? creq.data : "", want_creq);
		ok = false;
		goto out;
	}
	r = akr_sigv4_string_to_sign(amz_date, region, service, creq.data, creq.len, &sts);
	if (r < 0 || strcmp(sts.data, want_sts) != 0) {
		print_error("%s: string to sign (r=%d)\n--- got\n%s\n--- want\n%s\n", name, r,
			    sts.data ? sts.data : "", want_sts);
		ok = false;
		goto out;
	}
	r = akr_sigv4_signature(secret, amz_date, region, service, sts.data, sts.len, sig);
	if (r < 0 || strcmp(sig, want_sig) != 0) {
		print_error("%s: signature (r=%d) got %s want %s\n", name, r, sig, want_sig);
		ok = false;
		goto out;
	}

	/* The same through the one-call API. */
	tc = (struct test_creds){ akid, secret, has_token ? token : NULL, 0 };
	signer = (struct akr_sigv4_signer){ region, service, get_test_creds, &tc };
	r = akr_sigv4_sign_request_at(&signer, &req, amz_date, &opts, &res);
	snprintf(needle, sizeof(needle), "Signature=%s", want_sig);
	if (r < 0 || !strstr(res.authorization, needle) || strcmp(res.amz_date, amz_date) != 0 ||
	    (has_token != (res.security_token != NULL))) {
		print_error("%s: sign_request_at r=%d\n", name, r);
		ok = false;
	}
	if (r >= 0)
		akr_sigv4_result_done(&res);
out:
	parsed_request_done(&pr);
	return ok;
}

static int name_filter(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void test_aws_suite(void **state)
{
	const char *shared = getenv("SHARED_DIR") ? getenv("SHARED_DIR") : SHARED_DIR;
	char dir[1024];
	struct dirent **names;
	int n, passed = 0;

	snprintf(dir, sizeof(dir), "%s/sigv4-testsuite/v4", shared);
	n = scandir(dir, &names, name_filter, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		if (run_vector(dir, names[i]->d_name))
			passed++;
		else
			print_error("sigv4 vector FAILED: %s\n", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	print_message("sigv4 test suite: %d/%d vectors passed\n", passed, n);
	assert_int_equal(passed, n);
	assert_true(n >= 38);
}

/* ---- our real calls, checked against botocore ------------------------- */

struct real_case {
	const char *name;
	const char *method, *url, *host, *path;
	const char *region, *service;
	const char *akid, *secret, *token;
	struct akr_sigv4_header headers[6];
	size_t n_headers;
	const char *body;
	const char *want_authorization; /* pasted from creds_sigv4_ref.py, see below */
};

#define EXAMPLE_AKID "AKIAIOSFODNN7EXAMPLE"
#define EXAMPLE_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EXAMPLE_TOKEN                                                                              \
	"FwoGZXIvYXdzEXAMPLE//////////wEaDEXAMPLEtoken+with/slashes=="
#define REF_TIMESTAMP "2024-01-15T10:20:30Z"

/* The expected values were produced once by botocore 1.43.11 with
 * `$PYTHON3 tests/unit/creds_sigv4_ref.py < spec.json` (the spec being what
 * botocore_check() below writes); botocore_check() re-runs the script at test
 * time too when $PYTHON3 has botocore. user-agent and expect are in the
 * requests on purpose: neither botocore nor we sign them. */
static const struct real_case real_cases[] = {
	{
		.name = "iam-query-post",
		.method = "POST",
		.url = "https://iam.amazonaws.com/",
		.host = "iam.amazonaws.com",
		.path = "/",
		.region = "us-east-1",
		.service = "iam",
		.akid = EXAMPLE_AKID,
		.secret = EXAMPLE_SECRET,
		.headers = { { "Host", "iam.amazonaws.com" },
			     { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" },
			     { "User-Agent", "iam-access-key-rotator/0.1" } },
		.n_headers = 3,
		.body = "Action=ListUsers&Version=2010-05-08",
		.want_authorization =
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240115/us-east-1/iam/"
			"aws4_request, SignedHeaders=content-type;host;x-amz-date, "
			"Signature=d49a8143811a7f744fead9299e0eb974ad3e31c8b8ba5985400f3594136cb9a7",
	},
	{
		.name = "organizations-json-post",
		.method = "POST",
		.url = "https://organizations.us-east-1.amazonaws.com/",
		.host = "organizations.us-east-1.amazonaws.com",
		.path = "/",
		.region = "us-east-1",
		.service = "organizations",
		.akid = EXAMPLE_AKID,
		.secret = EXAMPLE_SECRET,
		.headers = { { "Host", "organizations.us-east-1.amazonaws.com" },
			     { "Content-Type", "application/x-amz-json-1.1" },
			     { "X-Amz-Target", "AWSOrganizationsV20161128.ListAccounts" },
			     { "Expect", "" },
			     { "User-Agent", "iam-access-key-rotator/0.1" } },
		.n_headers = 5,
		.body = "{\"MaxResults\": 20}",
		.want_authorization =
			"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240115/us-east-1/"
			"organizations/aws4_request, "
			"SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
			"Signature=daf1c826db24bf037b30cef8e527044644eacd8441cec36d7862901a14a2b232",
	},
	{
		.name = "sts-session-token-custom-port",
		.method = "POST",
		.url = "http://127.0.0.1:4566/",
		.host = "127.0.0.1:4566",
		.path = "/",
		.region = "eu-west-1",
		.service = "sts",
		.akid = "ASIAIOSFODNN7EXAMPLE",
		.secret = EXAMPLE_SECRET,
		.token = EXAMPLE_TOKEN,
		.headers = { { "Host", "127.0.0.1:4566" },
			     { "Content-Type", "application/x-www-form-urlencoded; charset=utf-8" } },
		.n_headers = 2,
		.body = "Action=GetCallerIdentity&Version=2011-06-15",
		.want_authorization =
			"AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20240115/eu-west-1/sts/"
			"aws4_request, "
			"SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
			"Signature=ad0441d515283943e169916440bb2547631544427ca19da8ec6304be303b24a1",
	},
};

static void json_escape(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Signs @c with botocore through creds_sigv4_ref.py; returns its
 * Authorization value (caller frees) or NULL when python/botocore is absent. */
static char *botocore_authorization(const struct real_case *c)
{
	const char *py = getenv("PYTHON3") ? getenv("PYTHON3") : "python3";
	const char *src = getenv("SOURCE_DIR") ? getenv("SOURCE_DIR") : SOURCE_DIR;
	char spec_path[] = "/tmp/akr-sigv4-spec-XXXXXX";
	char cmd[2048], line[4096];
	char *auth = NULL;
	FILE *f, *p;
	int fd;

	fd = mkstemp(spec_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "{\"method\": \"%s\", \"url\": \"%s\", \"region\": \"%s\", \"service\": \"%s\", ",
		c->method, c->url, c->region, c->service);
	fprintf(f, "\"access_key\": \"%s\", \"secret_key\": \"%s\", \"timestamp\": \"%s\", ",
		c->akid, c->secret, REF_TIMESTAMP);
	fprintf(f, "\"token\": ");
	if (c->token)
		json_escape(f, c->token);
	else
		fprintf(f, "null");
	fprintf(f, ", \"body\": ");
	json_escape(f, c->body);
	fprintf(f, ", \"headers\": [");
	for (size_t i = 0; i < c->n_headers; i++) {
		fprintf(f, "%s[", i ? ", " : "");
		json_escape(f, c->headers[i].name);
		fprintf(f, ", ");
		json_escape(f, c->headers[i].value);
		fprintf(f, "]");
	}
	fprintf(f, "]}\n");
	fclose(f);

	snprintf(cmd, sizeof(cmd), "'%s' '%s/tests/unit/creds_sigv4_ref.py' < '%s' 2>/dev/null", py,
		 src, spec_path);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "authorization\t", 14) == 0)
			auth = strdup(line + 14);
	}
	if (pclose(p) != 0) {
		free(auth);
		auth = NULL;
	}
	unlink(spec_path);
	return auth;
}

static void sign_real(const struct real_case *c, struct akr_sigv4_result *res)
{
	struct test_creds tc = { c->akid, c->secret, c->token, 0 };
	struct akr_sigv4_signer signer = { c->region, c->service, get_test_creds, &tc };
	struct akr_sigv4_request req = {
		.method = c->method,
		.path = c->path,
		.headers = c->headers,
		.n_headers = c->n_headers,
		.body = (const uint8_t *)c->body,
		.body_len = strlen(c->body),
	};
	int64_t when;

	assert_int_equal(akr_time_parse_iso8601(REF_TIMESTAMP, &when), 0);
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, when, res), 0);
	assert_string_equal(res->amz_date, "20240115T102030Z");
}

static void test_real_calls_match_botocore(void **state)
{
	int checked_live = 0;

	for (size_t i = 0; i < ELEMENTSOF(real_cases); i++) {
		const struct real_case *c = &real_cases[i];
		_cleanup_free_ char *live = botocore_authorization(c);
		struct akr_sigv4_result res;

		sign_real(c, &res);
		assert_string_equal(res.authorization, c->want_authorization);
		if (live) {
			assert_string_equal(res.authorization, live);
			checked_live++;
		}
		if (c->token)
			assert_string_equal(res.security_token, c->token);
		else
			assert_null(res.security_token);
		akr_sigv4_result_done(&res);
	}
	if (checked_live)
		print_message("sigv4: %d/%zu real-call signatures match botocore run live\n",
			      checked_live, ELEMENTSOF(real_cases));
	else
		print_message("sigv4: botocore unavailable ($PYTHON3), compared with pasted values\n");
}

/* ---- the signing-key cache -------------------------------------------- */

static char *sign_with(struct akr_sigv4_key_cache *cache, const char *secret, const char *region,
		       const char *service, int64_t now_sec)
{
	static const struct akr_sigv4_header h[] = { { "Host", "iam.amazonaws.com" } };
	static const uint8_t body[] = "Action=ListUsers&Version=2010-05-08";
	struct test_creds c = { "AKIDEXAMPLE", secret, NULL, 0 };
	struct akr_sigv4_signer signer = { region, service, get_test_creds, &c };
	struct akr_sigv4_request req = { "POST", "/", NULL, h, 1, body, sizeof(body) - 1 };
	struct akr_sigv4_result res;
	char *auth;

	assert_int_equal(akr_sigv4_sign_request_cached(&signer, cache, &req, now_sec, &res), 0);
	auth = strdup(res.authorization);
	assert_non_null(auth);
	akr_sigv4_result_done(&res);
	return auth;
}

/* Signing with the cache gives exactly the signature derived afresh, for
 * any secret, day, region and service, also once entries were replaced;
 * a key is derived once per secret, day, region and service. */
static void test_key_cache(void **state)
{
	static const char *const secrets[] = { "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
					       "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEz", "s" };
	static const char *const regions[] = { "us-east-1", "eu-west-1" };
	static const char *const services[] = { "iam", "sts", "ses" };
	static const int64_t days[] = { 1764633600, 1764633600 + 86399, 1764633600 + 86400 };
	struct akr_sigv4_key_cache *cache = akr_sigv4_key_cache_new();
	uint64_t derived, hits, n = 0;

	(void)state;
	assert_non_null(cache);
	for (int round = 0; round < 2; round++)
		for (size_t a = 0; a < ELEMENTSOF(secrets); a++)
			for (size_t b = 0; b < ELEMENTSOF(regions); b++)
				for (size_t c = 0; c < ELEMENTSOF(services); c++)
					for (size_t d = 0; d < ELEMENTSOF(days); d++) {
						_cleanup_free_ char *want = sign_with(
							NULL, secrets[a], regions[b], services[c],
							days[d]);
						_cleanup_free_ char *got = sign_with(
							cache, secrets[a], regions[b], services[c],
							days[d]);

						assert_string_equal(got, want);
						n++;
					}
	akr_sigv4_key_cache_stats(cache, &derived, &hits);
	/* 3 secrets x 2 regions x 3 services x 2 days: 36 keys; the two
	 * times of the first day share theirs. */
	assert_int_equal(derived, 36);
	assert_int_equal(hits, n - 36);

	/* More keys than entries: the oldest are replaced, and still right. */
	for (int i = 0; i < AKR_SIGV4_KEY_CACHE_SIZE + 10; i++) {
		char secret[32];

		(void)snprintf(secret, sizeof(secret), "secret-%d", i);
		_cleanup_free_ char *want = sign_with(NULL, secret, "us-east-1", "iam", days[0]);
		_cleanup_free_ char *got = sign_with(cache, secret, "us-east-1", "iam", days[0]);
		assert_string_equal(got, want);
	}
	for (size_t a = 0; a < ELEMENTSOF(secrets); a++) {
		_cleanup_free_ char *want = sign_with(NULL, secrets[a], "us-east-1", "iam", days[0]);
		_cleanup_free_ char *got = sign_with(cache, secrets[a], "us-east-1", "iam", days[0]);
		assert_string_equal(got, want);
	}
	akr_sigv4_key_cache_stats(cache, &derived, &hits);
	assert_int_equal(derived, 36 + AKR_SIGV4_KEY_CACHE_SIZE + 10 + ELEMENTSOF(secrets));
	assert_null(akr_sigv4_key_cache_free(cache));
	assert_null(akr_sigv4_key_cache_free(NULL));
}

/* ---- behaviour and error paths ---------------------------------------- */

static const struct akr_sigv4_header basic_headers[] = { { "Host", "example.amazonaws.com" } };

static char *canonical_of(const struct akr_sigv4_request *req, int *ret_r)
{
	struct akr_buf b;
	char *s = NULL;

	akr_buf_init(&b, 1 << 16, false);
	*ret_r = akr_sigv4_canonical_request(req, "20150830T123600Z", NULL, NULL, &b, NULL);
	if (*ret_r >= 0)
		assert_int_equal(akr_buf_steal(&b, &s), 0);
	akr_buf_done(&b);
	return s;
}

static void check_path(const char *path, const char *want_line)
{
	struct akr_sigv4_request req = { "GET", path, NULL, basic_headers, 1, NULL, 0 };
	_cleanup_free_ char *c = NULL;
	int r;

	c = canonical_of(&req, &r);
	assert_int_equal(r, 0);
	assert_true(strncmp(c, "GET\n", 4) == 0);
	assert_memory_equal(c + 4, want_line, strlen(want_line));
	assert_int_equal(c[4 + strlen(want_line)], '\n');
}

static void check_query(const char *query, const char *want_line)
{
	struct akr_sigv4_request req = { "GET", "/", query, basic_headers, 1, NULL, 0 };
	_cleanup_free_ char *c = NULL;
	int r;

	c = canonical_of(&req, &r);
	assert_int_equal(r, 0);
	assert_memory_equal(c + 6, want_line, strlen(want_line));
	assert_int_equal(c[6 + strlen(want_line)], '\n');
}

static void test_paths_and_queries(void **state)
{
	check_path("", "/");
	check_path("/", "/");
	check_path("/v2/email/outbound-emails", "/v2/email/outbound-emails");
	check_path("/a/./b/../c/", "/a/c/");
	check_path("/../..", "/");
	check_path("/a//b", "/a/b");
	check_path("/a b/%2F", "/a%20b/%252F");

	check_query("", "");
	check_query("b=2&a=1&a=0", "a=0&a=1&b=2");
	check_query("flag", "flag=");
	check_query("k=a+b&x=%zz&&", "k=a%2Bb&x=%25zz");
	check_query("k=%2f%2F", "k=%2F%2F");
}

static void test_headers(void **state)
{
	const struct akr_sigv4_header h[] = {
		{ "Host", "h.example" },         { "X-B", "  two   words\there " },
		{ "x-a", "1" },                 { "X-A", "2" },
		{ "User-Agent", "curl" },       { "Connection", "keep-alive" },
		{ "Transfer-Encoding", "x" },   { "Expect", "100-continue" },
		{ "X-Amzn-Trace-Id", "Root=1" },
	};
	struct akr_sigv4_request req = { "POST", "/", NULL, h, ELEMENTSOF(h), NULL, 0 };
	struct akr_buf b, sh;

	akr_buf_init(&b, 1 << 16, false);
	akr_buf_init(&sh, 1024, false);
	assert_int_equal(akr_sigv4_canonical_request(&req, "20150830T123600Z", "TOKEN", NULL, &b,
						     &sh),
			 0);
	assert_string_equal(b.data,
			    "POST\n/\n\n"
			    "host:h.example\n"
			    "x-a:1,2\n"
			    "x-amz-date:20150830T123600Z\n"
			    "x-amz-security-token:TOKEN\n"
			    "x-b:two words here\n"
			    "\n"
			    "host;x-a;x-amz-date;x-amz-security-token;x-b\n"
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_string_equal(sh.data, "host;x-a;x-amz-date;x-amz-security-token;x-b");
	akr_buf_done(&b);
	akr_buf_done(&sh);
}

static void test_rejects(void **state)
{
	struct test_creds tc = { EXAMPLE_AKID, EXAMPLE_SECRET, NULL, 0 };
	struct akr_sigv4_signer signer = { "us-east-1", "iam", get_test_creds, &tc };
	struct akr_sigv4_header no_host[] = { { "Content-Type", "x" } };
	struct akr_sigv4_header crlf[] = { { "Host", "h" }, { "X-Evil", "a\r\nX-Injected: 1" } };
	struct akr_sigv4_header auth[] = { { "Host", "h" }, { "Authorization", "x" } };
	struct akr_sigv4_header date[] = { { "Host", "h" }, { "X-Amz-Date", "x" } };
	struct akr_sigv4_header badname[] = { { "Host", "h" }, { "Bad Name", "x" } };
	struct akr_sigv4_request req = { "GET", "/", NULL, NULL, 0, NULL, 0 };
	struct akr_sigv4_result res;
	char sig[AKR_SIGV4_HEX_LEN + 1];
	char long_secret[300];
	struct akr_buf tiny;

	req.headers = no_host;
	req.n_headers = 1;
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -EINVAL);
	req.headers = crlf;
	req.n_headers = 2;
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -EINVAL);
	req.headers = auth;
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -EINVAL);
	req.headers = date;
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -EINVAL);
	req.headers = badname;
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -EINVAL);

	/* Credentials: missing, half, failing provider. */
	req.headers = basic_headers;
	req.n_headers = 1;
	tc.secret = "";
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -ENOKEY);
	tc.secret = EXAMPLE_SECRET;
	tc.fail = -ENOKEY;
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -ENOKEY);
	tc.fail = 0;

	/* Bad scope and dates. */
	signer.region = "us-east-1/x";
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 0, &res), -EINVAL);
	signer.region = "us-east-1";
	assert_int_equal(akr_sigv4_sign_request_at(&signer, &req, "2015-08-30", NULL, &res),
			 -EINVAL);
	memset(long_secret, 'a', sizeof(long_secret) - 1);
	long_secret[sizeof(long_secret) - 1] = '\0';
	assert_int_equal(akr_sigv4_signature(long_secret, "20150830T123600Z", "r", "s", "x", 1,
					     sig),
			 -EINVAL);

	/* A full output buffer is an error, not a silent truncation. */
	akr_buf_init(&tiny, 16, false);
	assert_int_equal(akr_sigv4_canonical_request(&req, "20150830T123600Z", NULL, NULL, &tiny,
						     NULL),
			 -E2BIG);
	akr_buf_done(&tiny);

	/* Success path still works after all that, and done() is idempotent. */
	assert_int_equal(akr_sigv4_sign_request(&signer, &req, 1440938160, &res), 0);
	assert_string_equal(res.amz_date, "20150830T123600Z");
	assert_non_null(strstr(res.authorization, "SignedHeaders=host;x-amz-date, "));
	akr_sigv4_result_done(&res);
	akr_sigv4_result_done(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws_suite),
		cmocka_unit_test(test_real_calls_match_botocore),
		cmocka_unit_test(test_key_cache),
		cmocka_unit_test(test_paths_and_queries),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
