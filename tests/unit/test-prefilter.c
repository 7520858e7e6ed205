/* The credential-report pre-filter: the CSV reader (lib/aws/credreport) and
 * the rule (lib/rotation/prefilter), table-driven, and the rule checked
 * against the policy itself: for every user the rule rules out, the policy
 * has nothing to do (the rule may only add reads). */
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
#include <openssl/evp.h>

#include "lib/aws/credreport.h"
#include "lib/base/macro.h"
#include "lib/base/timeutil.h"
#include "lib/rotation/policy.h"
#include "lib/rotation/prefilter.h"

#define DAY AKR_SEC_PER_DAY
/* 2026-11-26T13:00:00Z */
#define NOW INT64_C(1795698000)

#define HEADER                                                                                     \
	"user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"  \
	"password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"        \
	"access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service," \
	"access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"              \
	"access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"             \
	"cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
#define ROOT                                                                                       \
	"<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,"  \
	"no_information,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A," \
	"N/A,false,N/A,false,N/A\n"
#define ALICE                                                                                      \
	"alice,arn:aws:iam::123456789012:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A," \
	"false,true,2026-10-01T10:00:00+00:00,2026-11-20T00:00:00+00:00,eu-west-1,s3,false,N/A,"  \
	"N/A,N/A,N/A,false,N/A,false,N/A\n"
#define BOB                                                                                        \
	"bob,arn:aws:iam::123456789012:user/bob,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,"     \
	"false,true,2026-10-01T10:00:00+00:00,N/A,N/A,N/A,false,2026-01-01T00:00:00+00:00,N/A,"   \
	"N/A,N/A,false,N/A,false,N/A\n"

struct seen_row {
	char user[80];
	bool root, malformed;
	int64_t creation;
	struct akr_credreport_key keys[2];
};

struct collect {
	struct seen_row rows[16];
	size_t n;
};

static int collect_row(void *userdata, const struct akr_credreport_row *row, const char *invalid)
{
	struct collect *c = userdata;
	struct seen_row *s;

	assert_true(c->n < 16);
	s = &c->rows[c->n++];
	(void)snprintf(s->user, sizeof(s->user), "%s", row->user ? row->user : "");
	s->root = row->root;
	s->malformed = invalid != NULL;
	s->creation = row->user_creation_sec;
	memcpy(s->keys, row->keys, sizeof(s->keys));
	return 0;
}

static int parse_csv(const char *csv, size_t chunk, struct collect *c)
{
	_cleanup_free_ struct akr_credreport_csv *p = calloc(1, sizeof(*p));
	struct akr_error err = { 0 };
	size_t len = strlen(csv);
	int r = 0;

	assert_non_null(p);
	memset(c, 0, sizeof(*c));
	akr_credreport_csv_init(p, collect_row, c);
	for (size_t off = 0; off < len && r >= 0; off += chunk)
		r = akr_credreport_csv_feed(p, csv + off, len - off < chunk ? len - off : chunk, &err);
	if (r >= 0)
		r = akr_credreport_csv_finish(p, &err);
	return r;
}

static void test_csv_valid(void **state)
{
	struct collect c;
	(void)state;

	/* Any chunking gives the same rows (the reader streams). */
	for (size_t chunk = 1; chunk < 600; chunk += 37) {
		assert_int_equal(parse_csv(HEADER ROOT ALICE BOB, chunk, &c), 0);
		assert_int_equal(c.n, 3);
		assert_true(c.rows[0].root);
		assert_false(c.rows[0].malformed);
		assert_string_equal(c.rows[1].user, "alice");
		assert_false(c.rows[1].malformed);
		assert_true(c.rows[1].keys[0].present && c.rows[1].keys[0].active);
		assert_false(c.rows[1].keys[1].present);
		assert_int_equal(c.rows[1].creation, 1614834367);
		assert_string_equal(c.rows[2].user, "bob");
		assert_true(c.rows[2].keys[1].present);
		assert_false(c.rows[2].keys[1].active);
	}
	/* CRLF line ends, no final newline. */
	assert_int_equal(parse_csv("user,user_creation_time,access_key_1_active,"
				   "access_key_1_last_rotated,access_key_2_active,"
				   "access_key_2_last_rotated\r\n"
				   "carol,2021-03-04T05:06:07Z,true,2026-10-01T10:00:00Z,false,N/A",
				   1000, &c),
			 0);
	assert_int_equal(c.n, 1);
	assert_false(c.rows[0].malformed);
	/* Quoted fields (RFC 4180). */
	assert_int_equal(parse_csv("user,user_creation_time,access_key_1_active,"
				   "access_key_1_last_rotated,access_key_2_active,"
				   "access_key_2_last_rotated\n"
				   "\"carol\",2021-03-04T05:06:07Z,\"true\",2026-10-01T10:00:00Z,false,N/A\n",
				   1000, &c),
			 0);
	assert_false(c.rows[0].malformed);
	assert_string_equal(c.rows[0].user, "carol");
}

/* Every malformed row is handed over (with the user when the first field is
 * one), never dropped. */
static const struct {
	const char *row;
	const char *user; /* expected user name of the malformed row, "" = none */
} malformed_rows[] = {
	{ "alice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00\n", "alice" },
	{ "alice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,"
	  "yes,2026-10-01T10:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	  "alice" },
	/* active without a date */
	{ "alice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,"
	  "true,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	  "alice" },
	/* a bad date */
	{ "alice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,"
	  "true,2026-13-01T10:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	  "alice" },
	/* a bad creation time */
	{ "alice,arn:aws:iam::1:user/alice,yesterday,false,N/A,N/A,N/A,false,"
	  "true,2026-10-01T10:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	  "alice" },
	/* a comma in a name shifts every field: one too many */
	{ "al,ice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,"
	  "true,2026-10-01T10:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	  "al" },
	/* a bad region, a control character */
	{ "alice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,"
	  "true,2026-10-01T10:00:00+00:00,N/A,EU WEST,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	  "alice" },
	{ "alice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,"
	  "true,2026-10-01T10:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,\x01\n",
	  "alice" },
	/* an unterminated quote; a name IAM does not allow */
	{ "\"alice,arn\n", "" },
	{ "al ice,arn:aws:iam::1:user/alice,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,"
	  "true,2026-10-01T10:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
	  "" },
};

static void test_csv_malformed_rows(void **state)
{
	char buf[2048];
	struct collect c;
	(void)state;

	for (size_t i = 0; i < sizeof(malformed_rows) / sizeof(malformed_rows[0]); i++) {
		(void)snprintf(buf, sizeof(buf), "%s%s%s", HEADER, malformed_rows[i].row, BOB);
		assert_int_equal(parse_csv(buf, 7, &c), 0);
		assert_int_equal(c.n, 2);
		if (!c.rows[0].malformed)
			fail_msg("row %zu was not malformed", i);
		assert_string_equal(c.rows[0].user, malformed_rows[i].user);
		assert_false(c.rows[1].malformed); /* the next row is read */
	}
}

static void test_csv_overlong_line(void **state)
{
	size_t n = AKR_CREDREPORT_LINE_MAX + 100;
	_cleanup_free_ char *buf = malloc(sizeof(HEADER) + n + sizeof(BOB) + 16);
	struct collect c;
	char *p;
	(void)state;

	assert_non_null(buf);
	p = buf + sprintf(buf, "%smallory,", HEADER);
	memset(p, 'x', n);
	p[n] = '\n';
	strcpy(p + n + 1, BOB);
	assert_int_equal(parse_csv(buf, 4096, &c), 0);
	assert_int_equal(c.n, 2);
	assert_true(c.rows[0].malformed);
	assert_string_equal(c.rows[0].user, "mallory");
	assert_string_equal(c.rows[1].user, "bob");
}

static void test_csv_bad_header(void **state)
{
	static const char *const headers[] = {
		"",
		"arn,user\n",
		"user,arn,user_creation_time\n", /* no key columns */
		("user,user,user_creation_time,access_key_1_active,access_key_1_last_rotated,"
		 "access_key_2_active,access_key_2_last_rotated\n"),
		"user,\"arn\n",
	};
	struct collect c;
	(void)state;

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		assert_int_equal(parse_csv(headers[i], 100, &c), -EBADMSG);
}

static char *get_answer(const char *csv, const char *time)
{
	size_t n = strlen(csv);
	char *b64 = malloc(4 * (n / 3 + 2) + 1), *out = NULL;

	assert_non_null(b64);
	/* EVP_EncodeBlock: no line breaks. */
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)csv, (int)n);
	assert_true(asprintf(&out,
			     "<GetCredentialReportResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
			     "<GetCredentialReportResult><Content>%s</Content>"
			     "<ReportFormat>text/csv</ReportFormat><GeneratedTime>%s</GeneratedTime>"
			     "</GetCredentialReportResult><ResponseMetadata><RequestId>x</RequestId>"
			     "</ResponseMetadata></GetCredentialReportResponse>",
			     b64, time) > 0);
	free(b64);
	return out;
}

static void test_get_answer(void **state)
{
	_cleanup_free_ char *ok = get_answer(HEADER ROOT ALICE BOB, "2026-11-26T12:00:00Z");
	_cleanup_free_ char *bad = get_answer("user,arn\n", "2026-11-26T12:00:00Z");
	struct akr_credreport_info info;
	struct akr_error err = { 0 };
	struct collect c = { 0 };
	enum akr_credreport_state st;
	(void)state;

	assert_int_equal(akr_credreport_parse_get(ok, strlen(ok), collect_row, &c, &info, &err), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(info.n_rows, 3);
	assert_int_equal(info.generated_sec, NOW - 3600);
	assert_int_equal(akr_credreport_parse_get(bad, strlen(bad), collect_row, &c, &info, &err),
			 -EBADMSG);
	assert_int_equal(akr_credreport_parse_generate(
				 "<GenerateCredentialReportResponse><GenerateCredentialReportResult>"
				 "<State>INPROGRESS</State></GenerateCredentialReportResult>"
				 "</GenerateCredentialReportResponse>",
				 strlen("<GenerateCredentialReportResponse><GenerateCredentialReportResult>"
					"<State>INPROGRESS</State></GenerateCredentialReportResult>"
					"</GenerateCredentialReportResponse>"),
				 &st, &err),
			 0);
	assert_int_equal(st, AKR_CREDREPORT_INPROGRESS);
	assert_int_equal(akr_credreport_parse_generate(
				 "<GenerateCredentialReportResponse><GenerateCredentialReportResult>"
				 "<State>DONE</State></GenerateCredentialReportResult>"
				 "</GenerateCredentialReportResponse>",
				 strlen("<GenerateCredentialReportResponse><GenerateCredentialReportResult>"
					"<State>DONE</State></GenerateCredentialReportResult>"
					"</GenerateCredentialReportResponse>"),
				 &st, &err),
			 -EBADMSG);
}

/* ---- the rule ---- */

static struct akr_policy_config defaults(void)
{
	struct akr_policy_config pc;

	akr_policy_config_init(&pc);
	return pc;
}

enum { NONE = -1 };
#define K_NONE { false, false, 0 }

static struct akr_credreport_key key(bool active, int64_t age_sec)
{
	return (struct akr_credreport_key){ .present = true, .active = active,
					    .last_rotated_sec = NOW - age_sec };
}

/* Defaults R 80, D 90, X 100, reminders 3 days: the threshold is R (80),
 * and the margin of a day reads from 79 whole days on. */
static void test_rule_table(void **state)
{
	static const struct {
		const char *name;
		bool a1;
		int64_t age1; /* seconds; NONE = no key */
		bool a2;
		int64_t age2;
		enum akr_prefilter_verdict expect;
	} rows[] = {
		{ "no keys", false, NONE, false, NONE, AKR_PREFILTER_NOTHING_DUE },
		{ "active 0", true, 0, false, NONE, AKR_PREFILTER_NOTHING_DUE },
		{ "active 78d 23h", true, 79 * DAY - 3600, false, NONE, AKR_PREFILTER_NOTHING_DUE },
		{ "active 79d (margin)", true, 79 * DAY, false, NONE, AKR_PREFILTER_READ_OLD_KEY },
		{ "active 79d 23h", true, 80 * DAY - 1, false, NONE, AKR_PREFILTER_READ_OLD_KEY },
		{ "active 80d", true, 80 * DAY, false, NONE, AKR_PREFILTER_READ_OLD_KEY },
		{ "active 500d", true, 500 * DAY, false, NONE, AKR_PREFILTER_READ_OLD_KEY },
		/* Two active keys: the newer by R, the older by D - reminders (87). */
		{ "older 85, newer 5", true, 5 * DAY, true, 85 * DAY, AKR_PREFILTER_NOTHING_DUE },
		{ "older 85d23h, newer 5", true, 5 * DAY, true, 86 * DAY - 1,
		  AKR_PREFILTER_NOTHING_DUE },
		{ "older 86 (margin), newer 5", true, 5 * DAY, true, 86 * DAY,
		  AKR_PREFILTER_READ_OLD_KEY },
		{ "older 86 in slot 1", true, 86 * DAY, true, 5 * DAY, AKR_PREFILTER_READ_OLD_KEY },
		{ "older 85, newer 79", true, 79 * DAY, true, 85 * DAY, AKR_PREFILTER_READ_OLD_KEY },
		{ "both 85, same date", true, 85 * DAY, true, 85 * DAY, AKR_PREFILTER_READ_OLD_KEY },
		{ "active 50 + inactive 5", true, 50 * DAY, false, 5 * DAY,
		  AKR_PREFILTER_READ_INACTIVE },
		{ "inactive young", false, DAY, false, NONE, AKR_PREFILTER_READ_INACTIVE },
		{ "active + inactive", true, DAY, false, 2 * DAY, AKR_PREFILTER_READ_INACTIVE },
		{ "two young", true, 10 * DAY, true, 70 * DAY, AKR_PREFILTER_NOTHING_DUE },
		{ "future beyond margin", true, -2 * DAY, false, NONE, AKR_PREFILTER_READ_FUTURE },
		{ "future within margin", true, -3600, false, NONE, AKR_PREFILTER_NOTHING_DUE },
	};
	struct akr_policy_config pc = defaults();
	(void)state;

	assert_int_equal(akr_prefilter_threshold_days(&pc), 80);
	assert_int_equal(akr_prefilter_older_threshold_days(&pc), 87);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct akr_credreport_row row = { .user = "u", .user_creation_sec = NOW - 900 * DAY };

		if (rows[i].age1 != NONE)
			row.keys[0] = key(rows[i].a1, rows[i].age1);
		if (rows[i].age2 != NONE)
			row.keys[1] = key(rows[i].a2, rows[i].age2);
		if (akr_prefilter_decide(&pc, NOW, &row) != rows[i].expect)
			fail_msg("%s: %s, expected %s", rows[i].name,
				 akr_prefilter_verdict_to_string(akr_prefilter_decide(&pc, NOW, &row)),
				 akr_prefilter_verdict_to_string(rows[i].expect));
	}
	/* Other numbers: R 30, D 35, reminders 4 -> threshold 30; reminders 0. */
	pc.rotate_after_days = 30;
	pc.deactivate_after_days = 35;
	pc.delete_after_days = 40;
	pc.reminder_days = 4;
	assert_int_equal(akr_prefilter_threshold_days(&pc), 30);
	assert_int_equal(akr_prefilter_older_threshold_days(&pc), 31);
	pc.reminder_days = 0;
	assert_int_equal(akr_prefilter_older_threshold_days(&pc), 35);
	pc.reminder_days = 4;
	{
		struct akr_credreport_row row = { .user = "u", .keys = { key(true, 29 * DAY - 1) } };

		assert_int_equal(akr_prefilter_decide(&pc, NOW, &row), AKR_PREFILTER_NOTHING_DUE);
		row.keys[0] = key(true, 29 * DAY);
		assert_int_equal(akr_prefilter_decide(&pc, NOW, &row), AKR_PREFILTER_READ_OLD_KEY);
	}
	/* The report's own age. */
	assert_true(akr_prefilter_report_usable(NOW - 4 * 3600, NOW));
	assert_true(akr_prefilter_report_usable(NOW - DAY, NOW));
	assert_false(akr_prefilter_report_usable(NOW - DAY - 1, NOW));
	assert_false(akr_prefilter_report_usable(NOW + DAY + 1, NOW));
	assert_false(akr_prefilter_report_usable(0, NOW));
}

/* The property: whatever the key ages (in hours, 0 to 130 days) and
 * statuses, with or without an address, enforce or not, when the rule says
 * "nothing due" the policy plans nothing but "skip". Ages from the report's
 * last_rotated equal the CreateDate here (the report's date is never before
 * the creation). */
static void test_rule_never_skips_a_due_action(void **state)
{
	static const struct akr_policy_tag mail[] = { { "email", "alice@example.com" } };
	size_t checked = 0, cleared = 0;
	(void)state;

	for (int cfg = 0; cfg < 4; cfg++) {
		struct akr_policy_config pc = defaults();

		pc.enforce = cfg & 1;
		if (cfg & 2) {
			pc.rotate_after_days = 20;
			pc.deactivate_after_days = 30;
			pc.delete_after_days = 31;
			pc.reminder_days = 9;
		}
		for (int n = 0; n <= 2; n++)
			for (int s = 0; s < 4; s++)
				for (int64_t h1 = 0; h1 < 130 * 24; h1 += 7)
					for (int64_t h2 = 0; h2 < (n == 2 ? 130 * 24 : 1); h2 += 11)
						for (int tag = 0; tag < 2; tag++) {
							struct akr_policy_key pk[2] = {
								{ "AKIAAAAAAAAAAAAAAAA1",
								  s & 1 ? AKR_KEY_INACTIVE : AKR_KEY_ACTIVE,
								  NOW - h1 * 3600, 0, false },
								{ "AKIAAAAAAAAAAAAAAAA2",
								  s & 2 ? AKR_KEY_INACTIVE : AKR_KEY_ACTIVE,
								  NOW - h2 * 3600, 0, false },
							};
							struct akr_policy_user u = {
								.tags = tag ? mail : NULL,
								.n_tags = tag ? 1 : 0,
								.keys = pk,
								.n_keys = (size_t)n,
							};
							struct akr_credreport_row row = { .user = "u" };
							struct akr_plan plan;

							for (int k = 0; k < n; k++)
								row.keys[k] = (struct akr_credreport_key){
									true, pk[k].status == AKR_KEY_ACTIVE,
									pk[k].created_sec
								};
							checked++;
							if (akr_prefilter_decide(&pc, NOW, &row) !=
							    AKR_PREFILTER_NOTHING_DUE)
								continue;
							cleared++;
							assert_int_equal(akr_policy_decide(&pc, &u, NOW, &plan), 0);
							for (size_t a = 0; a < plan.n_actions; a++)
								if (plan.actions[a].kind != AKR_ACTION_SKIP)
									fail_msg("cfg %d n %d s %d ages %lldh %lldh: "
										 "ruled out, but the policy plans "
										 "action %d",
										 cfg, n, s, (long long)h1,
										 (long long)h2,
										 (int)plan.actions[a].kind);
						}
	}
	print_message("%zu users checked, %zu ruled out\n", checked, cleared);
	assert_true(cleared > 0 && cleared < checked);
}

static int add_row(struct akr_prefilter_set *set, const struct akr_policy_config *pc,
		   const char *user, int64_t creation, int64_t age, bool active)
{
	struct akr_credreport_row row = { .user = user, .user_creation_sec = creation,
					  .keys = { key(active, age) } };

	return akr_prefilter_set_add(set, pc, NOW, &row, NULL);
}

static void test_set(void **state)
{
	struct akr_policy_config pc = defaults();
	struct akr_prefilter_set set;
	struct akr_credreport_row root = { .user = "<root_account>", .root = true };
	struct akr_credreport_row bad = { .user = "mallory" };
	(void)state;

	akr_prefilter_set_init(&set);
	assert_int_equal(akr_prefilter_set_add(&set, &pc, NOW, &root, NULL), 0);
	assert_int_equal(add_row(&set, &pc, "young", 1000, DAY, true), 0);
	assert_int_equal(add_row(&set, &pc, "old", 1000, 85 * DAY, true), 0);
	assert_int_equal(add_row(&set, &pc, "twice", 1000, DAY, true), 0);
	assert_int_equal(add_row(&set, &pc, "twice", 1000, DAY, true), 0);
	assert_int_equal(add_row(&set, &pc, "mallory", 1000, DAY, true), 0);
	assert_int_equal(akr_prefilter_set_add(&set, &pc, NOW, &bad, "a malformed row"), 0);
	assert_int_equal(add_row(&set, &pc, "remembered", 1000, DAY, true), 0);
	assert_int_equal(akr_prefilter_set_force_read(&set, "remembered"), 0);
	/* Nothing is ruled out before the report is complete. */
	assert_false(akr_prefilter_set_clears(&set, "young", 1000));
	assert_int_equal(akr_prefilter_set_finish(&set), 0);

	assert_true(akr_prefilter_set_clears(&set, "young", 1000));
	assert_false(akr_prefilter_set_clears(&set, "young", 1001)); /* made again */
	assert_false(akr_prefilter_set_clears(&set, "old", 1000));
	assert_false(akr_prefilter_set_clears(&set, "twice", 1000));
	assert_false(akr_prefilter_set_clears(&set, "mallory", 1000)); /* a malformed row too */
	assert_false(akr_prefilter_set_clears(&set, "remembered", 1000));
	assert_false(akr_prefilter_set_clears(&set, "new", 1000)); /* not in the report */
	assert_false(akr_prefilter_set_clears(&set, "<root_account>", 0));
	assert_int_equal(set.n_rows, 8);
	assert_int_equal(set.n_malformed, 1);
	akr_prefilter_set_done(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_valid),
		cmocka_unit_test(test_csv_malformed_rows),
		cmocka_unit_test(test_csv_overlong_line),
		cmocka_unit_test(test_csv_bad_header),
		cmocka_unit_test(test_get_answer),
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_rule_never_skips_a_due_action),
		cmocka_unit_test(test_set),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
