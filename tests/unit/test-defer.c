/* lib/base/defer.c: calls run later from the loop, hurried or canceled all
 * at once. The loop is run step by step (UV_RUN_NOWAIT), so no test waits
 * for a clock: a call due later would simply not have run. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <uv.h>

#include "lib/base/defer.h"

#define HOUR_MS (3600 * 1000)

struct calls {
	int n;
	int order[8];
	struct akr_defer_set *ds; /* for the calls that act on their own set */
};

struct call {
	struct calls *c;
	int id;
};

static void record(void *userdata)
{
	struct call *k = userdata;

	assert_true(k->c->n < 8);
	k->c->order[k->c->n++] = k->id;
}

static void loop_close(uv_loop_t *loop)
{
	/* Every node's close callback has run: nothing is left on the loop. */
	(void)uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
}

static void test_runs_later_in_order(void **state)
{
	uv_loop_t loop;
	struct akr_defer_set ds;
	struct calls c = { 0 };
	struct call a = { &c, 1 }, b = { &c, 2 }, late = { &c, 3 };

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	akr_defer_set_init(&ds, &loop);
	assert_false(akr_defer_pending(&ds));
	assert_int_equal(akr_defer(&ds, 0, record, &a), 0);
	assert_int_equal(akr_defer(&ds, -5, record, &b), 0); /* negative: at once */
	assert_int_equal(akr_defer(&ds, HOUR_MS, record, &late), 0);
	/* Never from inside the call. */
	assert_int_equal(c.n, 0);
	assert_true(akr_defer_pending(&ds));
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.order[0], 1);
	assert_int_equal(c.order[1], 2);
	/* The hour-long one is still pending; cancel it rather than wait. */
	assert_true(akr_defer_pending(&ds));
	akr_defer_cancel_all(&ds);
	assert_false(akr_defer_pending(&ds));
	loop_close(&loop);
	assert_int_equal(c.n, 2);
}

static void test_hurry_all(void **state)
{
	uv_loop_t loop;
	struct akr_defer_set ds;
	struct calls c = { 0 };
	struct call a = { &c, 1 }, b = { &c, 2 }, after = { &c, 3 };

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	akr_defer_set_init(&ds, &loop);
	assert_int_equal(akr_defer(&ds, HOUR_MS, record, &a), 0);
	assert_int_equal(akr_defer(&ds, 2 * HOUR_MS, record, &b), 0);
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(c.n, 0);
	akr_defer_hurry_all(&ds);
	/* Queued after the hurry: keeps its own delay. */
	assert_int_equal(akr_defer(&ds, HOUR_MS, record, &after), 0);
	assert_int_equal(c.n, 0); /* hurried, still not from inside the call */
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(c.n, 2);
	assert_true(akr_defer_pending(&ds));
	akr_defer_cancel_all(&ds);
	loop_close(&loop);
	assert_int_equal(c.n, 2);
}

static void test_cancel_all_never_runs(void **state)
{
	uv_loop_t loop;
	struct akr_defer_set *ds = malloc(sizeof(*ds));
	struct calls c = { 0 };
	struct call a = { &c, 1 }, b = { &c, 2 };

	(void)state;
	assert_non_null(ds);
	assert_int_equal(uv_loop_init(&loop), 0);
	akr_defer_set_init(ds, &loop);
	assert_int_equal(akr_defer(ds, 0, record, &a), 0);
	assert_int_equal(akr_defer(ds, 0, record, &b), 0);
	akr_defer_cancel_all(ds);
	/* The set may go at once: the nodes no longer point at it. */
	free(ds);
	loop_close(&loop);
	assert_int_equal(c.n, 0);
}

/* A call that queues another one, and a call that frees its set's owner. */
static void requeue(void *userdata)
{
	struct call *k = userdata;

	record(k);
	if (k->id == 1) {
		k->id = 2;
		assert_int_equal(akr_defer(k->c->ds, 0, requeue, k), 0);
	}
}

static void free_owner(void *userdata)
{
	struct call *k = userdata;

	record(k);
	akr_defer_cancel_all(k->c->ds);
	free(k->c->ds);
	k->c->ds = NULL;
}

static void test_calls_may_requeue_or_free_the_owner(void **state)
{
	uv_loop_t loop;
	struct calls c = { 0 };
	struct call a = { &c, 1 }, f = { &c, 7 }, never = { &c, 9 };

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	c.ds = malloc(sizeof(*c.ds));
	assert_non_null(c.ds);
	akr_defer_set_init(c.ds, &loop);
	assert_int_equal(akr_defer(c.ds, 0, requeue, &a), 0);
	/* The second call comes from the loop too (in this iteration's
	 * second timer pass, or the next one). */
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.order[0], 1);
	assert_int_equal(c.order[1], 2);
	assert_false(akr_defer_pending(c.ds));

	assert_int_equal(akr_defer(c.ds, 0, free_owner, &f), 0);
	assert_int_equal(akr_defer(c.ds, HOUR_MS, record, &never), 0);
	(void)uv_run(&loop, UV_RUN_NOWAIT);
	assert_null(c.ds);
	loop_close(&loop);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.order[2], 7);
}

static void test_bad_arguments(void **state)
{
	uv_loop_t loop;
	struct akr_defer_set ds;
	struct calls c = { 0 };
	struct call a = { &c, 1 };

	(void)state;
	assert_int_equal(uv_loop_init(&loop), 0);
	akr_defer_set_init(&ds, &loop);
	assert_int_equal(akr_defer(&ds, 0, NULL, &a), -EINVAL);
	assert_int_equal(akr_defer(NULL, 0, record, &a), -EINVAL);
	assert_false(akr_defer_pending(&ds));
	assert_false(akr_defer_pending(NULL));
	akr_defer_hurry_all(NULL);
	akr_defer_cancel_all(NULL);
	loop_close(&loop);
	assert_int_equal(c.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_later_in_order),
		cmocka_unit_test(test_hurry_all),
		cmocka_unit_test(test_cancel_all_never_runs),
		cmocka_unit_test(test_calls_may_requeue_or_free_the_owner),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
