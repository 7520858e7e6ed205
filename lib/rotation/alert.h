#pragma once
/* The failure alert: one SNS Publish per sweep that had failures, with a
 * summary a person on call can act on (counts, the failed accounts and users
 * with their reasons, the run id, the report's path). */

#include <stddef.h>

struct akr_aws_client;
struct akr_buf;
struct akr_report;

/* SNS's Subject must be under 100 characters; its Message at most 256 KiB. */
#define AKR_ALERT_SUBJECT_MAX 99
#define AKR_ALERT_MESSAGE_MAX (256 * 1024)

/** Composes the subject (at most AKR_ALERT_SUBJECT_MAX bytes, no control
 * characters) and the message (bounded; long lists are cut with a note). */
int akr_alert_compose(const struct akr_report *r, const char *report_path, int fatal,
		      char *ret_subject, size_t subject_size, struct akr_buf *ret_message);

/** The attention alert: the users that cannot be rotated (due for a new key,
 * but no usable address or no free key slot), grouped by account with the
 * reason for each, so that someone fixes their tags or keys. Composes the
 * subject and the message like akr_alert_compose(). Returns 0, -ENODATA
 * when there is no such user (nothing to send), -E2BIG, -ENOMEM. */
int akr_alert_compose_attention(const struct akr_report *r, const char *report_path,
				char *ret_subject, size_t subject_size,
				struct akr_buf *ret_message);

typedef void (*akr_alert_done_cb)(void *userdata, int r);
/** Publishes the alert to @topic_arn. Async contract as the aws_* calls. */
int akr_alert_publish(const struct akr_aws_client *c, const char *topic_arn,
		      const struct akr_report *r, const char *report_path, int fatal,
		      akr_alert_done_cb cb, void *userdata);
/** Publishes the attention alert to @topic_arn; -ENODATA (and @cb never
 * runs) when no user needs attention. Async contract as the aws_* calls. */
int akr_alert_publish_attention(const struct akr_aws_client *c, const char *topic_arn,
				const struct akr_report *r, const char *report_path,
				akr_alert_done_cb cb, void *userdata);
