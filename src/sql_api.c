/*
 * sql_api.c
 *		SQL-callable C functions: status and control of the scheduler, and
 *		cron evaluation for SQL callers.
 *
 * Each function checks its arguments and leaves the work to the room that
 * owns it; nothing here keeps state of its own.
 */
#include "racing_sched.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cron.h"

PG_FUNCTION_INFO_V1(racing_sched_scheduler_status);
PG_FUNCTION_INFO_V1(racing_sched_wake_scheduler);
PG_FUNCTION_INFO_V1(racing_sched_cron_next);

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

/* The error detail that shows where an expression went wrong. */
static char *
cron_error_detail(const char *expr, int position)
{
	StringInfoData buf;
	int			column = pg_mbstrlen_with_len(expr, position);

	initStringInfo(&buf);
	appendStringInfo(&buf, "Error at character %d:\n", column + 1);
	for (const char *c = expr; *c != '\0'; c++)
		appendStringInfoChar(&buf, (*c == '\t' || *c == '\n' || *c == '\r' ||
									*c == '\f' || *c == '\v') ? ' ' : *c);
	appendStringInfoChar(&buf, '\n');
	appendStringInfoSpaces(&buf, column);
	appendStringInfoChar(&buf, '^');
	return buf.data;
}

/*
 * Parse a cron expression or raise 22023 with a detail pointing at the
 * offending character.
 */
void
cron_parse_or_error(const char *expr, CronSchedule *schedule)
{
	CronError	err;

	if (cron_parse(expr, schedule, &err))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid cron expression: %s", err.message),
			 errdetail_internal("%s", cron_error_detail(expr, err.position)),
			 err.wrong_field_count ?
			 errhint("A cron expression has five fields (minute hour day-of-month month day-of-week) or is one of @yearly, @monthly, @weekly, @daily, @hourly.") : 0));
}

/*
 * The time zone called name, or racing_sched.timezone when name is NULL;
 * an unknown name raises 22023.
 */
pg_tz *
cron_timezone(const char *name)
{
	const char *tzname = name != NULL ? name : rs_timezone;
	pg_tz	   *tz = pg_tzset(tzname);

	if (tz == NULL || !pg_tz_acceptable(tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", tzname),
				 name == NULL ?
				 errdetail("The time zone comes from the setting racing_sched.timezone.") : 0,
				 errhint("Use a name from pg_timezone_names, such as Australia/Sydney or UTC.")));
	return tz;
}

/*
 * cron_next(expr text, after timestamptz, tz text DEFAULT NULL)
 *
 * The first fire of expr strictly after 'after', in wall-clock time of tz
 * (NULL: racing_sched.timezone).  Not STRICT, so that a NULL expr or after
 * is an error rather than a silent NULL.
 */
Datum
racing_sched_cron_next(PG_FUNCTION_ARGS)
{
	char	   *expr;
	TimestampTz after;
	pg_tz	   *tz;
	CronSchedule schedule;
	TimestampTz next;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"expr\" of cron_next must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"after\" of cron_next must not be null")));
	expr = text_to_cstring(PG_GETARG_TEXT_PP(0));
	after = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(after))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("argument \"after\" of cron_next must be finite")));
	cron_parse_or_error(expr, &schedule);
	tz = cron_timezone(PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2)));
	if (!cron_next_fire(&schedule, after, tz, &next))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cron expression \"%s\" has no fire time within %d years after %s",
						expr, CRON_SEARCH_YEARS, timestamptz_to_str(after))));
	PG_RETURN_TIMESTAMPTZ(next);
}
