/*
 * sql_api.c
 *		SQL-callable C functions: status and control of the scheduler.
 *
 * Each function checks its arguments and leaves the work to the room that
 * owns it; nothing here keeps state of its own.
 */
#include "racing_sched.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(racing_sched_scheduler_status);
PG_FUNCTION_INFO_V1(racing_sched_wake_scheduler);

/*
 * scheduler_status() -> (pid, state, started_at, heartbeat_at, database)
 */
Datum
racing_sched_scheduler_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[5];
	bool		nulls[5] = {false};
	pid_t		pid;
	SchedulerState state;
	TimestampTz started_at;
	TimestampTz heartbeat_at;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	SpinLockAcquire(&rs_shared->mutex);
	pid = rs_shared->scheduler_pid;
	state = rs_shared->state;
	started_at = rs_shared->started_at;
	heartbeat_at = rs_shared->heartbeat_at;
	SpinLockRelease(&rs_shared->mutex);

	values[0] = Int32GetDatum((int32) pid);
	nulls[0] = (pid == 0);
	values[1] = CStringGetTextDatum(scheduler_state_name(pid == 0 ? SCHED_NOT_RUNNING : state));
	values[2] = TimestampTzGetDatum(started_at);
	nulls[2] = (pid == 0);
	values[3] = TimestampTzGetDatum(heartbeat_at);
	nulls[3] = (pid == 0);
	values[4] = CStringGetTextDatum(rs_database);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * wake_scheduler(): make the scheduler look at its work as soon as the
 * calling transaction commits.
 */
Datum
racing_sched_wake_scheduler(PG_FUNCTION_ARGS)
{
	wake_scheduler_at_commit();
	PG_RETURN_VOID();
}
