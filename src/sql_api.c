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
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cron.h"
#include "search_path.h"

PG_FUNCTION_INFO_V1(racing_sched_scheduler_status);
PG_FUNCTION_INFO_V1(racing_sched_wake_scheduler);
PG_FUNCTION_INFO_V1(racing_sched_schedule);
PG_FUNCTION_INFO_V1(racing_sched_unschedule);
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

/*
 * Run an SPI statement as a superuser: the callers of schedule() and
 * unschedule() need no privileges on racing_sched.jobs, and what they may
 * do is checked here, against the role that called.  The statement runs
 * under the safe search_path, not the caller's: an operator or function of
 * the caller's schemas would otherwise run as the superuser.
 */
static int
spi_as_superuser(const char *sql, int nargs, Oid *types, Datum *values)
{
	Oid			save_userid;
	int			save_sec_context;
	int			nest_level;
	int			rc;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	nest_level = rs_push_search_path(RS_SAFE_SEARCH_PATH);
	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	rs_pop_search_path(nest_level, true);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return rc;
}

static char *
required_text_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* The owner of an existing job, locked, and its type; NULL if none. */
static char *
existing_job(const char *job_name, char **job_type)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(job_name)};
	int			rc;

	rc = spi_as_superuser("SELECT job_type, owner FROM racing_sched.jobs WHERE job_name = $1 FOR UPDATE",
						  1, types, values);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: reading jobs failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		return NULL;
	*job_type = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
}

/* A custom job may be changed by its owner, a member of it, or a superuser. */
static void
check_job_owner(const char *job_name, const char *owner)
{
	Oid			owner_oid = get_role_oid(owner, true);

	if (!superuser() && !(OidIsValid(owner_oid) && has_privs_of_role(GetUserId(), owner_oid)))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("job \"%s\" belongs to role \"%s\"", job_name, owner),
				 errdetail("Only its owner or a superuser can change it.")));
}

/*
 * schedule(job_name, schedule, command): add or replace a custom SQL job,
 * pg_cron style.  Its command runs as the role calling this, now.
 */
Datum
racing_sched_schedule(PG_FUNCTION_ARGS)
{
	char	   *job_name = required_text_arg(fcinfo, 0, "job_name");
	char	   *schedule = required_text_arg(fcinfo, 1, "schedule");
	char	   *command = required_text_arg(fcinfo, 2, "command");
	char	   *owner = GetUserNameFromId(GetUserId(), false);
	char	   *job_type = NULL;
	char	   *current_owner;
	CronSchedule parsed;
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, NAMEOID};
	Datum		values[4];
	int			rc;

	cron_parse_or_error(schedule, &parsed);
	if (strspn(command, " \t\r\n;") == strlen(command))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("command must not be empty")));
	if (strlen(command) > 65536)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("command is too long (%zu bytes)", strlen(command)),
				 errdetail("At most 65536 bytes are accepted.")));
	if (strlen(job_name) == 0 || strlen(job_name) > 63 ||
		strspn(job_name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(job_name) ||
		job_name[0] == '.' || job_name[0] == '-')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid job name \"%s\"", job_name),
				 errdetail("A job name has 1 to 63 letters, digits, '_', '.' or '-', and starts with a letter, digit or '_'.")));

	SPI_connect();
	current_owner = existing_job(job_name, &job_type);
	if (current_owner != NULL)
	{
		if (strcmp(job_type, "sql") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("job \"%s\" is a built-in job", job_name),
					 errhint("Use alter_job() to change its schedule.")));
		check_job_owner(job_name, current_owner);
	}

	values[0] = CStringGetTextDatum(job_name);
	values[1] = CStringGetTextDatum(schedule);
	values[2] = CStringGetTextDatum(command);
	values[3] = CStringGetDatum(owner);
	rc = spi_as_superuser("INSERT INTO racing_sched.jobs (job_name, job_type, schedule, command, owner)"
						  " VALUES ($1, 'sql', $2, $3, $4)"
						  " ON CONFLICT (job_name) DO UPDATE"
						  "   SET schedule = $2, command = $3, owner = $4, enabled = true,"
						  "       last_fire_at = now(), updated_at = now()",
						  4, types, values);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "racing_sched: scheduling failed: %s", SPI_result_code_string(rc));
	SPI_finish();

	wake_scheduler_at_commit();
	PG_RETURN_VOID();
}

/*
 * unschedule(job_name): remove a custom SQL job and cancel its queued runs.
 * Its history stays in job_runs and its counters in job_stats.
 */
Datum
racing_sched_unschedule(PG_FUNCTION_ARGS)
{
	char	   *job_name = required_text_arg(fcinfo, 0, "job_name");
	char	   *job_type = NULL;
	char	   *owner;
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	int			rc;

	SPI_connect();
	owner = existing_job(job_name, &job_type);
	if (owner == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job \"%s\" does not exist", job_name)));
	if (strcmp(job_type, "sql") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("job \"%s\" is a built-in job and cannot be unscheduled", job_name),
				 errhint("Disable it with alter_job('%s', enabled => false).", job_name)));
	check_job_owner(job_name, owner);

	values[0] = CStringGetTextDatum(job_name);
	values[1] = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	rc = spi_as_superuser("WITH c AS ("
						  "  UPDATE racing_sched.job_runs SET status = 'cancelled',"
						  "         completed_at = clock_timestamp(),"
						  "         metadata = metadata || jsonb_build_object('cancelled_by', $2::text,"
						  "                                                   'reason', 'job unscheduled')"
						  "   WHERE job_name = $1 AND status = 'queued' RETURNING *)"
						  " SELECT racing_sched._record_run_stats(c) FROM c",
						  2, types, values);
	if (rc == SPI_OK_SELECT)
		rc = spi_as_superuser("DELETE FROM racing_sched.jobs WHERE job_name = $1", 1, types, values);
	if (rc != SPI_OK_DELETE)
		elog(ERROR, "racing_sched: unscheduling failed: %s", SPI_result_code_string(rc));
	SPI_finish();

	wake_scheduler_at_commit();
	PG_RETURN_BOOL(true);
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
