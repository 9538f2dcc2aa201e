/*
 * job_runs.c
 *		The job_runs lifecycle through SPI: cron fires become queued runs,
 *		due runs are claimed for workers, running runs whose worker is gone,
 *		timed out or cancelled are ended, and every run ends through one
 *		function (racing_sched._finish_run) that writes the terminal state,
 *		the counters and the retry together.
 *
 * Callers hold a transaction with SPI connected.  Deciding what is due and
 * starting processes is scheduler.c's business; running a job is worker.c's.
 */
#include "racing_sched.h"

#include <signal.h>

#include "access/xlogrecovery.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "cron.h"
#include "job_runs.h"

/* How long a stopped worker may take to exit before we complain. */
#define STOP_GRACE_MS	10000

/* Workers sent SIGTERM and not yet seen gone, with when. */
typedef struct StoppingWorker
{
	pid_t		pid;
	int64		job_run_id;
	TimestampTz signalled_at;
	bool		warned;
} StoppingWorker;

#define MAX_STOPPING 64
static StoppingWorker stopping[MAX_STOPPING];
static int	nstopping = 0;

void
outcome_init(JobOutcome *outcome)
{
	memset(outcome, 0, sizeof(JobOutcome));
	initStringInfo(&outcome->metadata);
}

void
outcome_error(JobOutcome *outcome, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	outcome->errors = lappend(outcome->errors, buf.data);
}

void
outcome_meta(JobOutcome *outcome, const char *key, const char *json_value)
{
	if (outcome->metadata.len > 0)
		appendStringInfoString(&outcome->metadata, ", ");
	escape_json(&outcome->metadata, key);
	appendStringInfo(&outcome->metadata, ": %s", json_value);
}

void
outcome_meta_int(JobOutcome *outcome, const char *key, int64 value)
{
	outcome_meta(outcome, key, psprintf(INT64_FORMAT, value));
}

void
outcome_meta_text(JobOutcome *outcome, const char *key, const char *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	escape_json(&buf, value);
	outcome_meta(outcome, key, buf.data);
}

/* success when nothing failed, partial when some items were stored, else failed */
const char *
outcome_status(const JobOutcome *outcome)
{
	if (outcome->status)
		return outcome->status;
	if (outcome->items_failed == 0 && outcome->errors == NIL)
		return "success";
	if (outcome->items_processed > 0 && outcome->items_failed > 0)
		return "partial";
	return "failed";
}

static void
spi_check(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "racing_sched: %s failed: %s", what, SPI_result_code_string(rc));
}

/* Run a query that returns one value; *isnull tells whether it is NULL. */
static Datum
spi_value(const char *sql, int nargs, Oid *types, Datum *values, bool *isnull,
		  const char *what)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 1);

	spi_check(rc, SPI_OK_SELECT, what);
	if (SPI_processed != 1)
		elog(ERROR, "racing_sched: %s returned %d rows", what, (int) SPI_processed);
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

static Datum
text_array_datum(List *items)
{
	int			n = list_length(items);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, items)
		elems[i++] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

bool
job_runs_finish(int64 job_run_id, const JobOutcome *outcome, pid_t worker_pid, bool retry)
{
	Oid			types[8] = {INT8OID, TEXTOID, INT4OID, INT4OID, TEXTARRAYOID, TEXTOID,
	INT4OID, BOOLOID};
	Datum		values[8];
	char		nulls[8] = "        ";
	bool		isnull;
	Datum		applied;
	int			rc;

	values[0] = Int64GetDatum(job_run_id);
	values[1] = CStringGetTextDatum(outcome_status(outcome));
	values[2] = Int32GetDatum((int32) Min(outcome->items_processed, PG_INT32_MAX));
	values[3] = Int32GetDatum((int32) Min(outcome->items_failed, PG_INT32_MAX));
	values[4] = text_array_datum(outcome->errors);
	values[5] = CStringGetTextDatum(psprintf("{%s}", outcome->metadata.data));
	values[6] = Int32GetDatum((int32) worker_pid);
	if (worker_pid == 0)
		nulls[6] = 'n';
	values[7] = BoolGetDatum(retry);

	rc = SPI_execute_with_args("SELECT racing_sched._finish_run($1, $2, $3, $4, $5, $6::jsonb, $7, $8)",
							   8, types, values, nulls, false, 1);
	spi_check(rc, SPI_OK_SELECT, "ending a job run");
	applied = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(applied);
}

static bool
process_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno == EPERM;
}

static void
stop_worker(pid_t pid, int64 job_run_id)
{
	if (kill(pid, SIGTERM) != 0)
		return;
	if (nstopping < MAX_STOPPING)
	{
		stopping[nstopping].pid = pid;
		stopping[nstopping].job_run_id = job_run_id;
		stopping[nstopping].signalled_at = GetCurrentTimestamp();
		stopping[nstopping].warned = false;
		nstopping++;
	}
}

/*
 * Complain once about a stopped worker that is still there after the grace
 * period; forget the ones that are gone.
 */
void
job_runs_check_stopping(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int			kept = 0;

	for (int i = 0; i < nstopping; i++)
	{
		StoppingWorker *w = &stopping[i];

		if (!process_alive(w->pid))
			continue;
		if (!w->warned && TimestampDifferenceExceeds(w->signalled_at, now, STOP_GRACE_MS))
		{
			ereport(WARNING,
					(errmsg("racing_sched worker PID %d of job run " INT64_FORMAT " has not stopped %d s after SIGTERM",
							(int) w->pid, w->job_run_id, STOP_GRACE_MS / 1000),
					 errdetail("The run is already recorded as failed.")));
			w->warned = true;
		}
		stopping[kept++] = *w;
	}
	nstopping = kept;
}

typedef struct RunningRow
{
	int64		job_run_id;
	pid_t		worker_pid;
	TimestampTz started_at;
	TimestampTz timeout_at;
	char	   *timeout;
	char	   *cancel_by;
} RunningRow;

static void
end_running(const RunningRow *row, const char *error, bool retry, bool signal)
{
	JobOutcome outcome;

	outcome_init(&outcome);
	outcome.status = "failed";
	outcome_error(&outcome, "%s", error);
	if (job_runs_finish(row->job_run_id, &outcome, 0, retry))
	{
		ereport(LOG,
				(errmsg("racing_sched job run " INT64_FORMAT " failed: %s", row->job_run_id, error)));
		if (signal)
			stop_worker(row->worker_pid, row->job_run_id);
	}
}

/*
 * End the running runs whose worker is gone, that timed out, or that an
 * operator cancelled.  Returns the earliest time a running run times out.
 *
 * A run that started before work_started_at (see RacingSchedShared) is not
 * this server life's: its worker died with a restart, or ran on the primary
 * this server took over from.  Its worker_pid is not looked at, let alone
 * signalled: after a failover it may be any process of this host.
 */
TimestampTz
job_runs_sweep(TimestampTz work_started_at)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next = DT_NOEND;
	RunningRow *rows;
	uint64		nrows;
	int			rc;

	rc = SPI_execute("SELECT r.job_run_id, r.worker_pid, r.started_at,"
					 "       r.started_at + coalesce(j.timeout, '1 hour'),"
					 "       coalesce(j.timeout, '1 hour')::text,"
					 "       r.metadata->>'cancel_requested_by'"
					 "  FROM racing_sched.job_runs r"
					 "  LEFT JOIN racing_sched.jobs j USING (job_name)"
					 " WHERE r.status = 'running'", false, 0);
	spi_check(rc, SPI_OK_SELECT, "reading running job runs");

	/* Copy out: ending a run runs more SPI statements. */
	nrows = SPI_processed;
	rows = palloc0(sizeof(RunningRow) * Max(nrows, 1));
	for (uint64 i = 0; i < nrows; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		rows[i].job_run_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		d = SPI_getbinval(tup, desc, 2, &isnull);
		rows[i].worker_pid = isnull ? 0 : DatumGetInt32(d);
		rows[i].started_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
		rows[i].timeout_at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 4, &isnull));
		rows[i].timeout = SPI_getvalue(tup, desc, 5);
		rows[i].cancel_by = SPI_getvalue(tup, desc, 6);
	}

	for (uint64 i = 0; i < nrows; i++)
	{
		RunningRow *row = &rows[i];

		if (row->started_at < work_started_at)
			end_running(row, PromoteIsTriggered()
						? "server promoted while the run was in progress"
						: "server restarted while the run was in progress", true, false);
		else if (row->worker_pid == 0 || !process_alive(row->worker_pid))
			end_running(row, "worker exited unexpectedly", true, false);
		else if (row->cancel_by)
			end_running(row, psprintf("cancelled by %s", row->cancel_by), false, true);
		else if (row->timeout_at <= now)
			end_running(row, psprintf("timed out after %s", row->timeout), true, true);
		else
			next = Min(next, row->timeout_at);
	}
	return next;
}

/*
 * Turn due cron fires of enabled jobs into queued runs, each fire exactly
 * once: the last fire is stored with the run, in the same transaction.
 * After downtime the missed fires make one run, due at the latest of them.
 * Returns the earliest next fire.
 */
TimestampTz
job_runs_enqueue_cron(const pg_tz *tz)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_event = DT_NOEND;
	uint64		njobs;
	char	  **names;
	char	  **schedules;
	TimestampTz *last_fire;
	int			rc;

	rc = SPI_execute("SELECT job_name, schedule, last_fire_at FROM racing_sched.jobs"
					 " WHERE enabled AND schedule IS NOT NULL", true, 0);
	spi_check(rc, SPI_OK_SELECT, "reading cron jobs");
	njobs = SPI_processed;
	names = palloc(sizeof(char *) * Max(njobs, 1));
	schedules = palloc(sizeof(char *) * Max(njobs, 1));
	last_fire = palloc(sizeof(TimestampTz) * Max(njobs, 1));
	for (uint64 i = 0; i < njobs; i++)
	{
		bool		isnull;

		names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		schedules[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		last_fire[i] = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 3, &isnull));
	}

	for (uint64 i = 0; i < njobs; i++)
	{
		CronSchedule schedule;
		CronError	err;
		TimestampTz fire;
		TimestampTz after;
		int64		missed = 0;

		if (!cron_parse(schedules[i], &schedule, &err))
		{
			ereport(WARNING,
					(errmsg("racing_sched job \"%s\" has an invalid schedule \"%s\": %s",
							names[i], schedules[i], err.message)));
			continue;
		}
		if (!cron_next_fire(&schedule, last_fire[i], tz, &fire))
			continue;
		if (fire > now)
		{
			next_event = Min(next_event, fire);
			continue;
		}
		/* the latest fire that is due */
		while (cron_next_fire(&schedule, fire, tz, &after) && after <= now)
		{
			fire = after;
			missed++;
		}
		{
			Oid			types[3] = {TEXTOID, TIMESTAMPTZOID, INT8OID};
			Datum		values[3] = {CStringGetTextDatum(names[i]), TimestampTzGetDatum(fire),
			Int64GetDatum(missed)};

			rc = SPI_execute_with_args(
									   "WITH j AS ("
									   "  UPDATE racing_sched.jobs SET last_fire_at = $2"
									   "   WHERE job_name = $1 RETURNING job_name, job_type)"
									   " INSERT INTO racing_sched.job_runs"
									   "   (job_name, job_type, trigger, due_at, dedupe_key, metadata)"
									   " SELECT job_name, job_type, 'schedule', $2,"
									   "        racing_sched._dedupe_key(job_name, job_type, '{}', $2),"
									   "        CASE WHEN $3 > 0 THEN jsonb_build_object('missed_fires', $3)"
									   "             ELSE '{}' END"
									   "   FROM j"
									   " ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running')"
									   " DO NOTHING",
									   3, types, values, NULL, false, 0);
			spi_check(rc, SPI_OK_INSERT, "queueing a cron fire");
		}
		if (cron_next_fire(&schedule, fire, tz, &after))
			next_event = Min(next_event, after);
	}
	return next_event;
}

/*
 * Queue the runs of race-driven jobs whose races reached their edge (see
 * racing_sched._plan_race_phases).  Returns the next edge still to come.
 */
TimestampTz
job_runs_plan_race_phases(void)
{
	Oid			types[1] = {TIMESTAMPTZOID};
	Datum		values[1] = {TimestampTzGetDatum(GetCurrentTimestamp())};
	bool		isnull;
	Datum		d = spi_value("SELECT racing_sched._plan_all_race_phases($1)",
							  1, types, values, &isnull, "planning race phases");

	return isnull ? DT_NOEND : DatumGetTimestampTz(d);
}

int
job_runs_count_running(void)
{
	bool		isnull;

	return (int) DatumGetInt64(spi_value("SELECT count(*) FROM racing_sched.job_runs"
										 " WHERE status = 'running'",
										 0, NULL, NULL, &isnull,
										 "counting running job runs"));
}

/* Lock and return (as a list of int64 in palloc'd cells) the due queued runs. */
List *
job_runs_claim_due(int limit)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(limit)};
	List	   *ids = NIL;
	int			rc;

	rc = SPI_execute_with_args("SELECT job_run_id FROM racing_sched.job_runs"
							   " WHERE status = 'queued' AND due_at <= now()"
							   " ORDER BY due_at, job_run_id LIMIT $1"
							   " FOR UPDATE SKIP LOCKED",
							   1, types, values, NULL, false, 0);
	spi_check(rc, SPI_OK_SELECT, "claiming due job runs");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64	   *id = palloc(sizeof(int64));

		*id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		ids = lappend(ids, id);
	}
	return ids;
}

void
job_runs_mark_running(int64 job_run_id, pid_t worker_pid)
{
	Oid			types[2] = {INT8OID, INT4OID};
	Datum		values[2] = {Int64GetDatum(job_run_id), Int32GetDatum((int32) worker_pid)};
	int			rc;

	rc = SPI_execute_with_args("UPDATE racing_sched.job_runs"
							   "   SET status = 'running', started_at = clock_timestamp(),"
							   "       worker_pid = $2"
							   " WHERE job_run_id = $1 AND status = 'queued'",
							   2, types, values, NULL, false, 0);
	spi_check(rc, SPI_OK_UPDATE, "starting a job run");
}

/* The next queued run's due time or running run's timeout, whichever first. */
TimestampTz
job_runs_next_due(void)
{
	bool		isnull;
	Datum		d = spi_value("SELECT least((SELECT min(due_at) FROM racing_sched.job_runs"
							  "               WHERE status = 'queued'),"
							  "              (SELECT min(r.started_at + coalesce(j.timeout, '1 hour'))"
							  "                 FROM racing_sched.job_runs r"
							  "                 LEFT JOIN racing_sched.jobs j USING (job_name)"
							  "                WHERE r.status = 'running'))",
							  0, NULL, NULL, &isnull, "reading the next due job run");

	return isnull ? DT_NOEND : DatumGetTimestampTz(d);
}
