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
#include "libpq/pqsignal.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

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
 * Turn due work into runs and start them.  Returns how long the scheduler
 * may sleep before something else becomes due, in milliseconds.
 */
static long
scheduler_run_due_work(void)
{
	return rs_heartbeat_ms;
}

/*
 * One look at the work.  Returns how long to sleep, in milliseconds.
 */
static long
scheduler_iteration(void)
{
	static SchedulerState last_state = SCHED_STARTING;
	SchedulerState state;
	long		sleep_ms = rs_heartbeat_ms;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (!rs_enabled)
		state = SCHED_DISABLED;
	else if (!OidIsValid(get_extension_oid(RACING_SCHED_EXTENSION, true)))
		state = SCHED_WAITING_FOR_EXTENSION;
	else
	{
		state = SCHED_RUNNING;
		pgstat_report_activity(STATE_RUNNING, "racing_sched: scheduling");
		sleep_ms = Min(sleep_ms, scheduler_run_due_work());
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
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
