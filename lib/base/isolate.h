#pragma once
/* Runs one short piece of work in a forked child process, so that a library
 * that cannot fail cleanly takes only the child down with it. libzip 1.7.3
 * (Debian 12) writes through the NULL of a failed allocation while it writes
 * a WinZip AES archive (_zip_dirent_write): in the daemon that was a
 * SIGSEGV in the middle of a sweep; in a child it is an error the rotation
 * rolls back like any other.
 *
 * The caller blocks until the child is done: meant for work of a few
 * milliseconds that would block the loop just as long in process. The child
 * keeps every signal blocked (a signal meant for the daemon never runs the
 * daemon's handlers in it; a fault still kills it) and ends with _exit(),
 * so no atexit handler or stdio buffer of the daemon runs twice. */

#include <stddef.h>

struct akr_error;
struct akr_secret;

/** The work, run in the child: on success sets *@ret (freed by the child)
 * and returns 0; else returns -errno and fills @err (may be NULL). */
typedef int (*akr_isolated_fn)(void *arg, struct akr_secret **ret, struct akr_error *err);

/** Runs @fn(@arg) in a child process and hands its result to the caller in
 * *@ret (a secret: the caller frees it with akr_secret_free(), which wipes
 * it). @what names the work in messages ("the zip"). Returns 0; what @fn
 * returned, with its error's code and message in @reterr; -ECHILD when the
 * child did not finish normally (killed by a signal, or a broken answer:
 * the message says which); -ETIMEDOUT when it took longer than @timeout_ms
 * (it is then killed); -E2BIG when its result is larger than @max_bytes;
 * or -errno of pipe(2) or fork(2). */
int akr_isolated_run(const char *what, akr_isolated_fn fn, void *arg, size_t max_bytes,
		     int timeout_ms, struct akr_secret **ret, struct akr_error *reterr);
