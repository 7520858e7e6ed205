/* The JSON answer parsers: Organizations ListAccounts and
 * DescribeOrganization (JSON 1.1 over lib/base/json), and the AWS
 * error-document parser (JSON __type/message). */
#include "lib/aws/client.h"
#include "lib/aws/orgs.h"
#include "lib/base/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct akr_orgs_accounts_page ap = { 0 };
	struct akr_orgs_organization org = { 0 };
	struct akr_error err;

	if (akr_orgs_parse_list_accounts(body, size, &ap, &err) == 0)
		akr_orgs_accounts_page_done(&ap);
	if (akr_orgs_parse_describe_organization(body, size, &org, &err) == 0)
		akr_orgs_organization_done(&org);
	(void)akr_aws_parse_error(400, body, size, &err);
	return 0;
}
