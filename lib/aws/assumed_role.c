/* An AWS identity that assumes an IAM role with a parent client's
 * credentials (the management role, each member account's role). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/assumed_role.h"
#include "lib/aws/client.h"
#include "lib/aws/sts.h"
#include "lib/base/strutil.h"

struct assume_op;

struct akr_assumed_role {
	struct akr_aws_identity identity;
	const struct akr_aws_client *parent;
	char *role_arn;
	char *session_name;
	char *external_id;
	int duration_sec;
	char *assumed_arn;
	struct assume_op *op;
};

struct assume_op {
	struct akr_assumed_role *ar; /* NULL once the identity is gone */
	akr_aws_refresh_done_cb cb;
	void *cbdata;
};

static void assumed_done(void *userdata, int r, struct akr_aws_creds *creds,
			 const char *assumed_role_arn, const struct akr_error *err)
{
	struct assume_op *op = userdata;
	struct akr_assumed_role *ar = op->ar;
	akr_aws_refresh_done_cb cb = op->cb;
	void *cbdata = op->cbdata;

	free(op);
	if (!ar)
		return;
	ar->op = NULL;
	if (r >= 0) {
		char *arn = akr_strdup0(assumed_role_arn);

		if (assumed_role_arn && !arn) {
			r = -ENOMEM;
		} else {
			akr_aws_creds_move(&ar->identity.creds, creds);
			free(ar->assumed_arn);
			ar->assumed_arn = arn;
		}
	}
	cb(cbdata, r, r < 0 ? err : NULL);
}

static int assumed_refresh(void *refresher, struct akr_aws_identity *id,
			   akr_aws_refresh_done_cb cb, void *cbdata)
{
	struct akr_assumed_role *ar = refresher;
	const struct akr_sts_assume_role_params params = {
		.role_arn = ar->role_arn,
		.session_name = ar->session_name,
		.external_id = ar->external_id,
		.duration_sec = ar->duration_sec,
	};
	struct assume_op *op;
	int r;

	if (ar->op)
		return -EBUSY; /* akr_aws_identity_refresh() coalesces; cannot happen */
	op = malloc(sizeof(*op));
	if (!op)
		return -ENOMEM;
	*op = (struct assume_op){ .ar = ar, .cb = cb, .cbdata = cbdata };
	r = akr_sts_assume_role(ar->parent, &params, assumed_done, op);
	if (r < 0) {
		free(op);
		return r;
	}
	ar->op = op;
	return 0;
}

static bool is_session_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 2 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("_+=,.@-", *s)))
			return false;
	return true;
}

int akr_assumed_role_new(const struct akr_aws_client *parent,
			 const struct akr_sts_assume_role_params *p, struct akr_assumed_role **ret)
{
	struct akr_assumed_role *ar;
	const char *account, *end;

	if (!parent || !p || !ret || !akr_is_arn(p->role_arn, "iam") ||
	    !is_session_name(p->session_name) || p->duration_sec < 0)
		return -EINVAL;
	/* arn:partition:iam::ACCOUNT:role/name */
	account = p->role_arn;
	for (int i = 0; i < 4; i++)
		account = strchr(account, ':') + 1;
	end = strchr(account, ':');
	if (!end || end - account != 12 || strncmp(end + 1, "role/", 5) != 0)
		return -EINVAL;

	ar = calloc(1, sizeof(*ar));
	if (!ar)
		return -ENOMEM;
	akr_aws_identity_init(&ar->identity);
	ar->identity.refresh = assumed_refresh;
	ar->identity.refresher = ar;
	memcpy(ar->identity.account_id, account, 12);
	ar->identity.account_id[12] = '\0';
	if (!akr_is_account_id(ar->identity.account_id)) {
		akr_assumed_role_free(ar);
		return -EINVAL;
	}
	ar->parent = parent;
	ar->role_arn = strdup(p->role_arn);
	ar->session_name = strdup(p->session_name);
	ar->external_id = p->external_id && *p->external_id ? strdup(p->external_id) : NULL;
	ar->duration_sec = p->duration_sec;
	if (!ar->role_arn || !ar->session_name ||
	    (p->external_id && *p->external_id && !ar->external_id)) {
		akr_assumed_role_free(ar);
		return -ENOMEM;
	}
	*ret = ar;
	return 0;
}

struct akr_aws_identity *akr_assumed_role_identity(struct akr_assumed_role *ar)
{
	return ar ? &ar->identity : NULL;
}

const char *akr_assumed_role_arn(const struct akr_assumed_role *ar)
{
	return ar ? ar->assumed_arn : NULL;
}

struct akr_assumed_role *akr_assumed_role_free(struct akr_assumed_role *ar)
{
	if (!ar)
		return NULL;
	if (ar->op)
		ar->op->ar = NULL;
	akr_aws_identity_done(&ar->identity);
	free(ar->role_arn);
	free(ar->session_name);
	free(ar->external_id);
	free(ar->assumed_arn);
	free(ar);
	return NULL;
}
