#pragma once
/* "Run this later, from the loop": a call queued on a libuv timer, one heap
 * node per call, kept on a list so that its owner can hurry or cancel every
 * pending call at once. The one home of the pattern: the credential
 * provider answers what it knew without network from the loop (the async
 * contract: never from inside the start call), and the sweep waits before a
 * throttled read is tried again.
 *
 * Lifetimes: a struct akr_defer_set is embedded in its owner and borrows
 * the loop. Each pending call owns a heap node with its uv_timer_t; the node
 * is unlinked before the call runs and freed from the timer's close
 * callback, so a call may free its owner (after akr_defer_cancel_all()) or
 * queue another call. @userdata is borrowed: the owner keeps it alive until
 * the call ran or was canceled. */

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

struct akr_defer_node;

typedef void (*akr_defer_cb)(void *userdata);

struct akr_defer_set {
	uv_loop_t *loop;              /* borrowed */
	struct akr_defer_node *nodes; /* pending calls, owned */
};

/** Initialises an empty set on @loop (borrowed; must outlive the set). */
void akr_defer_set_init(struct akr_defer_set *ds, uv_loop_t *loop);

/** Runs @cb(@userdata) from the loop after @delay_ms (negative counts as 0),
 * never from inside this call. Returns 0 (then @cb runs exactly once, unless
 * akr_defer_cancel_all() drops it first) or -errno (-ENOMEM, or libuv's
 * error; then @cb never runs). */
int akr_defer(struct akr_defer_set *ds, int64_t delay_ms, akr_defer_cb cb, void *userdata);

/** Whether calls are pending. */
bool akr_defer_pending(const struct akr_defer_set *ds);

/** Makes every pending call run at the next loop iteration instead of at its
 * time (a stopping sweep does not wait for its back-offs). Calls queued
 * later keep their own delay. */
void akr_defer_hurry_all(struct akr_defer_set *ds);

/** Drops every pending call: its callback never runs (the owner frees what
 * the calls' userdata held). The timers are closed; their memory is freed
 * from the loop, so the set (and its owner) may be freed right after. */
void akr_defer_cancel_all(struct akr_defer_set *ds);
