#pragma once
/* credential_process of a profile in ~/.aws/config (how IAM Roles Anywhere's
 * aws_signing_helper gives a host short-lived credentials): the command is
 * split into words as a POSIX shell would (quotes and backslashes, no
 * expansion, no shell run), spawned through libuv without blocking, and must
 * print one JSON document on stdout within the time limit:
 *   {"Version": 1, "AccessKeyId": "...", "SecretAccessKey": "...",
 *    "SessionToken": "...", "Expiration": "2026-12-01T13:00:00Z"}
 * (SessionToken and Expiration optional). Its output is held in wiped
 * memory and never logged; its stderr goes to ours. */

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct akr_aws_creds;
struct akr_error;

#define AKR_CREDPROCESS_MAX_OUTPUT (64u * 1024)
#define AKR_CREDPROCESS_TIMEOUT_MS 60000

/** Splits @command into a NULL-terminated argv (malloc'ed, free with
 * akr_credprocess_argv_free()). Returns 0, -EINVAL (empty, or an unclosed
 * quote), -ENOMEM. */
int akr_credprocess_split(const char *command, char ***ret_argv);
void akr_credprocess_argv_free(char **argv);

/** Parses the process's output. Fills @ret only on success; -EBADMSG with
 * @reterr (may be NULL; never quotes a secret) when Version is not 1 or a
 * field is missing or malformed; -ENOMEM. */
int akr_credprocess_parse(const char *out, size_t len, struct akr_aws_creds *ret,
			  struct akr_error *reterr);

/** Completion: @r 0 with @creds (the callee's: move them out with
 * akr_aws_creds_move()), or -errno with @err: -ENOENT/-EACCES (cannot run
 * it), -ETIMEDOUT (killed after the time limit), -E2BIG (too much output),
 * -EPROTO (it exited with a non-zero status or a signal), -EBADMSG. */
typedef void (*akr_credprocess_cb)(void *userdata, int r, struct akr_aws_creds *creds,
				   const struct akr_error *err);

/** Runs @command (borrowed; copied) on @loop, killing it (SIGKILL) after
 * @timeout_ms (0 = AKR_CREDPROCESS_TIMEOUT_MS). Async contract as every
 * start in lib/: < 0 (-EINVAL, -ENOMEM, uv_spawn's error) and @cb never runs;
 * 0 and @cb runs once from the loop. */
int akr_credprocess_run(uv_loop_t *loop, const char *command, int64_t timeout_ms,
			akr_credprocess_cb cb, void *userdata);
