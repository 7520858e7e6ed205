#pragma once
/* Small string helpers shared by several modules: RFC 3986 percent-encoding
 * (AWS's form), hex, checked number parsing, and the validators for values
 * that come from outside (tags, config, AWS answers). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct akr_buf;

/** Appends @s percent-encoded: A-Z a-z 0-9 - _ . ~ kept, every other byte as
 * %XX (upper-case hex). With @keep_slash, '/' is kept too (URI paths). */
int akr_str_append_uri_encoded(struct akr_buf *out, const char *s, size_t len, bool keep_slash);
/** Appends @s form-encoded as botocore's Query serializer does: like
 * akr_str_append_uri_encoded(), but a space becomes '+'. AWS decodes both;
 * emulators that re-encode the parsed form before checking the signature
 * (moto) only agree with this form. */
int akr_str_append_form_encoded(struct akr_buf *out, const char *s, size_t len);
/** Lower-case hex of @len bytes into @out (2*len+1 bytes). */
void akr_hex_encode(const uint8_t *in, size_t len, char *out);

/** Parses a whole decimal integer in [min, max]. Returns 0, -EINVAL, -ERANGE. */
int akr_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);

/** A 12-digit AWS account id. */
bool akr_is_account_id(const char *s);
/** A plausible single email address (addr-spec; no CR/LF, spaces, quotes,
 * commas, angle brackets or control characters; one '@'; a dotted domain). */
bool akr_is_valid_email(const char *s);
/** Whether @s contains CR, LF or another control character. */
bool akr_has_control_chars(const char *s);
/** An ARN: "arn:<partition>:<service>:<region>:<account>:<resource>". With
 * @service non-NULL the service must match. */
bool akr_is_arn(const char *s, const char *service);
/** An IAM user name (1-64 of [A-Za-z0-9+=,.@_-]). */
bool akr_is_iam_user_name(const char *s);
/** An access key id (16-128 of [A-Za-z0-9_]). */
bool akr_is_access_key_id(const char *s);
/** An HTTP token (RFC 7230 tchar, at least one): a header name or a method. */
bool akr_is_http_token(const char *s);
/** An HTTP header value that cannot split the header on the wire: no
 * control character but tab, no DEL. */
bool akr_is_http_header_value(const char *s);

/** Copies @s into @buf (@size > 4 bytes, always NUL-terminated) with every
 * control character (CR, LF, ESC, DEL, ...) written as "\xNN", and cut with
 * "..." where it does not fit: an untrusted value made safe for one log line
 * or report field. NULL is written as "". Returns @buf. */
const char *akr_str_escape_controls(const char *s, char *buf, size_t size);

/** strdup that treats NULL as NULL; otherwise NULL means ENOMEM. */
char *akr_strdup0(const char *s);
