/* lib/base/isolate.c: work run in a forked child. What a user of it relies
 * on: the result comes back whole, the child's own error comes back as it
 * was, and a child that crashes, hangs or says too much ends as an error
 * while the caller goes on (its signal mask untouched, no child left). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/base/error.h"
#include "lib/base/isolate.h"
#include "lib/base/secret.h"

static int give(void *arg, struct akr_secret **ret, struct akr_error *err)
{
	(void)err;
	*ret = akr_secret_new(arg, strlen(arg));
	return *ret ? 0 : -ENOMEM;
}

static int refuse(void *arg, struct akr_secret **ret, struct akr_error *err)
{
	(void)arg;
	(void)ret;
	akr_error_set(err, AKR_ERROR_LOCAL, 0, "ZipError", "cannot set the encryption: %s",
		      "Not supported");
	return -EOPNOTSUPP;
}

/* A write that faults, as libzip 1.7.3's through the NULL of a failed
 * _zip_ef_new() inside zip_close() (a page without access rather than NULL
 * itself, which UBSan would stop first). */
static int write_through_null(void *arg, struct akr_secret **ret, struct akr_error *err)
{
	volatile int *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	(void)ret;
	(void)err;
	assert_true(p != MAP_FAILED);
	*p = 1;
	return 0;
}

static int hang(void *arg, struct akr_secret **ret, struct akr_error *err)
{
	(void)arg;
	(void)ret;
	(void)err;
	for (;;)
		pause();
	return 0;
}

/* No child is left to reap: each run waited for its own. */
static void assert_no_child(void)
{
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void test_result_comes_back(void **state)
{
	char text[] = "PK\x03\x04 the bytes of a zip";
	struct akr_secret *out = NULL;
	struct akr_error err = { 0 };
	sigset_t before, after;

	(void)state;
	(void)sigprocmask(SIG_SETMASK, NULL, &before);
	assert_int_equal(akr_isolated_run("the zip", give, text, 1024, 5000, &out, &err), 0);
	assert_non_null(out);
	assert_int_equal(out->len, strlen(text));
	assert_memory_equal(out->buf, text, out->len);
	akr_secret_free(out);
	/* The caller's signal mask is as it was (every signal is blocked
	 * around fork()). */
	(void)sigprocmask(SIG_SETMASK, NULL, &after);
	for (int sig = 1; sig < NSIG; sig++)
		assert_int_equal(sigismember(&before, sig), sigismember(&after, sig));
	assert_no_child();
}

static void test_error_comes_back(void **state)
{
	struct akr_secret *out = NULL;
	struct akr_error err = { 0 };

	(void)state;
	assert_int_equal(akr_isolated_run("the zip", refuse, NULL, 1024, 5000, &out, &err),
			 -EOPNOTSUPP);
	assert_null(out);
	assert_string_equal(err.code, "ZipError");
	assert_string_equal(err.message, "cannot set the encryption: Not supported");
	assert_no_child();
}

static void test_crash_is_an_error(void **state)
{
	struct akr_secret *out = NULL;
	struct akr_error err = { 0 };

	(void)state;
	assert_int_equal(akr_isolated_run("the zip", write_through_null, NULL, 1024, 5000, &out,
					  &err),
			 -ECHILD);
	assert_null(out);
	assert_string_equal(err.code, "IsolatedError");
	assert_non_null(strstr(err.message, "the zip: its process was killed by signal 11"));
	assert_no_child();
}

static void test_hang_is_killed(void **state)
{
	struct akr_secret *out = NULL;
	struct akr_error err = { 0 };

	(void)state;
	assert_int_equal(akr_isolated_run("the zip", hang, NULL, 1024, 200, &out, &err),
			 -ETIMEDOUT);
	assert_null(out);
	assert_non_null(strstr(err.message, "took longer than 200 ms; its process was killed"));
	assert_no_child();
}

static void test_too_large(void **state)
{
	char text[] = "more than eight bytes";
	struct akr_secret *out = NULL;
	struct akr_error err = { 0 };

	(void)state;
	assert_int_equal(akr_isolated_run("the zip", give, text, 8, 5000, &out, &err), -E2BIG);
	assert_null(out);
	assert_non_null(strstr(err.message, "larger than 8 bytes"));
	assert_no_child();
	assert_int_equal(akr_isolated_run("the zip", NULL, text, 8, 5000, &out, &err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_comes_back),
		cmocka_unit_test(test_error_comes_back),
		cmocka_unit_test(test_crash_is_an_error),
		cmocka_unit_test(test_hang_is_killed),
		cmocka_unit_test(test_too_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
