/* One reader for the JSON credential documents (see creddoc.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "lib/aws/creddoc.h"
#include "lib/base/error.h"
#include "lib/base/json.h"
#include "lib/base/macro.h"
#include "lib/base/secret.h"
#include "lib/base/strutil.h"
#include "lib/base/timeutil.h"

/* The longest string value taken: a session token is about 1 KiB, up to a
 * few KiB with large session policies. */
#define CREDDOC_MAX_STRING 16384

const struct akr_creddoc_format akr_creddoc_process = {
	.source = "credential_process output",
	.code = "CredentialProcessError",
	.token_key = "SessionToken",
	.missing = "AccessKeyId or SecretAccessKey missing or invalid",
	.version_1 = true,
	.hide_parse_error = true,
};

const struct akr_creddoc_format akr_creddoc_endpoint = {
	.source = "instance metadata credentials",
	.code = "imds",
	.token_key = "Token",
	.missing = "AccessKeyId, SecretAccessKey, Token or Expiration missing or invalid",
	.code_success = true,
	.token_required = true,
	.expiration_required = true,
};

struct doc {
	const struct akr_creddoc_format *fmt;
	char *version, *code, *akid, *secret, *token, *expiration;
	bool version_is_number;
};

static void doc_done(struct doc *d)
{
	char **secrets[] = { &d->secret, &d->token };

	for (size_t i = 0; i < ELEMENTSOF(secrets); i++)
		if (*secrets[i])
			OPENSSL_clear_free(*secrets[i], strlen(*secrets[i]));
	free(d->version);
	free(d->code);
	free(d->akid);
	free(d->expiration);
}

static int doc_value(void *userdata, const struct akr_json_path *path, enum akr_json_type type,
		     const char *text, size_t len, struct akr_error *err)
{
	struct doc *d = userdata;
	const struct {
		const char *key; /* NULL: not read in this format */
		char **dst;
	} fields[] = {
		{ d->fmt->code_success ? "Code" : NULL, &d->code },
		{ "AccessKeyId", &d->akid },
		{ "SecretAccessKey", &d->secret },
		{ d->fmt->token_key, &d->token },
		{ "Expiration", &d->expiration },
	};

	if (d->fmt->version_1 && akr_json_path_is(path, "Version")) {
		if (d->version)
			return akr_error_malformed(err, "duplicate Version");
		d->version_is_number = type == AKR_JSON_NUMBER;
		d->version = strndup(text, len);
		return d->version ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < ELEMENTSOF(fields); i++)
		if (fields[i].key && akr_json_path_is(path, fields[i].key))
			return akr_json_dup_string(type, text, len, fields[i].dst, fields[i].key,
						   err);
	return 0;
}

/* Whether the fields @fmt requires are there and well formed. */
static bool doc_complete(const struct doc *d)
{
	const struct akr_creddoc_format *fmt = d->fmt;

	if (!d->akid || !akr_is_access_key_id(d->akid) || !d->secret || !*d->secret)
		return false;
	if (fmt->token_required ? !d->token || !*d->token : d->token && !*d->token)
		return false;
	return !fmt->expiration_required || d->expiration;
}

int akr_creddoc_parse(const struct akr_creddoc_format *fmt, const char *doc, size_t len,
		      struct akr_aws_creds *ret, struct akr_error *reterr)
{
	static const struct akr_json_handler handler = { .value = doc_value };
	const struct akr_json_limits limits = { .sensitive = true,
						.max_string = CREDDOC_MAX_STRING };
	struct akr_aws_creds c = { 0 };
	struct doc d = { .fmt = fmt };
	int r;

	if (!fmt || !ret)
		return -EINVAL;
	r = akr_json_parse(doc, len, &limits, &handler, &d, reterr);
	if (r < 0) {
		if (fmt->hide_parse_error && r != -ENOMEM) {
			akr_error_set(reterr, AKR_ERROR_PARSE, 0, fmt->code,
				      "%s is not a valid JSON document", fmt->source);
			r = -EBADMSG;
		}
		goto out;
	}
	r = -EBADMSG;
	if (fmt->version_1 &&
	    (!d.version || !d.version_is_number || strcmp(d.version, "1") != 0)) {
		akr_error_set(reterr, AKR_ERROR_PARSE, 0, fmt->code,
			      "%s: Version must be the number 1", fmt->source);
		goto out;
	}
	if (fmt->code_success && d.code && strcmp(d.code, "Success") != 0) {
		akr_error_set(reterr, AKR_ERROR_PARSE, 0, fmt->code, "%s: Code '%.64s'", fmt->source,
			      d.code);
		goto out;
	}
	if (!doc_complete(&d)) {
		akr_error_set(reterr, AKR_ERROR_PARSE, 0, fmt->code, "%s: %s", fmt->source,
			      fmt->missing);
		goto out;
	}
	if (d.expiration && akr_time_parse_iso8601(d.expiration, &c.expiration_sec) < 0) {
		akr_error_set(reterr, AKR_ERROR_PARSE, 0, fmt->code, "%s: bad Expiration '%.40s'",
			      fmt->source, d.expiration);
		goto out;
	}
	c.access_key_id = TAKE_PTR(d.akid);
	c.secret_access_key = akr_secret_new_str(d.secret);
	c.session_token = d.token ? akr_secret_new_str(d.token) : NULL;
	if (!c.secret_access_key || (d.token && !c.session_token)) {
		r = -ENOMEM;
		akr_aws_creds_done(&c);
		goto out;
	}
	*ret = c;
	r = 0;
out:
	doc_done(&d);
	return r;
}
