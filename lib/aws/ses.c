#include <errno.h>
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
