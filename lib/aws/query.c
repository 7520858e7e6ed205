#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/array.h"
#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/aws/query.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"
#include "lib/base/xml.h"

int akr_query_start(struct akr_buf *out, const char *action, const char *version)
{
	int r;

	r = akr_buf_append_str(out, "Action=");
	if (r == 0)
		r = akr_str_append_form_encoded(out, action, strlen(action));
	if (r == 0)
		r = akr_buf_append_str(out, "&Version=");
	if (r == 0)
		r = akr_str_append_form_encoded(out, version, strlen(version));
	return r;
}

int akr_query_add_n(struct akr_buf *out, const char *name, const char *value, size_t len)
{
	int r;

	r = akr_buf_appendf(out, "&%s=", name);
	if (r == 0)
		r = akr_str_append_form_encoded(out, value, len);
	return r;
}

int akr_query_add(struct akr_buf *out, const char *name, const char *value)
{
	return akr_query_add_n(out, name, value, strlen(value));
}

int akr_query_add_int(struct akr_buf *out, const char *name, int64_t value)
{
	return akr_buf_appendf(out, "&%s=%" PRId64, name, value);
}

int akr_query_add_member(struct akr_buf *out, const char *prefix, size_t index, const char *value)
{
	int r;

	r = akr_buf_appendf(out, "&%s.member.%zu=", prefix, index);
	if (r == 0)
		r = akr_str_append_form_encoded(out, value, strlen(value));
	return r;
}

int akr_query_check_root(const struct akr_xml_path *path, const char *action, struct akr_error *err)
{
	const char *name = akr_xml_path_name(path);
	size_t n = strlen(action);

	if (path->depth != 1)
		return 0;
	if (strncmp(name, action, n) != 0 || strcmp(name + n, "Response") != 0)
		return akr_error_malformed(err, "%s answer has root element '%s'", action, name);
	return 0;
}

struct message_id_parse {
	const char *action;
	char *id;
};

static int message_id_start(void *userdata, const struct akr_xml_path *path, struct akr_error *err)
{
	const struct message_id_parse *m = userdata;

	return akr_query_check_root(path, m->action, err);
}

static int message_id_end(void *userdata, const struct akr_xml_path *path, const char *text,
			  size_t len, struct akr_error *err)
{
	struct message_id_parse *m = userdata;
	const char *name = akr_xml_path_name(path);
	const char *parent = path->depth >= 2 ? path->names[path->depth - 2] : "";
	size_t n = strlen(m->action);

	/* <ActionResult><MessageId> under the root. */
	if (path->depth == 3 && strcmp(name, "MessageId") == 0 && strncmp(parent, m->action, n) == 0 &&
	    strcmp(parent + n, "Result") == 0)
		return akr_xml_dup_text(text, len, &m->id, "MessageId", err);
	return 0;
}

int akr_query_parse_message_id(const char *body, size_t len, const char *action,
			       char **ret_message_id, struct akr_error *reterr)
{
	static const struct akr_xml_handler h = { .start = message_id_start, .end = message_id_end };
	struct message_id_parse m = { .action = action };
	int r;

	r = akr_xml_parse(body, len, NULL, &h, &m, reterr);
	if (r >= 0 && (!m.id || !*m.id))
		r = akr_error_malformed(reterr, "%s answer lacks MessageId", action);
	if (r < 0) {
		free(m.id);
		return r;
	}
	*ret_message_id = m.id;
	return 0;
}

struct message_id_call {
	const char *action; /* static: the service module's literal */
	akr_query_message_id_cb cb;
	void *userdata;
};

static void message_id_call_done(void *userdata, int r, const char *body, size_t len,
				 const struct akr_error *err)
{
	struct message_id_call *call = userdata;
	struct akr_error perr;
	char *id = NULL;

	if (r >= 0) {
		akr_error_set(&perr, AKR_ERROR_PARSE, 0, "MalformedResponse",
			      "cannot read the %s answer", call->action);
		r = akr_query_parse_message_id(body, len, call->action, &id, &perr);
		err = r < 0 ? &perr : NULL;
	}
	call->cb(call->userdata, r, id, err);
	free(id);
	free(call);
}

int akr_query_call_for_message_id(const struct akr_aws_client *c, enum akr_service service,
				  const char *action, const struct akr_buf *body,
				  size_t max_answer_bytes, akr_query_message_id_cb cb,
				  void *userdata)
{
	struct akr_aws_call_desc d = {
		.service = service,
		.action = action,
		.path = "/",
		.content_type = AKR_QUERY_CONTENT_TYPE,
		.body = (const uint8_t *)body->data,
		.body_len = body->len,
		.max_response_bytes = max_answer_bytes,
		.idempotent = false,
	};
	struct message_id_call *call;
	int r;

	if (!cb)
		return -EINVAL;
	call = calloc(1, sizeof(*call));
	if (!call)
		return -ENOMEM;
	*call = (struct message_id_call){ .action = action, .cb = cb, .userdata = userdata };
	r = akr_aws_call(c, &d, message_id_call_done, call);
	if (r < 0)
		free(call);
	return r;
}

int akr_query_parse_time(const char *text, const char *field, bool *seen, int64_t *ret,
			 struct akr_error *err)
{
	int64_t t;

	if (*seen)
		return akr_error_malformed(err, "duplicate element '%s'", field);
	if (akr_time_parse_iso8601(text, &t) < 0)
		return akr_error_malformed(err, "'%s' is not an ISO 8601 time: '%.40s'", field,
		                           text);
	*seen = true;
	*ret = t;
	return 0;
}

int akr_query_parse_bool(const char *text, const char *field, bool *ret, struct akr_error *err)
{
	if (strcmp(text, "true") == 0)
		*ret = true;
	else if (strcmp(text, "false") == 0)
		*ret = false;
	else
		return akr_error_malformed(err, "'%s' is not a boolean: '%.20s'", field, text);
	return 0;
}

int akr_query_grow(void **items, size_t *n, size_t size, size_t max, const char *what,
		   struct akr_error *err)
{
	int r;

	if (*n >= max) {
		(void)akr_error_malformed(err, "more than %zu %s in one answer", max, what);
		return -E2BIG;
	}
	r = akr_array_grow(items, NULL, *n, 1, size);
	if (r < 0)
		return r;
	(*n)++;
	return 0;
}
