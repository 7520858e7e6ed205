#pragma once
/* A small set of helpers for scoped cleanup and ownership transfer (after
 * systemd's macro-fundamental.h). Keep this file to about a dozen helpers. */

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

/* Hands ownership of *p on: returns the pointer and leaves NULL behind. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		typeof(p) _take_tmp = (p);                                                         \
		(p) = NULL;                                                                        \
		_take_tmp;                                                                         \
	})

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                    \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0)
		(void)close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* For "cannot happen, but must not crash": logs at CRIT, evaluates to true
 * when the assertion failed so the caller can return -EINVAL. */
void akr__fails_assert_log(const char *expr, const char *file, int line, const char *func);
#define akr_fails_assert(expr)                                                                     \
	({                                                                                         \
		bool _fa_bad = !(expr);                                                            \
		if (_fa_bad)                                                                       \
			akr__fails_assert_log(#expr, __FILE__, __LINE__, __func__);                \
		_fa_bad;                                                                           \
	})
