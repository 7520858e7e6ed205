#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/delivery/mime.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"

#define MAX_SUBJECT_BYTES 900
/* Keeps ' filename="..."' within a 78-character line. */
#define MAX_FILENAME_LEN 60
/* RFC 2045 §6.7 and §6.8: encoded lines are at most 76 characters. */
#define QP_LINE_MAX 76
#define B64_LINE_INPUT 57 /* 57 bytes -> 76 base64 characters */
/* RFC 2047 §2: an encoded-word is at most 75 characters. 39 bytes give 52
 * base64 characters, a 64-character word, so "Subject: " + word fits 78. */
#define EW_CHUNK_BYTES 39

static const char *const wday_names[7] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

const char *akr_mime_format_date(int64_t sec, char *buf, size_t size)
{
	int64_t days = sec / AKR_SEC_PER_DAY, rem = sec % AKR_SEC_PER_DAY, y;
	unsigned m, d;

	if (rem < 0) {
		rem += AKR_SEC_PER_DAY;
		days--;
	}
	akr_civil_from_days(days, &y, &m, &d);
	/* 1970-01-01 was a Thursday. */
	(void)snprintf(buf, size, "%s, %02u %s %04lld %02u:%02u:%02u +0000",
		       wday_names[((days % 7) + 7) % 7], d, month_names[m - 1], (long long)y,
		       (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
	return buf;
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

int akr_mime_check_header_text(const char *what, const char *value, struct akr_error *reterr)
{
	if (!value) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidHeader", "%s is missing", what);
		return -EINVAL;
	}
	if (akr_has_control_chars(value)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "HeaderInjection",
			      "%s contains CR, LF or another control character, refusing it", what);
		return -EINVAL;
	}
	if (!utf8_valid((const uint8_t *)value, strlen(value))) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidHeader", "%s is not valid UTF-8",
			      what);
		return -EINVAL;
	}
	/* akr_has_control_chars() covers the C0 set and DEL; C1 controls
	 * (U+0080-U+009F) are refused too: some clients treat U+0085 as a line break. */
	for (const uint8_t *p = (const uint8_t *)value; *p; p++) {
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "HeaderInjection",
				      "%s contains a control character, refusing it", what);
			return -EINVAL;
		}
	}
	return 0;
}

int akr_mime_check_address(const char *what, const char *value, struct akr_error *reterr)
{
	if (!value || akr_has_control_chars(value)) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, value ? "HeaderInjection" : "InvalidAddress",
			      "%s %s", what,
			      value ? "contains CR, LF or another control character, refusing it"
				    : "is missing");
		return -EINVAL;
	}
	if (!akr_is_valid_email(value)) {
		/* The value is shown only when it is plain printable ASCII. */
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidAddress",
			      "%s '%.200s' is not a valid email address", what,
			      is_ascii(value) ? value : "(non-ASCII)");
		return -EINVAL;
	}
	return 0;
}

static bool is_token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '+' || c == '-';
}

static int check_attachment(const struct akr_mime_attachment *a, struct akr_error *reterr)
{
	size_t n = a->filename ? strlen(a->filename) : 0;
	const char *ct = a->content_type, *slash;

	if (n == 0 || n > MAX_FILENAME_LEN || a->filename[0] == '.')
		goto bad_name;
	for (size_t i = 0; i < n; i++) {
		char c = a->filename[i];
		if (!is_token_char(c) && c != '_')
			goto bad_name;
		if (c == '+')
			goto bad_name;
	}
	if (ct) {
		slash = strchr(ct, '/');
		if (!slash || slash == ct || !slash[1] || strchr(slash + 1, '/'))
			goto bad_type;
		for (const char *p = ct; *p; p++)
			if (*p != '/' && !is_token_char(*p))
				goto bad_type;
	}
	if (!a->data && a->len) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidAttachment",
			      "attachment has no data");
		return -EINVAL;
	}
	return 0;

bad_name:
	akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidAttachment",
		      "attachment file name must be 1-%d of [A-Za-z0-9._-]", MAX_FILENAME_LEN);
	return -EINVAL;
bad_type:
	akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidAttachment",
		      "attachment content type is not of the form type/subtype");
	return -EINVAL;
}

static int random_hex(char *out, size_t n_bytes)
{
	uint8_t raw[32];

	if (n_bytes > sizeof(raw) || RAND_bytes(raw, (int)n_bytes) != 1)
		return -EIO;
	akr_hex_encode(raw, n_bytes, out);
	return 0;
}

/* Appends @len bytes as base64, in lines of at most 76 characters, each ended
 * by CRLF. Works in 57-byte pieces, so nothing is held but the output. */
static int append_base64_lines(struct akr_buf *out, const uint8_t *data, size_t len)
{
	unsigned char line[80];
	int r;

	for (size_t off = 0; off < len; off += B64_LINE_INPUT) {
		size_t n = len - off < B64_LINE_INPUT ? len - off : B64_LINE_INPUT;
		int w = EVP_EncodeBlock(line, data + off, (int)n);

		r = akr_buf_append(out, line, (size_t)w);
		if (r >= 0)
			r = akr_buf_append(out, "\r\n", 2);
		OPENSSL_cleanse(line, sizeof(line));
		if (r < 0)
			return r;
	}
	return 0;
}

/* Appends @s as RFC 2047 B encoded-words of at most EW_CHUNK_BYTES bytes each,
 * cut between UTF-8 characters and folded with CRLF SP. */
static int append_encoded_words(struct akr_buf *out, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t len = strlen(s), off = 0;
	unsigned char word[80];
	int r;

	while (off < len) {
		size_t n = len - off < EW_CHUNK_BYTES ? len - off : EW_CHUNK_BYTES;

		/* Never split a multi-byte character across two words. */
		while (off + n < len && (p[off + n] & 0xc0) == 0x80)
			n--;
		(void)EVP_EncodeBlock(word, p + off, (int)n);
		r = akr_buf_appendf(out, "%s=?UTF-8?B?%s?=", off ? "\r\n " : "", (char *)word);
		if (r < 0)
			return r;
		off += n;
	}
	return 0;
}

static int append_subject(struct akr_buf *out, const char *subject)
{
	int r;

	/* Plain ASCII that fits a 78-character line and cannot be mistaken for
	 * an encoded-word goes as is; anything else is encoded. */
	if (is_ascii(subject) && strlen(subject) <= 78 - strlen("Subject: ") &&
	    !strstr(subject, "=?")) {
		r = akr_buf_appendf(out, "Subject: %s\r\n", subject);
		return r;
	}
	r = akr_buf_append_str(out, "Subject: ");
	if (r >= 0)
		r = append_encoded_words(out, subject);
	if (r >= 0)
		r = akr_buf_append(out, "\r\n", 2);
	return r;
}

static int append_from(struct akr_buf *out, const char *name, const char *addr)
{
	int r;

	if (!name || !*name)
		return akr_buf_appendf(out, "From: %s\r\n", addr);
	r = akr_buf_append_str(out, "From: ");
	if (r < 0)
		return r;
	if (is_ascii(name) && strlen(name) <= 64 && !strstr(name, "=?")) {
		/* A quoted-string: only '"' and '\' need a backslash. */
		r = akr_buf_append(out, "\"", 1);
		for (const char *p = name; r >= 0 && *p; p++) {
			if (*p == '"' || *p == '\\')
				r = akr_buf_append(out, "\\", 1);
			if (r >= 0)
				r = akr_buf_append(out, p, 1);
		}
		if (r >= 0)
			r = akr_buf_append(out, "\"", 1);
	} else {
		r = append_encoded_words(out, name);
	}
	if (r >= 0)
		r = akr_buf_appendf(out, " <%s>\r\n", addr);
	return r;
}

/* RFC 2045 §6.7 quoted-printable, one line of input at a time: '=', bytes
 * outside printable ASCII and white space before a line end are encoded;
 * output lines stay within 76 characters with soft breaks. */
static int append_qp_line(struct akr_buf *out, const uint8_t *p, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;
	int r;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		char enc[3];
		size_t n;

		if ((c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && i + 1 < len)) {
			enc[0] = (char)c;
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			n = 3;
		}
		/* Keep room for the '=' of a soft break unless this is the last character. */
		if (col + n > (i + 1 < len ? QP_LINE_MAX - 1 : QP_LINE_MAX)) {
			r = akr_buf_append(out, "=\r\n", 3);
			if (r < 0)
				return r;
			col = 0;
		}
		r = akr_buf_append(out, enc, n);
		if (r < 0)
			return r;
		col += n;
	}
	return akr_buf_append(out, "\r\n", 2);
}

static int append_qp_body(struct akr_buf *out, const char *body)
{
	const char *p = body;
	int r;

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		/* LF and CRLF are both line ends; a lone CR is text (encoded). */
		if (nl && len > 0 && p[len - 1] == '\r')
			len--;
		r = append_qp_line(out, (const uint8_t *)p, len);
		if (r < 0)
			return r;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

static int append_text_part_headers(struct akr_buf *out)
{
	return akr_buf_append_str(out, "Content-Type: text/plain; charset=utf-8\r\n"
				       "Content-Transfer-Encoding: quoted-printable\r\n");
}

static const char *domain_of(const char *addr)
{
	return strchr(addr, '@') + 1;
}

/* Every part of the message that comes from outside, checked before
 * anything is written. */
static int check_message(const struct akr_mime_message *m, struct akr_error *reterr)
{
	int r;

	r = akr_mime_check_address("From address", m->from, reterr);
	if (r < 0)
		return r;
	r = akr_mime_check_address("To address", m->to, reterr);
	if (r < 0)
		return r;
	if (m->from_name && *m->from_name) {
		r = akr_mime_check_header_text("sender name", m->from_name, reterr);
		if (r < 0)
			return r;
	}
	r = akr_mime_check_header_text("Subject", m->subject, reterr);
	if (r < 0)
		return r;
	if (strlen(m->subject) > MAX_SUBJECT_BYTES) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidHeader",
			      "Subject is longer than %d bytes", MAX_SUBJECT_BYTES);
		return -EINVAL;
	}
	if (!m->body || !utf8_valid((const uint8_t *)m->body, strlen(m->body))) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "InvalidBody",
			      "the message body is missing or not valid UTF-8");
		return -EINVAL;
	}
	return m->attachment ? check_attachment(m->attachment, reterr) : 0;
}

/* From, To, Subject, Date, Message-ID and the fixed headers. */
static int append_message_headers(struct akr_buf *out, const struct akr_mime_message *m,
				  const char *msgid)
{
	char date[40];
	int r;

	r = append_from(out, m->from_name, m->from);
	if (r >= 0)
		r = akr_buf_appendf(out, "To: %s\r\n", m->to);
	if (r >= 0)
		r = append_subject(out, m->subject);
	if (r >= 0)
		r = akr_buf_appendf(out,
				    "Date: %s\r\n"
				    "Message-ID: <%s@%s>\r\n"
				    "MIME-Version: 1.0\r\n"
				    /* RFC 3834: no vacation or other auto-replies, please. */
				    "Auto-Submitted: auto-generated\r\n",
				    akr_mime_format_date(m->date_sec, date, sizeof(date)), msgid,
				    domain_of(m->from));
	return r;
}

/* The text part's headers and its quoted-printable body. */
static int append_text_part(struct akr_buf *out, const char *body)
{
	int r = append_text_part_headers(out);

	if (r >= 0)
		r = akr_buf_append(out, "\r\n", 2);
	if (r >= 0)
		r = append_qp_body(out, body);
	return r;
}

/* multipart/mixed: the text part, then the attachment in base64. */
static int append_multipart(struct akr_buf *out, const char *body,
			    const struct akr_mime_attachment *a, const char *boundary)
{
	int r;

	/* "=_" cannot occur in quoted-printable or base64 text, so the
	 * boundary never collides with a part's content (RFC 2045 §6.7). */
	r = akr_buf_appendf(out,
			    "Content-Type: multipart/mixed;\r\n"
			    " boundary=\"=_akr_%s\"\r\n"
			    "\r\n"
			    "This is a multi-part message in MIME format.\r\n"
			    "\r\n"
			    "--=_akr_%s\r\n",
			    boundary, boundary);
	if (r >= 0)
		r = append_text_part(out, body);
	if (r >= 0)
		r = akr_buf_appendf(out,
				    "\r\n--=_akr_%s\r\n"
				    "Content-Type: %s;\r\n"
				    " name=\"%s\"\r\n"
				    "Content-Disposition: attachment;\r\n"
				    " filename=\"%s\"\r\n"
				    "Content-Transfer-Encoding: base64\r\n"
				    "\r\n",
				    boundary,
				    a->content_type ? a->content_type : "application/octet-stream",
				    a->filename, a->filename);
	if (r >= 0)
		r = append_base64_lines(out, a->data, a->len);
	if (r >= 0)
		r = akr_buf_appendf(out, "--=_akr_%s--\r\n", boundary);
	return r;
}

int akr_mime_build(const struct akr_mime_message *m, struct akr_buf *ret,
		   struct akr_error *reterr)
{
	_cleanup_buf_ struct akr_buf out = { 0 };
	char msgid[33], boundary[33];
	int r;

	if (!m || !ret)
		return -EINVAL;
	akr_buf_init(&out, AKR_MIME_MAX_BYTES, m->sensitive || m->attachment);
	r = check_message(m, reterr);
	if (r < 0)
		return r;
	if (random_hex(msgid, 16) < 0 || random_hex(boundary, 16) < 0) {
		akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "RandomFailed", "the CSPRNG failed");
		return -EIO;
	}
	r = append_message_headers(&out, m, msgid);
	if (r >= 0)
		r = m->attachment ? append_multipart(&out, m->body, m->attachment, boundary)
				  : append_text_part(&out, m->body);
	if (r < 0) {
		if (r == -E2BIG)
			akr_error_set(reterr, AKR_ERROR_LOCAL, 0, "MessageTooLarge",
				      "the message would exceed %u bytes", AKR_MIME_MAX_BYTES);
		return r;
	}
	*ret = out;
	out = (struct akr_buf){ 0 };
	return 0;
}
