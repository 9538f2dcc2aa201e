/*
 * metrics.h
 *		Counting what the workers do for the metrics views: requests to the
 *		TAB API by endpoint and HTTP status (racing_sched.http_stats).
 */
#ifndef RACING_SCHED_METRICS_H
#define RACING_SCHED_METRICS_H

#include "postgres.h"

/*
 * Count one request in http_stats.  Call inside a transaction with SPI
 * connected; the count commits with it.
 */
extern void metrics_count_request(const char *endpoint, int http_status, bool ok,
								  int64 bytes, int64 elapsed_ms);

#endif							/* RACING_SCHED_METRICS_H */
