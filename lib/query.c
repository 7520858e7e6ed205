#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/query.h"
#include "lib/strutil.h"

int akr_query_start(struct akr_buf *out, const char *action, const char *version)
{
	int r;

	r = akr_buf_append_str(out, "Action=");
	if (r == 0)
		r = akr_str_append_uri_encoded(out, action, strlen(action), false);
	if (r == 0)
		r = akr_buf_append_str(out, "&Version=");
	if (r == 0)
		r = akr_str_append_uri_encoded(out, version, strlen(version), false);
	return r;
}

int akr_query_add_n(struct akr_buf *out, const char *name, const char *value, size_t len)
{
	int r;

	r = akr_buf_appendf(out, "&%s=", name);
	if (r == 0)
		r = akr_str_append_uri_encoded(out, value, len, false);
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
		r = akr_str_append_uri_encoded(out, value, strlen(value), false);
	return r;
}
