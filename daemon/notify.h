#pragma once
/* sd_notify(3) for the service manager: READY/RELOADING/STOPPING/STATUS and
 * the watchdog. Does nothing when $NOTIFY_SOCKET is unset. */

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "lib/base/macro.h"

void notify_ready(void);
/** RELOADING=1 with MONOTONIC_USEC=, as systemd's Type=notify-reload expects. */
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) _printf_(1, 2);

/** Starts a uv timer sending WATCHDOG=1 at half of WatchdogSec= when the
 * manager asks for it. The timer is unref'd: it never keeps the loop alive.
 * Returns 0 (also when no watchdog is wanted) or -errno. */
int notify_watchdog_start(uv_loop_t *loop, uv_timer_t *timer);
