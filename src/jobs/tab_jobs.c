/*
 * tab_jobs.c
 *		Helpers shared by the racing jobs: short transactions, request
 *		counting, settings' code lists, and loading the stored races a
 *		race-driven run was planned for.
 *
 * What each job does with them lives in its own file.
 */
#include "racing_sched.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "jobs/tab_jobs.h"
#include "metrics.h"

MemoryContext
job_xact_begin(void)
{
	MemoryContext job_cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	return job_cxt;
}

void
job_xact_end(MemoryContext job_cxt)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(job_cxt);
}

void
job_count_requests(const TabFetchSummary *s)
{
	MemoryContext job_cxt;
	ListCell   *lc;

	if (s->outcomes == NIL)
		return;
	job_cxt = job_xact_begin();
	foreach(lc, s->outcomes)
	{
		TabRequestOutcome *o = lfirst(lc);

		metrics_count_request(o->endpoint, (int) o->http_status, o->ok,
							  o->bytes, o->elapsed_ms);
	}
	job_xact_end(job_cxt);
	pgstat_report_stat(false);
}

/*
 * Fetch and store a batch of races for a run (scrape_type = its job type),
 * count the requests in http_stats, and add the failures to the outcome.
 */
void
job_fetch_races(const JobRun *run, TabRaceKey *keys, int nkeys,
				TabFetchSummary *summary, JobOutcome *outcome)
{
	TabFetchContext ctx = {0};
	ListCell   *lc;

	tab_summary_init(summary);
	ctx.job_run_id = run->job_run_id;
	ctx.scrape_type = run->job_type;
	if (nkeys > 0)
		tab_fetch_races(keys, nkeys, &ctx, summary);
	job_count_requests(summary);
	foreach(lc, summary->errors)
		outcome_error(outcome, "%s", (char *) lfirst(lc));
}

bool
code_list_contains(const char *list, const char *code)
{
	const char *p = list;
	size_t		len = strlen(code);

	if (list == NULL || code == NULL)
		return false;
	while (*p)
	{
		const char *start;
		const char *end;

		while (*p == ' ' || *p == ',')
			p++;
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		while (end > start && end[-1] == ' ')
			end--;
		if ((size_t) (end - start) == len && strncmp(start, code, len) == 0)
			return true;
	}
	return false;
}

char *
first_jurisdiction(void)
{
	const char *p = rs_jurisdictions ? rs_jurisdictions : "";
	const char *end;

	while (*p == ' ' || *p == ',')
		p++;
	end = p;
	while (*end && *end != ',' && *end != ' ')
		end++;
	if (end == p)
		return pstrdup("NSW");
	return pnstrdup(p, end - p);
}

static char *
copy_text(HeapTuple tup, TupleDesc desc, int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(tup, desc, col);

	return v ? MemoryContextStrdup(cxt, v) : NULL;
}

JobRace *
job_load_races(const JobRun *run, MemoryContext cxt, int *n)
{
	Oid			types[4] = {TEXTOID, TEXTOID, INT8OID, TEXTOID};
	Datum		values[4];
	JobRace    *races;
	char	   *default_jurisdiction;
	int			rc;

	default_jurisdiction = MemoryContextStrdup(cxt, first_jurisdiction());
	values[0] = CStringGetTextDatum(run->args ? run->args : "{}");
	values[1] = CStringGetTextDatum(run->job_name);
	values[2] = Int64GetDatum(run->job_run_id);
	values[3] = CStringGetTextDatum(run->job_type);
	rc = SPI_execute_with_args(
							   "WITH a AS ("
							   "  SELECT DISTINCT x::bigint AS race_id"
							   "    FROM jsonb_array_elements_text(coalesce($1::jsonb->'race_ids',"
							   "         jsonb_build_array($1::jsonb->'race_id'))) AS x"
							   "   WHERE x IS NOT NULL)"
							   " SELECT r.race_id, m.meeting_date::text, m.race_type,"
							   "        m.venue_mnemonic, m.meeting_name, r.match_name, r.race_number,"
							   "        m.jurisdictions[1], r.start_time,"
							   "        round(extract(epoch FROM coalesce(jr.started_at, now())"
							   "              - (r.start_time + coalesce(j.race_offset, '0')))"
							   "              * 1000)::bigint,"
							   "        r.start_time <= now(),"
							   "        r.official_at IS NOT NULL OR r.abandoned_at IS NOT NULL,"
							   "        EXISTS (SELECT FROM racing_sched.scrapes s"
							   "                 WHERE s.race_id = r.race_id AND s.scrape_type = $4)"
							   "   FROM a JOIN racing_sched.races r USING (race_id)"
							   "   JOIN racing_sched.meetings m USING (meeting_id)"
							   "   LEFT JOIN racing_sched.jobs j ON j.job_name = $2"
							   "   LEFT JOIN racing_sched.job_runs jr ON jr.job_run_id = $3"
							   "  ORDER BY r.start_time, r.race_id",
							   4, types, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: reading the races of a run failed: %s",
			 SPI_result_code_string(rc));

	*n = (int) SPI_processed;
	races = MemoryContextAllocZero(cxt, sizeof(JobRace) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		JobRace    *r = &races[i];
		char	   *race_type;
		char	   *jurisdiction;
		bool		isnull;
		Datum		d;

		r->race_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		r->key.date = copy_text(tup, desc, 2, cxt);
		race_type = SPI_getvalue(tup, desc, 3);
		r->key.race_type = race_type ? race_type[0] : '?';
		r->key.venue = copy_text(tup, desc, 4, cxt);
		if (r->key.venue == NULL)
		{
			r->key.meeting_name = copy_text(tup, desc, 5, cxt);
			r->key.match_name = copy_text(tup, desc, 6, cxt);
		}
		r->key.race_number = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		jurisdiction = copy_text(tup, desc, 8, cxt);
		r->key.jurisdiction = jurisdiction ? jurisdiction : default_jurisdiction;
		r->start_time = DatumGetTimestampTz(SPI_getbinval(tup, desc, 9, &isnull));
		d = SPI_getbinval(tup, desc, 10, &isnull);
		r->lateness_ms = isnull ? 0 : DatumGetInt64(d);
		r->jumped = DatumGetBool(SPI_getbinval(tup, desc, 11, &isnull));
		r->finished = DatumGetBool(SPI_getbinval(tup, desc, 12, &isnull));
		r->phase_taken = DatumGetBool(SPI_getbinval(tup, desc, 13, &isnull));
	}
	return races;
}

char *
race_ids_json(const JobRace *races, int n, bool done)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (races[i].done != done)
			continue;
		appendStringInfo(&buf, "%s" INT64_FORMAT, first ? "" : ", ", races[i].race_id);
		first = false;
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}
