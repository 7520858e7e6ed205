#pragma once
/* Amazon SES v1 (Query protocol, 2010-12-01): SendRawEmail and GetSendQuota.
 * aws-wire.md §8.
 * Signed as "ses"; the endpoint's host prefix is "email". */

#include <stddef.h>
#include <stdint.h>

#include "lib/aws/client.h"
#include "lib/base/error.h"

struct akr_buf;

/* The v1 API's limit on RawMessage.Data after base64. */
#define AKR_SES_MAX_RAW_BASE64 (10u * 1024 * 1024)
#define AKR_SES_MAX_DESTINATIONS 50

/** One raw message; every pointer is borrowed. */
struct akr_ses_raw_email {
	const char *source;              /* NULL = the From header */
	const char *const *destinations; /* NULL/0 = the To/Cc/Bcc headers */
	size_t n_destinations;
	const char *configuration_set; /* NULL/"" = none */
	const uint8_t *raw;            /* the complete MIME message, headers included */
	size_t raw_len;
};

/** Completion: @message_id borrowed, NULL on failure. */
typedef void (*akr_ses_send_cb)(void *userdata, int r, const char *message_id,
				const struct akr_error *err);

/** Sends @m through SES in @c->region. Not idempotent. The request body is
 * held in wiped buffers (a message may carry a password). Returns 0 (then @cb
 * runs exactly once, from the loop), -EINVAL (no message, too many
 * destinations, CR/LF in a parameter), -E2BIG (message too large), -ENOKEY,
 * -ENOMEM; @cb never runs on failure. */
int akr_ses_send_raw_email(const struct akr_aws_client *c, const struct akr_ses_raw_email *m,
			   akr_ses_send_cb cb, void *userdata);

/** The account's sending limits in one region (GetSendQuota). */
struct akr_ses_send_quota {
	double max_24_hour_send;   /* messages per rolling 24 hours; < 0: unlimited (SES sends -1) */
	double max_send_rate;      /* messages per second, > 0 */
	double sent_last_24_hours; /* >= 0 */
};

/** Completion of akr_ses_get_send_quota(): @q borrowed, NULL on failure. */
typedef void (*akr_ses_quota_cb)(void *userdata, int r, const struct akr_ses_send_quota *q,
				 const struct akr_error *err);

/** Asks SES in @c->region for the account's sending limits. Idempotent.
 * Returns 0 (then @cb runs exactly once, from the loop), -EINVAL, -ENOKEY,
 * -ENOMEM; @cb never runs on failure. */
int akr_ses_get_send_quota(const struct akr_aws_client *c, akr_ses_quota_cb cb, void *userdata);

/* Wire format, exposed for tests and fuzzing: contracts as in aws_sts.h.
 * The parser returns a malloc'ed message id in @ret_message_id. */
int akr_ses_build_send_raw_email(const struct akr_ses_raw_email *m, struct akr_buf *out);
int akr_ses_parse_send_raw_email(const char *body, size_t len, char **ret_message_id,
				 struct akr_error *reterr);
/** All three numbers are required; a negative Max24HourSend other than -1,
 * a MaxSendRate that is not positive, or a number that is not one fails
 * with -EBADMSG. */
int akr_ses_parse_get_send_quota(const char *body, size_t len, struct akr_ses_send_quota *ret,
				 struct akr_error *reterr);
