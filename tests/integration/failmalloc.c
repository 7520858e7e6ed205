/* An LD_PRELOAD library for the allocation failure test
 * (tests/integration/test_alloc_failure.py): malloc, calloc and realloc fail
 * (return NULL, errno ENOMEM) exactly once, at the Nth call after arming.
 *
 *   AKR_FAILMALLOC_AT=N        the call to fail, counted from 1 after arming;
 *                              unset or 0: never fail, only count
 *   AKR_FAILMALLOC_ARM=flock   arm at the first flock() (the daemon takes the
 *                              state directory's lock just before its sweep);
 *                              "start": arm at once
 *   AKR_FAILMALLOC_REPORT=path at exit, write "<calls after arming> <failed 0/1>"
 *   AKR_FAILMALLOC_BACKTRACE=1 print the failing call's stack to stderr, and
 *                              the stack of an abort() (SIGABRT) that follows
 *   AKR_FAILMALLOC_CALLER=name count (and fail) only the allocations called
 *                              from a shared object whose path contains name
 *                              (e.g. "libcurl": a failure inside curl's multi)
 *   AKR_FAILMALLOC_STACK=name  count (and fail) only the allocations with a
 *                              caller anywhere on the stack in a shared object
 *                              whose path contains name (e.g. "libyajl": yajl
 *                              allocates through the parser's own functions)
 *
 * Test tooling only: never linked into the daemon. */
#include <dlfcn.h>
#include <execinfo.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*flock_fn)(int, int);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static flock_fn real_flock;

static atomic_bool armed;
/* The count and whether the point fired, shared with forked children (the
 * daemon makes its zips in one, lib/base/isolate.c): an allocation there
 * counts, and fails, like one in the daemon itself. */
struct shared_count {
	atomic_uint_fast64_t calls;
	atomic_bool failed;
};
static struct shared_count private_count, *count = &private_count;
static uint64_t fail_at;
static const char *caller_filter;
static const char *stack_filter;
static __thread bool in_backtrace;
static bool initialising, initialised;

/* dlsym() may calloc() before real_calloc is known: serve it from here. */
static _Alignas(16) unsigned char bootstrap[4096];
static size_t bootstrap_used;

static bool in_bootstrap(const void *p)
{
	return (const unsigned char *)p >= bootstrap &&
	       (const unsigned char *)p < bootstrap + sizeof(bootstrap);
}

/* The failing point and the filters, from the environment. */
static void read_settings(void)
{
	const char *at = getenv("AKR_FAILMALLOC_AT");

	fail_at = at ? strtoull(at, NULL, 10) : 0;
	caller_filter = getenv("AKR_FAILMALLOC_CALLER");
	if (caller_filter && !*caller_filter)
		caller_filter = NULL;
	stack_filter = getenv("AKR_FAILMALLOC_STACK");
	if (stack_filter && !*stack_filter)
		stack_filter = NULL;
}

static void init(void)
{
	const char *arm;
	void *shared;

	if (initialised || initialising)
		return;
	initialising = true;
	real_malloc = (malloc_fn)dlsym(RTLD_NEXT, "malloc");
	real_calloc = (calloc_fn)dlsym(RTLD_NEXT, "calloc");
	real_realloc = (realloc_fn)dlsym(RTLD_NEXT, "realloc");
	real_free = (free_fn)dlsym(RTLD_NEXT, "free");
	real_flock = (flock_fn)dlsym(RTLD_NEXT, "flock");
	shared = mmap(NULL, sizeof(*count), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (shared != MAP_FAILED)
		count = shared;
	read_settings();
	arm = getenv("AKR_FAILMALLOC_ARM");
	if (arm && strcmp(arm, "start") == 0)
		atomic_store(&armed, true);
	initialising = false;
	initialised = true;
}

/* After the failure, an abort() says where it came from, then goes on. */
static void on_abort(int sig)
{
	static const char msg[] = "failmalloc: SIGABRT after the failed allocation, at:\n";
	void *frames[32];

	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	backtrace_symbols_fd(frames, backtrace(frames, 32), STDERR_FILENO);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

/* Whether @caller lies in the shared object AKR_FAILMALLOC_CALLER names. */
static bool caller_matches(const void *caller)
{
	Dl_info info;

	if (!caller_filter)
		return true;
	if (!dladdr(caller, &info) || !info.dli_fname)
		return false;
	return strstr(info.dli_fname, caller_filter) != NULL;
}

/* Whether a frame of the stack lies in the object AKR_FAILMALLOC_STACK
 * names. backtrace() may allocate on its first call: those allocations
 * (in_backtrace) never match. */
static bool stack_matches(void)
{
	void *frames[24];
	Dl_info info;
	int i, n;

	if (!stack_filter)
		return true;
	if (in_backtrace)
		return false;
	in_backtrace = true;
	n = backtrace(frames, 24);
	in_backtrace = false;
	for (i = 1; i < n; i++)
		if (dladdr(frames[i], &info) && info.dli_fname &&
		    strstr(info.dli_fname, stack_filter))
			return true;
	return false;
}

static void report(void);

/* Whether this allocation, called from @caller, is the one that fails. */
static bool should_fail(const void *caller)
{
	uint64_t n;

	if (!atomic_load(&armed) || !caller_matches(caller) || !stack_matches())
		return false;
	n = atomic_fetch_add(&count->calls, 1) + 1;
	if (fail_at == 0 || n != fail_at)
		return false;
	atomic_store(&count->failed, true);
	/* Written now as well: a process that ends with _exit() (the JSON
	 * parser's allocator) runs no destructor. */
	report();
	if (getenv("AKR_FAILMALLOC_BACKTRACE")) {
		void *frames[32];

		backtrace_symbols_fd(frames, backtrace(frames, 32), STDERR_FILENO);
		(void)signal(SIGABRT, on_abort);
	}
	return true;
}

void *malloc(size_t size)
{
	init();
	if (!real_malloc)
		return NULL;
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		size_t need = n * size, off = (bootstrap_used + 15) & ~(size_t)15;

		init();
		if (!real_calloc) {
			if (size && need / size != n)
				return NULL;
			if (off + need > sizeof(bootstrap))
				return NULL;
			bootstrap_used = off + need;
			return bootstrap + off; /* static storage: already zero */
		}
	}
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	init();
	if (in_bootstrap(p)) {
		/* Never happens in practice (dlsym's buffers are not grown). */
		errno = ENOMEM;
		return NULL;
	}
	if (!real_realloc)
		return NULL;
	if (should_fail(__builtin_return_address(0))) {
		errno = ENOMEM;
		return NULL;
	}
	return real_realloc(p, size);
}

void free(void *p)
{
	if (!p || in_bootstrap(p))
		return;
	if (!real_free)
		init();
	/* Only while dlsym() itself runs (it may free what it allocated): leak. */
	if (!real_free)
		return;
	real_free(p);
}

int flock(int fd, int op)
{
	init();
	/* Read again: under a sanitizer, init() may run before the
	 * environment is set up. */
	read_settings();
	atomic_store(&armed, true);
	return real_flock ? real_flock(fd, op) : (errno = ENOSYS, -1);
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("AKR_FAILMALLOC_REPORT");
	char line[64];
	int fd, n;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%llu %d\n", (unsigned long long)atomic_load(&count->calls),
		     atomic_load(&count->failed) ? 1 : 0);
	if (n > 0)
		(void)!write(fd, line, (size_t)n);
	(void)close(fd);
}
