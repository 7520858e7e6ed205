#pragma once
/* Internet messages (RFC 5322, MIME RFC 2045-2047) for the mail the rotator
 * sends through SES SendRawEmail: a single text/plain part (the password mail
 * and the notices) or multipart/mixed with one attachment (the rotation mail
 * and its zip).
 *
 * Every line ends in CRLF and is at most 76 characters long outside the
 * headers (quoted-printable text, base64 attachment) and at most 998 in them.
 * Header values are validated, never escaped into shape: an address that is
 * not a plain addr-spec (akr_is_valid_email), or a subject or display name
 * holding CR, LF or any other control character, is refused with -EINVAL, so
 * that no value can inject a header ("alice@example.com\r\nBcc: ..."). A
 * non-ASCII subject or display name becomes RFC 2047 encoded-words. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_buf;
struct akr_error;

/* The SES v1 API takes at most 10 MB of base64, i.e. 7.5 MB of message. */
#define AKR_MIME_MAX_BYTES (7u * 1024 * 1024)

/** An attachment; every pointer is borrowed. */
struct akr_mime_attachment {
	const char *filename;     /* 1-60 of [A-Za-z0-9._-], not starting with '.' */
	const char *content_type; /* "type/subtype" of [A-Za-z0-9.+-]; NULL = application/octet-stream */
	const uint8_t *data;
	size_t len;
};

/** One message; every pointer is borrowed. */
struct akr_mime_message {
	const char *from;      /* addr-spec, e.g. rotator@example.com */
	const char *from_name; /* display name (UTF-8), NULL or "" = none */
	const char *to;        /* addr-spec */
	const char *subject;   /* UTF-8, no control characters, at most 900 bytes */
	int64_t date_sec;      /* the Date header; the function reads no clock */
	const char *body;      /* UTF-8 text; LF or CRLF line ends (both become CRLF) */
	const struct akr_mime_attachment *attachment; /* NULL: a single text/plain part */
	bool sensitive;        /* the output holds a secret: wiped when freed (always
				* so with an attachment) */
};

/** Formats @sec as an RFC 5322 date, "Thu, 26 Nov 2026 13:00:00 +0000", into
 * @buf (at least 32 bytes). Pure. Returns @buf. */
const char *akr_mime_format_date(int64_t sec, char *buf, size_t size);

/** Checks an unstructured header value (UTF-8, no CR, LF or other control
 * character). @what names it in the message put in @reterr (may be NULL).
 * Returns 0 or -EINVAL. */
int akr_mime_check_header_text(const char *what, const char *value, struct akr_error *reterr);

/** Checks an address header value with akr_is_valid_email(). Returns 0 or -EINVAL. */
int akr_mime_check_address(const char *what, const char *value, struct akr_error *reterr);

/** Builds the message. On success initialises *@ret (a caller-provided struct,
 * not initialised before) with the complete message and a maximum of
 * AKR_MIME_MAX_BYTES; the caller releases it with akr_buf_done(). The Message-ID
 * and multipart boundary are random (RAND_bytes); everything else follows
 * from @m. *@ret is not touched on failure.
 * Returns 0; -EINVAL for an invalid header value, body (not UTF-8) or
 * attachment (@reterr says which); -E2BIG past AKR_MIME_MAX_BYTES; -EIO if
 * the CSPRNG fails; -ENOMEM. */
int akr_mime_build(const struct akr_mime_message *m, struct akr_buf *ret,
		   struct akr_error *reterr);
