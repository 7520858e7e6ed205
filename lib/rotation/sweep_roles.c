/* The identity each member account is worked with: its member role,
 * assumed from the management session, or that session itself when the
 * member role is the management role. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/aws/assumed_role.h"
#include "lib/aws/sts.h"
#include "lib/base/log.h"
#include "lib/rotation/config.h"
#include "lib/rotation/sweep-internal.h"

/* Whether the member role of @account_id is the management role the sweep
 * already holds: the same account and the same role name (IAM role names are
 * unique per account case-insensitively, whatever the role's path). */
static bool is_management_role(const struct akr_sweep *s, const char *account_id)
{
	const char *arn = s->cfg->organization.management_role_arn, *name;
	char prefix[128];

	if (!arn || (size_t)snprintf(prefix, sizeof(prefix), "arn:%s:iam::%s:role/", s->partition,
				     account_id) >= sizeof(prefix))
		return false;
	if (strncmp(arn, prefix, strlen(prefix)) != 0)
		return false;
	name = strrchr(arn, '/') + 1;
	return strcasecmp(name, s->cfg->organization.member_role_name) == 0;
}

int akr__sweep_account_client(struct akr_sweep *s, const char *account_id, struct akr_assumed_role **ret_role,
			 struct akr_aws_client *ret_client)
{
	struct akr_sts_assume_role_params p = {
		.session_name = s->cfg->organization.session_name,
		.external_id = s->cfg->organization.external_id,
		.duration_sec = s->cfg->organization.session_duration_sec,
	};
	char arn[300];
	int r;

	if ((size_t)snprintf(arn, sizeof(arn), "arn:%s:iam::%s:role/%s", s->partition, account_id,
			     s->cfg->organization.member_role_name) >= sizeof(arn))
		return -ENAMETOOLONG;
	if (is_management_role(s, account_id)) {
		/* Assuming the role we hold into itself again would only cost
		 * an AssumeRole call (and, as role chaining, a session capped
		 * at an hour): the management session serves the account. */
		akr_log_debug("Account %s: the member role is the management role; using its session",
			      account_id);
		*ret_role = NULL;
		*ret_client = s->mgmt_client;
		ret_client->key = NULL;
		return 0;
	}
	p.role_arn = arn;
	r = akr_assumed_role_new(&s->mgmt_client, &p, ret_role);
	if (r < 0)
		return r;
	*ret_client = s->mgmt_client;
	ret_client->identity = akr_assumed_role_identity(*ret_role);
	ret_client->key = NULL; /* set by the caller to a string it owns */
	return 0;
}
