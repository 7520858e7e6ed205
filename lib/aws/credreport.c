/* The IAM credential report: the two calls and the streaming CSV reader. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/aws/credreport.h"
#include "lib/aws/query.h"
#include "lib/base/buf.h"
#include "lib/base/macro.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"
#include "lib/base/xml.h"

#define IAM_VERSION "2010-05-08"
#define BODY_MAX 256u
#define GENERATE_ANSWER_MAX (64u * 1024)
#define FIELD_MAX 2048u

static const char *const state_names[_AKR_CREDREPORT_STATE_MAX] = {
	[AKR_CREDREPORT_STARTED] = "STARTED",
	[AKR_CREDREPORT_INPROGRESS] = "INPROGRESS",
	[AKR_CREDREPORT_COMPLETE] = "COMPLETE",
};

const char *akr_credreport_state_to_string(enum akr_credreport_state s)
{
	return (unsigned)s < _AKR_CREDREPORT_STATE_MAX ? state_names[s] : NULL;
}

/* ---- the CSV ---- */

enum column_kind {
	COL_TEXT,  /* a column we do not know: printable ASCII */
	COL_USER,  /* an IAM user name or <root_account> */
	COL_ARN,   /* arn:... */
	COL_DATE,  /* ISO 8601, or N/A, no_information, not_supported */
	COL_BOOL,  /* true, false (or not_supported: the root's password) */
	COL_WORD,  /* a region or a service name, or N/A */
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static enum column_kind column_kind(const char *name)
{
	if (strcmp(name, "user") == 0)
		return COL_USER;
	if (strcmp(name, "arn") == 0)
		return COL_ARN;
	if (ends_with(name, "_active") || ends_with(name, "_enabled"))
		return COL_BOOL;
	if (ends_with(name, "_region") || ends_with(name, "_service"))
		return COL_WORD;
	if (ends_with(name, "_time") || ends_with(name, "_last_used") ||
	    ends_with(name, "_last_changed") || ends_with(name, "_next_rotation") ||
	    ends_with(name, "_last_rotated") || ends_with(name, "_date"))
		return COL_DATE;
	return COL_TEXT;
}

void akr_credreport_csv_init(struct akr_credreport_csv *p, akr_credreport_row_cb cb, void *userdata)
{
	*p = (struct akr_credreport_csv){ .cb = cb, .userdata = userdata };
	p->col_user = p->col_creation = SIZE_MAX;
	p->col_active[0] = p->col_active[1] = p->col_rotated[0] = p->col_rotated[1] = SIZE_MAX;
}

/* Splits @line in place into at most AKR_CREDREPORT_FIELDS_MAX fields,
 * RFC 4180 style (a field may be quoted, "" is a quote inside one). Returns
 * the number of fields, or -EBADMSG with *@why. */
static int split_line(char *line, char **fields, const char **why)
{
	size_t n = 0;
	char *r = line, *w = line;

	for (;;) {
		if (n == AKR_CREDREPORT_FIELDS_MAX) {
			*why = "too many fields";
			return -EBADMSG;
		}
		fields[n++] = w;
		if (*r == '"') {
			r++;
			for (;;) {
				if (*r == '\0') {
					*why = "an unterminated quoted field";
					return -EBADMSG;
				}
				if (*r == '"') {
					if (r[1] != '"')
						break;
					r++;
				}
				*w++ = *r++;
			}
			r++; /* the closing quote */
			if (*r != ',' && *r != '\0') {
				*why = "text after a quoted field";
				return -EBADMSG;
			}
		} else {
			while (*r != ',' && *r != '\0') {
				if (*r == '"') {
					*why = "a quote inside an unquoted field";
					return -EBADMSG;
				}
				*w++ = *r++;
			}
		}
		if (*r == '\0') {
			*w = '\0';
			return (int)n;
		}
		*w++ = '\0';
		r++;
	}
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool is_word(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
			return false;
	return true;
}

static bool is_placeholder(const char *s)
{
	return strcmp(s, "N/A") == 0 || strcmp(s, "no_information") == 0 ||
	       strcmp(s, "not_supported") == 0;
}

static bool field_valid(enum column_kind kind, const char *v)
{
	int64_t t;

	if (strlen(v) > FIELD_MAX || !printable(v))
		return false;
	switch (kind) {
	case COL_TEXT:
		return true;
	case COL_USER:
		return strcmp(v, "<root_account>") == 0 || akr_is_iam_user_name(v);
	case COL_ARN:
		return strncmp(v, "arn:", 4) == 0 && strlen(v) <= 2048;
	case COL_DATE:
		return is_placeholder(v) || akr_time_parse_iso8601(v, &t) == 0;
	case COL_BOOL:
		return strcmp(v, "true") == 0 || strcmp(v, "false") == 0 ||
		       strcmp(v, "not_supported") == 0;
	case COL_WORD:
		return strcmp(v, "N/A") == 0 || is_word(v);
	}
	return false;
}

static int header(struct akr_credreport_csv *p, char **f, size_t n, struct akr_error *err)
{
	static const char *const key_cols[2][2] = {
		{ "access_key_1_active", "access_key_1_last_rotated" },
		{ "access_key_2_active", "access_key_2_last_rotated" },
	};

	if (n < 2 || strcmp(f[0], "user") != 0)
		return akr_error_malformed(err, "credential report: the header does not start "
						"with the column 'user'");
	for (size_t i = 0; i < n; i++) {
		if (!*f[i] || !printable(f[i]))
			return akr_error_malformed(err, "credential report: column %zu of the "
							"header has no valid name", i + 1);
		for (size_t j = 0; j < i; j++)
			if (strcmp(f[i], f[j]) == 0)
				return akr_error_malformed(err, "credential report: the header "
								"names column '%.64s' twice", f[i]);
		p->kind[i] = (uint8_t)column_kind(f[i]);
		if (strcmp(f[i], "user") == 0)
			p->col_user = i;
		else if (strcmp(f[i], "user_creation_time") == 0)
			p->col_creation = i;
		for (size_t k = 0; k < 2; k++) {
			if (strcmp(f[i], key_cols[k][0]) == 0)
				p->col_active[k] = i;
			else if (strcmp(f[i], key_cols[k][1]) == 0)
				p->col_rotated[k] = i;
		}
	}
	if (p->col_creation == SIZE_MAX || p->col_active[0] == SIZE_MAX ||
	    p->col_active[1] == SIZE_MAX || p->col_rotated[0] == SIZE_MAX ||
	    p->col_rotated[1] == SIZE_MAX)
		return akr_error_malformed(err, "credential report: the header lacks "
						"user_creation_time or an access_key_N_active/"
						"access_key_N_last_rotated column");
	p->n_columns = n;
	p->header_done = true;
	return 0;
}

static int malformed(struct akr_credreport_csv *p, const char *user, const char *why)
{
	struct akr_credreport_row row = { .user = user && akr_is_iam_user_name(user) ? user : NULL };

	return p->cb(p->userdata, &row, why);
}

static int row_key(const struct akr_credreport_csv *p, char **f, size_t k,
		   struct akr_credreport_key *key, const char **why)
{
	const char *active = f[p->col_active[k]], *rotated = f[p->col_rotated[k]];
	bool has_date = akr_time_parse_iso8601(rotated, &key->last_rotated_sec) == 0;

	if (strcmp(active, "true") != 0 && strcmp(active, "false") != 0) {
		*why = "an access_key_N_active value that is neither true nor false";
		return -EBADMSG;
	}
	key->active = strcmp(active, "true") == 0;
	if (!has_date && strcmp(rotated, "N/A") != 0) {
		*why = "an access_key_N_last_rotated value that is neither a date nor N/A";
		return -EBADMSG;
	}
	if (key->active && !has_date) {
		*why = "an active key without access_key_N_last_rotated";
		return -EBADMSG;
	}
	key->present = has_date;
	if (!has_date)
		key->last_rotated_sec = 0;
	return 0;
}

static int row(struct akr_credreport_csv *p, char *line, struct akr_error *err)
{
	char *f[AKR_CREDREPORT_FIELDS_MAX];
	struct akr_credreport_row rw = { 0 };
	const char *why = NULL;
	int n = split_line(line, f, &why);

	if (!p->header_done)
		return n < 0 ? akr_error_malformed(err, "credential report: the header has %s", why)
			     : header(p, f, (size_t)n, err);
	if (++p->n_rows > AKR_CREDREPORT_ROWS_MAX) {
		akr_error_set(err, AKR_ERROR_PARSE, 0, "MalformedResponse",
			      "credential report: more than %u rows", AKR_CREDREPORT_ROWS_MAX);
		return -E2BIG;
	}
	if (n < 0)
		return malformed(p, NULL, why);
	if ((size_t)n != p->n_columns)
		return malformed(p, f[0], "a row whose number of fields differs from the header's");
	for (size_t i = 0; i < (size_t)n; i++)
		if (!field_valid((enum column_kind)p->kind[i], f[i]))
			return malformed(p, f[0], "a field outside its column's values");
	rw.user = f[p->col_user];
	rw.root = strcmp(rw.user, "<root_account>") == 0;
	if (akr_time_parse_iso8601(f[p->col_creation], &rw.user_creation_sec) < 0)
		return malformed(p, f[0], "user_creation_time is not a date");
	for (size_t k = 0; k < 2; k++)
		if (row_key(p, f, k, &rw.keys[k], &why) < 0)
			return malformed(p, rw.root ? NULL : f[0], why);
	return p->cb(p->userdata, &rw, NULL);
}

static int end_line(struct akr_credreport_csv *p, struct akr_error *err)
{
	int r;

	if (p->len > 0 && p->line[p->len - 1] == '\r')
		p->len--;
	p->line[p->len] = '\0';
	if (p->overlong) {
		char *comma = strchr(p->line, ',');

		if (comma)
			*comma = '\0';
		r = p->header_done ? malformed(p, p->line, "a line longer than the limit")
				   : akr_error_malformed(err, "credential report: the header is "
							      "longer than %u bytes",
							 AKR_CREDREPORT_LINE_MAX);
		if (r >= 0 && ++p->n_rows > AKR_CREDREPORT_ROWS_MAX)
			r = -E2BIG;
	} else if (p->len == 0 && p->header_done) {
		r = 0; /* an empty line (the end of the file) */
	} else if (memchr(p->line, '\0', p->len)) {
		r = p->header_done ? malformed(p, NULL, "a NUL byte")
				   : akr_error_malformed(err, "credential report: a NUL byte in "
							      "the header");
	} else {
		r = row(p, p->line, err);
	}
	p->len = 0;
	p->overlong = false;
	return r;
}

int akr_credreport_csv_feed(struct akr_credreport_csv *p, const char *data, size_t len,
			    struct akr_error *err)
{
	for (size_t i = 0; i < len; i++) {
		int r;

		if (data[i] != '\n') {
			if (p->len < AKR_CREDREPORT_LINE_MAX)
				p->line[p->len++] = data[i];
			else
				p->overlong = true;
			continue;
		}
		r = end_line(p, err);
		if (r < 0)
			return r;
	}
	return 0;
}

int akr_credreport_csv_finish(struct akr_credreport_csv *p, struct akr_error *err)
{
	if (p->len > 0 || p->overlong) {
		int r = end_line(p, err);
		if (r < 0)
			return r;
	}
	if (!p->header_done)
		return akr_error_malformed(err, "credential report: no header");
	return 0;
}

/* ---- the XML answers ---- */

struct generate_parse {
	bool seen_state;
	enum akr_credreport_state state;
};

static int generate_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	(void)userdata;
	return akr_query_check_root(path, "GenerateCredentialReport", err);
}

static int generate_end(void *userdata, const struct akr_xml_path *path, const char *text,
			size_t len, struct akr_error *err)
{
	struct generate_parse *p = userdata;

	(void)len;
	if (!akr_xml_path_is(path, "*/GenerateCredentialReportResult/State"))
		return 0;
	if (p->seen_state)
		return akr_error_malformed(err, "GenerateCredentialReport answer: State twice");
	p->seen_state = true;
	for (size_t i = 0; i < _AKR_CREDREPORT_STATE_MAX; i++)
		if (strcmp(text, state_names[i]) == 0) {
			p->state = (enum akr_credreport_state)i;
			return 0;
		}
	return akr_error_malformed(err, "GenerateCredentialReport answer: unknown State '%.32s'",
				   text);
}

int akr_credreport_parse_generate(const char *body, size_t len,
				  enum akr_credreport_state *ret_state, struct akr_error *reterr)
{
	struct generate_parse p = { 0 };
	struct akr_xml_handler h = { .start = generate_start, .end = generate_end };
	int r = akr_xml_parse(body, len, NULL, &h, &p, reterr);

	if (r < 0)
		return r;
	if (!p.seen_state)
		return akr_error_malformed(reterr, "GenerateCredentialReport answer lacks State");
	*ret_state = p.state;
	return 0;
}

struct get_parse {
	struct akr_credreport_csv csv;
	bool seen_content, seen_time, seen_format;
	int64_t generated_sec;
};

static int get_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	(void)userdata;
	return akr_query_check_root(path, "GetCredentialReport", err);
}

/* Decodes @text (base64, any line breaks) piece by piece into the CSV reader:
 * the CSV is never held whole. */
static int decode_content(struct get_parse *p, const char *text, size_t len, struct akr_error *err)
{
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	unsigned char out[3 * 1024 + 64];
	int r = 0, n;

	if (!ctx)
		return -ENOMEM;
	EVP_DecodeInit(ctx);
	for (size_t off = 0; off < len && r >= 0;) {
		size_t chunk = len - off < 3 * 1024 ? len - off : 3 * 1024;

		n = 0;
		if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)text + off, (int)chunk) < 0)
			r = akr_error_malformed(err, "GetCredentialReport answer: Content is not "
						     "base64");
		else
			r = akr_credreport_csv_feed(&p->csv, (const char *)out, (size_t)n, err);
		off += chunk;
	}
	if (r >= 0) {
		n = 0;
		if (EVP_DecodeFinal(ctx, out, &n) < 0)
			r = akr_error_malformed(err, "GetCredentialReport answer: Content is not "
						     "base64");
		else
			r = akr_credreport_csv_feed(&p->csv, (const char *)out, (size_t)n, err);
	}
	if (r >= 0)
		r = akr_credreport_csv_finish(&p->csv, err);
	EVP_ENCODE_CTX_free(ctx);
	return r;
}

static int get_end(void *userdata, const struct akr_xml_path *path, const char *text, size_t len,
		   struct akr_error *err)
{
	struct get_parse *p = userdata;

	if (akr_xml_path_is(path, "*/GetCredentialReportResult/Content")) {
		if (p->seen_content)
			return akr_error_malformed(err, "GetCredentialReport answer: Content twice");
		p->seen_content = true;
		return decode_content(p, text, len, err);
	}
	if (akr_xml_path_is(path, "*/GetCredentialReportResult/GeneratedTime"))
		return akr_query_parse_time(text, "GeneratedTime", &p->seen_time, &p->generated_sec,
					    err);
	if (akr_xml_path_is(path, "*/GetCredentialReportResult/ReportFormat")) {
		if (p->seen_format)
			return akr_error_malformed(err, "GetCredentialReport answer: ReportFormat "
							"twice");
		p->seen_format = true;
		if (strcmp(text, "text/csv") != 0)
			return akr_error_malformed(err, "GetCredentialReport answer: ReportFormat "
							"'%.32s' is not text/csv", text);
	}
	return 0;
}

int akr_credreport_parse_get(const char *body, size_t len, akr_credreport_row_cb cb,
			     void *userdata, struct akr_credreport_info *ret,
			     struct akr_error *reterr)
{
	/* The reader's line buffer is 8 KiB: on the heap. */
	_cleanup_free_ struct get_parse *p = calloc(1, sizeof(*p));
	struct akr_xml_limits lim = { .max_text = AKR_CREDREPORT_ANSWER_MAX };
	struct akr_xml_handler h = { .start = get_start, .end = get_end };
	int r;

	if (!p)
		return -ENOMEM;
	akr_credreport_csv_init(&p->csv, cb, userdata);
	r = akr_xml_parse(body, len, &lim, &h, p, reterr);
	if (r < 0)
		return r;
	if (!p->seen_content || !p->seen_time)
		return akr_error_malformed(reterr, "GetCredentialReport answer lacks Content or "
						   "GeneratedTime");
	*ret = (struct akr_credreport_info){ .generated_sec = p->generated_sec,
					     .n_rows = p->csv.n_rows };
	return 0;
}

/* ---- the calls ---- */

struct credreport_call {
	bool get;
	akr_credreport_generate_cb generate_cb;
	akr_credreport_row_cb row_cb;
	akr_credreport_get_cb get_cb;
	void *userdata;
};

static void call_done(void *userdata, int r, const char *body, size_t len,
		      const struct akr_error *err)
{
	struct credreport_call *call = userdata;
	enum akr_credreport_state state = AKR_CREDREPORT_STARTED;
	struct akr_credreport_info info = { 0 };
	struct akr_error perr = { 0 };

	if (r >= 0) {
		akr_error_set(&perr, AKR_ERROR_PARSE, 0, "MalformedResponse",
			      "cannot read the %s answer",
			      call->get ? "GetCredentialReport" : "GenerateCredentialReport");
		r = call->get ? akr_credreport_parse_get(body, len, call->row_cb, call->userdata,
							 &info, &perr)
			      : akr_credreport_parse_generate(body, len, &state, &perr);
		err = r < 0 ? &perr : NULL;
	}
	if (call->get)
		call->get_cb(call->userdata, r, r >= 0 ? &info : NULL, err);
	else
		call->generate_cb(call->userdata, r, state, err);
	free(call);
}

static int send_call(const struct akr_aws_client *c, struct credreport_call *call,
		     const char *action, size_t max_answer)
{
	_cleanup_buf_ struct akr_buf body = { 0 };
	struct akr_aws_call_desc d;
	int r;

	akr_buf_init(&body, BODY_MAX, false);
	r = akr_query_start(&body, action, IAM_VERSION);
	if (r < 0) {
		free(call);
		return r;
	}
	d = (struct akr_aws_call_desc){
		.service = AKR_SERVICE_IAM,
		.action = action,
		.path = "/",
		.content_type = AKR_QUERY_CONTENT_TYPE,
		.body = (const uint8_t *)body.data,
		.body_len = body.len,
		.max_response_bytes = max_answer,
		.idempotent = true,
	};
	r = akr_aws_call(c, &d, call_done, call);
	if (r < 0)
		free(call);
	return r;
}

int akr_credreport_generate(const struct akr_aws_client *c, akr_credreport_generate_cb cb,
			    void *userdata)
{
	struct credreport_call *call;

	if (!cb)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->generate_cb = cb;
	call->userdata = userdata;
	return send_call(c, call, "GenerateCredentialReport", GENERATE_ANSWER_MAX);
}

int akr_credreport_get(const struct akr_aws_client *c, akr_credreport_row_cb row_cb,
		       akr_credreport_get_cb cb, void *userdata)
{
	struct credreport_call *call;

	if (!cb || !row_cb)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	call->get = true;
	call->row_cb = row_cb;
	call->get_cb = cb;
	call->userdata = userdata;
	/* The base64 of the CSV plus the XML around it. */
	return send_call(c, call, "GetCredentialReport", AKR_CREDREPORT_ANSWER_MAX + 64u * 1024);
}
