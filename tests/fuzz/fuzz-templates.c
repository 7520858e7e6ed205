/* Mail templates (lib/delivery): the first byte picks the kind, the rest is
 * the template text; validated, rendered with a set of parameters (and a
 * password for the password mail), and, for a notice kind, composed into a
 * whole message. What validates must render. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/base/secret.h"
#include "lib/delivery/delivery.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct akr_mail_params p = {
		.sender = "rotator@example.com", .recipient = "alice@example.com",
		.user = "alice", .account_id = "222222222222", .account_name = "dev",
		.access_key_id = "AKIAIOSFODNN7EXAMPLE", .old_access_key_id = "AKIAI44QH8DHBEXAMPLE",
		.now_sec = 1795784400, .deactivate_on_sec = 1795784400 + 864000,
		.delete_on_sec = 1795784400 + 1728000, .last_used_sec = 1795784400 - 3600,
		.last_used_service = "s3", .last_used_region = "eu-west-1",
	};
	struct akr_delivery_templates t = { 0 };
	struct akr_secret *pw;
	struct akr_error err;
	struct akr_buf out;
	enum akr_mail_kind kind;
	char *text;
	int r;

	if (size < 1)
		return 0;
	kind = (enum akr_mail_kind)(data[0] % _AKR_MAIL_KIND_MAX);
	text = malloc(size);
	if (!text)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	pw = akr_secret_new_str("Gx7kP2qRz4Tm9vW4hN3e");
	if (!pw)
		abort();
	if (akr_delivery_template_validate(kind, text, &err) == 0) {
		r = akr_delivery_render(kind, text, &p, pw, &out, &err);
		if (r == 0)
			akr_buf_done(&out);
		else if (r == -EINVAL) {
			fprintf(stderr, "a template that validates does not render: %s\n", err.message);
			abort();
		}
		if (kind >= AKR_MAIL_REMINDER) {
			for (int k = 0; k < _AKR_MAIL_KIND_MAX; k++)
				t.kind[k] = *akr_delivery_default_template(k);
			t.kind[kind].body = text;
			p.templates = &t;
			if (akr_delivery_compose_notice(kind, &p, &out, &err) == 0)
				akr_buf_done(&out);
		}
	}
	akr_secret_free(pw);
	free(text);
	return 0;
}
