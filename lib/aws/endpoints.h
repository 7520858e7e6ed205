#pragma once
/* Service endpoints by the AWS SDK convention (aws-wire.md §11):
 * AWS_ENDPOINT_URL_<SERVICE> > AWS_ENDPOINT_URL > the profile's services
 * section > profile endpoint_url > the real AWS endpoint of the region's
 * partition (aws, aws-cn, aws-us-gov), its FIPS endpoint with
 * AWS_USE_FIPS_ENDPOINT=true or the profile's use_fips_endpoint = true. */

#include <stdbool.h>

#include "lib/aws/client.h"

enum akr_partition {
	AKR_PARTITION_AWS,
	AKR_PARTITION_AWS_CN,
	AKR_PARTITION_AWS_US_GOV,
	_AKR_PARTITION_MAX,
};
/** "aws", "aws-cn", "aws-us-gov" (the ARN's partition field), NULL if out of range. */
const char *akr_partition_to_string(enum akr_partition p);
/** The partition of @region: 0, -EINVAL (not a region), -EOPNOTSUPP (an
 * isolated partition: us-iso-*, us-isob-*, us-isof-*, eu-isoe-*, eusc-*). */
int akr_partition_of_region(const char *region, enum akr_partition *ret);
/** The same, with a message for the operator in @reterr (may be NULL). */
int akr_partition_of_region_checked(const char *region, enum akr_partition *ret,
				    struct akr_error *reterr);

struct akr_endpoints {
	enum akr_partition partition;   /* of the region resolved for */
	bool fips;                      /* FIPS endpoints asked for */
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

/** The AWS endpoint of a regional service (SES, SNS, STS) called for another
 * @region than @e was resolved for, with @e's FIPS choice. Returns 0 with
 * malloc'ed @ret_url and @ret_signing_region (caller frees), -ENOENT when @s
 * has a custom endpoint (use it as it is), -EINVAL, -EOPNOTSUPP (isolated
 * partition), -ENOMEM. */
int akr_endpoints_for_region(const struct akr_endpoints *e, enum akr_service s, const char *region,
			     char **ret_url, char **ret_signing_region);

/** Checks that @arn (@what names it for the message, e.g.
 * "organization.management_role_arn") is in the partition of @region:
 * arn:aws-cn:… needs a cn-* region, arn:aws-us-gov:… a us-gov-* one,
 * arn:aws:… any other. Returns 0 or -EINVAL with @reterr saying both. */
int akr_endpoints_check_arn(const char *arn, const char *what, const char *region,
			    struct akr_error *reterr);
