#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "lib/aws/client.h"
#include "lib/aws/creddoc.h"
#include "lib/base/error.h"
#include "lib/http/engine.h"
#include "lib/aws/imds.h"
#include "lib/base/strutil.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_IPV6_ENDPOINT "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL "21600"
#define IMDS_MAX_BODY (64 * 1024)
#define IMDS_CREDS_PATH "/latest/meta-data/iam/security-credentials/"

enum imds_step {
	IMDS_STEP_TOKEN,
	IMDS_STEP_ROLE,
	IMDS_STEP_CREDS,
};

struct imds_fetch {
	struct akr_http *http;
	char *base;
	char *token; /* the IMDS session token: wiped */
	char *role;
	int64_t timeout_ms;
	enum imds_step step;
	akr_imds_creds_cb cb;
	void *userdata;
};

bool akr_imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");

	return v && strcasecmp(v, "true") == 0;
}

static void fetch_free(struct imds_fetch *f)
{
	if (!f)
		return;
	if (f->token)
		OPENSSL_clear_free(f->token, strlen(f->token));
	free(f->base);
	free(f->role);
	free(f);
}

static int imds_base(char **ret)
{
	const char *v = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	const char *mode = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
	size_t len;
	char *s;

	if (!v || !*v)
		v = mode && strcasecmp(mode, "IPv6") == 0 ? IMDS_IPV6_ENDPOINT : IMDS_DEFAULT_ENDPOINT;
	if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) ||
	    akr_has_control_chars(v) || strchr(v, ' '))
		return -EINVAL;
	len = strlen(v);
	while (len > 8 && v[len - 1] == '/')
		len--;
	s = strndup(v, len);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int64_t imds_timeout_ms(void)
{
	int64_t sec;

	if (akr_parse_int64(getenv("AWS_METADATA_SERVICE_TIMEOUT"), 1, 3600, &sec) < 0)
		return 1000;
	return sec * 1000;
}

static void http_done(void *userdata, int r, const struct akr_http_response *resp,
		      const struct akr_error *err);

static int step_start(struct imds_fetch *f)
{
	struct akr_http_header headers[1];
	struct akr_http_request_desc desc = {
		.method = "GET",
		.timeout_ms = f->timeout_ms,
		.max_response_bytes = IMDS_MAX_BODY,
		.sensitive = true,
		.idempotent = true,
		.headers = headers,
	};
	_cleanup_free_ char *url = NULL;

	switch (f->step) {
	case IMDS_STEP_TOKEN:
		desc.method = "PUT";
		headers[0] = (struct akr_http_header){ "X-aws-ec2-metadata-token-ttl-seconds",
						       IMDS_TOKEN_TTL };
		desc.n_headers = 1;
		if (asprintf(&url, "%s/latest/api/token", f->base) < 0)
			return -ENOMEM;
		break;
	case IMDS_STEP_ROLE:
		if (asprintf(&url, "%s" IMDS_CREDS_PATH, f->base) < 0)
			return -ENOMEM;
		break;
	case IMDS_STEP_CREDS:
		if (asprintf(&url, "%s" IMDS_CREDS_PATH "%s", f->base, f->role) < 0)
			return -ENOMEM;
		break;
	}
	if (f->step != IMDS_STEP_TOKEN && f->token) {
		headers[0] = (struct akr_http_header){ "X-aws-ec2-metadata-token", f->token };
		desc.n_headers = 1;
	}
	desc.url = url;
	return akr_http_request_start(f->http, &desc, http_done, f, NULL);
}

static void finish(struct imds_fetch *f, int r, struct akr_aws_creds *creds,
		   const struct akr_error *err)
{
	f->cb(f->userdata, r, r >= 0 ? creds : NULL, r >= 0 ? f->role : NULL, err);
	fetch_free(f);
}

static char *trimmed_copy(const char *s, size_t len)
{
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' '))
		len--;
	while (len && (*s == ' ' || *s == '\n')) {
		s++;
		len--;
	}
	return strndup(s, len);
}

static void http_done(void *userdata, int r, const struct akr_http_response *resp,
		      const struct akr_error *err)
{
	struct imds_fetch *f = userdata;
	struct akr_aws_creds creds = { 0 };
	struct akr_error e;
	const char *v1_off = getenv("AWS_EC2_METADATA_V1_DISABLED");

	akr_error_clear(&e);
	if (r < 0) {
		/* 403/404/405 on the token: IMDSv2 is off; botocore then goes on
		 * without a token unless IMDSv1 is disabled too. */
		if (f->step == IMDS_STEP_TOKEN && r == -EPROTO && resp &&
		    (resp->status == 403 || resp->status == 404 || resp->status == 405) &&
		    !(v1_off && strcasecmp(v1_off, "true") == 0)) {
			f->step = IMDS_STEP_ROLE;
			r = step_start(f);
			if (r >= 0)
				return;
			akr_error_set(&e, AKR_ERROR_LOCAL, 0, "imds", "cannot start IMDS request");
			return finish(f, r, NULL, &e);
		}
		if (err)
			e = *err;
		snprintf(e.message, sizeof(e.message), "instance metadata %s: %.400s",
			 f->step == IMDS_STEP_TOKEN  ? "token"
			 : f->step == IMDS_STEP_ROLE ? "role name"
						     : "credentials",
			 err && err->message[0] ? err->message : "failed");
		return finish(f, r, NULL, &e);
	}

	switch (f->step) {
	case IMDS_STEP_TOKEN:
		f->token = trimmed_copy(resp->body, resp->body_len);
		if (!f->token)
			return finish(f, -ENOMEM, NULL, NULL);
		if (!*f->token || akr_has_control_chars(f->token)) {
			akr_error_set(&e, AKR_ERROR_PARSE, resp->status, "imds",
				      "instance metadata: unusable token");
			return finish(f, -EBADMSG, NULL, &e);
		}
		f->step = IMDS_STEP_ROLE;
		break;
	case IMDS_STEP_ROLE: {
		/* One role per instance profile; take the first line. */
		size_t n = strcspn(resp->body, "\r\n");

		f->role = trimmed_copy(resp->body, n);
		if (!f->role)
			return finish(f, -ENOMEM, NULL, NULL);
		if (!*f->role || strchr(f->role, '/') || strchr(f->role, '?') ||
		    akr_has_control_chars(f->role) || strchr(f->role, ' ')) {
			akr_error_set(&e, AKR_ERROR_PARSE, resp->status, "imds",
				      "instance metadata: no usable role name");
			return finish(f, -EBADMSG, NULL, &e);
		}
		f->step = IMDS_STEP_CREDS;
		break;
	}
	case IMDS_STEP_CREDS:
		r = akr_imds_parse_credentials(resp->body, resp->body_len, &creds, &e);
		finish(f, r, &creds, &e);
		akr_aws_creds_done(&creds);
		return;
	}
	r = step_start(f);
	if (r < 0) {
		akr_error_set(&e, AKR_ERROR_LOCAL, 0, "imds", "cannot start IMDS request");
		finish(f, r, NULL, &e);
	}
}

int akr_imds_fetch_credentials(struct akr_http *http, akr_imds_creds_cb cb, void *userdata)
{
	struct imds_fetch *f;
	int r;

	if (!http || !cb)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	*f = (struct imds_fetch){
		.http = http, .timeout_ms = imds_timeout_ms(), .cb = cb, .userdata = userdata,
	};
	r = imds_base(&f->base);
	if (r >= 0)
		r = step_start(f);
	if (r < 0) {
		fetch_free(f);
		return r;
	}
	return 0;
}

int akr_imds_parse_credentials(const char *body, size_t len, struct akr_aws_creds *ret,
			       struct akr_error *reterr)
{
	return akr_creddoc_parse(&akr_creddoc_endpoint, body, len, ret, reterr);
}
