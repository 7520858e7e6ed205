/* The JSON credential documents (lib/aws/creddoc.c) in both formats:
 * credential_process output and the IMDS/container answer. An accepted
 * document has a valid key id and a secret; a refused one fills the error
 * and leaves the result empty. */
#include <errno.h>
#include <stdlib.h>

#include "lib/aws/client.h"
#include "lib/aws/creddoc.h"
#include "lib/base/error.h"
#include "lib/base/secret.h"
#include "lib/base/strutil.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct akr_creddoc_format *formats[] = { &akr_creddoc_process,
						       &akr_creddoc_endpoint };

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct akr_aws_creds c = { 0 };
		struct akr_error err = { 0 };
		int r = akr_creddoc_parse(formats[i], (const char *)data, size, &c, &err);

		if (r == 0) {
			if (!akr_is_access_key_id(c.access_key_id) || !c.secret_access_key ||
			    c.secret_access_key->len == 0)
				abort();
			akr_aws_creds_done(&c);
		} else if (c.access_key_id || c.secret_access_key || c.session_token ||
			   (r != -ENOMEM && err.kind == AKR_ERROR_NONE)) {
			abort();
		}
	}
	return 0;
}
