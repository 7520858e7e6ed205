#pragma once
/* struct akr_error: the detail behind a -errno when errno is not enough: an AWS
 * error (code, message, request id, HTTP status), a transport failure, or a
 * parse error with its position. Its retry class follows the AWS SDKs'
 * "standard" retry mode (../shared/aws-wire.md §10). */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/base/macro.h"

enum akr_retry_class {
	AKR_RETRY_NONE,       /* cannot succeed on retry */
	AKR_RETRY_TRANSIENT,  /* no response, 5xx, request timeouts */
	AKR_RETRY_THROTTLING, /* throttling codes and any HTTP 429 */
	_AKR_RETRY_MAX,
};

enum akr_error_kind {
	AKR_ERROR_NONE,
	AKR_ERROR_AWS,       /* the service answered with an error document */
	AKR_ERROR_TRANSPORT, /* no (complete) HTTP response */
	AKR_ERROR_PARSE,     /* the answer was malformed, truncated or too large */
	AKR_ERROR_LOCAL,     /* our side: config, state, validation */
	_AKR_ERROR_KIND_MAX,
};

struct akr_error {
	enum akr_error_kind kind;
	enum akr_retry_class retry;
	long http_status;      /* 0 when there was no response */
	char code[96];         /* AWS error code ("Throttling") or a short tag ("timeout") */
	char message[512];     /* human-readable; never holds a secret */
	char request_id[96];
	/* The call that failed and its target, set by the layer that made it
	 * ("AssumeRole into arn:aws:iam::222222222222:role/provisioning-admin",
	 * "ListUsers in account 222222222222"); "" = the caller's own step. A
	 * failure of a step the call needed first (fresh credentials) keeps
	 * that step's. */
	char operation[320];
};

const char *akr_retry_class_to_string(enum akr_retry_class c);
const char *akr_error_kind_to_string(enum akr_error_kind k);

/** The retry class of an AWS error code and HTTP status (code may be NULL or ""). */
enum akr_retry_class akr_error_classify(long http_status, const char *code);

/** Resets to "no error". @e may be NULL (then nothing happens). */
void akr_error_clear(struct akr_error *e);

/** Fills @e (may be NULL) with kind, status and code, a printf-formatted
 * message, and classifies it. Values are truncated to the field sizes. */
void akr_error_set(struct akr_error *e, enum akr_error_kind kind, long http_status,
		   const char *code, const char *fmt, ...) _printf_(5, 6);

/** akr_error_set() with a va_list. */
void akr_error_vset(struct akr_error *e, enum akr_error_kind kind, long http_status,
		    const char *code, const char *fmt, va_list ap) _printf_(5, 0);

/** Fills @e (may be NULL) as a malformed answer (kind AKR_ERROR_PARSE, code
 * "MalformedResponse") with a formatted message and returns -EBADMSG, for
 * `return akr_error_malformed(err, "...")` in parsers. */
int akr_error_malformed(struct akr_error *e, const char *fmt, ...) _printf_(2, 3);

/** Whether the code is one that means "refresh the credentials and try again". */
bool akr_error_is_expired_token(const struct akr_error *e);

/** Formats "Code (HTTP n): message [request id]" into @buf for logs and reports. */
const char *akr_error_describe(const struct akr_error *e, char *buf, size_t size);

/** The one way to describe a failure that returned -errno @r with an
 * optional detail @e: akr_error_describe(@e) when @e holds an error (kind
 * not AKR_ERROR_NONE), else strerror(-@r) (its sign does not matter).
 * @e may be NULL. Returns @buf. */
const char *akr_error_describe_errno(const struct akr_error *e, int r, char *buf, size_t size);
