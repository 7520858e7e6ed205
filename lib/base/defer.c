/* Calls run later from the loop, on one timer each: see defer.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <uv.h>

#include "lib/base/defer.h"

struct akr_defer_node {
	uv_timer_t timer;
	struct akr_defer_set *ds; /* NULL once unlinked */
	struct akr_defer_node *prev, *next;
	akr_defer_cb cb;
	void *userdata;
};

void akr_defer_set_init(struct akr_defer_set *ds, uv_loop_t *loop)
{
	ds->loop = loop;
	ds->nodes = NULL;
}

static void node_closed(uv_handle_t *h)
{
	free(h->data);
}

static void node_unlink(struct akr_defer_node *n)
{
	if (!n->ds)
		return;
	if (n->prev)
		n->prev->next = n->next;
	else
		n->ds->nodes = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->prev = n->next = NULL;
	n->ds = NULL;
}

static void node_fire(uv_timer_t *t)
{
	struct akr_defer_node *n = t->data;

	/* Unlinked and closing before the call: the call may free the set's
	 * owner or queue another call. */
	node_unlink(n);
	uv_close((uv_handle_t *)&n->timer, node_closed);
	n->cb(n->userdata);
}

int akr_defer(struct akr_defer_set *ds, int64_t delay_ms, akr_defer_cb cb, void *userdata)
{
	struct akr_defer_node *n;
	int r;

	if (!ds || !ds->loop || !cb)
		return -EINVAL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	r = uv_timer_init(ds->loop, &n->timer);
	if (r < 0) {
		free(n);
		return r;
	}
	n->timer.data = n;
	n->cb = cb;
	n->userdata = userdata;
	r = uv_timer_start(&n->timer, node_fire, (uint64_t)(delay_ms > 0 ? delay_ms : 0), 0);
	if (r < 0) {
		uv_close((uv_handle_t *)&n->timer, node_closed);
		return r;
	}
	n->ds = ds;
	n->next = ds->nodes;
	if (n->next)
		n->next->prev = n;
	ds->nodes = n;
	return 0;
}

bool akr_defer_pending(const struct akr_defer_set *ds)
{
	return ds && ds->nodes;
}

void akr_defer_hurry_all(struct akr_defer_set *ds)
{
	if (!ds)
		return;
	for (struct akr_defer_node *n = ds->nodes; n; n = n->next)
		(void)uv_timer_start(&n->timer, node_fire, 0, 0);
}

void akr_defer_cancel_all(struct akr_defer_set *ds)
{
	if (!ds)
		return;
	while (ds->nodes) {
		struct akr_defer_node *n = ds->nodes;

		node_unlink(n);
		uv_close((uv_handle_t *)&n->timer, node_closed);
	}
}
