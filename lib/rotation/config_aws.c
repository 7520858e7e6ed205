/* The AWS environment of a configuration, resolved once per load: the
 * region, the service endpoints and the SNS topic's region. The sweep only
 * reads it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/creds.h"
#include "lib/aws/endpoints.h"
#include "lib/aws/sns.h"
#include "lib/base/error.h"
#include "lib/rotation/config-internal.h"
#include "lib/rotation/config.h"

void akr__config_aws_env_done(struct akr_config *c)
{
	if (c->aws_env.resolved)
		akr_endpoints_done(&c->aws_env.endpoints);
	free(c->aws_env.region);
	free(c->aws_env.sns_region);
	c->aws_env.region = c->aws_env.sns_region = NULL;
	c->aws_env.resolved = false;
}

/* Every ARN and region the sweep uses is in the partition of its region:
 * one set of credentials cannot cross partitions. */
static int check_partitions(const struct akr_config *c, struct akr_error *err)
{
	const char *region = c->aws_env.region;
	enum akr_partition main_p, p;
	int r;

	r = c->organization.management_role_arn
		    ? akr_endpoints_check_arn(c->organization.management_role_arn,
					      "organization.management_role_arn", region, err)
		    : 0;
	if (r >= 0 && c->alerts.sns_topic_arn && c->aws_env.sns_region)
		r = akr_endpoints_check_arn(c->alerts.sns_topic_arn, "alerts.sns_topic_arn",
					    c->aws_env.sns_region, err);
	if (r >= 0 && c->alerts.sns_topic_arn)
		r = akr_endpoints_check_arn(c->alerts.sns_topic_arn, "alerts.sns_topic_arn", region,
					    err);
	if (r < 0)
		return r;
	if (akr_partition_of_region_checked(region, &main_p, err) < 0 ||
	    akr_partition_of_region_checked(c->email.region, &p, err) < 0)
		return -EINVAL;
	if (p != main_p) {
		akr_error_set(err, AKR_ERROR_LOCAL, 0, "config",
			      "email.region '%s' is in partition '%s', but region '%s' is in '%s': "
			      "SES must be in the partition of the management account",
			      c->email.region, akr_partition_to_string(p), region,
			      akr_partition_to_string(main_p));
		return -EINVAL;
	}
	return 0;
}

int akr_config_resolve_aws(struct akr_config *c, struct akr_error *reterr)
{
	int r;

	if (!c)
		return -EINVAL;
	akr__config_aws_env_done(c);
	if (c->aws.region) {
		c->aws_env.region = strdup(c->aws.region);
		if (!c->aws_env.region)
			return -ENOMEM;
	} else {
		r = akr_creds_resolve_region(c->aws.profile, &c->aws_env.region, reterr);
		if (r < 0)
			return r;
	}
	if (c->alerts.sns_topic_arn) {
		r = akr_sns_topic_region(c->alerts.sns_topic_arn, &c->aws_env.sns_region);
		if (r == -ENOMEM)
			goto fail;
	}
	r = akr_endpoints_resolve(&c->aws_env.endpoints, c->aws_env.region, c->aws.profile, reterr);
	if (r < 0)
		goto fail;
	c->aws_env.resolved = true;
	r = check_partitions(c, reterr);
	if (r < 0)
		goto fail;
	return 0;
fail:
	akr__config_aws_env_done(c);
	return r;
}
