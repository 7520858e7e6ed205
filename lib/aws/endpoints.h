#pragma once
/* Service endpoints by the AWS SDK convention (aws-wire.md §11):
 * AWS_ENDPOINT_URL_<SERVICE> > AWS_ENDPOINT_URL > the profile's services
 * section > profile endpoint_url > the real AWS endpoint. */

#include <stdbool.h>

#include "lib/aws/client.h"

struct akr_endpoints {
	char *url[_AKR_SERVICE_MAX];    /* base URL without trailing '/' */
	char *signing_region[_AKR_SERVICE_MAX];
	bool custom[_AKR_SERVICE_MAX];  /* set from the environment or config */
};

/** Resolves every service's endpoint for @region from the environment and the
 * shared config file of @profile (NULL = $AWS_PROFILE or "default"). IAM and
 * Organizations sign for us-east-1 on AWS and for @region on a custom
 * endpoint (as the SDKs do). Returns 0, -EINVAL (bad URL, with @reterr), -ENOMEM. */
int akr_endpoints_resolve(struct akr_endpoints *ret, const char *region, const char *profile,
			  struct akr_error *reterr);
void akr_endpoints_done(struct akr_endpoints *e);

/** Whether @s (may be NULL) looks like an AWS region name ("us-east-1",
 * "us-gov-west-1", "cn-north-1"): 4 to 32 of a-z 0-9 '-', starting with a
 * letter, ending with a digit, with at least one '-'. The one region check:
 * configuration, environment and shared config file all use it. */
bool akr_endpoints_is_region(const char *s);
