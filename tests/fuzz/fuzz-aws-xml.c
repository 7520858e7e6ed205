/* The Query-protocol (XML) answer parsers of STS, IAM, SES and SNS, the
 * shared MessageId parser and the AWS error-document parser, on one input.
 * Every parser must return 0 or -errno and never crash, leak or read past the
 * input (ASan/UBSan). */
#include <stdlib.h>

#include "lib/aws/client.h"
#include "lib/aws/iam.h"
#include "lib/aws/query.h"
#include "lib/aws/ses.h"
#include "lib/aws/sns.h"
#include "lib/aws/sts.h"
#include "lib/base/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct akr_sts_assume_role_result ar = { 0 };
	struct akr_sts_caller_identity ci = { 0 };
	struct akr_iam_users_page up = { 0 };
	struct akr_iam_tags_page tp = { 0 };
	struct akr_iam_keys_page kp = { 0 };
	struct akr_iam_new_key nk = { 0 };
	struct akr_iam_key_last_used lu = { 0 };
	struct akr_ses_send_quota quota;
	struct akr_error err;
	char *id = NULL;

	if (akr_sts_parse_assume_role(body, size, &ar, &err) == 0)
		akr_sts_assume_role_result_done(&ar);
	if (akr_sts_parse_get_caller_identity(body, size, &ci, &err) == 0)
		akr_sts_caller_identity_done(&ci);
	if (akr_iam_parse_list_users(body, size, &up, &err) == 0)
		akr_iam_users_page_done(&up);
	if (akr_iam_parse_list_user_tags(body, size, &tp, &err) == 0)
		akr_iam_tags_page_done(&tp);
	if (akr_iam_parse_list_access_keys(body, size, &kp, &err) == 0)
		akr_iam_keys_page_done(&kp);
	if (akr_iam_parse_create_access_key(body, size, &nk, &err) == 0)
		akr_iam_new_key_done(&nk);
	if (akr_iam_parse_get_access_key_last_used(body, size, &lu, &err) == 0)
		akr_iam_key_last_used_done(&lu);
	(void)akr_iam_parse_empty("DeleteAccessKey", body, size, &err);
	if (akr_ses_parse_send_raw_email(body, size, &id, &err) == 0)
		free(id);
	id = NULL;
	(void)akr_ses_parse_get_send_quota(body, size, &quota, &err);
	if (akr_sns_parse_publish(body, size, &id, &err) == 0)
		free(id);
	(void)akr_aws_parse_error(400, body, size, &err);
	(void)akr_aws_parse_error(200, body, size, &err);
	return 0;
}
