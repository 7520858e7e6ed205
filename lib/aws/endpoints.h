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
