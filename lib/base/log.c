#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "lib/base/log.h"
#include "lib/base/strutil.h"

/* The only process-wide state in lib/: logging is process plumbing that every
 * module shares, as in knot-resolver's lib/log.c. */
static enum akr_log_target log_target = AKR_LOG_STDERR;
static int log_max_priority = LOG_INFO;

static const char *const priority_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void akr_log_setup(enum akr_log_target target, int max_priority)
{
	if (target == AKR_LOG_AUTO)
		target = stderr_is_journal() ? AKR_LOG_JOURNAL : AKR_LOG_STDERR;
	log_target = target;
	log_max_priority = max_priority;
}

bool akr_log_to_journal(void)
{
	return log_target == AKR_LOG_JOURNAL;
}

void akr__fails_assert_log(const char *expr, const char *file, int line, const char *func)
{
	(void)akr_log_internal(LOG_CRIT, 0, NULL, file, line, func,
			       "Assertion '%s' failed in %s(), continuing", expr, func);
}

static int log_journal(int priority, int errnum, const struct akr_log_fields *f, const char *file,
		       int line, const char *func, const char *msg)
{
	char fileline[512], prio[32], err[32];
	struct iovec iov[16];
	char fields[8][192];
	size_t n = 0, nf = 0;

#define ADD_FIELD(name, value)                                                                     \
	do {                                                                                       \
		if ((value) && nf < ELEMENTSOF(fields)) {                                          \
			int _l = snprintf(fields[nf], sizeof(fields[nf]), name "=%s", (value));    \
			if (_l > 0) {                                                              \
				iov[n++] = (struct iovec){ fields[nf],                             \
							   (size_t)_l < sizeof(fields[nf])         \
								   ? (size_t)_l                    \
								   : sizeof(fields[nf]) - 1 };     \
				nf++;                                                              \
			}                                                                          \
		}                                                                                  \
	} while (0)

	(void)snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ (void *)"SYSLOG_IDENTIFIER=iam-access-key-rotator",
				   strlen("SYSLOG_IDENTIFIER=iam-access-key-rotator") };
	(void)snprintf(fileline, sizeof(fileline), "CODE_FILE=%s", file);
	iov[n++] = (struct iovec){ fileline, strlen(fileline) };
	if (errnum) {
		(void)snprintf(err, sizeof(err), "ERRNO=%d", errnum < 0 ? -errnum : errnum);
		iov[n++] = (struct iovec){ err, strlen(err) };
	}
	if (f) {
		ADD_FIELD("MESSAGE_ID", f->message_id);
		ADD_FIELD("RUN_ID", f->run_id);
		ADD_FIELD("ACCOUNT_ID", f->account_id);
		ADD_FIELD("USER_NAME", f->user_name);
		ADD_FIELD("ACCESS_KEY_ID", f->access_key_id);
		ADD_FIELD("ACTION", f->action);
		ADD_FIELD("RESULT", f->result);
		ADD_FIELD("ERROR_CODE", f->error_code);
	}
#undef ADD_FIELD
	{
		/* MESSAGE last: it may be long, so it is not truncated into a field slot. */
		size_t ml = strlen(msg);
		char *m = malloc(ml + sizeof("MESSAGE="));
		int r;

		if (!m)
			return -ENOMEM;
		memcpy(m, "MESSAGE=", 8);
		memcpy(m + 8, msg, ml + 1);
		iov[n++] = (struct iovec){ m, ml + 8 };
		(void)line;
		(void)func;
		r = sd_journal_sendv(iov, (int)n);
		free(m);
		return r;
	}
}

int akr_log_internal(int priority, int errnum, const struct akr_log_fields *fields,
		     const char *file, int line, const char *func, const char *fmt, ...)
{
	char raw[2048], msg[4096];
	va_list ap;
	int saved_errno = errno;

	if (priority > log_max_priority)
		return errnum ? -abs(errnum) : 0;

	errno = abs(errnum);
	va_start(ap, fmt);
	(void)vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	/* Messages quote values from AWS answers and tags: a CR or LF in one
	 * must not start a forged line ("<0>...") on stderr or in the journal. */
	(void)akr_str_escape_controls(raw, msg, sizeof(msg));

	if (log_target != AKR_LOG_JOURNAL || log_journal(priority, errnum, fields, file, line, func, msg) < 0) {
		if (isatty(STDERR_FILENO))
			fprintf(stderr, "%s: %s\n", priority_names[priority & 7], msg);
		else
			fprintf(stderr, "<%d>%s\n", priority & 7, msg);
	}
	errno = saved_errno;
	return errnum ? -abs(errnum) : 0;
}
