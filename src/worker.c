/*
 * worker.c
 *		The job worker: a dynamic background worker that runs one job run
 *		(its id is the worker's argument), records the outcome in the same
 *		row, and exits.
 *
 * The job types and the function that runs each are listed once, in
 * job_kinds below.  What a job does lives in src/jobs/; how its row moves
 * through its states lives in job_runs.c.
 */
#include "racing_sched.h"

#include <signal.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "job_runs.h"
#include "jobs/jobs.h"
#include "search_path.h"

static const JobKind job_kinds[] = {
	{"sql", run_sql_job},
	{"cleanup_job_runs", run_cleanup_job},
	{"morning_scrape", run_morning_scrape_job},
	{"pre_race_t60", run_pre_race_job},
	{"pre_race_t15", run_pre_race_job},
	{"post_race", run_post_race_job},
};

static const JobKind *
find_job_kind(const char *job_type)
{
	for (size_t i = 0; i < lengthof(job_kinds); i++)
		if (strcmp(job_kinds[i].job_type, job_type) == 0)
			return &job_kinds[i];
	return NULL;
}

/*
 * Read the run and make sure it is ours: the scheduler marks it running
 * under our pid in the transaction that started us, and we wait for that
 * transaction by locking the row (committed queued before that transaction
 * began, so that we see it).  Anything else means the scheduler gave up on
 * starting us; then there is nothing to do, and we say so in the log.
 */
static bool
load_run(int64 job_run_id, JobRun *run)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_run_id)};
	bool		ours = false;
	int			rc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());

	rc = SPI_execute_with_args("SELECT r.job_name, r.job_type, r.args::text, r.retry_count,"
							   "       j.command, j.owner, r.status = 'running' AND r.worker_pid = pg_backend_pid(),"
							   "       r.status, r.worker_pid"
							   "  FROM racing_sched.job_runs r"
							   "  LEFT JOIN racing_sched.jobs j USING (job_name)"
							   " WHERE r.job_run_id = $1"
							   "   FOR UPDATE OF r",
							   1, types, values, NULL, false, 1);
	if (rc == SPI_OK_SELECT && SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		MemoryContext spi_cxt = MemoryContextSwitchTo(TopMemoryContext);
		bool		isnull;

		run->job_run_id = job_run_id;
		run->job_name = SPI_getvalue(tup, desc, 1);
		run->job_type = SPI_getvalue(tup, desc, 2);
		run->args = SPI_getvalue(tup, desc, 3);
		run->retry_count = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
		run->command = SPI_getvalue(tup, desc, 5);
		run->owner = SPI_getvalue(tup, desc, 6);
		ours = DatumGetBool(SPI_getbinval(tup, desc, 7, &isnull));
		if (!ours)
		{
			char	   *found_pid = SPI_getvalue(tup, desc, 9);

			ereport(LOG,
					(errmsg("racing_sched worker for job run " INT64_FORMAT " exits without running it: the run is %s under worker PID %s",
							job_run_id, SPI_getvalue(tup, desc, 8),
							found_pid ? found_pid : "(none)")));
		}
		MemoryContextSwitchTo(spi_cxt);
	}
	else
		ereport(LOG,
				(errmsg("racing_sched worker for job run " INT64_FORMAT " exits without running it: the run does not exist",
						job_run_id)));

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return ours;
}

/*
 * Record the outcome, with the session's settings as they were before the
 * job: a custom job's deferred trigger may have changed them at commit.
 */
static void
record_outcome(const JobRun *run, const JobOutcome *outcome)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	ResetAllOptions();
	rs_pin_search_path();
	pgstat_report_appname("racing_sched worker");
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!job_runs_finish(run->job_run_id, outcome, MyProcPid, true))
		ereport(LOG,
				(errmsg("racing_sched job run " INT64_FORMAT " was ended by the scheduler before it finished",
						run->job_run_id)));
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
}

/*
 * Run the job, turning an ERROR into a failed outcome: the transaction is
 * aborted and the message, detail and SQLSTATE are kept for the record.
 */
static void
run_job(const JobKind *kind, const JobRun *run, JobOutcome *outcome)
{
	MemoryContext job_cxt = CurrentMemoryContext;

	PG_TRY();
	{
		kind->run(run, outcome);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(job_cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();

		outcome->status = "failed";
		outcome_error(outcome, "%s (SQLSTATE %s)%s%s", edata->message,
					  unpack_sql_state(edata->sqlerrcode),
					  edata->detail ? ": " : "", edata->detail ? edata->detail : "");
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

void
racing_sched_worker_main(Datum main_arg)
{
	int64		job_run_id = DatumGetInt64(main_arg);
	const JobKind *kind;
	JobRun		run;
	JobOutcome	outcome;

	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(rs_database, NULL, 0);
	rs_pin_search_path();
	pgstat_report_appname("racing_sched worker");

	memset(&run, 0, sizeof(run));
	if (!load_run(job_run_id, &run))
		proc_exit(0);

	pgstat_report_activity(STATE_RUNNING,
						   psprintf("racing_sched job run " INT64_FORMAT ": %s", job_run_id, run.job_name));

	outcome_init(&outcome);
	kind = find_job_kind(run.job_type);
	if (kind == NULL || kind->run == NULL)
	{
		outcome.status = "failed";
		outcome_error(&outcome, "job type \"%s\" cannot run in this version of racing_sched",
					  run.job_type);
	}
	else
		run_job(kind, &run, &outcome);

	record_outcome(&run, &outcome);
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}
