#pragma once
/* A guard for one paginated listing (ListAccounts, ListUsers, ListUserTags,
 * ListAccessKeys): an answer that hands back a marker it handed out before,
 * or that never stops saying "more", would otherwise be followed for ever.
 * The caller feeds it every page's continuation marker; the guard ends the
 * listing with an error naming the call when a marker repeats or the page
 * limit is reached. One guard per listing; a listing that starts over (a new
 * sweep) gets a new guard. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/base/seen.h"

struct akr_error;

/* Far beyond any real listing: 10,000 pages of ListAccounts are 200,000
 * accounts, of ListUsers (100 a page) a million users. */
#define AKR_PAGING_MAX_PAGES 10000

struct akr_paging {
	const char *call; /* static, e.g. "ListUsers" */
	size_t pages, max_pages;
	struct akr_seen markers;
};

/** Starts a listing of @call (a static string) that may have @max_pages
 * pages (0 = AKR_PAGING_MAX_PAGES). Allocates nothing. */
void akr_paging_init(struct akr_paging *p, const char *call, size_t max_pages);
/** Releases the markers' table. */
void akr_paging_done(struct akr_paging *p);

/** Counts one page received whose continuation is @marker (borrowed; NULL
 * or "" on the last page). Returns 0 (go on: fetch the page @marker names,
 * if any); -ELOOP when @marker was handed out before in this listing;
 * -E2BIG when a further page would pass the page limit; -ENOMEM; -EIO.
 * On error @reterr (may be NULL) is filled (kind AKR_ERROR_PARSE, code
 * "EndlessPagination", not retried) and the listing must end. */
int akr_paging_next(struct akr_paging *p, const char *marker, struct akr_error *reterr);

/** One page received: replaces *@marker (owned, freed) with the page's
 * continuation, taken from *@page_marker (owned by the page; set to NULL
 * when taken) when @truncated, else NULL, then counts the page as
 * akr_paging_next() does. Returns akr_paging_next()'s result; on 0, a
 * non-NULL *@marker names the next page to fetch. */
int akr_paging_take_marker(struct akr_paging *p, char **marker, bool truncated, char **page_marker,
			   struct akr_error *reterr);
