#pragma once
/* The metrics file (metrics_file in rotator.conf): the figures of the last
 * sweep in the Prometheus text exposition format, for node_exporter's
 * textfile collector (--collector.textfile.directory). Every metric is a
 * gauge named iam_access_key_rotator_*; docs/rotator.conf.5 lists them. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct akr_report;

/** What the sweep knows beyond its report. */
struct akr_metrics_sweep {
	const struct akr_report *report; /* borrowed: times, totals, rows */
	bool success;                    /* it ran, completely, and nothing failed */
	uint64_t requests;               /* HTTP requests started, retries included */
	uint64_t throttled;              /* throttling answers seen */
};

/** Writes the metrics of @m to @f. @last_success_sec is the end of the last
 * successful sweep (this one's when it succeeded), 0 = none yet. Returns 0,
 * -ENOMEM or -EIO. */
int akr_metrics_format(const struct akr_metrics_sweep *m, int64_t last_success_sec, FILE *f);

/** The last success timestamp recorded in an earlier metrics file @path
 * (borrowed), so that it survives failed sweeps and restarts; 0 when the
 * file is missing or holds none. */
int64_t akr_metrics_previous_success_sec(const char *path);

/** Writes the metrics file @path (borrowed) atomically (temporary file in the
 * same directory, rename), mode 0644. Returns 0 or -errno. */
int akr_metrics_write(const char *path, const struct akr_metrics_sweep *m);
