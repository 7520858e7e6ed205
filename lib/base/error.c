#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/base/error.h"

static const char *const retry_class_names[_AKR_RETRY_MAX] = {
	[AKR_RETRY_NONE] = "none",
	[AKR_RETRY_TRANSIENT] = "transient",
	[AKR_RETRY_THROTTLING] = "throttling",
};

static const char *const error_kind_names[_AKR_ERROR_KIND_MAX] = {
	[AKR_ERROR_NONE] = "none",
	[AKR_ERROR_AWS] = "aws",
	[AKR_ERROR_TRANSPORT] = "transport",
	[AKR_ERROR_PARSE] = "parse",
	[AKR_ERROR_LOCAL] = "local",
};

const char *akr_retry_class_to_string(enum akr_retry_class c)
{
	return (unsigned)c < _AKR_RETRY_MAX ? retry_class_names[c] : NULL;
}

const char *akr_error_kind_to_string(enum akr_error_kind k)
{
	return (unsigned)k < _AKR_ERROR_KIND_MAX ? error_kind_names[k] : NULL;
}

/* botocore's standard-mode throttling list (retries/standard.py). */
static const char *const throttling_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
	"Throttled",
};

static const char *const transient_codes[] = {
	"RequestTimeout",
	"RequestTimeoutException",
	"PriorRequestNotComplete",
	"InternalError",
	"InternalFailure",
	"ServiceUnavailable",
	"ServiceFailure",
};

static bool code_in(const char *code, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

enum akr_retry_class akr_error_classify(long http_status, const char *code)
{
	if (code && *code) {
		if (code_in(code, throttling_codes, ELEMENTSOF(throttling_codes)))
			return AKR_RETRY_THROTTLING;
		if (code_in(code, transient_codes, ELEMENTSOF(transient_codes)))
			return AKR_RETRY_TRANSIENT;
	}
	/* JS v3 / Smithy treat any 429 as throttling (covers SNS "Throttled"). */
	if (http_status == 429)
		return AKR_RETRY_THROTTLING;
	if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504)
		return AKR_RETRY_TRANSIENT;
	return AKR_RETRY_NONE;
}

void akr_error_clear(struct akr_error *e)
{
	if (e)
		*e = (struct akr_error){ 0 };
}

void akr_error_set(struct akr_error *e, enum akr_error_kind kind, long http_status,
		   const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	akr_error_vset(e, kind, http_status, code, fmt, ap);
	va_end(ap);
}

void akr_error_vset(struct akr_error *e, enum akr_error_kind kind, long http_status,
		    const char *code, const char *fmt, va_list ap)
{
	if (!e)
		return;
	*e = (struct akr_error){ .kind = kind, .http_status = http_status };
	if (code)
		(void)snprintf(e->code, sizeof(e->code), "%s", code);
	(void)vsnprintf(e->message, sizeof(e->message), fmt, ap);
	if (kind == AKR_ERROR_AWS) {
		e->retry = akr_error_classify(http_status, code);
		/* SES's daily quota shares the Throttling code but does not clear
		 * within any retry window. */
		if (strstr(e->message, "Daily message quota exceeded"))
			e->retry = AKR_RETRY_NONE;
	}
	else if (kind == AKR_ERROR_TRANSPORT)
		e->retry = AKR_RETRY_TRANSIENT;
	else
		e->retry = AKR_RETRY_NONE;
}

int akr_error_malformed(struct akr_error *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	akr_error_vset(e, AKR_ERROR_PARSE, 0, "MalformedResponse", fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

bool akr_error_is_expired_token(const struct akr_error *e)
{
	return e && e->kind == AKR_ERROR_AWS &&
	       (strcmp(e->code, "ExpiredToken") == 0 || strcmp(e->code, "ExpiredTokenException") == 0 ||
		strcmp(e->code, "RequestExpired") == 0);
}

const char *akr_error_describe(const struct akr_error *e, char *buf, size_t size)
{
	if (!e || e->kind == AKR_ERROR_NONE) {
		(void)snprintf(buf, size, "no error");
		return buf;
	}
	if (e->http_status)
		(void)snprintf(buf, size, "%s (HTTP %ld): %s%s%s%s", e->code[0] ? e->code : "Error",
			       e->http_status, e->message, e->request_id[0] ? " [request id " : "",
			       e->request_id, e->request_id[0] ? "]" : "");
	else
		(void)snprintf(buf, size, "%s: %s", e->code[0] ? e->code : "error", e->message);
	return buf;
}

const char *akr_error_describe_errno(const struct akr_error *e, int r, char *buf, size_t size)
{
	if (e && e->kind != AKR_ERROR_NONE)
		return akr_error_describe(e, buf, size);
	(void)snprintf(buf, size, "%s", strerror(r < 0 ? -r : r));
	return buf;
}
