/* How the sweep says what happened: a row of the run report, and the one
 * sentence for a failed call (the call and its target, the AWS error, and a
 * hint when the base credentials were refused). */
#include <stdio.h>
#include <string.h>

#include "lib/aws/creds.h"
#include "lib/base/error.h"
#include "lib/base/macro.h"
#include "lib/rotation/config.h"
#include "lib/rotation/report.h"
#include "lib/rotation/sweep-internal.h"

int akr__sweep_report_row(struct akr_sweep *s, const char *account_id, const char *account_name,
		     const char *user, const char *key_id, const char *action, int64_t age_days,
		     const char *reason, enum akr_outcome outcome, const char *error, const char *detail)
{
	struct akr_report_row row = {
		.account_id = account_id,
		.account_name = account_name,
		.user_name = user,
		.access_key_id = key_id,
		.action = action,
		.key_age_days = age_days,
		.reason = reason,
		.outcome = outcome,
		.error = error,
		.detail = detail,
	};
	return akr_report_add(s->report, &row);
}

/* The codes with which STS refuses the caller's own credentials. */
static bool is_credentials_refused(const struct akr_error *err)
{
	static const char *const codes[] = { "SignatureDoesNotMatch", "InvalidClientTokenId",
					     "IncompleteSignature", "ExpiredToken",
					     "InvalidSignatureException", "UnrecognizedClientException",
					     "ExpiredTokenException", "NoCredentials" };

	for (size_t i = 0; err && i < ELEMENTSOF(codes); i++)
		if (strcmp(err->code, codes[i]) == 0)
			return true;
	return false;
}

void akr__sweep_describe_failure(const struct akr_sweep *s, const char *what,
				 const char *account_id, int r, const struct akr_error *err,
				 char *buf, size_t size)
{
	const char *mgmt = s->cfg->organization.management_role_arn;
	const char *op = err && err->operation[0] ? err->operation : what;
	char detail[768], mgmt_op[320], in_account[40], call[320];
	bool base_refused = false;
	size_t n;

	/* "ListUsers in account N" in a line about account N: "ListUsers". */
	(void)snprintf(call, sizeof(call), "%s", op ? op : "");
	(void)snprintf(in_account, sizeof(in_account), " in account %s",
		       account_id ? account_id : "-");
	n = strlen(call);
	if (account_id && n > strlen(in_account) &&
	    strcmp(call + n - strlen(in_account), in_account) == 0)
		call[n - strlen(in_account)] = '\0';
	op = call;

	if (err && err->kind != AKR_ERROR_NONE)
		(void)akr_error_describe(err, detail, sizeof(detail));
	else
		(void)snprintf(detail, sizeof(detail), "%s", strerror(r < 0 ? -r : r));
	/* The management role is assumed with the base credentials: a refusal
	 * of its AssumeRole is a refusal of those. */
	(void)snprintf(mgmt_op, sizeof(mgmt_op), "AssumeRole into %s ", mgmt ? mgmt : "");
	if (is_credentials_refused(err) && mgmt &&
	    strncmp(op, mgmt_op, strlen(mgmt_op)) == 0)
		base_refused = true;
	(void)snprintf(buf, size, "%s%s%s%s%s%s%s", op,
		       base_refused ? " (the management role)" : "", op[0] ? ": " : "", detail,
		       base_refused ? "; the base credentials (from " : "",
		       base_refused ? akr_creds_source_to_string(akr_creds_provider_source(s->creds))
				    : "",
		       base_refused ? ") were refused: check the access key id and the secret "
				      "access key, and the clock"
				    : "");
}
