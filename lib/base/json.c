#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <yajl/yajl_parse.h>

#include "lib/base/buf.h"
#include "lib/base/docread.h"
#include "lib/base/error.h"
#include "lib/base/json.h"
#include "lib/base/secret.h"

#define ITEM_NAME "[]"

static const char *const type_names[_AKR_JSON_TYPE_MAX] = {
	[AKR_JSON_NULL] = "null",     [AKR_JSON_BOOL] = "boolean",  [AKR_JSON_NUMBER] = "number",
	[AKR_JSON_STRING] = "string", [AKR_JSON_OBJECT] = "object", [AKR_JSON_ARRAY] = "array",
};

const char *akr_json_type_to_string(enum akr_json_type t)
{
	return (unsigned)t < _AKR_JSON_TYPE_MAX ? type_names[t] : NULL;
}

struct frame {
	enum akr_json_type type; /* object or array */
	char *key;               /* the current member's key (objects) */
	size_t count;
};

struct json_state {
	yajl_handle yajl;
	const struct akr_json_handler *h;
	void *userdata;
	struct akr_json_limits limits;
	struct frame *frames;
	const char **names;
	size_t depth;
	size_t values;
	struct akr_error err;
	int r;
};

/* yajl 2.1 uses what its allocator returns without a check (yajl_alloc,
 * yajl_buf, the lexer): a failed allocation inside it is a write through
 * NULL. A parse cannot be resumed from there, so the process ends as a
 * crash would, which the state log makes safe (the next start reconciles),
 * with a line that says why. write(2): nothing here may allocate. */
static void *yajl_checked(void *p)
{
	static const char msg[] = "<2>out of memory inside yajl (the JSON reader or writer cannot go on "
				  "after a failed allocation): exiting with status 1; the state "
				  "log is reconciled at the next start\n";

	if (p)
		return p;
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void *checked_malloc(void *ctx, size_t size)
{
	(void)ctx;
	return yajl_checked(malloc(size ? size : 1));
}

static void *checked_realloc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	return yajl_checked(realloc(p, size ? size : 1));
}

static void checked_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* yajl's buffers hold decoded strings: in sensitive mode, wipe them on release. */
static void wipe_free(void *ctx, void *p)
{
	(void)ctx;
	akr_wipe_free(p);
}

static void *wipe_realloc(void *ctx, void *p, size_t size)
{
	(void)ctx;
	return yajl_checked(akr_wipe_realloc(p, size ? size : 1));
}

static const yajl_alloc_funcs plain_funcs = {
	.malloc = checked_malloc,
	.realloc = checked_realloc,
	.free = checked_free,
};

yajl_gen akr_json_gen_new(void)
{
	return yajl_gen_alloc((yajl_alloc_funcs *)&plain_funcs);
}

static int fail(struct json_state *s, int r)
{
	if (s->r == 0)
		s->r = r;
	return 0; /* tells yajl to stop */
}

static struct akr_json_path cur_path(const struct json_state *s)
{
	return (struct akr_json_path){ .names = s->names, .depth = s->depth };
}

/* Accounts for one more value at the current position: counts it in the
 * enclosing array, and in the document. False when the parse is to stop:
 * it failed before, or a limit is passed now (then failed here). */
static bool count_value(struct json_state *s)
{
	if (s->r)
		return false;
	if (++s->values > s->limits.max_values) {
		(void)akr_error_malformed(&s->err, "JSON has more than %zu values",
		                          s->limits.max_values);
		(void)fail(s, -E2BIG);
		return false;
	}
	if (s->depth > 0 && s->frames[s->depth - 1].type == AKR_JSON_ARRAY &&
	    ++s->frames[s->depth - 1].count > s->limits.max_items) {
		(void)akr_error_malformed(&s->err, "JSON array has more than %zu items",
		                          s->limits.max_items);
		(void)fail(s, -E2BIG);
		return false;
	}
	return true;
}

static int scalar(struct json_state *s, enum akr_json_type type, const char *text, size_t len)
{
	struct akr_json_path path;
	int r;

	if (!count_value(s))
		return 0;
	if (!s->h->value)
		return 1;
	path = cur_path(s);
	r = s->h->value(s->userdata, &path, type, text, len, &s->err);
	return r < 0 ? fail(s, r) : 1;
}

static int on_null(void *ctx)
{
	return scalar(ctx, AKR_JSON_NULL, "null", 4);
}

static int on_boolean(void *ctx, int v)
{
	return scalar(ctx, AKR_JSON_BOOL, v ? "true" : "false", v ? 4 : 5);
}

static int on_number(void *ctx, const char *text, size_t len)
{
	struct json_state *s = ctx;
	char buf[128];

	/* yajl's literal is not NUL-terminated; a sane number is short. */
	if (len >= sizeof(buf)) {
		(void)akr_error_malformed(&s->err, "JSON number longer than %zu characters",
		                          sizeof(buf) - 1);
		return fail(s, -E2BIG);
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	return scalar(s, AKR_JSON_NUMBER, buf, len);
}

static int on_string(void *ctx, const unsigned char *text, size_t len)
{
	struct json_state *s = ctx;
	char *copy;
	int r;

	if (s->r)
		return 0;
	if (len > s->limits.max_string) {
		(void)akr_error_malformed(&s->err, "JSON string longer than %zu bytes",
		                          s->limits.max_string);
		return fail(s, -E2BIG);
	}
	copy = malloc(len + 1);
	if (!copy)
		return fail(s, -ENOMEM);
	memcpy(copy, text, len);
	copy[len] = '\0';
	r = scalar(s, AKR_JSON_STRING, copy, len);
	if (s->limits.sensitive)
		OPENSSL_cleanse(copy, len);
	free(copy);
	return r;
}

static int open_container(struct json_state *s, enum akr_json_type type)
{
	struct akr_json_path path;
	int r;

	if (!count_value(s))
		return 0;
	if (s->depth >= s->limits.max_depth) {
		(void)akr_error_malformed(&s->err, "JSON nested deeper than %zu levels",
		                          s->limits.max_depth);
		return fail(s, -E2BIG);
	}
	if (s->h->start) {
		path = cur_path(s);
		r = s->h->start(s->userdata, &path, type, &s->err);
		if (r < 0)
			return fail(s, r);
	}
	s->frames[s->depth] = (struct frame){ .type = type };
	s->names[s->depth] = type == AKR_JSON_ARRAY ? ITEM_NAME : "";
	s->depth++;
	return 1;
}

static int close_container(struct json_state *s, enum akr_json_type type)
{
	struct akr_json_path path;
	int r;

	if (s->r || s->depth == 0)
		return 0;
	s->depth--;
	free(s->frames[s->depth].key);
	s->frames[s->depth].key = NULL;
	if (s->h->end) {
		path = cur_path(s);
		r = s->h->end(s->userdata, &path, type, &s->err);
		if (r < 0)
			return fail(s, r);
	}
	return 1;
}

static int on_start_map(void *ctx)
{
	return open_container(ctx, AKR_JSON_OBJECT);
}

static int on_end_map(void *ctx)
{
	return close_container(ctx, AKR_JSON_OBJECT);
}

static int on_start_array(void *ctx)
{
	return open_container(ctx, AKR_JSON_ARRAY);
}

static int on_end_array(void *ctx)
{
	return close_container(ctx, AKR_JSON_ARRAY);
}

static int on_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct json_state *s = ctx;
	struct frame *f;

	if (s->r || s->depth == 0)
		return 0;
	f = &s->frames[s->depth - 1];
	if (len > s->limits.max_string) {
		(void)akr_error_malformed(&s->err, "JSON key longer than %zu bytes",
		                          s->limits.max_string);
		return fail(s, -E2BIG);
	}
	if (++f->count > s->limits.max_items) {
		(void)akr_error_malformed(&s->err, "JSON object has more than %zu members",
		                          s->limits.max_items);
		return fail(s, -E2BIG);
	}
	free(f->key);
	f->key = strndup((const char *)key, len);
	if (!f->key)
		return fail(s, -ENOMEM);
	s->names[s->depth - 1] = f->key;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_map_key,
	.yajl_end_map = on_end_map,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end_array,
};

static void add_position(struct json_state *s, const char *data, size_t off)
{
	unsigned long line = 1, col = 1;

	for (size_t i = 0; i < off; i++) {
		if (data[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	akr_docread_add_position(&s->err, line, col);
}

int akr_json_parse(const char *data, size_t len, const struct akr_json_limits *limits,
		   const struct akr_json_handler *h, void *userdata, struct akr_error *reterr)
{
	static const yajl_alloc_funcs wipe_funcs = {
		.malloc = checked_malloc,
		.realloc = wipe_realloc,
		.free = wipe_free,
	};
	struct json_state s = { .h = h, .userdata = userdata };
	yajl_status st;
	size_t off;
	int r = 0;

	if (limits)
		s.limits = *limits;
	s.limits.max_depth = akr_docread_limit(s.limits.max_depth, AKR_JSON_MAX_DEPTH_DEFAULT);
	s.limits.max_string = akr_docread_limit(s.limits.max_string, AKR_JSON_MAX_STRING_DEFAULT);
	s.limits.max_items = akr_docread_limit(s.limits.max_items, AKR_JSON_MAX_ITEMS_DEFAULT);
	s.limits.max_values = akr_docread_limit(s.limits.max_values, AKR_JSON_MAX_VALUES_DEFAULT);
	if (!data && len)
		return -EINVAL;

	s.frames = calloc(s.limits.max_depth, sizeof(*s.frames));
	s.names = calloc(s.limits.max_depth, sizeof(*s.names));
	s.yajl =
	    yajl_alloc(&callbacks,
		       (yajl_alloc_funcs *)(s.limits.sensitive ? &wipe_funcs : &plain_funcs), &s);
	if (!s.frames || !s.names || !s.yajl) {
		r = -ENOMEM;
		goto finish;
	}

	st = yajl_parse(s.yajl, (const unsigned char *)(data ? data : ""), len);
	off = yajl_get_bytes_consumed(s.yajl);
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(s.yajl);
		off = len;
	}
	if (st != yajl_status_ok) {
		if (s.r == 0) {
			unsigned char *msg = yajl_get_error(s.yajl, 0, NULL, 0);

			s.r = -EBADMSG;
			(void)akr_error_malformed(&s.err, "malformed JSON: %s",
			                          msg ? (const char *)msg : "parse error");
			/* yajl's messages end in a newline. */
			s.err.message[strcspn(s.err.message, "\n")] = '\0';
			if (msg)
				yajl_free_error(s.yajl, msg);
		} else if (s.err.kind == AKR_ERROR_NONE && s.r != -ENOMEM) {
			(void)akr_error_malformed(&s.err, "unexpected JSON content");
		}
		if (s.err.kind != AKR_ERROR_NONE)
			add_position(&s, data ? data : "", off < len ? off : len);
		r = s.r;
	}

finish:
	if (s.yajl)
		yajl_free(s.yajl);
	if (s.frames)
		for (size_t i = 0; i < s.limits.max_depth; i++)
			free(s.frames[i].key);
	free(s.frames);
	free(s.names);
	if (r < 0 && reterr)
		*reterr = s.err;
	return r;
}

bool akr_json_path_is(const struct akr_json_path *path, const char *pattern)
{
	return akr_docread_path_is(path->names, path->depth, pattern);
}

int akr_json_dup_string(enum akr_json_type type, const char *text, size_t len, char **dst,
			const char *field, struct akr_error *err)
{
	char *s;

	if (type != AKR_JSON_STRING)
		return akr_error_malformed(err, "'%s' is a JSON %s, expected a string", field,
		                           akr_json_type_to_string(type));
	if (*dst)
		return akr_error_malformed(err, "duplicate key '%s'", field);
	if (memchr(text, '\0', len))
		return akr_error_malformed(err, "'%s' contains a NUL character", field);
	s = strndup(text, len);
	if (!s)
		return -ENOMEM;
	*dst = s;
	return 0;
}

int akr_json_append_string(struct akr_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t start = 0;
	int r;

	r = akr_buf_append(out, "\"", 1);
	for (size_t i = 0; r == 0 && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7];
		size_t n = 0;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			n = 6;
		} else {
			continue;
		}
		r = akr_buf_append(out, s + start, i - start);
		if (r == 0)
			r = akr_buf_append(out, esc, n);
		start = i + 1;
	}
	if (r == 0)
		r = akr_buf_append(out, s + start, len - start);
	if (r == 0)
		r = akr_buf_append(out, "\"", 1);
	return r;
}
