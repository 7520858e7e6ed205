/* Prints the daemon's endpoint resolution for tests/unit/test_partitions.py,
 * which compares it with botocore's on this machine. For every region on the
 * command line and FIPS off and on ($AWS_USE_FIPS_ENDPOINT), one line per
 * service: "<service> <region> <0|1> <url> <signing region>", resolved with
 * that region as the daemon's region ("main") and, for the regional services,
 * as a call from a daemon configured for us-east-1 to another region
 * ("cross": SES in email.region, SNS in the topic's region). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/endpoints.h"
#include "lib/base/error.h"

static const char *const names[_AKR_SERVICE_MAX] = {
	[AKR_SERVICE_STS] = "sts", [AKR_SERVICE_IAM] = "iam",
	[AKR_SERVICE_ORGANIZATIONS] = "organizations", [AKR_SERVICE_SES] = "ses",
	[AKR_SERVICE_SNS] = "sns",
};

static int print_region(const char *region, int fips)
{
	struct akr_endpoints e = { 0 }, home = { 0 };
	struct akr_error err = { 0 };
	char detail[512];
	int r;

	r = akr_endpoints_resolve(&e, region, NULL, &err);
	if (r == 0)
		r = akr_endpoints_resolve(&home, "us-east-1", NULL, &err);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", region, akr_error_describe(&err, detail, sizeof(detail)));
		akr_endpoints_done(&e);
		return r;
	}
	for (enum akr_service s = 0; s < _AKR_SERVICE_MAX; s++) {
		char *url = NULL, *sreg = NULL;

		printf("main %s %s %d %s %s\n", names[s], region, fips, e.url[s],
		       e.signing_region[s]);
		if (s == AKR_SERVICE_IAM || s == AKR_SERVICE_ORGANIZATIONS)
			continue;
		r = akr_endpoints_for_region(&home, s, region, &url, &sreg);
		if (r < 0)
			break;
		printf("cross %s %s %d %s %s\n", names[s], region, fips, url, sreg);
		free(url);
		free(sreg);
	}
	akr_endpoints_done(&e);
	akr_endpoints_done(&home);
	return r < 0 ? r : 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		for (int fips = 0; fips <= 1; fips++) {
			if (setenv("AWS_USE_FIPS_ENDPOINT", fips ? "true" : "false", 1) < 0 ||
			    print_region(argv[i], fips) < 0)
				return 1;
		}
	return fflush(stdout) == 0 ? 0 : 1;
}
