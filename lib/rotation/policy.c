#include <errno.h>
#include <string.h>

#include "lib/rotation/addressbook.h"
#include "lib/rotation/policy.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"

static const char *const action_kind_names[_AKR_ACTION_MAX] = {
	[AKR_ACTION_CREATE] = "create",
	[AKR_ACTION_DEACTIVATE] = "deactivate",
	[AKR_ACTION_DELETE] = "delete",
	[AKR_ACTION_REMIND] = "remind",
	[AKR_ACTION_SKIP] = "skip",
	[AKR_ACTION_REPORT] = "report",
};

static const char *const reason_names[_AKR_REASON_MAX] = {
	[AKR_REASON_EXEMPT] = "exempt",
	[AKR_REASON_NO_KEYS] = "no-keys",
	[AKR_REASON_NO_ACTIVE_KEY] = "no-active-key",
	[AKR_REASON_ROTATION_DUE] = "rotation-due",
	[AKR_REASON_REPLACED] = "replaced",
	[AKR_REASON_ENFORCED] = "enforced",
	[AKR_REASON_RECOVERY_WINDOW_OVER] = "recovery-window-over",
	[AKR_REASON_INACTIVE_EXPIRED] = "inactive-expired",
	[AKR_REASON_FREE_SLOT] = "free-slot",
	[AKR_REASON_DEACTIVATION_SOON] = "deactivation-soon",
	[AKR_REASON_NO_EMAIL] = "no-email",
	[AKR_REASON_INVALID_EMAIL] = "invalid-email",
	[AKR_REASON_EMAIL_CONTROL_CHARS] = "email-control-chars",
	[AKR_REASON_TWO_ACTIVE_KEYS] = "two-active-keys",
	[AKR_REASON_SLOT_IN_RECOVERY] = "slot-in-recovery",
	[AKR_REASON_NO_FREE_SLOT] = "no-free-slot",
	[AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED] = "email-domain-not-allowed",
};

static const char *const reason_sentences[_AKR_REASON_MAX] = {
	[AKR_REASON_EXEMPT] = "the user carries the exempt tag; nothing is touched",
	[AKR_REASON_NO_KEYS] = "the user has no access keys",
	[AKR_REASON_NO_ACTIVE_KEY] =
		"the user has no active key; no new key is created for a user who has none",
	[AKR_REASON_ROTATION_DUE] = "the newest active key reached the rotation age",
	[AKR_REASON_REPLACED] =
		"a newer active key exists, the key reached the deactivation age and the notice period is over",
	[AKR_REASON_ENFORCED] =
		"enforced: the only active key reached the deactivation age and could not be rotated",
	[AKR_REASON_RECOVERY_WINDOW_OVER] =
		"inactive key past the deletion age and its recovery window is over",
	[AKR_REASON_INACTIVE_EXPIRED] =
		"inactive key past the deletion age (not deactivated by us: initial cleanup)",
	[AKR_REASON_FREE_SLOT] =
		"inactive key deleted to free a slot for the new key (an inactive key cannot be in use)",
	[AKR_REASON_DEACTIVATION_SOON] = "the key will be deactivated within the reminder period",
	[AKR_REASON_NO_EMAIL] = "rotation due but the user has no email tag",
	[AKR_REASON_INVALID_EMAIL] = "rotation due but the email tag is not a valid address",
	[AKR_REASON_EMAIL_CONTROL_CHARS] =
		"rotation due but the email tag contains CR, LF or control characters",
	[AKR_REASON_TWO_ACTIVE_KEYS] =
		"rotation due but both slots hold active keys; the older one is deactivated at its date first",
	[AKR_REASON_SLOT_IN_RECOVERY] =
		"rotation due but the other slot holds a key in its recovery window",
	[AKR_REASON_NO_FREE_SLOT] =
		"rotation due but the other slot holds an inactive key and freeing slots is disabled",
	[AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED] =
		"rotation due but the email tag's domain is not in users.allowed_email_domains",
};

const char *akr_action_kind_to_string(enum akr_action_kind k)
{
	if ((unsigned)k >= _AKR_ACTION_MAX)
		return NULL;
	return action_kind_names[k];
}

const char *akr_reason_to_string(enum akr_reason r)
{
	if ((unsigned)r >= _AKR_REASON_MAX)
		return NULL;
	return reason_sentences[r];
}

const char *akr_reason_to_name(enum akr_reason r)
{
	if ((unsigned)r >= _AKR_REASON_MAX)
		return NULL;
	return reason_names[r];
}

bool akr_policy_tag_key_equal(const char *a, const char *b)
{
	/* IAM tag keys are case-preserving but unique case-insensitively, so a
	 * user tagged "exempt" or "EMAIL" means the configured "Exempt" and
	 * "email". Only ASCII folds: IAM tag keys are mostly ASCII and the C
	 * locale must not change the answer. */
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return false;
		if (x == '\0')
			return true;
	}
}

void akr_policy_config_init(struct akr_policy_config *ret_cfg)
{
	*ret_cfg = (struct akr_policy_config){
		.rotate_after_days = 80,
		.deactivate_after_days = 90,
		.delete_after_days = 100,
		.reminder_days = 3,
		.enforce = false,
		.delete_inactive_to_free_slot = true,
		.email_tag = "email",
		.exempt_tag = "Exempt",
	};
}

static bool tag_key_ok(const char *k)
{
	return k && k[0] && strlen(k) <= AKR_POLICY_TAG_KEY_MAX && !akr_has_control_chars(k);
}

int akr_policy_config_validate(const struct akr_policy_config *cfg)
{
	if (!cfg)
		return -EINVAL;
	if (cfg->rotate_after_days < 1 || cfg->rotate_after_days >= cfg->deactivate_after_days ||
	    cfg->deactivate_after_days >= cfg->delete_after_days ||
	    cfg->delete_after_days > AKR_POLICY_MAX_DAYS)
		return -EINVAL;
	if (cfg->reminder_days < 0 ||
	    cfg->reminder_days >= cfg->deactivate_after_days - cfg->rotate_after_days)
		return -EINVAL;
	if (!tag_key_ok(cfg->email_tag) || !tag_key_ok(cfg->exempt_tag))
		return -EINVAL;
	if (cfg->n_allowed_email_domains > 0 && !cfg->allowed_email_domains)
		return -EINVAL;
	for (size_t i = 0; i < cfg->n_allowed_email_domains; i++)
		if (!cfg->allowed_email_domains[i] || !cfg->allowed_email_domains[i][0])
			return -EINVAL;
	return 0;
}

/* The working copy of one key while the plan is built: the plan is applied to
 * it step by step, so later rules see the state earlier actions leave. */
struct pkey {
	const struct akr_policy_key *in;
	bool alive;
	bool active;
	int64_t age_days;
	int64_t deactivated_by_us_sec; /* now_sec once this plan deactivates it */
};

struct decider {
	const struct akr_policy_config *cfg;
	int64_t now_sec;
	struct akr_plan plan;
	struct pkey keys[AKR_POLICY_MAX_KEYS];
	size_t n_keys;
};

static int64_t days_sec(int days)
{
	return (int64_t)days * AKR_SEC_PER_DAY;
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static struct akr_action *push(struct decider *d, enum akr_action_kind kind,
			       enum akr_reason reason, const struct pkey *k)
{
	struct akr_action *a;

	/* Cannot overflow: a plan has at most 2 deletions, 2 deactivations, one
	 * reminder, one creation and one report or skip. */
	if (d->plan.n_actions >= AKR_POLICY_MAX_ACTIONS)
		return NULL;
	a = &d->plan.actions[d->plan.n_actions++];
	*a = (struct akr_action){
		.kind = kind,
		.reason = reason,
		.key_id = k ? k->in->id : NULL,
		.age_days = k ? k->age_days : -1,
		.needs_last_used = kind == AKR_ACTION_DEACTIVATE || kind == AKR_ACTION_DELETE ||
				   kind == AKR_ACTION_REMIND,
	};
	return a;
}

/* Earliest deletion of a key deactivated (or to be deactivated) at
 * @deactivated_sec: at age X, and X - D days after the deactivation. */
static int64_t delete_on(const struct decider *d, const struct pkey *k, int64_t deactivated_sec)
{
	const struct akr_policy_config *c = d->cfg;

	return max64(k->in->created_sec + days_sec(c->delete_after_days),
		     deactivated_sec + days_sec(c->delete_after_days - c->deactivate_after_days));
}

/* An inactive key we deactivated whose recovery window is still open. */
static bool in_recovery(const struct decider *d, const struct pkey *k)
{
	const struct akr_policy_config *c = d->cfg;

	return k->deactivated_by_us_sec != 0 &&
	       akr_time_days_between(k->deactivated_by_us_sec, d->now_sec) <
		       c->delete_after_days - c->deactivate_after_days;
}

static int remind_if_due(struct decider *d, struct pkey *k, int64_t deactivate_sec)
{
	struct akr_action *a;
	int64_t left = deactivate_sec - d->now_sec;

	if (!d->plan.email || k->in->reminded || left <= 0 ||
	    left > days_sec(d->cfg->reminder_days))
		return 0;
	a = push(d, AKR_ACTION_REMIND, AKR_REASON_DEACTIVATION_SOON, k);
	if (!a)
		return -EINVAL;
	a->deactivate_on_sec = deactivate_sec;
	a->delete_on_sec = delete_on(d, k, deactivate_sec);
	return 0;
}

static int deactivate(struct decider *d, struct pkey *k, enum akr_reason reason)
{
	struct akr_action *a = push(d, AKR_ACTION_DEACTIVATE, reason, k);

	if (!a)
		return -EINVAL;
	a->delete_on_sec = delete_on(d, k, d->now_sec);
	k->active = false;
	k->deactivated_by_us_sec = d->now_sec;
	return 0;
}

static int delete_key(struct decider *d, struct pkey *k, enum akr_reason reason)
{
	if (!push(d, AKR_ACTION_DELETE, reason, k))
		return -EINVAL;
	k->alive = false;
	return 0;
}

static void classify_email(const struct akr_policy_config *cfg, const struct akr_policy_user *u,
			   struct akr_plan *plan)
{
	const char *v = NULL;

	for (size_t i = 0; i < u->n_tags; i++) {
		if (akr_policy_tag_key_equal(u->tags[i].key, cfg->email_tag)) {
			v = u->tags[i].value;
			break;
		}
	}
	if (!v)
		plan->email_problem = AKR_REASON_NO_EMAIL;
	else if (akr_has_control_chars(v))
		plan->email_problem = AKR_REASON_EMAIL_CONTROL_CHARS;
	else if (!akr_is_valid_email(v))
		plan->email_problem = AKR_REASON_INVALID_EMAIL;
	else if (!akr_address_domain_allowed(v, cfg->allowed_email_domains,
					     cfg->n_allowed_email_domains))
		plan->email_problem = AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED;
	else
		plan->email = v;
}

static int validate_user(const struct akr_policy_user *u)
{
	if (!u || u->n_keys > AKR_POLICY_MAX_KEYS || (u->n_keys > 0 && !u->keys) ||
	    (u->n_tags > 0 && !u->tags))
		return -EINVAL;
	for (size_t i = 0; i < u->n_tags; i++)
		if (!u->tags[i].key || !u->tags[i].value)
			return -EINVAL;
	for (size_t i = 0; i < u->n_keys; i++) {
		const struct akr_policy_key *k = &u->keys[i];

		if (!k->id || !k->id[0] || (unsigned)k->status >= _AKR_KEY_STATUS_MAX)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(u->keys[j].id, k->id) == 0)
				return -EINVAL;
	}
	return 0;
}

/* Step 1, rule X: inactive keys past the deletion age, oldest first. */
static int delete_expired(struct decider *d)
{
	for (size_t i = 0; i < d->n_keys; i++) {
		struct pkey *k = &d->keys[i];
		int r;

		if (k->active || k->age_days < d->cfg->delete_after_days)
			continue;
		if (k->deactivated_by_us_sec != 0) {
			if (in_recovery(d, k))
				continue;
			r = delete_key(d, k, AKR_REASON_RECOVERY_WINDOW_OVER);
		} else {
			r = delete_key(d, k, AKR_REASON_INACTIVE_EXPIRED);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Step 2, rule D: with two active keys, the older one goes once it is D days
 * old and the newer one has been there for the notice period (D - R days). */
static int deactivate_replaced(struct decider *d, struct pkey *older, const struct pkey *newer)
{
	const struct akr_policy_config *c = d->cfg;
	int64_t when = max64(older->in->created_sec + days_sec(c->deactivate_after_days),
			     newer->in->created_sec +
				     days_sec(c->deactivate_after_days - c->rotate_after_days));

	if (d->now_sec >= when)
		return deactivate(d, older, AKR_REASON_REPLACED);
	return remind_if_due(d, older, when);
}

/* Step 3, rule R: rotate the newest active key. */
static int rotate(struct decider *d, struct pkey *newest)
{
	const struct akr_policy_config *c = d->cfg;
	enum akr_reason blocker = AKR_REASON_NONE;
	struct pkey *other = NULL;
	struct akr_action *a;
	size_t n_alive = 0;
	int64_t when;
	int r;

	if (newest->age_days < c->rotate_after_days)
		return 0;

	for (size_t i = 0; i < d->n_keys; i++) {
		if (!d->keys[i].alive)
			continue;
		n_alive++;
		if (&d->keys[i] != newest)
			other = &d->keys[i];
	}

	if (!d->plan.email)
		blocker = d->plan.email_problem;
	else if (n_alive >= AKR_POLICY_MAX_KEYS) {
		if (other->active)
			blocker = AKR_REASON_TWO_ACTIVE_KEYS;
		else if (in_recovery(d, other))
			blocker = AKR_REASON_SLOT_IN_RECOVERY;
		else if (!c->delete_inactive_to_free_slot)
			blocker = AKR_REASON_NO_FREE_SLOT;
		else {
			r = delete_key(d, other, AKR_REASON_FREE_SLOT);
			if (r < 0)
				return r;
		}
	}

	if (blocker == AKR_REASON_NONE) {
		a = push(d, AKR_ACTION_CREATE, AKR_REASON_ROTATION_DUE, NULL);
		if (!a)
			return -EINVAL;
		a->replaces_key_id = newest->in->id;
		a->age_days = newest->age_days;
		/* The new key is created now, so the notice period runs from now. */
		a->deactivate_on_sec =
			max64(newest->in->created_sec + days_sec(c->deactivate_after_days),
			      d->now_sec + days_sec(c->deactivate_after_days - c->rotate_after_days));
		a->delete_on_sec = delete_on(d, newest, a->deactivate_on_sec);
		return 0;
	}

	a = push(d, AKR_ACTION_REPORT, blocker, newest);
	if (!a)
		return -EINVAL;

	/* Enforcement only replaces a rotation that cannot happen on its own:
	 * two active keys and a slot in its recovery window resolve by the
	 * rules within days, without taking the user's last key. */
	if (!c->enforce || blocker == AKR_REASON_TWO_ACTIVE_KEYS ||
	    blocker == AKR_REASON_SLOT_IN_RECOVERY)
		return 0;

	when = newest->in->created_sec + days_sec(c->deactivate_after_days);
	a->deactivate_on_sec = when;
	a->delete_on_sec = delete_on(d, newest, when);
	if (d->now_sec >= when)
		return deactivate(d, newest, AKR_REASON_ENFORCED);
	return remind_if_due(d, newest, when);
}

int akr_policy_decide(const struct akr_policy_config *cfg, const struct akr_policy_user *u,
		      int64_t now_sec, struct akr_plan *ret)
{
	struct decider d = { .cfg = cfg, .now_sec = now_sec };
	struct pkey *newest = NULL, *older = NULL;
	int r;

	if (!ret || akr_policy_config_validate(cfg) < 0 || validate_user(u) < 0)
		return -EINVAL;

	d.plan.email_problem = AKR_REASON_NONE;
	for (size_t i = 0; i < u->n_tags; i++) {
		if (akr_policy_tag_key_equal(u->tags[i].key, cfg->exempt_tag)) {
			d.plan.exempt = true;
			if (!push(&d, AKR_ACTION_SKIP, AKR_REASON_EXEMPT, NULL))
				return -EINVAL;
			*ret = d.plan;
			return 0;
		}
	}
	classify_email(cfg, u, &d.plan);

	if (u->n_keys == 0) {
		if (!push(&d, AKR_ACTION_SKIP, AKR_REASON_NO_KEYS, NULL))
			return -EINVAL;
		*ret = d.plan;
		return 0;
	}

	/* Oldest first, so every list in the plan is in a stable order. */
	d.n_keys = u->n_keys;
	for (size_t i = 0; i < u->n_keys; i++) {
		const struct akr_policy_key *in = &u->keys[i];

		d.keys[i] = (struct pkey){
			.in = in,
			.alive = true,
			.active = in->status == AKR_KEY_ACTIVE,
			.age_days = akr_time_days_between(in->created_sec, now_sec),
			/* A key someone re-activated after we deactivated it is
			 * an active key like any other: the memory only matters
			 * for the recovery window of an inactive key. */
			.deactivated_by_us_sec =
				in->status == AKR_KEY_ACTIVE ? 0 : in->deactivated_by_us_sec,
		};
	}
	if (d.n_keys == 2 && (d.keys[1].in->created_sec < d.keys[0].in->created_sec ||
			      (d.keys[1].in->created_sec == d.keys[0].in->created_sec &&
			       strcmp(d.keys[1].in->id, d.keys[0].in->id) < 0))) {
		struct pkey t = d.keys[0];

		d.keys[0] = d.keys[1];
		d.keys[1] = t;
	}

	r = delete_expired(&d);
	if (r < 0)
		return r;

	for (size_t i = 0; i < d.n_keys; i++) {
		if (!d.keys[i].active)
			continue;
		if (newest)
			older = newest;
		newest = &d.keys[i];
	}

	if (!newest) {
		/* We never hand a key to a user who has no active one: that
		 * user stopped using keys, or someone disabled them on purpose. */
		if (!push(&d, AKR_ACTION_SKIP, AKR_REASON_NO_ACTIVE_KEY, NULL))
			return -EINVAL;
		*ret = d.plan;
		return 0;
	}

	if (older) {
		r = deactivate_replaced(&d, older, newest);
		if (r < 0)
			return r;
	}

	r = rotate(&d, newest);
	if (r < 0)
		return r;

	*ret = d.plan;
	return 0;
}
