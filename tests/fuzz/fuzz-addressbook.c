/* The address book loader (lib/rotation/addressbook: DELIVERED, NOTIFIED and
 * CLEARED records, torn last lines) on a file holding the input. A book that
 * loads must survive its rewrite: opened read-write it is rewritten compactly,
 * and the rewritten file must load again and say the same for every user the
 * input names (a user with nothing remembered is the same as an absent one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/error.h"
#include "lib/rotation/addressbook.h"
#include "tests/fuzz/fuzz.h"

#define MAX_USERS 64

struct user {
	char account_id[32], name[160];
	char delivered[300], pending[300];
	int64_t delivered_sec, pending_since_sec;
};

/* The (account, user) pairs of the input's records (fields 3 and 4). */
static size_t users_of(const uint8_t *data, size_t size, struct user *u)
{
	char *text = malloc(size + 1), *save = NULL;
	size_t n = 0;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (char *line = strtok_r(text, "\n", &save); line && n < MAX_USERS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { NULL };
		char *p = line;

		for (size_t i = 0; i < 4 && p; i++) {
			f[i] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		if (f[2] && f[3] && strlen(f[2]) < sizeof(u[n].account_id) &&
		    strlen(f[3]) < sizeof(u[n].name)) {
			memset(&u[n], 0, sizeof(u[n]));
			(void)snprintf(u[n].account_id, sizeof(u[n].account_id), "%s", f[2]);
			(void)snprintf(u[n].name, sizeof(u[n].name), "%s", f[3]);
			n++;
		}
	}
	free(text);
	return n;
}

static void snapshot(const struct akr_addressbook *ab, struct user *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct akr_address_entry *e = akr_addressbook_get(ab, u[i].account_id, u[i].name);

		(void)snprintf(u[i].delivered, sizeof(u[i].delivered), "%s",
			       e && e->delivered ? e->delivered : "");
		(void)snprintf(u[i].pending, sizeof(u[i].pending), "%s",
			       e && e->pending ? e->pending : "");
		u[i].delivered_sec = e && e->delivered ? e->delivered_sec : 0;
		u[i].pending_since_sec = e && e->pending ? e->pending_since_sec : 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct user before[MAX_USERS], after[MAX_USERS];
	struct akr_addressbook *ab = NULL;
	struct akr_error err;
	const char *dir = fuzz_tmpdir();
	char path[128];
	size_t n;

	fuzz_quiet_logs();
	(void)snprintf(path, sizeof(path), "%s/" AKR_ADDRESSBOOK_FILE, dir);
	fuzz_write_file(path, data, size);
	if (akr_addressbook_open(dir, true, &ab, &err) < 0)
		return 0;
	n = users_of(data, size, before);
	snapshot(ab, before, n);
	ab = akr_addressbook_free(ab);

	if (akr_addressbook_open(dir, false, &ab, &err) < 0) {
		fprintf(stderr, "a book that loads read-only fails read-write: %s\n", err.message);
		abort();
	}
	ab = akr_addressbook_free(ab);
	if (akr_addressbook_open(dir, true, &ab, &err) < 0) {
		fprintf(stderr, "the rewritten book does not load: %s\n", err.message);
		abort();
	}
	memcpy(after, before, n * sizeof(*after));
	snapshot(ab, after, n);
	ab = akr_addressbook_free(ab);
	for (size_t i = 0; i < n; i++) {
		if (memcmp(&before[i], &after[i], sizeof(before[i])) != 0) {
			fprintf(stderr, "the rewrite changed user %s/%s: delivered '%s' %lld -> '%s' %lld, "
				"pending '%s' %lld -> '%s' %lld\n", before[i].account_id, before[i].name,
				before[i].delivered, (long long)before[i].delivered_sec,
				after[i].delivered, (long long)after[i].delivered_sec,
				before[i].pending, (long long)before[i].pending_since_sec,
				after[i].pending, (long long)after[i].pending_since_sec);
			abort();
		}
	}
	return 0;
}
