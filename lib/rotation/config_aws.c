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
	return 0;
fail:
	akr__config_aws_env_done(c);
	return r;
}
