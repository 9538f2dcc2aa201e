/*
 * job_runs.h
 *		The job_runs lifecycle through SPI (see job_runs.c).
 */
#ifndef RACING_SCHED_JOB_RUNS_H
#define RACING_SCHED_JOB_RUNS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "pgtime.h"

/* What a job reports when it ends; worker.c turns it into the run's row. */
typedef struct JobOutcome
{
	const char *status;			/* NULL: derived from the item counts */
	int64		items_processed;
	int64		items_failed;
	List	   *errors;			/* of char *, in the order they happened */
	StringInfoData metadata;	/* "key": value pairs of a JSON object */
} JobOutcome;

extern void outcome_init(JobOutcome *outcome);
extern void outcome_error(JobOutcome *outcome, const char *fmt,...) pg_attribute_printf(2, 3);
extern void outcome_meta(JobOutcome *outcome, const char *key, const char *json_value);
extern void outcome_meta_int(JobOutcome *outcome, const char *key, int64 value);
extern void outcome_meta_text(JobOutcome *outcome, const char *key, const char *value);
extern const char *outcome_status(const JobOutcome *outcome);

/* The scheduler's side; each runs in the caller's transaction, SPI connected. */
extern TimestampTz job_runs_sweep(TimestampTz work_started_at);
extern TimestampTz job_runs_enqueue_cron(const pg_tz *tz);
extern TimestampTz job_runs_plan_race_phases(void);
extern int	job_runs_count_running(void);
extern List *job_runs_claim_due(int limit);
extern void job_runs_mark_running(int64 job_run_id, pid_t worker_pid);
extern TimestampTz job_runs_next_due(void);
extern void job_runs_check_stopping(void);

/* Both sides: end a running run (terminal state, counters, retry). */
extern bool job_runs_finish(int64 job_run_id, const JobOutcome *outcome,
							pid_t worker_pid, bool retry);

#endif							/* RACING_SCHED_JOB_RUNS_H */
