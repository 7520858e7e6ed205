#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/sns.h"
#include "lib/base/buf.h"
#include "lib/aws/query.h"
#include "lib/base/strutil.h"
#include "lib/base/xml.h"

#define SNS_VERSION "2010-03-31"
#define BODY_MAX (3u * AKR_SNS_MAX_MESSAGE_BYTES + 16u * 1024)
#define ANSWER_MAX (64u * 1024)

int akr_sns_topic_region(const char *topic_arn, char **ret)
{
	const char *region, *end;
	char *s;

	if (!akr_is_arn(topic_arn, "sns"))
		return -EINVAL;
	/* arn:PARTITION:sns:REGION:ACCOUNT:NAME */
	region = strchr(topic_arn + 4, ':');
	region = strchr(region + 1, ':') + 1;
	end = strchr(region, ':');
	if (!end || end == region)
		return -EINVAL;
	s = strndup(region, (size_t)(end - region));
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

/* Characters, not bytes: count UTF-8 lead bytes. */
static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int akr_sns_build_publish(const struct akr_sns_publish_params *p, struct akr_buf *out)
{
	size_t mlen;
	int r;

	if (!p || !akr_is_arn(p->topic_arn, "sns") || !p->message)
		return -EINVAL;
	mlen = strlen(p->message);
	if (mlen == 0 || mlen > AKR_SNS_MAX_MESSAGE_BYTES)
		return -EINVAL;
	if (p->subject && *p->subject &&
	    (akr_has_control_chars(p->subject) ||
	     utf8_chars(p->subject) > AKR_SNS_MAX_SUBJECT_CHARS))
		return -EINVAL;
	r = akr_query_start(out, "Publish", SNS_VERSION);
	if (r == 0)
		r = akr_query_add(out, "TopicArn", p->topic_arn);
	if (r == 0 && p->subject && *p->subject)
		r = akr_query_add(out, "Subject", p->subject);
	if (r == 0)
		r = akr_query_add_n(out, "Message", p->message, mlen);
	return r;
}

int akr_sns_parse_publish(const char *body, size_t len, char **ret_message_id, struct akr_error *reterr)
{
	return akr_query_parse_message_id(body, len, "Publish", ret_message_id, reterr);
}

int akr_sns_publish(const struct akr_aws_client *c, const struct akr_sns_publish_params *p,
		    akr_sns_publish_cb cb, void *userdata)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	int r;

	if (!cb)
		return -EINVAL;
	akr_buf_init(&body, BODY_MAX, false);
	r = akr_sns_build_publish(p, &body);
	if (r < 0)
		return r == -E2BIG ? -EINVAL : r;
	return akr_query_call_for_message_id(c, AKR_SERVICE_SNS, "Publish", &body, ANSWER_MAX, cb,
					     userdata);
}
