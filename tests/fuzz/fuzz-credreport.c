/* The IAM credential report: its CSV reader (lib/aws/credreport), fed whole
 * and again in small pieces, must hand over the same rows both ways (it
 * streams: a piece boundary never changes a row); every row then goes through
 * the pre-filter's set (lib/rotation/prefilter). The input is also read as a
 * GetCredentialReport answer (XML with base64 Content). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/credreport.h"
#include "lib/base/error.h"
#include "lib/rotation/policy.h"
#include "lib/rotation/prefilter.h"
#include "tests/fuzz/fuzz.h"

struct tally {
	struct akr_prefilter_set set;
	struct akr_policy_config pc;
	size_t rows, malformed;
	uint64_t digest; /* of the users and verdicts, in order */
};

static int on_row(void *userdata, const struct akr_credreport_row *row, const char *invalid)
{
	struct tally *t = userdata;
	const char *u = row->user ? row->user : "";

	t->rows++;
	t->malformed += invalid != NULL;
	for (; *u; u++)
		t->digest = (t->digest ^ (unsigned char)*u) * 1099511628211u;
	t->digest = (t->digest ^ (invalid ? 1u : 2u)) * 1099511628211u;
	if (!invalid && !row->root)
		t->digest ^= (uint64_t)akr_prefilter_decide(&t->pc, 1795698000, row);
	return akr_prefilter_set_add(&t->set, &t->pc, 1795698000, row, invalid);
}

static int feed(const uint8_t *data, size_t size, size_t piece, struct tally *t)
{
	struct akr_credreport_csv *p = calloc(1, sizeof(*p));
	struct akr_error err;
	int r = 0;

	if (!p)
		abort();
	memset(t, 0, sizeof(*t));
	akr_policy_config_init(&t->pc);
	akr_prefilter_set_init(&t->set);
	akr_credreport_csv_init(p, on_row, t);
	for (size_t off = 0; off < size && r >= 0; off += piece)
		r = akr_credreport_csv_feed(p, (const char *)data + off,
					    size - off < piece ? size - off : piece, &err);
	if (r >= 0)
		r = akr_credreport_csv_finish(p, &err);
	if (r >= 0) {
		(void)akr_prefilter_set_finish(&t->set);
		(void)akr_prefilter_set_clears(&t->set, "alice", 0);
	}
	akr_prefilter_set_done(&t->set);
	free(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tally whole, pieces, xml;
	struct akr_credreport_info info;
	struct akr_error err;
	int r1, r2;

	fuzz_quiet_logs();
	r1 = feed(data, size, size ? size : 1, &whole);
	r2 = feed(data, size, 7, &pieces);
	if (r1 != r2 || whole.rows != pieces.rows || whole.malformed != pieces.malformed ||
	    whole.digest != pieces.digest) {
		fprintf(stderr, "the CSV reader depends on how the input is cut: %d/%d, %zu/%zu "
				"rows, %zu/%zu malformed\n",
			r1, r2, whole.rows, pieces.rows, whole.malformed, pieces.malformed);
		abort();
	}
	memset(&xml, 0, sizeof(xml));
	akr_policy_config_init(&xml.pc);
	akr_prefilter_set_init(&xml.set);
	(void)akr_credreport_parse_get((const char *)data, size, on_row, &xml, &info, &err);
	akr_prefilter_set_done(&xml.set);
	{
		enum akr_credreport_state st;
		(void)akr_credreport_parse_generate((const char *)data, size, &st, &err);
	}
	return 0;
}
