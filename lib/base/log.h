#pragma once
/* Logging for the whole program: to the journal with structured fields when
 * stderr is connected to journald ($JOURNAL_STREAM), otherwise one line per
 * event on stderr. Never pass a secret, session token, signature or password
 * to any of these functions. This module keeps the one piece of process-wide
 * state lib/ has: where log lines go and the maximum priority. */

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "lib/base/macro.h"

/* MESSAGE_IDs, one per event kind (docs/iam-access-key-rotator.catalog). */
#define AKR_MID_SWEEP_STARTED "f0ce3d115dc74649bdd268167ba44e81"
#define AKR_MID_SWEEP_FINISHED "ee1fbe6883d44961bf7fbef9b6593373"
#define AKR_MID_KEY_ACTION "b91cfc1a83034aecb73829e3ca38d957"
#define AKR_MID_ACCOUNT_FAILED "6d34670f878847729d5e8dbf092c7e6b"
#define AKR_MID_USER_SKIPPED "6cfa509a9db24bceb5bba3c92dcc64bc"
#define AKR_MID_CONFIG_RELOADED "717e23993e25479bac1724dca27af634"
#define AKR_MID_CONFIG_INVALID "3a5b09c095ac460f9fe6b9b8c6a5c4b7"
#define AKR_MID_RECONCILED "f3ba54218bdb4727b7653acb95f9743f"
#define AKR_MID_ALERT_PUBLISHED "4c6d9ba05a594ecc837973986c2c4609"
#define AKR_MID_SCHEDULED "919496393b5b4e138f56221c752f077e"
#define AKR_MID_DAEMON_STARTED "9d5780f2c3ef4ffead8b3d28a17601f8"
#define AKR_MID_DAEMON_STOPPING "04a7da335444421ea6483d19ef02231d"
#define AKR_MID_MAIL_SENT "cbb206955bb44d2287c0f9e0640e23e3"
#define AKR_MID_ADDRESS_HOLD "8353d97113e3499ea988a14fb11027b9"
#define AKR_MID_CREDENTIAL_REPORT "5b0e2f4d9c8a4e51a6d3f7c2b1e90a47"

enum akr_log_target {
	AKR_LOG_AUTO,    /* journal if $JOURNAL_STREAM names our stderr, else stderr */
	AKR_LOG_STDERR,
	AKR_LOG_JOURNAL,
};

/** Structured fields of one event; every member is optional (NULL). Borrowed. */
struct akr_log_fields {
	const char *message_id;
	const char *run_id;
	const char *account_id;
	const char *user_name;
	const char *access_key_id;
	const char *action;
	const char *result;
	const char *error_code;
};

/** Chooses where log lines go and the most verbose priority written (LOG_INFO
 * by default; LOG_DEBUG for --verbose). */
void akr_log_setup(enum akr_log_target target, int max_priority);
bool akr_log_to_journal(void);

/** Logs one event. Returns -|errnum| when errnum != 0, else 0, so that callers
 * can `return akr_log_error_errno(r, "...")`. */
int akr_log_internal(int priority, int errnum, const struct akr_log_fields *fields,
		     const char *file, int line, const char *func, const char *fmt, ...)
	_printf_(7, 8);

#define akr_log_full(prio, errnum, fields, ...)                                                    \
	akr_log_internal((prio), (errnum), (fields), __FILE__, __LINE__, __func__, __VA_ARGS__)

/* Fields as a compound literal: AKR_FIELDS(.account_id = id, .action = "delete"). */
#define AKR_FIELDS(...) (&(struct akr_log_fields){ __VA_ARGS__ })

#define akr_log_debug(...) akr_log_full(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define akr_log_info(...) akr_log_full(LOG_INFO, 0, NULL, __VA_ARGS__)
#define akr_log_notice(...) akr_log_full(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define akr_log_warning(...) akr_log_full(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define akr_log_error(...) akr_log_full(LOG_ERR, 0, NULL, __VA_ARGS__)
#define akr_log_warning_errno(r, ...) akr_log_full(LOG_WARNING, (r), NULL, __VA_ARGS__)
#define akr_log_error_errno(r, ...) akr_log_full(LOG_ERR, (r), NULL, __VA_ARGS__)
