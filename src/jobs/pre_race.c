/*
 * pre_race.c
 *		pre_race_t60 and pre_race_t15: one race document per race of the
 *		run, fetched in one batch, storing its runners and one odds
 *		snapshot per race and phase (scrapes.scrape_type = the job type).
 *
 * Which races are due, and when, is the scheduler's business
 * (racing_sched._plan_race_phases); this file only fetches the races it
 * is given.  A race that jumped or finished is skipped, never fetched
 * late; a race whose snapshot for the phase exists already is done
 * without a request.  The retry takes only the failed races still before
 * their jump, with the earliest jump as its deadline.
 *
 * A planned race that jumped before its run could fetch it missed its
 * phase, as a race whose window passed while the scheduler was down does:
 * record_missed turns its race_phases row from planned to missed and
 * counts it in job_stats.missed_phases and in the run's missed_race_ids,
 * once per race and phase whichever run sees it first.  A race whose fetch
 * failed is counted in items_failed instead.
 */
#include "racing_sched.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "utils/timestamp.h"

#include "jobs/jobs.h"
#include "jobs/tab_jobs.h"

static char *
lateness_json(const JobRace *races, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s\"" INT64_FORMAT "\": " INT64_FORMAT,
						 i ? ", " : "", races[i].race_id, races[i].lateness_ms);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* The races done, leaving out the skipped ones (done too: nothing to retry) */
static char *
done_ids_json(const JobRace *races, int n, const bool *skip)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (!races[i].done || skip[i])
			continue;
		appendStringInfo(&buf, "%s" INT64_FORMAT, first ? "" : ", ", races[i].race_id);
		first = false;
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/* {"race_ids": [...], "deadline": earliest jump} of the failed races before their jump */
static char *
retry_args_json(const JobRace *races, int n, const bool *fetchable)
{
	StringInfoData buf;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz deadline = DT_NOEND;
	bool		first = true;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"race_ids\": [");
	for (int i = 0; i < n; i++)
	{
		if (races[i].done || !fetchable[i] || races[i].start_time <= now)
			continue;
		appendStringInfo(&buf, "%s" INT64_FORMAT, first ? "" : ", ", races[i].race_id);
		deadline = Min(deadline, races[i].start_time);
		first = false;
	}
	if (first)
		return NULL;
	appendStringInfo(&buf, "], \"deadline\": \"%s\"}", timestamptz_to_str(deadline));
	return buf.data;
}

/*
 * Count, for the lateness histogram, how late after its edge each snapshot
 * this run took was: scrapes.scraped_at against race_phases.edge_at.
 */
static void
record_lateness(const char *job_name, const TabRaceKey *keys, int nkeys)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(nkeys, 1));
	int			n = 0;
	Oid			types[2] = {TEXTOID, INT8ARRAYOID};
	Datum		values[2];
	MemoryContext job_cxt;

	for (int k = 0; k < nkeys; k++)
		if (keys[k].stored && !keys[k].phase_duplicate)
			ids[n++] = Int64GetDatum(keys[k].race_id);
	if (n == 0)
		return;
	values[0] = CStringGetTextDatum(job_name);
	values[1] = PointerGetDatum(construct_array(ids, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	job_cxt = job_xact_begin();
	if (SPI_execute_with_args("SELECT racing_sched._record_phase_snapshot($1, s.race_id, s.scraped_at)"
							  "  FROM racing_sched.scrapes s"
							  " WHERE s.race_id = ANY ($2) AND s.scrape_type = $1",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: recording snapshot lateness failed");
	job_xact_end(job_cxt);
}

/*
 * The planned races of this phase among ids[0..n-1] (races that jumped
 * before this run fetched them) become missed: their race_phases rows,
 * job_stats.missed_phases and this run's metadata.missed_race_ids (where
 * the planner also lists the races it found missed), in one statement.
 * Rows already missed, or never planned (a manual run for an old race),
 * count nothing, so a race is counted once however many runs skip it.
 * Uses only what version 1.0 of the schema has.  Returns the count.
 */
static int64
record_missed(const JobRun *run, Datum *ids, int n)
{
	Oid			types[4] = {TEXTOID, INT8ARRAYOID, TEXTOID, INT8OID};
	Datum		values[4];
	MemoryContext job_cxt;
	int64		missed = 0;
	bool		isnull;

	if (n == 0)
		return 0;
	values[0] = CStringGetTextDatum(run->job_name);
	values[1] = PointerGetDatum(construct_array(ids, n, INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	values[2] = CStringGetTextDatum(run->job_type);
	values[3] = Int64GetDatum(run->job_run_id);

	job_cxt = job_xact_begin();
	if (SPI_execute_with_args("WITH m AS ("
							  "  UPDATE racing_sched.race_phases SET state = 'missed'"
							  "   WHERE job_name = $1 AND race_id = ANY ($2) AND state = 'planned'"
							  "  RETURNING race_id),"
							  " st AS ("
							  "  INSERT INTO racing_sched.job_stats AS s (job_name, job_type, missed_phases)"
							  "  SELECT $1, $3, count(*) FROM m HAVING count(*) > 0"
							  "  ON CONFLICT (job_name) DO UPDATE"
							  "  SET missed_phases = s.missed_phases + excluded.missed_phases),"
							  " r AS ("
							  "  UPDATE racing_sched.job_runs SET metadata = metadata"
							  "      || jsonb_build_object('missed_race_ids',"
							  "           coalesce(metadata->'missed_race_ids', '[]')"
							  "           || (SELECT jsonb_agg(race_id ORDER BY race_id) FROM m))"
							  "   WHERE job_run_id = $4 AND EXISTS (SELECT FROM m))"
							  " SELECT count(*) FROM m",
							  4, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: counting missed phases failed");
	missed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	job_xact_end(job_cxt);
	if (missed > 0)
		elog(LOG, "racing_sched: %s run " INT64_FORMAT " missed the window of " INT64_FORMAT " races that had jumped",
			 run->job_name, run->job_run_id, missed);
	return missed;
}

void
run_pre_race_job(const JobRun *run, JobOutcome *outcome)
{
	TabFetchSummary summary;
	MemoryContext job_cxt;
	JobRace    *races;
	TabRaceKey *keys;
	int		   *map;
	bool	   *fetchable;
	bool	   *skip;
	int			n;
	int			nkeys = 0;
	int			skipped = 0;
	StringInfoData skipped_ids;
	Datum	   *jumped_ids;
	int			njumped = 0;
	char	   *retry_args;

	job_cxt = job_xact_begin();
	races = job_load_races(run, job_cxt, &n);
	job_xact_end(job_cxt);

	keys = palloc0(sizeof(TabRaceKey) * Max(n, 1));
	map = palloc(sizeof(int) * Max(n, 1));
	fetchable = palloc0(sizeof(bool) * Max(n, 1));
	jumped_ids = palloc(sizeof(Datum) * Max(n, 1));
	skip = palloc0(sizeof(bool) * Max(n, 1));
	initStringInfo(&skipped_ids);
	for (int i = 0; i < n; i++)
	{
		if (races[i].phase_taken)
		{
			/* the snapshot of this phase exists: done, no request */
			races[i].done = true;
			outcome->items_processed++;
			continue;
		}
		if (races[i].finished || races[i].jumped)
		{
			appendStringInfo(&skipped_ids, "%s" INT64_FORMAT, skipped ? ", " : "",
							 races[i].race_id);
			skipped++;
			if (races[i].jumped)
				jumped_ids[njumped++] = Int64GetDatum(races[i].race_id);
			races[i].done = true;	/* nothing left to do for this phase */
			skip[i] = true;
			continue;
		}
		fetchable[i] = true;
		keys[nkeys] = races[i].key;
		map[nkeys++] = i;
	}

	record_missed(run, jumped_ids, njumped);
	job_fetch_races(run, keys, nkeys, &summary, outcome);

	for (int k = 0; k < nkeys; k++)
	{
		JobRace    *r = &races[map[k]];

		if (keys[k].stored)
		{
			r->done = true;
			outcome->items_processed++;
		}
		else
			outcome->items_failed++;
	}
	record_lateness(run->job_type, keys, nkeys);

	outcome_meta(outcome, "race_ids_done", done_ids_json(races, n, skip));
	outcome_meta(outcome, "race_ids_failed", race_ids_json(races, n, false));
	if (skipped > 0)
		outcome_meta(outcome, "race_ids_skipped", psprintf("[%s]", skipped_ids.data));
	outcome_meta_int(outcome, "requests", summary.requests);
	outcome_meta_int(outcome, "phase_duplicates", summary.phase_duplicates);
	outcome_meta(outcome, "lateness_ms", lateness_json(races, n));
	retry_args = retry_args_json(races, n, fetchable);
	if (retry_args)
		outcome_meta(outcome, "retry_args", retry_args);
	else if (outcome->items_failed > 0)
	{
		/* every failed race has jumped: a retry would be late */
		outcome_meta(outcome, "retry_args", "{\"race_ids\": [], \"deadline\": \"-infinity\"}");
	}
}
