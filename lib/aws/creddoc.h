#pragma once
/* The JSON credential documents: the output of a credential_process
 * ({"Version": 1, "AccessKeyId": ..., "SessionToken": ...}) and the answer of
 * the instance metadata and container endpoints ({"Code": "Success",
 * "AccessKeyId": ..., "Token": ...}). One reader for both; a format says
 * where they differ. Secrets are wiped from every buffer; no message quotes
 * one. Logs nothing. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/aws/client.h"

struct akr_error;

struct akr_creddoc_format {
	const char *source;     /* message prefix, "credential_process output" */
	const char *code;       /* the errors' code, "CredentialProcessError" */
	const char *token_key;  /* the session token's key: "SessionToken", "Token" */
	const char *missing;    /* the message when a required field is missing or bad */
	bool version_1;         /* "Version" must be the number 1 */
	bool code_success;      /* a "Code" other than "Success" is refused */
	bool token_required;    /* else an empty token is still refused */
	bool expiration_required;
	bool hide_parse_error;  /* a malformed document's message is replaced, as the
				 * parser's may quote it; r becomes -EBADMSG */
};

/** credential_process output (the SDKs' process provider). */
extern const struct akr_creddoc_format akr_creddoc_process;
/** The instance metadata (IMDS) and container (ECS, EKS) endpoints' answer. */
extern const struct akr_creddoc_format akr_creddoc_endpoint;

/** Parses @doc (@len bytes, borrowed) in @fmt. Fills @ret only on success
 * (the caller owns it: akr_aws_creds_done()). Returns 0; -EBADMSG or the
 * JSON reader's error (-E2BIG) with @reterr (may be NULL) filled, kind
 * AKR_ERROR_PARSE; -ENOMEM. */
int akr_creddoc_parse(const struct akr_creddoc_format *fmt, const char *doc, size_t len,
		      struct akr_aws_creds *ret, struct akr_error *reterr);
