/*
 * cleanup.c
 *		cleanup_job_runs: delete successful runs older than
 *		racing_sched.success_retention, a batch per transaction, so that
 *		job_runs inserts never wait on it.  Failed and partial runs stay;
 *		links to deleted runs (retries' parents, scrapes) become NULL.
 */
#include "racing_sched.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "jobs/jobs.h"

#define CLEANUP_BATCH 5000

static int64
spi_count(const char *sql, TimestampTz cutoff)
{
	Oid			types[2] = {TIMESTAMPTZOID, INT4OID};
	Datum		values[2] = {TimestampTzGetDatum(cutoff), Int32GetDatum(CLEANUP_BATCH)};
	bool		isnull;
	int			rc;

	rc = SPI_execute_with_args(sql, 2, types, values, NULL, false, 0);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "racing_sched cleanup query failed: %s", SPI_result_code_string(rc));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/* One short transaction: one SPI statement returning a count. */
static int64
count_in_transaction(const char *sql, TimestampTz cutoff)
{
	int64		n;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	n = spi_count(sql, cutoff);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return n;
}

void
run_cleanup_job(const JobRun *run, JobOutcome *outcome)
{
	TimestampTz cutoff = GetCurrentTimestamp() - (TimestampTz) rs_success_retention_min * USECS_PER_MINUTE;
	int64		deleted = 0;
	int64		batches = 0;
	int64		n;

	do
	{
		CHECK_FOR_INTERRUPTS();
		n = count_in_transaction("SELECT racing_sched._cleanup_batch($1, $2)", cutoff);
		deleted += n;
		batches++;
	} while (n == CLEANUP_BATCH);

	outcome->items_processed = deleted;
	outcome_meta_int(outcome, "deleted", deleted);
	outcome_meta_int(outcome, "batches", batches);
	outcome_meta_int(outcome, "kept_failed",
					 count_in_transaction("SELECT count(*) FROM racing_sched.job_runs"
										  " WHERE status = 'failed' AND started_at < $1",
										  cutoff));
	outcome_meta_int(outcome, "kept_partial",
					 count_in_transaction("SELECT count(*) FROM racing_sched.job_runs"
										  " WHERE status = 'partial' AND started_at < $1",
										  cutoff));
	outcome_meta_text(outcome, "cutoff", timestamptz_to_str(cutoff));
}
