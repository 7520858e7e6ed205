/* Container credentials (see container.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "lib/aws/client.h"
#include "lib/aws/container.h"
#include "lib/aws/imds.h"
#include "lib/base/error.h"
#include "lib/base/macro.h"
#include "lib/base/strutil.h"
#include "lib/http/engine.h"

#define CONTAINER_HOST "http://169.254.170.2"
#define CONTAINER_MAX_BODY (64 * 1024)
#define CONTAINER_TIMEOUT_MS 2000
#define TOKEN_FILE_MAX 16384
#define CODE "ContainerCredentialsError"

struct fetch {
	char *url;
	char *auth; /* the Authorization value: wiped */
	akr_container_creds_cb cb;
	void *userdata;
};

static void fetch_free(struct fetch *f)
{
	if (f->auth)
		OPENSSL_clear_free(f->auth, strlen(f->auth));
	free(f->url);
	free(f);
}

bool akr_container_configured(void)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");

	return (rel && *rel) || (full && *full);
}

/* botocore's ContainerMetadataFetcher: https anywhere; http only to a
 * loopback address or the container endpoints. */
static bool host_permitted(const char *host, size_t len)
{
	static const char *const allowed[] = { "169.254.170.2", "169.254.170.23",
					       "[fd00:ec2::23]", "localhost", "[::1]" };
	char buf[64];
	struct in_addr a4;

	for (size_t i = 0; i < ELEMENTSOF(allowed); i++)
		if (strlen(allowed[i]) == len && strncasecmp(host, allowed[i], len) == 0)
			return true;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, host, len);
	buf[len] = '\0';
	return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int akr_container_url(char **ret_url, struct akr_error *reterr)
{
	const char *rel = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *host, *end;
	char *url;

	if (rel && *rel) {
		if (rel[0] != '/' || akr_has_control_chars(rel) || strchr(rel, ' ') ||
		    strlen(rel) > 1024) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, CODE,
				      "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI '%.100s' is not a "
				      "path",
				      rel);
			return -EINVAL;
		}
		if (asprintf(&url, CONTAINER_HOST "%s", rel) < 0)
			return -ENOMEM;
		*ret_url = url;
		return 0;
	}
	if (!full || !*full)
		return -ENOENT;
	if (akr_has_control_chars(full) || strchr(full, ' ') || strlen(full) > 2048)
		goto bad;
	if (strncasecmp(full, "https://", 8) == 0) {
		host = NULL;
	} else if (strncasecmp(full, "http://", 7) == 0) {
		host = full + 7;
		end = host + strcspn(host, "/?#");
		/* Cut the port: after ']' for IPv6, else after the last ':'. */
		if (*host == '[') {
			const char *rb = memchr(host, ']', (size_t)(end - host));

			if (!rb)
				goto bad;
			end = rb + 1;
		} else {
			const char *colon = memchr(host, ':', (size_t)(end - host));

			if (colon)
				end = colon;
		}
		if (memchr(host, '@', (size_t)(end - host)) ||
		    !host_permitted(host, (size_t)(end - host)))
			goto bad;
	} else {
		goto bad;
	}
	url = strdup(full);
	if (!url)
		return -ENOMEM;
	*ret_url = url;
	return 0;
bad:
	akr_error_set(reterr, AKR_ERROR_LOCAL, 0, CODE,
		      "$AWS_CONTAINER_CREDENTIALS_FULL_URI '%.100s' must be https:// or http:// to "
		      "a loopback address or 169.254.170.2, 169.254.170.23, [fd00:ec2::23]",
		      full);
	return -EINVAL;
}

/* The Authorization value: the token file first, then the variable. */
static int auth_token(char **ret, struct akr_error *reterr)
{
	const char *path = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *v = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	char *buf = NULL;
	size_t n = 0;

	*ret = NULL;
	if (path && *path) {
		_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t k;

		buf = fd >= 0 ? calloc(1, TOKEN_FILE_MAX + 1) : NULL;
		if (fd < 0 || !buf) {
			int e = fd < 0 ? errno : ENOMEM;

			free(buf);
			if (e == ENOMEM)
				return -ENOMEM;
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, CODE,
				      "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE '%.200s': %s", path,
				      strerror(e));
			return -e;
		}
		while (n < TOKEN_FILE_MAX && (k = read(fd, buf + n, TOKEN_FILE_MAX - n)) > 0)
			n += (size_t)k;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
			buf[--n] = '\0';
	} else if (v && *v) {
		buf = strdup(v);
		if (!buf)
			return -ENOMEM;
		n = strlen(buf);
	} else {
		return 0;
	}
	if (n == 0 || n >= TOKEN_FILE_MAX || akr_has_control_chars(buf)) {
		OPENSSL_cleanse(buf, n);
		free(buf);
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, CODE,
			      "the container authorization token is empty, too long or holds "
			      "control characters");
		return -EINVAL;
	}
	*ret = buf;
	return 0;
}

static void http_done(void *userdata, int r, const struct akr_http_response *resp,
		      const struct akr_error *err)
{
	struct fetch *f = userdata;
	struct akr_aws_creds creds = { 0 };
	struct akr_error e;
	char msg[sizeof(e.message)];

	akr_error_clear(&e);
	if (r < 0) {
		if (err)
			e = *err;
	} else {
		r = akr_imds_parse_credentials(resp->body, resp->body_len, &creds, &e);
	}
	if (r < 0) {
		(void)snprintf(msg, sizeof(msg), "container credentials from %.150s: %.300s", f->url,
			       e.message[0] ? e.message : strerror(-r));
		memcpy(e.message, msg, sizeof(msg));
		if (!e.code[0] || strcmp(e.code, "imds") == 0)
			(void)snprintf(e.code, sizeof(e.code), CODE);
	}
	f->cb(f->userdata, r, r < 0 ? NULL : &creds, r < 0 ? &e : NULL);
	akr_aws_creds_done(&creds);
	fetch_free(f);
}

int akr_container_fetch_credentials(struct akr_http *http, akr_container_creds_cb cb,
				    void *userdata, struct akr_error *reterr)
{
	struct akr_http_header headers[2];
	struct akr_http_request_desc desc = {
		.method = "GET",
		.timeout_ms = CONTAINER_TIMEOUT_MS,
		.max_response_bytes = CONTAINER_MAX_BODY,
		.sensitive = true,
		.idempotent = true,
		.headers = headers,
	};
	struct fetch *f;
	int r;

	if (!http || !cb)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->cb = cb;
	f->userdata = userdata;
	r = akr_container_url(&f->url, reterr);
	if (r >= 0)
		r = auth_token(&f->auth, reterr);
	if (r < 0) {
		fetch_free(f);
		return r;
	}
	headers[desc.n_headers++] = (struct akr_http_header){ "Accept", "application/json" };
	if (f->auth)
		headers[desc.n_headers++] = (struct akr_http_header){ "Authorization", f->auth };
	desc.url = f->url;
	r = akr_http_request_start(http, &desc, http_done, f, NULL);
	if (r < 0)
		fetch_free(f);
	return r;
}
