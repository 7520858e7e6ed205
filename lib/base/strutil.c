#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/strutil.h"

static bool is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

int akr_str_append_uri_encoded(struct akr_buf *out, const char *s, size_t len, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	int r;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			r = akr_buf_append(out, &s[i], 1);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			r = akr_buf_append(out, e, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int akr_str_append_form_encoded(struct akr_buf *out, const char *s, size_t len)
{
	size_t start = 0;
	int r;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ' ')
			continue;
		r = akr_str_append_uri_encoded(out, s + start, i - start, false);
		if (r >= 0 && i < len)
			r = akr_buf_append(out, "+", 1);
		if (r < 0)
			return r;
		start = i + 1;
	}
	return 0;
}

void akr_hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
	out[2 * len] = '\0';
}

int akr_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

bool akr_is_account_id(const char *s)
{
	if (!s || strlen(s) != 12)
		return false;
	for (size_t i = 0; i < 12; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool akr_has_control_chars(const char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool is_atext(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~.", c) != NULL;
}

bool akr_is_valid_email(const char *s)
{
	const char *at, *p, *dot = NULL;
	size_t len;

	if (!s)
		return false;
	len = strlen(s);
	if (len < 3 || len > 254)
		return false;
	at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || at - s > 64)
		return false;
	/* Local part: dot-atom, no leading, trailing or double dots. */
	if (s[0] == '.' || at[-1] == '.')
		return false;
	for (p = s; p < at; p++) {
		if (!is_atext((unsigned char)*p) || (*p == '.' && p[1] == '.'))
			return false;
	}
	/* Domain: labels of [A-Za-z0-9-], not starting or ending with '-', at least one dot. */
	p = at + 1;
	if (!*p || *p == '.' || *p == '-')
		return false;
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '.') {
			if (p[1] == '\0' || p[1] == '.' || p[1] == '-' || p[-1] == '-')
				return false;
			dot = p;
		} else if (!isalnum(c) && c != '-') {
			return false;
		}
	}
	return dot != NULL && p[-1] != '-';
}

bool akr_is_arn(const char *s, const char *service)
{
	const char *p = s;
	size_t svc_len;

	if (!s || strncmp(s, "arn:", 4) != 0 || akr_has_control_chars(s) || strlen(s) > 2048)
		return false;
	p = strchr(s + 4, ':'); /* after partition */
	if (!p || p == s + 4)
		return false;
	svc_len = strcspn(p + 1, ":");
	if (svc_len == 0 || p[1 + svc_len] != ':')
		return false;
	if (service && (strlen(service) != svc_len || strncmp(p + 1, service, svc_len) != 0))
		return false;
	p += 1 + svc_len; /* at ':' before region */
	p = strchr(p + 1, ':'); /* before account */
	if (!p)
		return false;
	p = strchr(p + 1, ':'); /* before resource */
	return p && p[1] != '\0';
}

bool akr_is_iam_user_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("+=,.@_-", s[i]))
			return false;
	return true;
}

bool akr_is_access_key_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 16 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

bool akr_is_http_token(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr("!#$%&'*+-.^_`|~", *s)))
			return false;
	return true;
}

bool akr_is_http_header_value(const char *s)
{
	if (!s)
		return false;
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

static size_t escaped_len(unsigned char c)
{
	return c < 0x20 || c == 0x7f ? 4 : 1;
}

const char *akr_str_escape_controls(const char *s, char *buf, size_t size)
{
	size_t o = 0, total = 0;
	bool cut;

	if (size < 5) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	for (const char *p = s; p && *p; p++)
		total += escaped_len((unsigned char)*p);
	cut = total >= size;
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = escaped_len(c);

		/* When it does not all fit: room for this, then "..." and the NUL. */
		if (cut && o + need + 4 > size) {
			/* Never half a UTF-8 character. */
			if ((c & 0xc0) == 0x80) {
				while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
					o--;
				if (o > 0 && (unsigned char)buf[o - 1] >= 0xc0)
					o--;
			}
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 4)
			(void)snprintf(buf + o, 5, "\\x%02x", c);
		else
			buf[o] = (char)c;
		o += need;
	}
	buf[o] = '\0';
	return buf;
}

char *akr_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}
