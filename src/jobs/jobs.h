/*
 * jobs.h
 *		What a job type implements: one function that runs a job run and
 *		fills in its outcome.  One file per job type in this directory.
 */
#ifndef RACING_SCHED_JOBS_H
#define RACING_SCHED_JOBS_H

#include "job_runs.h"

/* The run a worker was started for, as read from job_runs and jobs. */
typedef struct JobRun
{
	int64		job_run_id;
	char	   *job_name;
	char	   *job_type;
	char	   *args;			/* JSON object text */
	int			retry_count;
	char	   *command;		/* sql jobs */
	char	   *owner;			/* sql jobs: the role that scheduled it */
} JobRun;

/*
 * Runs outside any transaction and starts and commits its own; an ERROR it
 * raises fails the run with the error's message, detail and SQLSTATE.
 */
typedef void (*JobRunFunction) (const JobRun *run, JobOutcome *outcome);

typedef struct JobKind
{
	const char *job_type;
	JobRunFunction run;			/* NULL: not runnable in this version */
} JobKind;

extern void run_sql_job(const JobRun *run, JobOutcome *outcome);
extern void run_cleanup_job(const JobRun *run, JobOutcome *outcome);
extern void run_morning_scrape_job(const JobRun *run, JobOutcome *outcome);
extern void run_pre_race_job(const JobRun *run, JobOutcome *outcome);
extern void run_post_race_job(const JobRun *run, JobOutcome *outcome);

#endif							/* RACING_SCHED_JOBS_H */
