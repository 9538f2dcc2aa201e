/*
 * racing_sched.h
 *		What the rooms of racing_sched share: settings, the shared-memory
 *		state of the scheduler, and the entry points of the processes.
 *
 * Room-specific declarations live in each room's own header.
 */
#ifndef RACING_SCHED_H
#define RACING_SCHED_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

#define RACING_SCHED_EXTENSION	"racing_sched"
#define RACING_SCHED_SCHEMA		"racing_sched"

/* Settings (racing_sched.*); see racing_sched.c for defaults and checks. */
extern char *rs_database;
extern bool rs_enabled;
extern char *rs_timezone;
extern char *rs_tab_api_url;
extern char *rs_jurisdictions;
extern char *rs_race_types;
extern char *rs_locations;
extern int	rs_max_workers;
extern int	rs_success_retention_min;
extern int	rs_heartbeat_ms;

/* What the scheduler is doing, as shown by scheduler_status() and health(). */
typedef enum SchedulerState
{
	SCHED_NOT_RUNNING = 0,
	SCHED_STARTING,
	SCHED_WAITING_FOR_EXTENSION,
	SCHED_DISABLED,
	SCHED_RUNNING
} SchedulerState;

/* Shared state of the scheduler, protected by mutex. */
typedef struct RacingSchedShared
{
	slock_t		mutex;
	pid_t		scheduler_pid;
	SchedulerState state;
	TimestampTz started_at;
	TimestampTz heartbeat_at;
	Latch	   *scheduler_latch;
	TimestampTz shmem_init_time;	/* when shared memory was set up */

	/*
	 * When the first scheduler of this server's life as a primary started:
	 * every run this life started began after it, so a running run that
	 * began before it was started by an earlier life or, after a failover,
	 * by another server, and its worker_pid means nothing here.
	 */
	TimestampTz work_started_at;
} RacingSchedShared;

extern RacingSchedShared *rs_shared;

extern const char *scheduler_state_name(SchedulerState state);
extern void wake_scheduler(void);
extern void wake_scheduler_at_commit(void);

/* Process entry points, named in the BackgroundWorker structs. */
extern PGDLLEXPORT void racing_sched_scheduler_main(Datum main_arg);
extern PGDLLEXPORT void racing_sched_worker_main(Datum main_arg);

#endif							/* RACING_SCHED_H */
