/*
 * scheduler.c
 *		The scheduler background worker: one per server, connected to
 *		racing_sched.database, started once recovery has finished.
 *
 * It owns time: each loop it looks at its work in the tables and sleeps on
 * its latch until the next event or the heartbeat.  It never does HTTP and
 * never runs a job itself.  An ERROR inside one loop is logged and the loop
 * goes on (the autovacuum launcher's recovery block), so one bad row cannot
 * crash-loop it.
 */
#include "racing_sched.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "libpq/pqsignal.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "cron.h"
#include "job_runs.h"
#include "search_path.h"

/*
 * The zone of schedules, looked up again only when racing_sched.timezone
 * changes.
 */
static const pg_tz *
scheduler_timezone(void)
{
	static char *name = NULL;
	static pg_tz *tz = NULL;

	if (name == NULL || strcmp(name, rs_timezone) != 0)
	{
		tz = pg_tzset(rs_timezone);
		if (tz == NULL)
			elog(ERROR, "racing_sched: unknown time zone \"%s\"", rs_timezone);
		if (name)
			pfree(name);
		name = MemoryContextStrdup(TopMemoryContext, rs_timezone);
	}
	return tz;
}

/* Milliseconds from now until t, at least 0, at most the heartbeat. */
static long
ms_until(TimestampTz t)
{
	TimestampTz now = GetCurrentTimestamp();

	if (t <= now)
		return 0;
	if (t - now >= (TimestampTz) rs_heartbeat_ms * 1000)
		return rs_heartbeat_ms;
	return (long) ((t - now + 999) / 1000);
}

static void
set_state(SchedulerState state)
{
	SpinLockAcquire(&rs_shared->mutex);
	rs_shared->state = state;
	rs_shared->heartbeat_at = GetCurrentTimestamp();
	SpinLockRelease(&rs_shared->mutex);
}

static void
release_slot(int code, Datum arg)
{
	SpinLockAcquire(&rs_shared->mutex);
	if (rs_shared->scheduler_pid == MyProcPid)
	{
		rs_shared->scheduler_pid = 0;
		rs_shared->scheduler_latch = NULL;
		rs_shared->state = SCHED_NOT_RUNNING;
	}
	SpinLockRelease(&rs_shared->mutex);
}

/*
 * Take the scheduler's place in shared memory, or leave if another scheduler
 * holds it.  Exiting with 1 lets the postmaster try again later.
 */
static void
claim_slot(void)
{
	pid_t		other;

	SpinLockAcquire(&rs_shared->mutex);
	other = rs_shared->scheduler_pid;
	if (other == 0)
	{
		rs_shared->scheduler_pid = MyProcPid;
		rs_shared->scheduler_latch = MyLatch;
		rs_shared->state = SCHED_STARTING;
		rs_shared->started_at = GetCurrentTimestamp();
		rs_shared->heartbeat_at = rs_shared->started_at;
		if (rs_shared->work_started_at == 0)
			rs_shared->work_started_at = rs_shared->started_at;
	}
	SpinLockRelease(&rs_shared->mutex);

	if (other != 0)
	{
		ereport(LOG,
				(errmsg("racing_sched scheduler already running under PID %d", (int) other)));
		proc_exit(1);
	}
	on_shmem_exit(release_slot, (Datum) 0);
}

/*
 * Start a job worker for a claimed run and record it as running, in the
 * scheduler's transaction.  The worker locks its row first, so it waits for
 * this transaction and runs only if the row is running under its own pid.
 * That holds only for a row committed before this transaction: one inserted
 * by it is invisible to the worker, which would find no run, not wait, and
 * exit (see scheduler_iteration).  Returns false when no background worker
 * slot is free.
 */
static bool
start_worker(int64 job_run_id)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "racing_sched", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "racing_sched_worker_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "racing_sched worker for job run " INT64_FORMAT,
			 job_run_id);
	strlcpy(worker.bgw_type, "racing_sched worker", BGW_MAXLEN);
	worker.bgw_main_arg = Int64GetDatum(job_run_id);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return false;
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
	{
		/* it died at once; the run stays queued and is tried again */
		pfree(handle);
		return true;
	}
	job_runs_mark_running(job_run_id, pid);
	pfree(handle);
	return true;
}

/*
 * Turn due work into queued runs: end the running runs whose worker is gone,
 * timed out or cancelled (queueing their retries), queue cron fires and race
 * phases.  Returns the time of the next such event.
 */
static TimestampTz
scheduler_queue_due_work(void)
{
	TimestampTz next_event;
	TimestampTz next_cron;
	TimestampTz next_phase;
	TimestampTz work_started_at;

	SpinLockAcquire(&rs_shared->mutex);
	work_started_at = rs_shared->work_started_at;
	SpinLockRelease(&rs_shared->mutex);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "racing_sched: SPI_connect failed");

	job_runs_check_stopping();
	/* each call once: Min() evaluates an argument twice */
	next_event = job_runs_sweep(work_started_at);
	next_cron = job_runs_enqueue_cron(scheduler_timezone());
	next_event = Min(next_event, next_cron);
	next_phase = job_runs_plan_race_phases();
	next_event = Min(next_event, next_phase);

	SPI_finish();
	return next_event;
}

/*
 * Start workers for the due queued runs, all committed before this
 * transaction began.  next_event is the time scheduler_queue_due_work
 * returned.  Returns how long the scheduler may sleep before something else
 * becomes due, in milliseconds.
 */
static long
scheduler_start_due_runs(TimestampTz next_event)
{
	static bool slots_full_logged = false;
	static bool no_bgworker_logged = false;
	TimestampTz next_due;
	int			running;
	int			free_slots;
	bool		started_any = false;
	bool		can_start = false;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "racing_sched: SPI_connect failed");

	running = job_runs_count_running();
	free_slots = rs_max_workers - running;
	if (free_slots > 0)
	{
		List	   *due = job_runs_claim_due(free_slots);
		ListCell   *lc;

		can_start = true;

		slots_full_logged = false;
		foreach(lc, due)
		{
			if (!start_worker(*(int64 *) lfirst(lc)))
			{
				if (!no_bgworker_logged)
					ereport(LOG,
							(errmsg("racing_sched could not start a job worker: no background worker slot is free"),
							 errhint("Raise max_worker_processes.")));
				no_bgworker_logged = true;
				can_start = false;
				/* try again shortly: nothing tells us when a slot frees */
				next_event = Min(next_event,
								 TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 1000));
				break;
			}
			no_bgworker_logged = false;
			started_any = true;
		}
	}
	else if (!slots_full_logged)
	{
		ereport(LOG,
				(errmsg("racing_sched has all %d job worker slots busy; due runs wait", rs_max_workers),
				 errhint("Raise racing_sched.max_workers to run more jobs at once.")));
		slots_full_logged = true;
	}

	next_due = job_runs_next_due();
	SPI_finish();

	/* Starting workers waited on our latch: look again at once. */
	if (started_any)
		return 0;

	/*
	 * With every slot busy, a due run can start only when a worker exits,
	 * and its exit sets our latch (bgw_notify_pid); waking for the run's
	 * due time, already past, would spin until then.  The running runs'
	 * timeouts are in next_event from the sweep.  Without a background
	 * worker slot, the retry a second later is in next_event too.
	 */
	if (next_due != DT_NOEND && can_start)
		next_event = Min(next_event, next_due);
	elog(DEBUG1, "racing_sched scheduler sleeps %ld ms", ms_until(next_event));
	return ms_until(next_event);
}

/*
 * Stop the job workers of an extension that was dropped: their runs went
 * with its tables, and left alone they would go on fetching for nothing,
 * then write into whatever CREATE EXTENSION made since.  Every racing_sched
 * worker of our database is one of them, since we start workers only once
 * we have seen the extension that is there now.
 */
static void
stop_workers_of_dropped_extension(void)
{
	int			stopped = 0;
	int			n;

	pgstat_clear_snapshot();
	n = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;
		const char *type;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_backendType != B_BG_WORKER || be->st_databaseid != MyDatabaseId ||
			be->st_procpid == MyProcPid)
			continue;
		type = GetBackgroundWorkerTypeByPid(be->st_procpid);
		if (type != NULL && strcmp(type, "racing_sched worker") == 0 &&
			kill(be->st_procpid, SIGTERM) == 0)
			stopped++;
	}
	if (stopped > 0)
		ereport(LOG,
				(errmsg("racing_sched stopped %d job workers of the dropped extension", stopped)));
}

/*
 * One look at the work.  Returns how long to sleep, in milliseconds.
 */
static long
scheduler_iteration(void)
{
	static SchedulerState last_state = SCHED_STARTING;
	static Oid	known_extension = InvalidOid;
	SchedulerState state;
	Oid			extension;
	TimestampTz next_event = DT_NOEND;
	long		sleep_ms = rs_heartbeat_ms;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	/* dropped, or dropped and created again since our last look */
	extension = get_extension_oid(RACING_SCHED_EXTENSION, true);
	if (extension != known_extension)
	{
		if (OidIsValid(known_extension))
			stop_workers_of_dropped_extension();
		known_extension = extension;
	}

	if (!rs_enabled)
		state = SCHED_DISABLED;
	else if (!OidIsValid(extension))
		state = SCHED_WAITING_FOR_EXTENSION;
	else
	{
		state = SCHED_RUNNING;
		pgstat_report_activity(STATE_RUNNING, "racing_sched: scheduling");
		next_event = scheduler_queue_due_work();
	}

	PopActiveSnapshot();
	CommitTransactionCommand();

	/*
	 * The runs just queued are committed: a worker's snapshot sees its run,
	 * and its lock waits for the transaction that marks the run running.
	 */
	if (state == SCHED_RUNNING)
	{
		long		due_ms;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		/* once: Min() would evaluate the call twice */
		due_ms = scheduler_start_due_runs(next_event);
		sleep_ms = Min(sleep_ms, due_ms);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, NULL);

	if (state != last_state)
	{
		if (state == SCHED_WAITING_FOR_EXTENSION)
			ereport(LOG,
					(errmsg("racing_sched scheduler waiting: extension \"%s\" is not installed in database \"%s\"",
							RACING_SCHED_EXTENSION, rs_database),
					 errhint("Run CREATE EXTENSION racing_sched in that database.")));
		else
			ereport(LOG,
					(errmsg("racing_sched scheduler is %s", scheduler_state_name(state))));
		last_state = state;
	}
	set_state(state);
	return Max(sleep_ms, 0);
}

void
racing_sched_scheduler_main(Datum main_arg)
{
	sigjmp_buf	local_sigjmp_buf;
	MemoryContext loop_context;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	claim_slot();
	BackgroundWorkerInitializeConnection(rs_database, NULL, 0);
	rs_pin_search_path();
	pgstat_report_appname("racing_sched scheduler");

	loop_context = AllocSetContextCreate(TopMemoryContext,
										 "racing_sched scheduler loop",
										 ALLOCSET_DEFAULT_SIZES);

	/*
	 * An ERROR in one iteration comes back here: report it, abort the
	 * transaction, forget the iteration's memory and go on after a pause.
	 */
	if (sigsetjmp(local_sigjmp_buf, 1) != 0)
	{
		HOLD_INTERRUPTS();
		disable_all_timeouts(false);
		QueryCancelPending = false;
		EmitErrorReport();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(TopMemoryContext);
		FlushErrorState();
		MemoryContextReset(loop_context);
		pgstat_report_activity(STATE_IDLE, NULL);
		RESUME_INTERRUPTS();

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	PG_exception_stack = &local_sigjmp_buf;

	for (;;)
	{
		long		sleep_ms;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextSwitchTo(loop_context);
		sleep_ms = scheduler_iteration();
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(loop_context);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 sleep_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
