/* Users the sweep must not change any more in this run: an interrupted
 * rotation of theirs could not be reconciled, or the state log could not
 * record a step of theirs. A key of such a user may be undelivered, and the
 * policy would take it for the user's own newer key. Failing closed: when
 * the list cannot grow, everyone is blocked and the sweep stops. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/array.h"
#include "lib/base/log.h"
#include "lib/rotation/sweep-internal.h"

bool akr__sweep_user_blocked(const struct akr_sweep *s, const char *account_id, const char *user)
{
	size_t la = strlen(account_id);

	if (s->block_everyone)
		return true;
	for (size_t i = 0; i < s->n_blocked_users; i++)
		if (strncmp(s->blocked_users[i], account_id, la) == 0 && s->blocked_users[i][la] == '/' &&
		    strcmp(s->blocked_users[i] + la + 1, user) == 0)
			return true;
	return false;
}

int akr__sweep_block_user(struct akr_sweep *s, const char *account_id, const char *user)
{
	char *e;

	if (AKR_ARRAY_GROW(s->blocked_users, NULL, s->n_blocked_users, 1) < 0 ||
	    asprintf(&e, "%s/%s", account_id, user) < 0) {
		/* Failing closed: without the list nobody can be told apart. */
		s->block_everyone = true;
		akr_log_full(LOG_CRIT, -ENOMEM, AKR_FIELDS(.run_id = s->run_id),
			     "Cannot remember that user '%s' in account %s must not be changed: "
			     "no key is changed for anyone in this run, stopping the sweep",
			     user, account_id);
		akr_sweep_stop(s);
		return -ENOMEM;
	}
	s->blocked_users[s->n_blocked_users++] = e;
	return 0;
}
