#include <string.h>

#include "lib/aws/answer_limits.h"

#define KiB 1024u
#define MiB (1024u * 1024)

/* Each size is a few times the largest answer AWS documents for the call
 * (the XML escaping of every value character at its worst included). */
static const struct {
	enum akr_service service;
	const char *action;
	size_t limit;
} limits[] = {
	/* A few hundred bytes each; the session token is at most a few KiB. */
	{ AKR_SERVICE_STS, "AssumeRole", 64 * KiB },
	{ AKR_SERVICE_STS, "GetCallerIdentity", 64 * KiB },
	/* 20 accounts a page (MaxResults ≤ 20), each under 2 KiB escaped. */
	{ AKR_SERVICE_ORGANIZATIONS, "ListAccounts", 1 * MiB },
	/* Up to 1000 users a page, each under 2 KiB (a 512-character path
	 * appears twice, in Path and Arn). */
	{ AKR_SERVICE_IAM, "ListUsers", 4 * MiB },
	/* At most 50 tags a user (128-character keys, 256-character values):
	 * about 125 KiB with every character escaped. */
	{ AKR_SERVICE_IAM, "ListUserTags", 256 * KiB },
	/* Two keys a user. */
	{ AKR_SERVICE_IAM, "ListAccessKeys", 64 * KiB },
	{ AKR_SERVICE_IAM, "GetAccessKeyLastUsed", 64 * KiB },
	{ AKR_SERVICE_IAM, "CreateAccessKey", 64 * KiB },
	{ AKR_SERVICE_IAM, "UpdateAccessKey", 64 * KiB },
	{ AKR_SERVICE_IAM, "DeleteAccessKey", 64 * KiB },
	{ AKR_SERVICE_IAM, "GenerateCredentialReport", 64 * KiB },
	/* The CSV report, base64 in XML: ~400 bytes a user, so 10,000 users
	 * are ~5.3 MiB; IAM allows 5,000 users an account by default. */
	{ AKR_SERVICE_IAM, "GetCredentialReport", 16 * MiB },
	{ AKR_SERVICE_SES, "SendRawEmail", 64 * KiB },
	{ AKR_SERVICE_SES, "SendEmail", 64 * KiB },
	{ AKR_SERVICE_SES, "GetSendQuota", 64 * KiB },
	{ AKR_SERVICE_SES, "GetAccount", 64 * KiB },
	{ AKR_SERVICE_SNS, "Publish", 64 * KiB },
};

size_t akr_aws_answer_limit(enum akr_service service, const char *action)
{
	for (size_t i = 0; action && i < sizeof(limits) / sizeof(limits[0]); i++)
		if (limits[i].service == service && strcmp(limits[i].action, action) == 0)
			return limits[i].limit;
	return AKR_AWS_ANSWER_LIMIT_DEFAULT;
}
