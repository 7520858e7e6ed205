#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/rotation/alert.h"
#include "lib/aws/sns.h"
#include "lib/base/buf.h"
#include "lib/base/log.h"
#include "lib/rotation/report.h"

#define MAX_LISTED 200

int akr_alert_compose(const struct akr_report *r, const char *report_path, int fatal,
		      char *ret_subject, size_t subject_size, struct akr_buf *ret_message)
{
	const struct akr_report_totals *t = akr_report_totals((struct akr_report *)r);
	const char *ids[MAX_LISTED], *errors[MAX_LISTED];
	char summary[1024];
	size_t n, listed = 0, failed_rows = 0;
	int ret = 0;

	(void)snprintf(ret_subject, subject_size > AKR_ALERT_SUBJECT_MAX + 1 ? AKR_ALERT_SUBJECT_MAX + 1 : subject_size,
		       "iam-access-key-rotator: %s (%llu accounts, %llu actions failed)",
		       fatal < 0 ? "sweep could not run" : "sweep had failures",
		       (unsigned long long)t->accounts_failed,
		       (unsigned long long)(t->outcome[AKR_OUTCOME_FAILED] + t->outcome[AKR_OUTCOME_ROLLED_BACK]));

	(void)akr_report_summary(r, summary, sizeof(summary));
	ret |= akr_buf_appendf(ret_message, "The IAM access key rotation sweep %s %s.\n\n%s\n",
			       akr_report_run_id(r),
			       fatal < 0 ? "could not run" : "finished with failures", summary);
	if (fatal < 0)
		ret |= akr_buf_appendf(ret_message, "\nError: %s\n", strerror(-fatal));
	ret |= akr_buf_appendf(ret_message, "\nReport: %s\n", report_path ? report_path : "(not written)");

	n = akr_report_failed_accounts(r, ids, errors, MAX_LISTED);
	if (n) {
		ret |= akr_buf_appendf(ret_message, "\nFailed accounts (%llu):\n",
				       (unsigned long long)t->accounts_failed);
		for (size_t i = 0; i < n; i++)
			ret |= akr_buf_appendf(ret_message, "  %s: %s\n", ids[i], errors[i]);
	}
	for (size_t i = 0; i < akr_report_n_rows(r); i++) {
		const struct akr_report_row *w = akr_report_row(r, i);
		if (w->outcome != AKR_OUTCOME_FAILED && w->outcome != AKR_OUTCOME_ROLLED_BACK)
			continue;
		if (failed_rows++ == 0)
			ret |= akr_buf_append_str(ret_message, "\nFailed actions:\n");
		if (listed++ >= MAX_LISTED)
			continue;
		ret |= akr_buf_appendf(ret_message, "  %s/%s %s %s: %s%s%s\n",
				       w->account_id ? w->account_id : "-",
				       w->user_name ? w->user_name : "-", w->action,
				       w->access_key_id ? w->access_key_id : "",
				       akr_outcome_to_string(w->outcome), w->error ? ": " : "",
				       w->error ? w->error : "");
	}
	if (listed > MAX_LISTED)
		ret |= akr_buf_appendf(ret_message, "  ... and %zu more (see the report)\n",
				       listed - MAX_LISTED);
	return ret < 0 ? -E2BIG : 0;
}

int akr_alert_compose_attention(const struct akr_report *r, const char *report_path,
				char *ret_subject, size_t subject_size,
				struct akr_buf *ret_message)
{
	const struct akr_report_row **rows = NULL;
	size_t n = 0, accounts = 0;
	int ret = 0;

	ret = akr_report_cannot_rotate(r, &rows, &n);
	if (ret < 0)
		return ret;
	if (n == 0)
		return -ENODATA;
	for (size_t i = 0; i < n; i++)
		accounts += i == 0 || strcmp(rows[i - 1]->account_id, rows[i]->account_id) != 0;

	(void)snprintf(ret_subject,
		       subject_size > AKR_ALERT_SUBJECT_MAX + 1 ? AKR_ALERT_SUBJECT_MAX + 1
								: subject_size,
		       "iam-access-key-rotator: %zu user%s cannot be rotated (%zu account%s)", n,
		       n == 1 ? "" : "s", accounts, accounts == 1 ? "" : "s");
	ret |= akr_buf_appendf(ret_message,
			       "The IAM access key rotation sweep %s found %zu user%s due for a new "
			       "access key that cannot be rotated. %s the old key until the cause "
			       "below is fixed, and %s reported again on every sweep.\n",
			       akr_report_run_id(r), n, n == 1 ? "" : "s",
			       n == 1 ? "The user keeps" : "They keep", n == 1 ? "is" : "are");
	for (size_t i = 0; i < n; i++) {
		const struct akr_report_row *w = rows[i];

		if (i >= MAX_LISTED) {
			ret |= akr_buf_appendf(ret_message, "\n... and %zu more (see the report)\n",
					       n - MAX_LISTED);
			break;
		}
		if (i == 0 || strcmp(rows[i - 1]->account_id, w->account_id) != 0)
			ret |= akr_buf_appendf(ret_message, "\nAccount %s%s%s%s:\n", w->account_id,
					       w->account_name ? " (" : "",
					       w->account_name ? w->account_name : "",
					       w->account_name ? ")" : "");
		ret |= akr_buf_appendf(ret_message, "  %s", w->user_name ? w->user_name : "-");
		if (w->access_key_id)
			ret |= akr_buf_appendf(ret_message, " (key %s", w->access_key_id);
		if (w->access_key_id && w->key_age_days >= 0)
			ret |= akr_buf_appendf(ret_message, ", %lld days old",
					       (long long)w->key_age_days);
		ret |= akr_buf_appendf(ret_message, "%s: %s\n", w->access_key_id ? ")" : "",
				       w->reason ? w->reason : "cannot be rotated");
	}
	ret |= akr_buf_appendf(ret_message, "\nReport: %s\n",
			       report_path ? report_path : "(not written)");
	free(rows);
	return ret < 0 ? -E2BIG : 0;
}

struct alert_ctx {
	akr_alert_done_cb cb;
	void *userdata;
	const char *kind;
};

static void on_published(void *userdata, int r, const char *message_id, const struct akr_error *err)
{
	struct alert_ctx *ctx = userdata;
	char detail[768];

	if (r < 0)
		akr_log_error("Cannot publish the %s: %s: %s", ctx->kind,
			      err && err->operation[0] ? err->operation : "Publish",
			      akr_error_describe_errno(err, r, detail, sizeof(detail)));
	else
		akr_log_debug("The %s was published, message id '%s'", ctx->kind,
			      message_id ? message_id : "");
	ctx->cb(ctx->userdata, r);
	free(ctx);
}

static int publish(const struct akr_aws_client *c, const char *topic_arn, const char *kind,
		   const char *subject, const char *message, akr_alert_done_cb cb, void *userdata)
{
	struct akr_sns_publish_params p = {
		.topic_arn = topic_arn,
		.subject = subject,
		.message = message,
	};
	struct alert_ctx *ctx;
	int ret;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->cb = cb;
	ctx->userdata = userdata;
	ctx->kind = kind;
	ret = akr_sns_publish(c, &p, on_published, ctx);
	if (ret < 0)
		free(ctx);
	return ret;
}

int akr_alert_publish(const struct akr_aws_client *c, const char *topic_arn,
		      const struct akr_report *r, const char *report_path, int fatal,
		      akr_alert_done_cb cb, void *userdata)
{
	struct akr_buf msg;
	char subject[AKR_ALERT_SUBJECT_MAX + 1];
	int ret;

	akr_buf_init(&msg, AKR_ALERT_MESSAGE_MAX, false);
	ret = akr_alert_compose(r, report_path, fatal, subject, sizeof(subject), &msg);
	if (ret >= 0 || msg.len > 0)
		ret = publish(c, topic_arn, "failure alert", subject, msg.data, cb, userdata);
	akr_buf_done(&msg);
	return ret;
}

int akr_alert_publish_attention(const struct akr_aws_client *c, const char *topic_arn,
				const struct akr_report *r, const char *report_path,
				akr_alert_done_cb cb, void *userdata)
{
	struct akr_buf msg;
	char subject[AKR_ALERT_SUBJECT_MAX + 1];
	int ret;

	akr_buf_init(&msg, AKR_ALERT_MESSAGE_MAX, false);
	ret = akr_alert_compose_attention(r, report_path, subject, sizeof(subject), &msg);
	if (ret == -E2BIG && msg.len > 0)
		ret = 0; /* cut short, with a note: still worth sending */
	if (ret >= 0)
		ret = publish(c, topic_arn, "attention alert", subject, msg.data, cb, userdata);
	akr_buf_done(&msg);
	return ret;
}
