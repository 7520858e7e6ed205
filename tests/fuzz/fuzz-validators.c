/* The validators of values from outside (tags, config, AWS answers): the
 * email address and header checks of lib/delivery/mime and lib/base/strutil,
 * the other strutil validators and encoders, the subject and template
 * validators and the schedule parser, on the input as one string. Where two
 * validators promise the same thing they must agree: an address
 * akr_is_valid_email() accepts is a valid address header and holds no control
 * character. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/buf.h"
#include "lib/base/error.h"
#include "lib/base/strutil.h"
#include "lib/delivery/delivery.h"
#include "lib/delivery/mime.h"
#include "lib/rotation/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct akr_error err;
	struct akr_buf out;
	char *s = malloc(size + 1);
	int64_t v;
	int minute;

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';

	if (akr_is_valid_email(s)) {
		if (akr_mime_check_address("To", s, &err) != 0 || akr_has_control_chars(s) ||
		    akr_mime_check_header_text("To", s, &err) != 0) {
			fprintf(stderr, "akr_is_valid_email accepts '%s' that the header checks refuse\n", s);
			abort();
		}
	} else if (akr_mime_check_address("To", s, &err) == 0) {
		fprintf(stderr, "akr_mime_check_address accepts '%s' that akr_is_valid_email refuses\n", s);
		abort();
	}
	if (akr_mime_check_header_text("Subject", s, &err) == 0 && (strchr(s, '\r') || strchr(s, '\n'))) {
		fprintf(stderr, "a header value with CR or LF passed\n");
		abort();
	}
	(void)akr_is_iam_user_name(s);
	(void)akr_is_access_key_id(s);
	(void)akr_is_account_id(s);
	(void)akr_is_arn(s, NULL);
	(void)akr_is_arn(s, "sns");
	(void)akr_parse_int64(s, INT64_MIN, INT64_MAX, &v);
	(void)akr_parse_int64(s, 0, 100, &v);
	(void)akr_config_parse_time_of_day(s, &minute);
	for (int k = 0; k < _AKR_MAIL_KIND_MAX; k++) {
		(void)akr_delivery_subject_validate(k, s, &err);
		(void)akr_delivery_template_validate(k, s, &err);
	}
	akr_buf_init(&out, 6 * size + 64, false); /* both encodings: 3 bytes per byte at most */
	if (akr_str_append_uri_encoded(&out, s, size, true) < 0 ||
	    akr_str_append_form_encoded(&out, s, size) < 0) {
		fprintf(stderr, "an encoder overran a buffer sized for it\n");
		abort();
	}
	akr_buf_done(&out);
	free(s);
	return 0;
}
