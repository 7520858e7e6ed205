#pragma once
/* AWS Organizations (JSON 1.1, 2016-11-28): ListAccounts (one page per call)
 * and DescribeOrganization. aws-wire.md §7. */

#include <stddef.h>
#include <stdint.h>

#include "lib/aws/client.h"
#include "lib/base/error.h"

struct akr_buf;

/** An account's state: State when the answer has it, else the older Status.
 * An unrecognised value is AKR_ORG_ACCOUNT_UNKNOWN (not an error). */
enum akr_org_account_state {
	AKR_ORG_ACCOUNT_ACTIVE,
	AKR_ORG_ACCOUNT_SUSPENDED,
	AKR_ORG_ACCOUNT_PENDING_CLOSURE,
	AKR_ORG_ACCOUNT_CLOSED,
	AKR_ORG_ACCOUNT_PENDING_ACTIVATION,
	AKR_ORG_ACCOUNT_UNKNOWN,
	_AKR_ORG_ACCOUNT_MAX,
};
/** "ACTIVE", ... "UNKNOWN"; NULL when out of range. */
const char *akr_org_account_state_to_string(enum akr_org_account_state s);

/** A member of a ListAccounts page. A member that fails validation does not
 * fail the page: @invalid says why (the caller skips and reports that
 * account) and the other fields are then unchecked, @id may be NULL. */
struct akr_org_account {
	char *id;    /* 12 digits, always set when valid */
	char *name;  /* NULL if absent */
	char *email; /* NULL if absent */
	char *arn;   /* NULL if absent */
	enum akr_org_account_state state;
	char *invalid; /* NULL when the member is valid */
};

/** One page of ListAccounts. To keep it beyond a callback, copy the struct
 * and zero the original (the callee then frees nothing). */
struct akr_orgs_accounts_page {
	struct akr_org_account *accounts;
	size_t n_accounts;
	char *next_token; /* NULL when absent or null: the last page */
};
void akr_orgs_accounts_page_done(struct akr_orgs_accounts_page *p);

/** Completion of akr_orgs_list_accounts(): @page is the callee's (NULL on
 * failure), freed after the callback returns unless moved out. A page may be
 * empty and still have a next_token. */
typedef void (*akr_orgs_list_accounts_cb)(void *userdata, int r,
					  struct akr_orgs_accounts_page *page,
					  const struct akr_error *err);

/** Fetches one page. @next_token (borrowed) is NULL for the first page;
 * @max_results is 1..20, or 0 for the service default. Returns 0 (then @cb
 * runs exactly once, from the loop), -EINVAL, -ENOKEY, -ENOMEM; @cb never
 * runs on failure. */
int akr_orgs_list_accounts(const struct akr_aws_client *c, const char *next_token, int max_results,
			   akr_orgs_list_accounts_cb cb, void *userdata);

struct akr_orgs_organization {
	char *id;                   /* "o-…" */
	char *arn;                  /* NULL if absent */
	char *master_account_id;    /* 12 digits */
	char *master_account_arn;   /* NULL if absent */
	char *master_account_email; /* NULL if absent */
};
void akr_orgs_organization_done(struct akr_orgs_organization *o);

/** Completion of akr_orgs_describe_organization(): @org borrowed, NULL on failure. */
typedef void (*akr_orgs_describe_organization_cb)(void *userdata, int r,
						  const struct akr_orgs_organization *org,
						  const struct akr_error *err);
int akr_orgs_describe_organization(const struct akr_aws_client *c,
				   akr_orgs_describe_organization_cb cb, void *userdata);

/* Wire format, exposed for tests and fuzzing: contracts as in aws_sts.h. */
#define AKR_ORGS_MAX_ACCOUNTS_PER_PAGE 1000
int akr_orgs_build_list_accounts(const char *next_token, int max_results, struct akr_buf *out);
int akr_orgs_parse_list_accounts(const char *body, size_t len, struct akr_orgs_accounts_page *ret,
				 struct akr_error *reterr);
int akr_orgs_parse_describe_organization(const char *body, size_t len,
					 struct akr_orgs_organization *ret,
					 struct akr_error *reterr);
