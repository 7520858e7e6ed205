/* The state log loader (lib/rotation/statelog: every record type, the
 * consistency checks between records, torn last lines) on a file holding the
 * input. A log that loads must survive compaction: opened read-write it is
 * rewritten, and the rewritten file must load again with the same open
 * intents and last run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/rotation/statelog.h"
#include "tests/fuzz/fuzz.h"

struct summary {
	size_t n_intents;
	int64_t last_run_sec;
	char last_run_id[300];
};

static void summarise(struct akr_statelog *log, struct summary *s)
{
	const char *id = akr_statelog_last_run_id(log);
	const struct akr_statelog_intent *in;

	if (akr_statelog_open_intents(log, &in, &s->n_intents) < 0)
		s->n_intents = SIZE_MAX; /* cannot happen unless memory runs out */
	s->last_run_sec = akr_statelog_last_run_sec(log);
	(void)snprintf(s->last_run_id, sizeof(s->last_run_id), "%s", id ? id : "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct akr_statelog *log = NULL;
	struct summary before, after;
	struct akr_error err;
	char path[128];
	const char *dir = fuzz_tmpdir();

	fuzz_quiet_logs();
	(void)snprintf(path, sizeof(path), "%s/" AKR_STATELOG_FILE, dir);
	fuzz_write_file(path, data, size);
	if (akr_statelog_open(dir, true, &log, &err) < 0)
		return 0;
	summarise(log, &before);
	(void)akr_statelog_has_open_intents(log);
	(void)akr_statelog_last_run_result(log);
	log = akr_statelog_free(log);

	/* Compaction round trip. */
	if (akr_statelog_open(dir, false, &log, &err) < 0) {
		fprintf(stderr, "a log that loads read-only fails read-write: %s\n", err.message);
		abort();
	}
	log = akr_statelog_free(log);
	if (akr_statelog_open(dir, true, &log, &err) < 0) {
		fprintf(stderr, "the compacted log does not load: %s\n", err.message);
		abort();
	}
	summarise(log, &after);
	log = akr_statelog_free(log);
	if (before.n_intents != after.n_intents || before.last_run_sec != after.last_run_sec ||
	    strcmp(before.last_run_id, after.last_run_id) != 0) {
		fprintf(stderr, "compaction changed the log: %zu/%zu intents, last run %lld/%lld\n",
			before.n_intents, after.n_intents, (long long)before.last_run_sec,
			(long long)after.last_run_sec);
		abort();
	}
	return 0;
}
