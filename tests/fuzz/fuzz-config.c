/* The configuration loader (lib/rotation/config: libconfig syntax, the
 * schema, every validator) on a file holding the input; a configuration it
 * accepts must also dump. "@include" is left out: the configuration is a
 * root-owned file, and an include of /dev/zero only measures libconfig. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/rotation/config.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct akr_config *c = NULL;
	struct akr_error err;
	char path[128];

	if (memmem(data, size, "@include", 8))
		return -1; /* not added to the corpus */
	fuzz_quiet_logs();
	(void)snprintf(path, sizeof(path), "%s/rotator.conf", fuzz_tmpdir());
	fuzz_write_file(path, data, size);
	if (akr_config_load(path, &c, &err) == 0) {
		FILE *f = fopen("/dev/null", "we");

		if (!f || akr_config_dump(c, f) < 0)
			abort(); /* a loaded configuration always dumps */
		fclose(f);
		akr_config_free(c);
	}
	return 0;
}
