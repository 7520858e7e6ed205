/* The AWS shared config and credentials file parser (lib/aws/sharedconfig),
 * both kinds, on a file holding the input, and the look-ups the credential
 * chain and the endpoint resolution make. */
#include <stdio.h>

#include "lib/aws/sharedconfig.h"
#include "lib/base/error.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum akr_awsconfig_kind kinds[] = { AKR_AWSCONFIG_CONFIG,
							 AKR_AWSCONFIG_CREDENTIALS };
	struct akr_error err;
	char path[128];

	(void)snprintf(path, sizeof(path), "%s/aws-config", fuzz_tmpdir());
	fuzz_write_file(path, data, size);
	for (size_t k = 0; k < 2; k++) {
		struct akr_awsconfig *c = NULL;
		unsigned line;

		if (akr_awsconfig_load(path, kinds[k], &c, &err) < 0)
			continue;
		(void)akr_awsconfig_has_profile(c, "default");
		(void)akr_awsconfig_get(c, "default", "region", &line);
		(void)akr_awsconfig_get(c, "default", "aws_secret_access_key", &line);
		(void)akr_awsconfig_get(c, "x", "role_arn", &line);
		(void)akr_awsconfig_get(c, "default", "services", &line);
		(void)akr_awsconfig_get_service(c, "x", "iam", "endpoint_url", &line);
		(void)akr_awsconfig_get_service(c, "default", "sts", "endpoint_url", &line);
		akr_awsconfig_free(c);
	}
	return 0;
}
