#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/base/macro.h"
#include "lib/rotation/policy.h"
#include "lib/base/timeutil.h"

#define DAY AKR_SEC_PER_DAY
/* 2026-11-26T13:00:00Z, the scheduled time of a sweep. */
#define NOW INT64_C(1795698000)

enum { NO = -1 };

struct row_key {
	const char *id;
	enum akr_key_status status;
	int age_days;
	int deactivated_days_ago; /* NO = we did not deactivate it */
	bool reminded;
};

struct row {
	const char *name;
	const char *email;       /* the email tag's value; NULL = no tag */
	const char *email_tag;   /* the tag key as IAM holds it; NULL = "email" */
	const char *extra_tag;   /* another tag key (e.g. an exempt tag), NULL = none */
	bool enforce;
	bool no_free_slot;       /* delete_inactive_to_free_slot = false */
	size_t n_keys;
	struct row_key keys[2];
	/* The plan: "kind[:key]/reason" joined by spaces, in order. */
	const char *expect;
};

#define A(id, age) { id, AKR_KEY_ACTIVE, age, NO, false }
#define AR(id, age) { id, AKR_KEY_ACTIVE, age, NO, true }
#define I(id, age) { id, AKR_KEY_INACTIVE, age, NO, false }
#define E(id, age) { id, AKR_KEY_EXPIRED, age, NO, false }
#define IU(id, age, ago) { id, AKR_KEY_INACTIVE, age, ago, false }
#define MAIL "alice@example.com"

/* Every case of docs/policy.md, defaults R 80, D 90, X 100, reminders 3 days. */
static const struct row rows[] = {
	/* No keys. */
	{ "no keys", MAIL, .n_keys = 0, .expect = "skip/no-keys" },
	{ "no keys, no email", NULL, .n_keys = 0, .expect = "skip/no-keys" },

	/* One active key: rule R. */
	{ "active 0", MAIL, .n_keys = 1, .keys = { A("K1", 0) }, .expect = "" },
	{ "active 79", MAIL, .n_keys = 1, .keys = { A("K1", 79) }, .expect = "" },
	{ "active 80", MAIL, .n_keys = 1, .keys = { A("K1", 80) }, .expect = "create/rotation-due" },
	{ "active 81", MAIL, .n_keys = 1, .keys = { A("K1", 81) }, .expect = "create/rotation-due" },
	{ "active 89", MAIL, .n_keys = 1, .keys = { A("K1", 89) }, .expect = "create/rotation-due" },
	{ "active 90, the only key: late rotation, not deactivated", MAIL, .n_keys = 1,
	  .keys = { A("K1", 90) }, .expect = "create/rotation-due" },
	{ "active 91", MAIL, .n_keys = 1, .keys = { A("K1", 91) }, .expect = "create/rotation-due" },
	{ "active 101", MAIL, .n_keys = 1, .keys = { A("K1", 101) }, .expect = "create/rotation-due" },
	{ "active 150", MAIL, .n_keys = 1, .keys = { A("K1", 150) }, .expect = "create/rotation-due" },

	/* One active key, no usable address. */
	{ "no email, 79", NULL, .n_keys = 1, .keys = { A("K1", 79) }, .expect = "" },
	{ "no email, 80", NULL, .n_keys = 1, .keys = { A("K1", 80) }, .expect = "report:K1/no-email" },
	{ "no email, 150: reported every sweep, never deactivated", NULL, .n_keys = 1,
	  .keys = { A("K1", 150) }, .expect = "report:K1/no-email" },
	{ "invalid email", "alice@", .n_keys = 1, .keys = { A("K1", 80) },
	  .expect = "report:K1/invalid-email" },
	{ "two addresses", "a@example.com,b@example.com", .n_keys = 1, .keys = { A("K1", 80) },
	  .expect = "report:K1/invalid-email" },
	{ "empty email", "", .n_keys = 1, .keys = { A("K1", 80) },
	  .expect = "report:K1/invalid-email" },
	{ "email with CRLF", "alice@example.com\r\nBcc: eve@example.com", .n_keys = 1,
	  .keys = { A("K1", 80) }, .expect = "report:K1/email-control-chars" },
	{ "email with LF", "alice@example.com\n", .n_keys = 1, .keys = { A("K1", 80) },
	  .expect = "report:K1/email-control-chars" },
	{ "email tag key in other case", MAIL, .email_tag = "EMAIL", .n_keys = 1,
	  .keys = { A("K1", 80) }, .expect = "create/rotation-due" },
	{ "email under another tag key", MAIL, .email_tag = "mail", .n_keys = 1,
	  .keys = { A("K1", 80) }, .expect = "report:K1/no-email" },

	/* enforce = true turns "cannot rotate" into deactivation at D. */
	{ "enforce, email: rotation as usual", MAIL, .enforce = true, .n_keys = 1,
	  .keys = { A("K1", 90) }, .expect = "create/rotation-due" },
	{ "enforce, no email, 80", NULL, .enforce = true, .n_keys = 1, .keys = { A("K1", 80) },
	  .expect = "report:K1/no-email" },
	{ "enforce, no email, 89", NULL, .enforce = true, .n_keys = 1, .keys = { A("K1", 89) },
	  .expect = "report:K1/no-email" },
	{ "enforce, no email, 90", NULL, .enforce = true, .n_keys = 1, .keys = { A("K1", 90) },
	  .expect = "report:K1/no-email deactivate:K1/enforced" },
	{ "enforce, invalid email, 91", "x", .enforce = true, .n_keys = 1, .keys = { A("K1", 91) },
	  .expect = "report:K1/invalid-email deactivate:K1/enforced" },
	{ "enforce, no free slot, 86", MAIL, .enforce = true, .no_free_slot = true, .n_keys = 2,
	  .keys = { A("K1", 86), I("K2", 50) }, .expect = "report:K1/no-free-slot" },
	{ "enforce, no free slot, 87: reminder", MAIL, .enforce = true, .no_free_slot = true,
	  .n_keys = 2, .keys = { A("K1", 87), I("K2", 50) },
	  .expect = "report:K1/no-free-slot remind:K1/deactivation-soon" },
	{ "enforce, no free slot, 90", MAIL, .enforce = true, .no_free_slot = true, .n_keys = 2,
	  .keys = { A("K1", 90), I("K2", 50) },
	  .expect = "report:K1/no-free-slot deactivate:K1/enforced" },
	{ "no enforce, no free slot, 150", MAIL, .no_free_slot = true, .n_keys = 2,
	  .keys = { A("K1", 150), I("K2", 50) }, .expect = "report:K1/no-free-slot" },

	/* Exempt: never touched; the tag key matches in any case. */
	{ "exempt", MAIL, .extra_tag = "Exempt", .n_keys = 1, .keys = { A("K1", 150) },
	  .expect = "skip/exempt" },
	{ "exempt, lower case", MAIL, .extra_tag = "exempt", .n_keys = 1, .keys = { A("K1", 150) },
	  .expect = "skip/exempt" },
	{ "exempt, upper case", MAIL, .extra_tag = "EXEMPT", .n_keys = 1, .keys = { A("K1", 150) },
	  .expect = "skip/exempt" },
	{ "exempt, mixed case, no email, old inactive", NULL, .extra_tag = "eXeMpT", .n_keys = 2,
	  .keys = { I("K1", 150), A("K2", 150) }, .expect = "skip/exempt" },
	{ "a longer tag key is not the exempt tag", MAIL, .extra_tag = "Exempted", .n_keys = 1,
	  .keys = { A("K1", 80) }, .expect = "create/rotation-due" },
	{ "exempt, no keys", MAIL, .extra_tag = "Exempt", .n_keys = 0, .expect = "skip/exempt" },

	/* Only inactive keys: rule X, never a new key. */
	{ "inactive 99", MAIL, .n_keys = 1, .keys = { I("K1", 99) }, .expect = "skip/no-active-key" },
	{ "inactive 100", MAIL, .n_keys = 1, .keys = { I("K1", 100) },
	  .expect = "delete:K1/inactive-expired skip/no-active-key" },
	{ "inactive 101, no email", NULL, .n_keys = 1, .keys = { I("K1", 101) },
	  .expect = "delete:K1/inactive-expired skip/no-active-key" },
	{ "expired 100", MAIL, .n_keys = 1, .keys = { E("K1", 100) },
	  .expect = "delete:K1/inactive-expired skip/no-active-key" },
	{ "two inactive, 99 and 150", MAIL, .n_keys = 2, .keys = { I("K1", 99), I("K2", 150) },
	  .expect = "delete:K2/inactive-expired skip/no-active-key" },
	{ "two inactive, 100 and 150", MAIL, .n_keys = 2, .keys = { I("K2", 100), I("K1", 150) },
	  .expect = "delete:K1/inactive-expired delete:K2/inactive-expired skip/no-active-key" },

	/* Recovery window: a key we deactivated lives X - D = 10 days more. */
	{ "ours, 150, deactivated 9 days ago", MAIL, .n_keys = 1, .keys = { IU("K1", 150, 9) },
	  .expect = "skip/no-active-key" },
	{ "ours, 150, deactivated 10 days ago", MAIL, .n_keys = 1, .keys = { IU("K1", 150, 10) },
	  .expect = "delete:K1/recovery-window-over skip/no-active-key" },
	{ "ours, 99, deactivated 20 days ago: not yet X old", MAIL, .n_keys = 1,
	  .keys = { IU("K1", 99, 20) }, .expect = "skip/no-active-key" },
	{ "ours, 100, deactivated 10 days ago", MAIL, .n_keys = 1, .keys = { IU("K1", 100, 10) },
	  .expect = "delete:K1/recovery-window-over skip/no-active-key" },

	/* Two active keys: rule D and the notice period (D - R = 10 days). */
	{ "150 and 5: notice period runs", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 5) },
	  .expect = "" },
	{ "150 and 6", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 6) }, .expect = "" },
	{ "150 and 7: reminder", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 7) },
	  .expect = "remind:K1/deactivation-soon" },
	{ "150 and 9: reminder", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 9) },
	  .expect = "remind:K1/deactivation-soon" },
	{ "150 (reminded) and 9", MAIL, .n_keys = 2, .keys = { AR("K1", 150), A("K2", 9) },
	  .expect = "" },
	{ "150 and 9, no email: no reminder", NULL, .n_keys = 2,
	  .keys = { A("K1", 150), A("K2", 9) }, .expect = "" },
	{ "150 and 10: deactivated", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 10) },
	  .expect = "deactivate:K1/replaced" },
	{ "86 and 20", MAIL, .n_keys = 2, .keys = { A("K1", 86), A("K2", 20) }, .expect = "" },
	{ "87 and 20: reminder", MAIL, .n_keys = 2, .keys = { A("K1", 87), A("K2", 20) },
	  .expect = "remind:K1/deactivation-soon" },
	{ "89 and 10: reminder", MAIL, .n_keys = 2, .keys = { A("K1", 89), A("K2", 10) },
	  .expect = "remind:K1/deactivation-soon" },
	{ "90 and 10: deactivated", MAIL, .n_keys = 2, .keys = { A("K1", 90), A("K2", 10) },
	  .expect = "deactivate:K1/replaced" },
	{ "91 and 10: deactivated", MAIL, .n_keys = 2, .keys = { A("K2", 10), A("K1", 91) },
	  .expect = "deactivate:K1/replaced" },
	{ "90 and 10, no email: deactivated (a newer key exists)", NULL, .n_keys = 2,
	  .keys = { A("K1", 90), A("K2", 10) }, .expect = "deactivate:K1/replaced" },
	{ "90 and 9: notice period wins", MAIL, .n_keys = 2, .keys = { A("K1", 90), A("K2", 9) },
	  .expect = "remind:K1/deactivation-soon" },

	/* Two old active keys: both slots taken, the newest is due. */
	{ "85 and 81: two active keys", MAIL, .n_keys = 2, .keys = { A("K1", 85), A("K2", 81) },
	  .expect = "report:K2/two-active-keys" },
	{ "88 and 81: two active keys, reminder of the older", MAIL, .n_keys = 2,
	  .keys = { A("K1", 88), A("K2", 81) },
	  .expect = "remind:K1/deactivation-soon report:K2/two-active-keys" },
	{ "95 and 85: older deactivated, its slot in recovery", MAIL, .n_keys = 2,
	  .keys = { A("K1", 95), A("K2", 85) },
	  .expect = "deactivate:K1/replaced report:K2/slot-in-recovery" },
	{ "150 and 120", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 120) },
	  .expect = "deactivate:K1/replaced report:K2/slot-in-recovery" },
	{ "150 and 120, enforce: recovery is not enforced", MAIL, .enforce = true, .n_keys = 2,
	  .keys = { A("K1", 150), A("K2", 120) },
	  .expect = "deactivate:K1/replaced report:K2/slot-in-recovery" },
	{ "150 and 120, no email", NULL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 120) },
	  .expect = "deactivate:K1/replaced report:K2/no-email" },
	{ "150 and 120, no email, enforce", NULL, .enforce = true, .n_keys = 2,
	  .keys = { A("K1", 150), A("K2", 120) },
	  .expect = "deactivate:K1/replaced report:K2/no-email deactivate:K2/enforced" },

	/* An active and an inactive key: freeing the slot. */
	{ "active 79, inactive 50", MAIL, .n_keys = 2, .keys = { A("K1", 79), I("K2", 50) },
	  .expect = "" },
	{ "active 80, inactive 50: slot freed", MAIL, .n_keys = 2,
	  .keys = { A("K1", 80), I("K2", 50) }, .expect = "delete:K2/free-slot create/rotation-due" },
	{ "active 80, expired 50: slot freed", MAIL, .n_keys = 2,
	  .keys = { A("K1", 80), E("K2", 50) }, .expect = "delete:K2/free-slot create/rotation-due" },
	{ "active 85, inactive 5 (newer): slot freed", MAIL, .n_keys = 2,
	  .keys = { A("K1", 85), I("K2", 5) }, .expect = "delete:K2/free-slot create/rotation-due" },
	{ "active 80, inactive 50, freeing disabled", MAIL, .no_free_slot = true, .n_keys = 2,
	  .keys = { A("K1", 80), I("K2", 50) }, .expect = "report:K1/no-free-slot" },
	{ "active 80, inactive 99", MAIL, .n_keys = 2, .keys = { A("K1", 80), I("K2", 99) },
	  .expect = "delete:K2/free-slot create/rotation-due" },
	{ "active 80, inactive 100: rule X frees it", MAIL, .no_free_slot = true, .n_keys = 2,
	  .keys = { A("K1", 80), I("K2", 100) },
	  .expect = "delete:K2/inactive-expired create/rotation-due" },
	{ "active 50, inactive 101", MAIL, .n_keys = 2, .keys = { A("K1", 50), I("K2", 101) },
	  .expect = "delete:K2/inactive-expired" },
	{ "active 50, inactive 101, no email", NULL, .n_keys = 2,
	  .keys = { A("K1", 50), I("K2", 101) }, .expect = "delete:K2/inactive-expired" },
	{ "active 80, ours deactivated 5 days ago: in recovery", MAIL, .n_keys = 2,
	  .keys = { A("K1", 80), IU("K2", 150, 5) }, .expect = "report:K1/slot-in-recovery" },
	{ "active 80, ours deactivated 5 days ago, 95 old: in recovery", MAIL, .n_keys = 2,
	  .keys = { A("K1", 80), IU("K2", 95, 5) }, .expect = "report:K1/slot-in-recovery" },
	{ "active 80, ours deactivated 10 days ago", MAIL, .n_keys = 2,
	  .keys = { A("K1", 80), IU("K2", 150, 10) },
	  .expect = "delete:K2/recovery-window-over create/rotation-due" },
	{ "active 80, ours 95 old deactivated 10 days ago", MAIL, .n_keys = 2,
	  .keys = { A("K1", 80), IU("K2", 95, 10) },
	  .expect = "delete:K2/free-slot create/rotation-due" },
	{ "active 80, inactive 50, no email", NULL, .n_keys = 2,
	  .keys = { A("K1", 80), I("K2", 50) }, .expect = "report:K1/no-email" },
	{ "active 150, inactive 150: both rules", MAIL, .n_keys = 2,
	  .keys = { I("K2", 150), A("K1", 150) },
	  .expect = "delete:K2/inactive-expired create/rotation-due" },
};

static void cfg_for(const struct row *row, struct akr_policy_config *cfg)
{
	akr_policy_config_init(cfg);
	cfg->enforce = row->enforce;
	cfg->delete_inactive_to_free_slot = !row->no_free_slot;
}

static struct akr_policy_key make_key(const struct row_key *k, int64_t now)
{
	return (struct akr_policy_key){
		.id = k->id,
		.status = k->status,
		.created_sec = now - k->age_days * DAY,
		.deactivated_by_us_sec =
			k->deactivated_days_ago == NO ? 0 : now - k->deactivated_days_ago * DAY,
		.reminded = k->reminded,
	};
}

static void plan_to_string(const struct akr_plan *p, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct akr_action *a = &p->actions[i];
		int w;

		w = snprintf(buf + n, size - n, "%s%s%s%s/%s", i ? " " : "",
			     akr_action_kind_to_string(a->kind), a->key_id ? ":" : "",
			     a->key_id ? a->key_id : "", akr_reason_to_name(a->reason));
		assert_true(w > 0 && (size_t)w < size - n);
		n += (size_t)w;
	}
}

static void decide_row(const struct row *row, int64_t now, struct akr_plan *plan)
{
	struct akr_policy_config cfg;
	struct akr_policy_key keys[2];
	struct akr_policy_tag tags[2];
	size_t n_tags = 0;
	struct akr_policy_user u;

	cfg_for(row, &cfg);
	if (row->email)
		tags[n_tags++] = (struct akr_policy_tag){ row->email_tag ? row->email_tag : "email",
							  row->email };
	if (row->extra_tag)
		tags[n_tags++] = (struct akr_policy_tag){ row->extra_tag, "yes" };
	for (size_t i = 0; i < row->n_keys; i++)
		keys[i] = make_key(&row->keys[i], now);
	u = (struct akr_policy_user){ "alice", tags, n_tags, keys, row->n_keys };
	assert_int_equal(akr_policy_decide(&cfg, &u, now, plan), 0);
}

static void test_table(void **state)
{
	int failures = 0;

	for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
		/* At the exact day boundary, and one hour into the day: whole
		 * days rounded down give the same age both times. */
		for (int64_t off = 0; off <= 3600; off += 3600) {
			struct akr_plan plan;
			char got[512];

			decide_row(&rows[i], NOW, &plan);
			if (off) {
				struct akr_plan p2;
				char got2[512];

				/* Shift "now" and every date by the same offset. */
				decide_row(&rows[i], NOW + off, &p2);
				plan_to_string(&p2, got2, sizeof(got2));
				plan_to_string(&plan, got, sizeof(got));
				if (strcmp(got, got2) != 0) {
					print_error("row '%s': shifted plan differs: '%s' vs '%s'\n",
						    rows[i].name, got, got2);
					failures++;
				}
				continue;
			}
			plan_to_string(&plan, got, sizeof(got));
			if (strcmp(got, rows[i].expect) != 0) {
				print_error("row '%s': expected '%s', got '%s'\n", rows[i].name,
					    rows[i].expect, got);
				failures++;
			}
		}
	}
	assert_int_equal(failures, 0);
}

static void test_dates(void **state)
{
	struct akr_plan p;
	const struct row create80 = { "", MAIL, .n_keys = 1, .keys = { A("K1", 80) } };
	const struct row create150 = { "", MAIL, .n_keys = 1, .keys = { A("K1", 150) } };
	const struct row remind = { "", MAIL, .n_keys = 2, .keys = { A("K1", 88), A("K2", 20) } };
	const struct row notice = { "", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 8) } };
	const struct row deact = { "", MAIL, .n_keys = 2, .keys = { A("K1", 150), A("K2", 10) } };
	const struct row enforce = { "", NULL, .enforce = true, .n_keys = 1, .keys = { A("K1", 85) } };
	const struct row report = { "", NULL, .n_keys = 1, .keys = { A("K1", 85) } };

	/* On time: deactivated at 90 days, deleted at 100. */
	decide_row(&create80, NOW, &p);
	assert_int_equal(p.n_actions, 1);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_CREATE);
	assert_null(p.actions[0].key_id);
	assert_string_equal(p.actions[0].replaces_key_id, "K1");
	assert_int_equal(p.actions[0].age_days, 80);
	assert_int_equal(p.actions[0].deactivate_on_sec, NOW + 10 * DAY);
	assert_int_equal(p.actions[0].delete_on_sec, NOW + 20 * DAY);
	assert_false(p.actions[0].needs_last_used);
	assert_string_equal(p.email, MAIL);
	assert_int_equal(p.email_problem, AKR_REASON_NONE);

	/* Late: the notice period still runs from today. */
	decide_row(&create150, NOW, &p);
	assert_int_equal(p.actions[0].deactivate_on_sec, NOW + 10 * DAY);
	assert_int_equal(p.actions[0].delete_on_sec, NOW + 20 * DAY);

	decide_row(&remind, NOW, &p);
	assert_int_equal(p.n_actions, 1);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_REMIND);
	assert_string_equal(p.actions[0].key_id, "K1");
	assert_int_equal(p.actions[0].deactivate_on_sec, NOW + 2 * DAY);
	assert_int_equal(p.actions[0].delete_on_sec, NOW + 12 * DAY);
	assert_true(p.actions[0].needs_last_used);

	decide_row(&notice, NOW, &p);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_REMIND);
	assert_int_equal(p.actions[0].deactivate_on_sec, NOW + 2 * DAY);
	assert_int_equal(p.actions[0].delete_on_sec, NOW + 12 * DAY);

	decide_row(&deact, NOW, &p);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_DEACTIVATE);
	assert_int_equal(p.actions[0].age_days, 150);
	assert_int_equal(p.actions[0].delete_on_sec, NOW + 10 * DAY);
	assert_true(p.actions[0].needs_last_used);

	decide_row(&enforce, NOW, &p);
	assert_int_equal(p.n_actions, 1);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_REPORT);
	assert_int_equal(p.actions[0].deactivate_on_sec, NOW + 5 * DAY);
	assert_int_equal(p.actions[0].delete_on_sec, NOW + 15 * DAY);
	assert_null(p.email);
	assert_int_equal(p.email_problem, AKR_REASON_NO_EMAIL);

	decide_row(&report, NOW, &p);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_REPORT);
	assert_int_equal(p.actions[0].deactivate_on_sec, 0);
	assert_false(p.actions[0].needs_last_used);
}

static void test_partial_days(void **state)
{
	struct akr_policy_config cfg;
	struct akr_policy_key k = { "K1", AKR_KEY_ACTIVE, NOW - 80 * DAY + 1, 0, false };
	struct akr_policy_user u = { "alice", &(struct akr_policy_tag){ "email", MAIL }, 1, &k, 1 };
	struct akr_plan p;

	akr_policy_config_init(&cfg);
	/* 79 days 23:59:59 is 79 days. */
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	assert_int_equal(p.n_actions, 0);
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW + 1, &p), 0);
	assert_int_equal(p.n_actions, 1);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_CREATE);
	/* A key from the future (clock skew) is young. */
	k.created_sec = NOW + DAY;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	assert_int_equal(p.n_actions, 0);
}

static void test_bad_input(void **state)
{
	struct akr_policy_config cfg;
	struct akr_policy_key keys[3] = {
		{ "K1", AKR_KEY_ACTIVE, NOW, 0, false },
		{ "K2", AKR_KEY_ACTIVE, NOW, 0, false },
		{ "K3", AKR_KEY_ACTIVE, NOW, 0, false },
	};
	struct akr_policy_tag tag = { "email", MAIL };
	struct akr_policy_user u = { "alice", &tag, 1, keys, 3 };
	struct akr_plan p = { .n_actions = 42 };

	akr_policy_config_init(&cfg);
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	assert_int_equal(p.n_actions, 42); /* untouched */
	u.n_keys = 2;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	keys[1].id = "K1";
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	keys[1].id = NULL;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	keys[1].id = "";
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	keys[1].id = "K2";
	keys[1].status = _AKR_KEY_STATUS_MAX;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	keys[1].status = AKR_KEY_INACTIVE;
	u.keys = NULL;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	u.keys = keys;
	tag.value = NULL;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	tag.value = MAIL;
	u.tags = NULL;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
	u.tags = &tag;
	assert_int_equal(akr_policy_decide(&cfg, NULL, NOW, &p), -EINVAL);
	assert_int_equal(akr_policy_decide(NULL, &u, NOW, &p), -EINVAL);
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, NULL), -EINVAL);
	cfg.rotate_after_days = 90;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), -EINVAL);
}

static void test_config_validate(void **state)
{
	struct akr_policy_config c;

	akr_policy_config_init(&c);
	assert_int_equal(akr_policy_config_validate(&c), 0);
	assert_int_equal(akr_policy_config_validate(NULL), -EINVAL);

#define CHECK(field, value, expect)                                                                \
	do {                                                                                       \
		akr_policy_config_init(&c);                                                        \
		c.field = value;                                                                   \
		assert_int_equal(akr_policy_config_validate(&c), expect);                          \
	} while (0)
	CHECK(rotate_after_days, 0, -EINVAL);
	CHECK(rotate_after_days, 1, 0);
	CHECK(rotate_after_days, 86, 0);  /* reminder 3 < D - R = 4 */
	CHECK(rotate_after_days, 87, -EINVAL); /* reminder 3 == D - R */
	CHECK(rotate_after_days, 90, -EINVAL); /* R == D */
	CHECK(deactivate_after_days, 100, -EINVAL); /* D == X */
	CHECK(deactivate_after_days, 101, -EINVAL);
	CHECK(delete_after_days, 91, 0);
	CHECK(delete_after_days, 90, -EINVAL);
	CHECK(delete_after_days, AKR_POLICY_MAX_DAYS, 0);
	CHECK(delete_after_days, AKR_POLICY_MAX_DAYS + 1, -EINVAL);
	CHECK(reminder_days, 0, 0);
	CHECK(reminder_days, 9, 0);
	CHECK(reminder_days, 10, -EINVAL);
	CHECK(reminder_days, -1, -EINVAL);
	CHECK(email_tag, NULL, -EINVAL);
	CHECK(email_tag, "", -EINVAL);
	CHECK(exempt_tag, "a\nb", -EINVAL);
	CHECK(exempt_tag, "no-rotation", 0);
#undef CHECK
}

/* users.allowed_email_domains: an address in another domain is refused like
 * an invalid one (reported, never rotated, no mail at all). */
static void test_allowed_domains(void **state)
{
	const char *const domains[] = { "example.com", "corp.example.net" };
	struct akr_policy_config cfg;
	struct akr_policy_key k = { .id = "K1", .status = AKR_KEY_ACTIVE,
				    .created_sec = NOW - 85 * DAY };
	struct akr_policy_key old[2] = {
		{ .id = "K1", .status = AKR_KEY_ACTIVE, .created_sec = NOW - 95 * DAY },
		{ .id = "K2", .status = AKR_KEY_ACTIVE, .created_sec = NOW - 8 * DAY },
	};
	struct akr_policy_tag tag = { "email", "mallory@evil.example" };
	struct akr_policy_user u = { "alice", &tag, 1, &k, 1 };
	struct akr_plan p;

	(void)state;
	akr_policy_config_init(&cfg);
	cfg.allowed_email_domains = domains;
	cfg.n_allowed_email_domains = ELEMENTSOF(domains);
	assert_int_equal(akr_policy_config_validate(&cfg), 0);

	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	assert_null(p.email);
	assert_int_equal(p.email_problem, AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED);
	assert_int_equal(p.n_actions, 1);
	assert_int_equal(p.actions[0].kind, AKR_ACTION_REPORT);
	assert_int_equal(p.actions[0].reason, AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED);
	assert_string_equal(akr_reason_to_name(AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED),
			    "email-domain-not-allowed");

	/* Listed domains, any case, pass. */
	tag.value = "Bob@Corp.Example.NET";
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	assert_string_equal(p.email, "Bob@Corp.Example.NET");
	assert_int_equal(p.actions[0].kind, AKR_ACTION_CREATE);
	/* A subdomain or a look-alike is another domain. */
	tag.value = "m@mail.example.com";
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	assert_int_equal(p.email_problem, AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED);
	tag.value = "m@example.com.evil.example";
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	assert_int_equal(p.email_problem, AKR_REASON_EMAIL_DOMAIN_NOT_ALLOWED);

	/* No reminder goes to a refused address either. */
	tag.value = "mallory@evil.example";
	u.keys = old;
	u.n_keys = 2;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	for (size_t i = 0; i < p.n_actions; i++)
		assert_int_not_equal(p.actions[i].kind, AKR_ACTION_REMIND);

	/* Without a list every domain is allowed (the default). */
	cfg.n_allowed_email_domains = 0;
	u.keys = &k;
	u.n_keys = 1;
	assert_int_equal(akr_policy_decide(&cfg, &u, NOW, &p), 0);
	assert_string_equal(p.email, "mallory@evil.example");

	/* A list with a hole is a bad config. */
	cfg.n_allowed_email_domains = 2;
	cfg.allowed_email_domains = NULL;
	assert_int_equal(akr_policy_config_validate(&cfg), -EINVAL);
}

static void test_strings(void **state)
{
	for (int k = 0; k < _AKR_ACTION_MAX; k++)
		assert_non_null(akr_action_kind_to_string(k));
	assert_null(akr_action_kind_to_string(_AKR_ACTION_MAX));
	assert_string_equal(akr_action_kind_to_string(AKR_ACTION_DEACTIVATE), "deactivate");
	for (int r = 0; r < _AKR_REASON_MAX; r++) {
		assert_non_null(akr_reason_to_string(r));
		assert_non_null(akr_reason_to_name(r));
	}
	assert_null(akr_reason_to_string(_AKR_REASON_MAX));
	assert_null(akr_reason_to_string(AKR_REASON_NONE));
	assert_true(akr_policy_tag_key_equal("Exempt", "eXEMPT"));
	assert_false(akr_policy_tag_key_equal("Exempt", "Exempt "));
	assert_false(akr_policy_tag_key_equal("Exempt", "Exemp"));
}

/* The property test: the plan applied to a model of the user, then decided
 * again at the same time, must change nothing and send nothing. */

struct model {
	struct akr_policy_key keys[3];
	char ids[3][24];
	size_t n;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
	/* xorshift64*: deterministic, so a failure is reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1du) >> 32) % n;
}

static size_t count_active(const struct model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->keys[i].status == AKR_KEY_ACTIVE;
	return n;
}

static struct akr_policy_key *model_find(struct model *m, const char *id)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->keys[i].id, id) == 0)
			return &m->keys[i];
	return NULL;
}

static void model_fix_ids(struct model *m)
{
	for (size_t i = 0; i < m->n; i++)
		m->keys[i].id = m->ids[i];
}

/* Applies @p to @m as the sweep would, checking each step's preconditions. */
static void apply(const struct akr_policy_config *cfg, struct model *m, const struct akr_plan *p,
		  int64_t now)
{
	for (size_t i = 0; i < p->n_actions; i++) {
		const struct akr_action *a = &p->actions[i];
		struct akr_policy_key *k = a->key_id ? model_find(m, a->key_id) : NULL;

		switch (a->kind) {
		case AKR_ACTION_CREATE:
			/* Never a third key: the slot is free before CREATE. */
			assert_true(m->n < 2);
			assert_non_null(p->email);
			snprintf(m->ids[m->n], sizeof(m->ids[m->n]), "NEW");
			m->keys[m->n] = (struct akr_policy_key){ m->ids[m->n], AKR_KEY_ACTIVE, now,
								  0, false };
			m->n++;
			model_fix_ids(m);
			break;
		case AKR_ACTION_DEACTIVATE:
			assert_non_null(k);
			assert_int_equal(k->status, AKR_KEY_ACTIVE);
			if (a->reason == AKR_REASON_REPLACED) {
				/* Availability and notice: a newer active key,
				 * at least D - R days old. */
				bool newer = false;

				for (size_t j = 0; j < m->n; j++)
					if (&m->keys[j] != k &&
					    m->keys[j].status == AKR_KEY_ACTIVE &&
					    m->keys[j].created_sec >= k->created_sec &&
					    akr_time_days_between(m->keys[j].created_sec, now) >=
						    cfg->deactivate_after_days -
							    cfg->rotate_after_days)
						newer = true;
				assert_true(newer);
			} else {
				assert_int_equal(a->reason, AKR_REASON_ENFORCED);
				assert_true(cfg->enforce);
			}
			assert_true(akr_time_days_between(k->created_sec, now) >=
				    cfg->deactivate_after_days);
			k->status = AKR_KEY_INACTIVE;
			k->deactivated_by_us_sec = now;
			break;
		case AKR_ACTION_DELETE: {
			size_t idx;

			assert_non_null(k);
			assert_int_not_equal(k->status, AKR_KEY_ACTIVE);
			/* The recovery window is never cut short. */
			if (k->deactivated_by_us_sec)
				assert_true(akr_time_days_between(k->deactivated_by_us_sec, now) >=
					    cfg->delete_after_days - cfg->deactivate_after_days);
			if (a->reason != AKR_REASON_FREE_SLOT)
				assert_true(akr_time_days_between(k->created_sec, now) >=
					    cfg->delete_after_days);
			idx = (size_t)(k - m->keys);
			memmove(&m->keys[idx], &m->keys[idx + 1],
				(m->n - idx - 1) * sizeof(m->keys[0]));
			memmove(m->ids[idx], m->ids[idx + 1], (m->n - idx - 1) * sizeof(m->ids[0]));
			m->n--;
			model_fix_ids(m);
			break;
		}
		case AKR_ACTION_REMIND:
			assert_non_null(k);
			assert_non_null(p->email);
			assert_false(k->reminded);
			assert_true(a->deactivate_on_sec > now &&
				    a->deactivate_on_sec - now <= cfg->reminder_days * DAY);
			k->reminded = true;
			break;
		case AKR_ACTION_SKIP:
		case AKR_ACTION_REPORT:
			break;
		default:
			fail();
		}
	}
}

static bool mutates(const struct akr_plan *p)
{
	for (size_t i = 0; i < p->n_actions; i++)
		if (p->actions[i].kind != AKR_ACTION_SKIP && p->actions[i].kind != AKR_ACTION_REPORT)
			return true;
	return false;
}

static void check_case(const struct akr_policy_config *cfg, struct model *m,
		       const struct akr_policy_tag *tags, size_t n_tags, int64_t now)
{
	struct akr_policy_user u = { "bob", tags, n_tags, m->keys, m->n };
	size_t active_before = count_active(m);
	struct akr_plan p, again;
	size_t creates = 0;

	assert_int_equal(akr_policy_decide(cfg, &u, now, &p), 0);
	for (size_t i = 0; i < p.n_actions; i++)
		creates += p.actions[i].kind == AKR_ACTION_CREATE;
	assert_true(creates <= 1);
	apply(cfg, m, &p, now);

	/* Two keys at most, and a user with an active key keeps one. */
	assert_true(m->n <= 2);
	if (active_before > 0 && !cfg->enforce)
		assert_true(count_active(m) > 0);

	u.keys = m->keys;
	u.n_keys = m->n;
	assert_int_equal(akr_policy_decide(cfg, &u, now, &again), 0);
	if (mutates(&again)) {
		char a[512], b[512];

		plan_to_string(&p, a, sizeof(a));
		plan_to_string(&again, b, sizeof(b));
		print_error("not idempotent: first '%s', then '%s'\n", a, b);
		fail();
	}
}

static void random_key(struct model *m, size_t i, int64_t now)
{
	static const enum akr_key_status st[] = { AKR_KEY_ACTIVE, AKR_KEY_ACTIVE, AKR_KEY_INACTIVE,
						  AKR_KEY_EXPIRED };
	int age = (int)rnd(201);
	struct akr_policy_key *k = &m->keys[i];

	snprintf(m->ids[i], sizeof(m->ids[i]), "K%zu", i + 1);
	*k = (struct akr_policy_key){
		.id = m->ids[i],
		.status = st[rnd(ELEMENTSOF(st))],
		.created_sec = now - age * DAY - (int64_t)rnd(2) * (int64_t)rnd((uint32_t)DAY),
		.reminded = rnd(4) == 0,
	};
	if (rnd(2))
		k->deactivated_by_us_sec = k->created_sec + (int64_t)rnd((uint32_t)age + 1) * DAY;
}

static void test_property(void **state)
{
	static const char *const emails[] = { NULL, MAIL, "bad", "a@example.com\r\n" };
	static const int reminders[] = { 0, 3, 9 };
	const int64_t now = NOW;

	for (int i = 0; i < 200000; i++) {
		struct akr_policy_config cfg;
		struct akr_policy_tag tags[2];
		size_t n_tags = 0;
		const char *email = emails[rnd(ELEMENTSOF(emails))];
		struct model m = { .n = rnd(3) };

		akr_policy_config_init(&cfg);
		cfg.enforce = rnd(2);
		cfg.delete_inactive_to_free_slot = rnd(2);
		cfg.reminder_days = reminders[rnd(ELEMENTSOF(reminders))];
		if (email)
			tags[n_tags++] = (struct akr_policy_tag){ "email", email };
		if (rnd(20) == 0)
			tags[n_tags++] = (struct akr_policy_tag){ "exempt", "" };
		for (size_t k = 0; k < m.n; k++)
			random_key(&m, k, now);
		check_case(&cfg, &m, tags, n_tags, now);
	}

	/* Every pair of ages of two active keys, and of an active and an
	 * inactive key, with the defaults. */
	for (int a1 = 0; a1 <= 200; a1++) {
		for (int a2 = 0; a2 <= 200; a2++) {
			for (int inactive = 0; inactive < 2; inactive++) {
				struct akr_policy_config cfg;
				struct akr_policy_tag tag = { "email", MAIL };
				struct model m = { .n = 2 };

				akr_policy_config_init(&cfg);
				snprintf(m.ids[0], sizeof(m.ids[0]), "K1");
				snprintf(m.ids[1], sizeof(m.ids[1]), "K2");
				m.keys[0] = (struct akr_policy_key){ m.ids[0], AKR_KEY_ACTIVE,
								     now - a1 * DAY, 0, false };
				m.keys[1] = (struct akr_policy_key){
					m.ids[1], inactive ? AKR_KEY_INACTIVE : AKR_KEY_ACTIVE,
					now - a2 * DAY, 0, false
				};
				check_case(&cfg, &m, &tag, 1, now);
			}
		}
	}
}

/* Day by day over a year, the sweep as it runs: a user who holds keys with
 * an address ends up rotated every R days, never without an active key,
 * never with a key older than D + (D - R) active after the first cycle. */
static void test_simulation(void **state)
{
	for (int start = 0; start <= 200; start += 7) {
		struct akr_policy_config cfg;
		struct akr_policy_tag tag = { "email", MAIL };
		struct model m = { .n = 1 };
		int creates = 0;

		akr_policy_config_init(&cfg);
		snprintf(m.ids[0], sizeof(m.ids[0]), "K0");
		m.keys[0] = (struct akr_policy_key){ m.ids[0], AKR_KEY_ACTIVE, NOW - start * DAY, 0,
						     false };
		for (int day = 0; day < 365; day++) {
			int64_t now = NOW + day * DAY;
			struct akr_policy_user u = { "carol", &tag, 1, m.keys, m.n };
			struct akr_plan p;

			assert_int_equal(akr_policy_decide(&cfg, &u, now, &p), 0);
			for (size_t i = 0; i < p.n_actions; i++) {
				creates += p.actions[i].kind == AKR_ACTION_CREATE;
				assert_int_not_equal(p.actions[i].kind, AKR_ACTION_REPORT);
			}
			apply(&cfg, &m, &p, now);
			/* Give the new key a unique id for the next days. */
			for (size_t i = 0; i < m.n; i++)
				if (strcmp(m.ids[i], "NEW") == 0)
					snprintf(m.ids[i], sizeof(m.ids[i]), "D%d", day);
			assert_true(count_active(&m) >= 1);
			for (size_t i = 0; i < m.n; i++)
				if (m.keys[i].status == AKR_KEY_ACTIVE && day > 20)
					assert_true(akr_time_days_between(m.keys[i].created_sec,
									  now) < 100);
		}
		assert_true(creates >= 4);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_partial_days),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_config_validate),
		cmocka_unit_test(test_allowed_domains),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_simulation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
