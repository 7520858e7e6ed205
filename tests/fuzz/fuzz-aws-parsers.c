/* Every AWS answer parser and akr_aws_parse_error() on one input.
 * libFuzzer: build with clang -fsanitize=fuzzer,address -DAKR_LIBFUZZER.
 * Without libFuzzer, main() runs each file given on the command line or, with
 * no arguments, a short deterministic mutation run over built-in seeds (the
 * "short mode" of the fuzz suite). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/client.h"
#include "lib/aws/iam.h"
#include "lib/aws/orgs.h"
#include "lib/aws/ses.h"
#include "lib/aws/sns.h"
#include "lib/aws/sts.h"
#include "lib/base/error.h"
#include "lib/http/engine.h"

/* The parsers never send: keep lib/http/engine out of the link. */
int akr_http_request_start(struct akr_http *h, const struct akr_http_request_desc *desc,
			   akr_http_done_cb cb, void *userdata, struct akr_http_request **ret_req)
{
	(void)h, (void)desc, (void)cb, (void)userdata, (void)ret_req;
	return -ENOSYS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct akr_sts_assume_role_result ar = { 0 };
	struct akr_sts_caller_identity ci = { 0 };
	struct akr_orgs_accounts_page ap = { 0 };
	struct akr_orgs_organization org = { 0 };
	struct akr_iam_users_page up = { 0 };
	struct akr_iam_tags_page tp = { 0 };
	struct akr_iam_keys_page kp = { 0 };
	struct akr_iam_new_key nk = { 0 };
	struct akr_iam_key_last_used lu = { 0 };
	struct akr_error err;
	char *id = NULL;

	if (akr_sts_parse_assume_role(body, size, &ar, &err) == 0)
		akr_sts_assume_role_result_done(&ar);
	if (akr_sts_parse_get_caller_identity(body, size, &ci, &err) == 0)
		akr_sts_caller_identity_done(&ci);
	if (akr_orgs_parse_list_accounts(body, size, &ap, &err) == 0)
		akr_orgs_accounts_page_done(&ap);
	if (akr_orgs_parse_describe_organization(body, size, &org, &err) == 0)
		akr_orgs_organization_done(&org);
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
	if (akr_sns_parse_publish(body, size, &id, &err) == 0)
		free(id);
	(void)akr_aws_parse_error(400, body, size, &err);
	return 0;
}

#ifndef AKR_LIBFUZZER
static const char *const seeds[] = {
	"<ListUsersResponse><ListUsersResult><Users><member><Path>/</Path><UserName>alice</UserName>"
	"<UserId>AIDA</UserId><Arn>arn:aws:iam::2:user/alice</Arn><CreateDate>2012-09-05T19:38:48Z"
	"</CreateDate></member></Users><IsTruncated>true</IsTruncated><Marker>m</Marker>"
	"</ListUsersResult></ListUsersResponse>",
	"<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata><member><UserName>a"
	"</UserName><AccessKeyId>AKIA111111111EXAMPLE</AccessKeyId><Status>Active</Status>"
	"<CreateDate>2016-12-01T22:19:58Z</CreateDate></member></AccessKeyMetadata><IsTruncated>"
	"false</IsTruncated></ListAccessKeysResult></ListAccessKeysResponse>",
	"<AssumeRoleResponse><AssumeRoleResult><AssumedRoleUser><Arn>arn:aws:sts::2:a/b</Arn>"
	"</AssumedRoleUser><Credentials><AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>"
	"<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>"
	"2024-01-15T11:20:30Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
	"{\"Accounts\": [{\"Id\": \"222222222222\", \"State\": \"ACTIVE\", \"Name\": \"dev\"}], "
	"\"NextToken\": \"t\"}",
	"{\"Organization\": {\"Id\": \"o-x\", \"MasterAccountId\": \"111111111111\"}}",
	"<ErrorResponse><Error><Code>Throttling</Code><Message>m</Message></Error><RequestId>r"
	"</RequestId></ErrorResponse>",
	"{\"__type\": \"a#TooManyRequestsException:x\", \"message\": \"m\"}",
};

/* xorshift: deterministic, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void mutate_run(unsigned iterations)
{
	static const char alphabet[] = "<>/&;\"'{}[]:,\\ \n\x00\xff\xc3" "aZ09#";
	uint8_t buf[4096];

	for (unsigned i = 0; i < iterations; i++) {
		const char *seed = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(seed);
		unsigned edits = 1 + (unsigned)(rnd() % 8);

		memcpy(buf, seed, len);
		for (unsigned k = 0; k < edits && len > 0; k++) {
			size_t at = (size_t)(rnd() % len);

			switch (rnd() % 4) {
			case 0: /* replace a byte */
				buf[at] = (uint8_t)alphabet[rnd() % (sizeof(alphabet) - 1)];
				break;
			case 1: /* truncate */
				len = at;
				break;
			case 2: /* duplicate a span */
				if (len * 2 < sizeof(buf)) {
					size_t n = (size_t)(rnd() % (len - at)) + 1;

					memmove(buf + at + n, buf + at, len - at);
					len += n;
				}
				break;
			default: /* delete a byte */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			}
		}
		(void)LLVMFuzzerTestOneInput(buf, len);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		const char *n = getenv("AKR_FUZZ_ITERATIONS");

		for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
			(void)LLVMFuzzerTestOneInput((const uint8_t *)seeds[i], strlen(seeds[i]));
		mutate_run(n ? (unsigned)strtoul(n, NULL, 10) : 3000);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "re");
		uint8_t *data;
		long n;

		if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
			perror(argv[i]);
			return 1;
		}
		data = malloc((size_t)n + 1);
		if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) {
			perror(argv[i]);
			return 1;
		}
		fclose(f);
		(void)LLVMFuzzerTestOneInput(data, (size_t)n);
		free(data);
	}
	return 0;
}
#endif
