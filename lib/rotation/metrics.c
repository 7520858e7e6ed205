#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/atomicfile.h"
#include "lib/base/macro.h"
#include "lib/rotation/metrics.h"
#include "lib/rotation/policy.h"
#include "lib/rotation/report.h"

#define PREFIX "iam_access_key_rotator_"
#define SUCCESS_METRIC PREFIX "last_success_timestamp_seconds"

static void gauge(FILE *f, const char *name, const char *help)
{
	fprintf(f, "# HELP " PREFIX "%s %s\n# TYPE " PREFIX "%s gauge\n", name, help, name);
}

static void value(FILE *f, const char *name, const char *labels, uint64_t v)
{
	fprintf(f, PREFIX "%s%s %" PRIu64 "\n", name, labels ? labels : "", v);
}

/* The short name of the reason sentence a report row carries. */
static const char *reason_name(const char *sentence)
{
	for (int r = 0; r < _AKR_REASON_MAX; r++)
		if (sentence && akr_reason_to_string(r) && strcmp(akr_reason_to_string(r), sentence) == 0)
			return akr_reason_to_name(r);
	return "other";
}

int akr_metrics_format(const struct akr_metrics_sweep *m, int64_t last_success_sec, FILE *f)
{
	static const char *const blocked[] = { "no-email",         "invalid-email",
					       "email-control-chars", "email-domain-not-allowed",
					       "two-active-keys",  "slot-in-recovery",
					       "no-free-slot",     "other" };
	const struct akr_report_totals *t = akr_report_get_totals(m->report);
	const struct akr_report_row **rows = NULL;
	uint64_t by_reason[ELEMENTSOF(blocked)] = { 0 };
	int64_t started, finished;
	bool complete;
	size_t n = 0;
	char labels[96];
	int r;

	r = akr_report_cannot_rotate(m->report, &rows, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const char *name = reason_name(rows[i]->reason);
		size_t k = 0;
		while (k + 1 < ELEMENTSOF(blocked) && strcmp(blocked[k], name) != 0)
			k++;
		by_reason[k]++;
	}
	free(rows);
	akr_report_get_times(m->report, &started, &finished, &complete);

	gauge(f, "last_sweep_start_timestamp_seconds", "When the last sweep started (Unix time).");
	value(f, "last_sweep_start_timestamp_seconds", NULL, (uint64_t)started);
	gauge(f, "last_sweep_end_timestamp_seconds", "When the last sweep finished (Unix time).");
	value(f, "last_sweep_end_timestamp_seconds", NULL, (uint64_t)finished);
	gauge(f, "last_success_timestamp_seconds",
	      "When the last sweep that ran completely without failures finished (Unix time; "
	      "0 = none yet).");
	value(f, "last_success_timestamp_seconds", NULL, (uint64_t)last_success_sec);
	gauge(f, "last_sweep_success", "1 when the last sweep ran completely without failures.");
	value(f, "last_sweep_success", NULL, m->success);
	gauge(f, "last_sweep_duration_seconds", "How long the last sweep took.");
	value(f, "last_sweep_duration_seconds", NULL,
	      (uint64_t)(finished > started ? finished - started : 0));

	gauge(f, "last_sweep_accounts", "Accounts of the last sweep, by state.");
	value(f, "last_sweep_accounts", "{state=\"listed\"}", t->accounts_listed);
	value(f, "last_sweep_accounts", "{state=\"done\"}", t->accounts_done);
	value(f, "last_sweep_accounts", "{state=\"failed\"}", t->accounts_failed);
	value(f, "last_sweep_accounts", "{state=\"excluded\"}", t->accounts_excluded);
	value(f, "last_sweep_accounts", "{state=\"not_active\"}", t->accounts_not_active);

	gauge(f, "last_sweep_users", "Users of the last sweep: seen, and by outcome.");
	value(f, "last_sweep_users", "{outcome=\"seen\"}", t->users_seen);
	value(f, "last_sweep_users", "{outcome=\"failed\"}", t->users_failed);
	value(f, "last_sweep_users", "{outcome=\"exempt\"}", t->users_exempt);
	value(f, "last_sweep_users", "{outcome=\"without_email\"}", t->users_without_email);
	value(f, "last_sweep_users", "{outcome=\"cannot_rotate\"}", n);

	gauge(f, "last_sweep_users_cannot_rotate",
	      "Users due for rotation that cannot be rotated in the last sweep, by reason.");
	for (size_t k = 0; k < ELEMENTSOF(blocked); k++) {
		(void)snprintf(labels, sizeof(labels), "{reason=\"%s\"}", blocked[k]);
		value(f, "last_sweep_users_cannot_rotate", labels, by_reason[k]);
	}

	gauge(f, "last_sweep_actions", "Actions of the last sweep, by outcome.");
	for (int o = 0; o < _AKR_OUTCOME_MAX; o++) {
		(void)snprintf(labels, sizeof(labels), "{outcome=\"%s\"}", akr_outcome_to_string(o));
		value(f, "last_sweep_actions", labels, t->outcome[o]);
	}

	gauge(f, "last_sweep_keys", "Access keys the last sweep created, deactivated, deleted.");
	value(f, "last_sweep_keys", "{action=\"created\"}", t->keys_created);
	value(f, "last_sweep_keys", "{action=\"deactivated\"}", t->keys_deactivated);
	value(f, "last_sweep_keys", "{action=\"deleted\"}", t->keys_deleted);
	gauge(f, "last_sweep_mails_sent", "Mails the last sweep sent.");
	value(f, "last_sweep_mails_sent", NULL, t->mails_sent);
	gauge(f, "last_sweep_requests", "AWS requests the last sweep made (retries included).");
	value(f, "last_sweep_requests", NULL, m->requests);
	gauge(f, "last_sweep_throttled_responses", "Throttling answers AWS gave the last sweep.");
	value(f, "last_sweep_throttled_responses", NULL, m->throttled);

	if (fflush(f) != 0 || ferror(f))
		return -EIO;
	return 0;
}

int64_t akr_metrics_previous_success_sec(const char *path)
{
	char line[256];
	int64_t v = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *end;
		long long x;

		if (strncmp(line, SUCCESS_METRIC " ", strlen(SUCCESS_METRIC) + 1) != 0)
			continue;
		errno = 0;
		x = strtoll(line + strlen(SUCCESS_METRIC) + 1, &end, 10);
		if (errno == 0 && x > 0 && (*end == '\n' || *end == '\0'))
			v = x;
		break;
	}
	(void)fclose(f);
	return v;
}

struct write_ctx {
	const struct akr_metrics_sweep *m;
	int64_t last_success_sec;
};

static int write_cb(FILE *f, void *userdata)
{
	const struct write_ctx *c = userdata;

	return akr_metrics_format(c->m, c->last_success_sec, f);
}

int akr_metrics_write(const char *path, const struct akr_metrics_sweep *m)
{
	struct write_ctx c = { .m = m };
	int64_t started, finished;
	bool complete;

	if (!path || !m || !m->report)
		return -EINVAL;
	akr_report_get_times(m->report, &started, &finished, &complete);
	c.last_success_sec = m->success ? finished : akr_metrics_previous_success_sec(path);
	/* 0644, not the daemon's UMask=0077: node_exporter runs as its own user
	 * and reads the file from its textfile directory; the figures are
	 * counts and times, no secret and no name. */
	return akr_atomic_write(path, 0644, write_cb, &c);
}
