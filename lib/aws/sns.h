#pragma once
/* Amazon SNS (Query protocol, 2010-03-31): Publish. aws-wire.md §9.
 * The caller sets @c->region to the topic ARN's region. */

#include <stddef.h>

#include "lib/aws/client.h"
#include "lib/base/error.h"

struct akr_buf;

#define AKR_SNS_MAX_MESSAGE_BYTES 262144
#define AKR_SNS_MAX_SUBJECT_CHARS 99

/** Every pointer is borrowed. */
struct akr_sns_publish_params {
	const char *topic_arn;
	const char *subject; /* NULL/"" = none; ≤ 99 characters, no control characters */
	const char *message; /* non-empty UTF-8, ≤ 262144 bytes */
};

/** Completion: @message_id borrowed, NULL on failure. */
typedef void (*akr_sns_publish_cb)(void *userdata, int r, const char *message_id,
				   const struct akr_error *err);

/** Publishes one message. Not idempotent. Returns 0 (then @cb runs exactly
 * once, from the loop), -EINVAL (bad topic ARN, subject or message), -ENOKEY,
 * -ENOMEM; @cb never runs on failure. */
int akr_sns_publish(const struct akr_aws_client *c, const struct akr_sns_publish_params *p,
		    akr_sns_publish_cb cb, void *userdata);

/** Returns the region of a topic ARN ("arn:aws:sns:REGION:ACCOUNT:NAME") as a
 * malloc'ed string in @ret. Returns 0, -EINVAL, -ENOMEM. */
int akr_sns_topic_region(const char *topic_arn, char **ret);

/* Wire format, exposed for tests and fuzzing: contracts as in aws_sts.h. */
int akr_sns_build_publish(const struct akr_sns_publish_params *p, struct akr_buf *out);
int akr_sns_parse_publish(const char *body, size_t len, char **ret_message_id,
			  struct akr_error *reterr);
