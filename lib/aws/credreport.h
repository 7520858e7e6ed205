#pragma once
/* The IAM credential report (Query protocol, 2010-05-08): GenerateCredentialReport
 * (asks IAM to make one; IAM reuses a report younger than 4 hours) and
 * GetCredentialReport (the report: base64 CSV inside the XML answer), and a
 * streaming, bounded reader of its CSV that hands every row to a callback and
 * keeps nothing but the current line.
 *
 * The CSV (docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_getting-report.html):
 * a header line naming the columns (user,arn,user_creation_time,...,
 * access_key_1_active,access_key_1_last_rotated,...,access_key_2_active,
 * access_key_2_last_rotated,...), then one line per user and one for
 * "<root_account>". Values are dates (ISO 8601), "true"/"false", or "N/A",
 * "no_information", "not_supported". `access_key_N_last_rotated` is when the
 * key was created or last changed. Columns are found by name in the header,
 * so that a column AWS adds does not break the reader.
 *
 * Every field of a row is validated. A row that fails (wrong number of
 * fields, a value outside its column's set, a line past the length limit,
 * an active key without a date) is handed to the callback as malformed, with
 * the user name when the first field is a valid one: it is never dropped
 * silently. A damaged header fails the whole report. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/aws/client.h"
#include "lib/base/error.h"

/* A line (one user) longer than this is malformed: a real one is ~350 bytes. */
#define AKR_CREDREPORT_LINE_MAX 8192u
/* Rows (users plus the root line) beyond this fail the report (IAM allows
 * 5,000 users per account). */
#define AKR_CREDREPORT_ROWS_MAX 100002u
/* The largest GetCredentialReport answer accepted: about 16,000 users of
 * base64 CSV. Larger fails the report and the account falls back to the full
 * read. */
#define AKR_CREDREPORT_ANSWER_MAX (8u * 1024 * 1024)
#define AKR_CREDREPORT_FIELDS_MAX 64u

enum akr_credreport_state {
	AKR_CREDREPORT_STARTED,
	AKR_CREDREPORT_INPROGRESS,
	AKR_CREDREPORT_COMPLETE,
	_AKR_CREDREPORT_STATE_MAX,
};
const char *akr_credreport_state_to_string(enum akr_credreport_state s);

struct akr_credreport_key {
	bool present;             /* false: "false" with last_rotated "N/A" (no key in the slot) */
	bool active;
	int64_t last_rotated_sec; /* when present: created or last changed */
};

/** One row. Strings are borrowed for the callback only. */
struct akr_credreport_row {
	const char *user; /* NULL in a malformed row whose first field is no user name */
	bool root;        /* the "<root_account>" line */
	int64_t user_creation_sec;
	struct akr_credreport_key keys[2];
};

/** @invalid is NULL for a valid row, else why the row is malformed (then only
 * @row->user may be set). Returns 0 to go on or -errno to stop the parse. */
typedef int (*akr_credreport_row_cb)(void *userdata, const struct akr_credreport_row *row,
				     const char *invalid);

/** The streaming CSV reader. */
struct akr_credreport_csv {
	akr_credreport_row_cb cb;
	void *userdata;
	char line[AKR_CREDREPORT_LINE_MAX + 1];
	size_t len;
	bool overlong; /* the current line passed the limit: it is malformed */
	bool header_done;
	size_t n_columns, n_rows;
	/* Column indexes found in the header, or SIZE_MAX. */
	size_t col_user, col_creation, col_active[2], col_rotated[2];
	uint8_t kind[AKR_CREDREPORT_FIELDS_MAX]; /* what each column holds */
};

void akr_credreport_csv_init(struct akr_credreport_csv *p, akr_credreport_row_cb cb,
			     void *userdata);
/** Feeds @len bytes. Returns 0; -EBADMSG (a bad header, with @err); -E2BIG
 * (too many rows); or the callback's error. */
int akr_credreport_csv_feed(struct akr_credreport_csv *p, const char *data, size_t len,
			    struct akr_error *err);
/** Ends the input (a last line without a newline is a row). Fails with
 * -EBADMSG when there was no header. */
int akr_credreport_csv_finish(struct akr_credreport_csv *p, struct akr_error *err);

/** The GetCredentialReport answer, parsed: the CSV goes row by row to @cb
 * while the XML is read; the rest lands here. */
struct akr_credreport_info {
	int64_t generated_sec;
	size_t n_rows; /* user rows and the root row, malformed ones included */
};

/* Wire format, exposed for tests and fuzzing. */
int akr_credreport_parse_generate(const char *body, size_t len,
				  enum akr_credreport_state *ret_state, struct akr_error *reterr);
/** Fails (-EBADMSG) unless ReportFormat is text/csv, GeneratedTime a date,
 * and Content valid base64 of a CSV with a valid header. */
int akr_credreport_parse_get(const char *body, size_t len, akr_credreport_row_cb cb,
			     void *userdata, struct akr_credreport_info *ret,
			     struct akr_error *reterr);

typedef void (*akr_credreport_generate_cb)(void *userdata, int r, enum akr_credreport_state state,
					   const struct akr_error *err);
/** @info is NULL on failure. */
typedef void (*akr_credreport_get_cb)(void *userdata, int r, const struct akr_credreport_info *info,
				      const struct akr_error *err);

/** Async contract as the akr_iam_* calls: 0 and the callback runs once from
 * the loop, or -errno and it never runs. */
int akr_credreport_generate(const struct akr_aws_client *c, akr_credreport_generate_cb cb,
			    void *userdata);
/** @row_cb runs for every row while the answer is parsed, before @cb. */
int akr_credreport_get(const struct akr_aws_client *c, akr_credreport_row_cb row_cb,
		       akr_credreport_get_cb cb, void *userdata);
