#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/aws/paging.h"
#include "lib/base/error.h"

void akr_paging_init(struct akr_paging *p, const char *call, size_t max_pages)
{
	*p = (struct akr_paging){
		.call = call,
		.max_pages = max_pages ? max_pages : AKR_PAGING_MAX_PAGES,
	};
	akr_seen_init(&p->markers, p->max_pages);
}

void akr_paging_done(struct akr_paging *p)
{
	if (p)
		akr_seen_done(&p->markers);
}

int akr_paging_next(struct akr_paging *p, const char *marker, struct akr_error *reterr)
{
	int r;

	p->pages++;
	if (!marker || !*marker)
		return 0;
	if (p->pages >= p->max_pages) {
		akr_error_set(reterr, AKR_ERROR_PARSE, 0, "EndlessPagination",
			      "%s: still more pages after %zu pages; the listing is not followed "
			      "further (endless pagination)",
			      p->call, p->pages);
		return -E2BIG;
	}
	r = akr_seen_add(&p->markers, marker, strlen(marker));
	if (r == 0) {
		akr_error_set(reterr, AKR_ERROR_PARSE, 0, "EndlessPagination",
			      "%s: page %zu hands out a marker that an earlier page of the same "
			      "listing handed out already (endless pagination)",
			      p->call, p->pages);
		return -ELOOP;
	}
	return r < 0 ? r : 0;
}

int akr_paging_take_marker(struct akr_paging *p, char **marker, bool truncated, char **page_marker,
			   struct akr_error *reterr)
{
	free(*marker);
	*marker = NULL;
	if (truncated && page_marker) {
		*marker = *page_marker;
		*page_marker = NULL;
	}
	return akr_paging_next(p, *marker, reterr);
}
