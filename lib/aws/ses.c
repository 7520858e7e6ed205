#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/aws/ses.h"
#include "lib/base/buf.h"
#include "lib/aws/query.h"
#include "lib/base/strutil.h"
#include "lib/base/xml.h"

#define SES_VERSION "2010-12-01"
/* Base64 grows by 4/3, percent-encoding of '+', '/', '=' by up to 3. */
#define BODY_MAX (3u * AKR_SES_MAX_RAW_BASE64 + 64u * 1024)
#define ANSWER_MAX (64u * 1024)

static bool param_ok(const char *s)
{
	return s && *s && strlen(s) <= 1024 && !akr_has_control_chars(s);
}

int akr_ses_build_send_raw_email(const struct akr_ses_raw_email *m, struct akr_buf *out)
{
	_cleanup_buf_ struct akr_buf b64 = { 0 };
	size_t b64_len;
	char *p;
	int n, r;

	if (!m || !m->raw || m->raw_len == 0 || m->n_destinations > AKR_SES_MAX_DESTINATIONS ||
	    (m->n_destinations && !m->destinations) || (m->source && !param_ok(m->source)) ||
	    (m->configuration_set && *m->configuration_set && !param_ok(m->configuration_set)))
		return -EINVAL;
	for (size_t i = 0; i < m->n_destinations; i++)
		if (!param_ok(m->destinations[i]))
			return -EINVAL;
	if (m->raw_len > (AKR_SES_MAX_RAW_BASE64 / 4) * 3)
		return -E2BIG;
	b64_len = 4 * ((m->raw_len + 2) / 3);

	/* The message may be the one that carries a zip password. */
	akr_buf_init(&b64, b64_len, true);
	p = malloc(b64_len + 1);
	if (!p)
		return -ENOMEM;
	n = EVP_EncodeBlock((unsigned char *)p, m->raw, (int)m->raw_len);
	r = n >= 0 && (size_t)n == b64_len ? akr_buf_append(&b64, p, b64_len) : -EINVAL;
	OPENSSL_cleanse(p, b64_len + 1);
	free(p);
	if (r < 0)
		return r;

	r = akr_query_start(out, "SendRawEmail", SES_VERSION);
	if (r == 0)
		r = akr_query_add_n(out, "RawMessage.Data", b64.data, b64.len);
	if (r == 0 && m->source)
		r = akr_query_add(out, "Source", m->source);
	for (size_t i = 0; r == 0 && i < m->n_destinations; i++)
		r = akr_query_add_member(out, "Destinations", i + 1, m->destinations[i]);
	if (r == 0 && m->configuration_set && *m->configuration_set)
		r = akr_query_add(out, "ConfigurationSetName", m->configuration_set);
	return r;
}

int akr_ses_parse_send_raw_email(const char *body, size_t len, char **ret_message_id, struct akr_error *reterr)
{
	return akr_query_parse_message_id(body, len, "SendRawEmail", ret_message_id, reterr);
}

int akr_ses_send_raw_email(const struct akr_aws_client *c, const struct akr_ses_raw_email *m,
			   akr_ses_send_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	int r;

	if (!cb)
		return -EINVAL;
	/* The message may carry a zip or a password: wiped buffers. */
	akr_buf_init(&body, BODY_MAX, true);
	r = akr_ses_build_send_raw_email(m, &body);
	if (r < 0)
		return r;
	return akr_query_call_for_message_id(c, AKR_SERVICE_SES, "SendRawEmail", &body, ANSWER_MAX,
					     cb, userdata);
}

/* ---- GetSendQuota ---- */

struct quota_parse {
	struct akr_ses_send_quota q;
	bool seen_max, seen_rate, seen_sent;
};

static int quota_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	return akr_query_check_root(path, "GetSendQuota", err);
}

static int quota_number(const char *text, const char *field, bool *seen, double *ret,
			struct akr_error *err)
{
	char *end = NULL;
	double v;

	if (*seen)
		return akr_error_malformed(err, "duplicate element '%s'", field);
	errno = 0;
	v = strtod(text, &end);
	if (!*text || errno || !end || *end || !isfinite(v))
		return akr_error_malformed(err, "'%s' is not a number: '%.20s'", field, text);
	*seen = true;
	*ret = v;
	return 0;
}

static int quota_end(void *userdata, const struct akr_xml_path *path, const char *text, size_t len,
		     struct akr_error *err)
{
	struct quota_parse *p = userdata;

	if (akr_xml_path_is(path, "GetSendQuotaResponse/GetSendQuotaResult/Max24HourSend"))
		return quota_number(text, "Max24HourSend", &p->seen_max, &p->q.max_24_hour_send, err);
	if (akr_xml_path_is(path, "GetSendQuotaResponse/GetSendQuotaResult/MaxSendRate"))
		return quota_number(text, "MaxSendRate", &p->seen_rate, &p->q.max_send_rate, err);
	if (akr_xml_path_is(path, "GetSendQuotaResponse/GetSendQuotaResult/SentLast24Hours"))
		return quota_number(text, "SentLast24Hours", &p->seen_sent, &p->q.sent_last_24_hours,
				    err);
	return 0;
}

int akr_ses_parse_get_send_quota(const char *body, size_t len, struct akr_ses_send_quota *ret,
				 struct akr_error *reterr)
{
	static const struct akr_xml_handler h = { .start = quota_start, .end = quota_end };
	struct quota_parse p = { 0 };
	int r;

	r = akr_xml_parse(body, len, NULL, &h, &p, reterr);
	if (r < 0)
		return r;
	if (!p.seen_max || !p.seen_rate || !p.seen_sent)
		return akr_error_malformed(reterr, "GetSendQuota answer lacks %s",
					   !p.seen_max ? "Max24HourSend"
					   : !p.seen_rate ? "MaxSendRate" : "SentLast24Hours");
	/* SES says -1 for an unlimited daily quota. */
	if ((p.q.max_24_hour_send < 0 && p.q.max_24_hour_send != -1) || !(p.q.max_send_rate > 0) ||
	    p.q.sent_last_24_hours < 0)
		return akr_error_malformed(reterr, "GetSendQuota answer out of range (%g, %g, %g)",
					   p.q.max_24_hour_send, p.q.max_send_rate,
					   p.q.sent_last_24_hours);
	*ret = p.q;
	return 0;
}

struct quota_call {
	akr_ses_quota_cb cb;
	void *userdata;
};

static void quota_done(void *userdata, int r, const char *body, size_t len, const struct akr_error *err)
{
	struct quota_call *call = userdata;
	struct akr_ses_send_quota q = { 0 };
	struct akr_error perr;

	if (r >= 0) {
		akr_error_set(&perr, AKR_ERROR_PARSE, 0, "MalformedResponse",
			      "cannot read the GetSendQuota answer");
		r = akr_ses_parse_get_send_quota(body, len, &q, &perr);
		err = r < 0 ? &perr : NULL;
	}
	call->cb(call->userdata, r, r < 0 ? NULL : &q, err);
	free(call);
}

int akr_ses_get_send_quota(const struct akr_aws_client *c, akr_ses_quota_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct akr_aws_call_desc d = {
		.service = AKR_SERVICE_SES,
		.action = "GetSendQuota",
		.path = "/",
		.content_type = AKR_QUERY_CONTENT_TYPE,
		.max_response_bytes = ANSWER_MAX,
		.idempotent = true,
	};
	struct quota_call *call;
	int r;

	akr_buf_init(&body, 256, false);
	if (!cb)
		return -EINVAL;
	r = akr_query_start(&body, "GetSendQuota", SES_VERSION);
	if (r < 0)
		return r;
	d.body = (const uint8_t *)body.data;
	d.body_len = body.len;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	*call = (struct quota_call){ .cb = cb, .userdata = userdata };
	r = akr_aws_call(c, &d, quota_done, call);
	if (r < 0)
		free(call);
	return r;
}
