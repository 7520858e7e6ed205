#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "daemon/notify.h"

void notify_ready(void)
{
	(void)sd_notify(0, "READY=1");
}

void notify_reloading(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
			 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void notify_stopping(void)
{
	(void)sd_notify(0, "STOPPING=1");
}

void notify_status(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)sd_notifyf(0, "STATUS=%s", msg);
}

static void watchdog_cb(uv_timer_t *t)
{
	(void)t;
	(void)sd_notify(0, "WATCHDOG=1");
}

int notify_watchdog_start(uv_loop_t *loop, uv_timer_t *timer)
{
	uint64_t usec = 0;
	int r;

	r = sd_watchdog_enabled(0, &usec);
	if (r <= 0 || usec == 0)
		return 0;
	r = uv_timer_init(loop, timer);
	if (r < 0)
		return r;
	uv_unref((uv_handle_t *)timer);
	(void)sd_notify(0, "WATCHDOG=1");
	return uv_timer_start(timer, watchdog_cb, usec / 2000 ? usec / 2000 : 1, usec / 2000 ? usec / 2000 : 1);
}
