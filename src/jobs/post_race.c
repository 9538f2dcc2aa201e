/*
 * post_race.c
 *		post_race: fetch each race of the run after its jump and store
 *		its results.  Paying (Final, Resulted) stores official results and
 *		dividends: done.  Abandoned marks the race: done.  Interim stores
 *		provisional results and Closed stores nothing new: both are tried
 *		again by the retry, which takes only the races not yet official.
 *
 * Provisional results turning official in place is the store's work
 * (store.c); when the race is due is the scheduler's.
 */
#include "racing_sched.h"

#include "lib/stringinfo.h"

#include "jobs/jobs.h"
#include "jobs/tab_jobs.h"

static void
append_id(StringInfo buf, int64 id)
{
	appendStringInfo(buf, "%s" INT64_FORMAT, buf->len > 1 ? ", " : "", id);
}

void
run_post_race_job(const JobRun *run, JobOutcome *outcome)
{
	TabFetchSummary summary;
	MemoryContext job_cxt;
	JobRace    *races;
	TabRaceKey *keys;
	int		   *map;
	int			n;
	int			nkeys = 0;
	StringInfoData official,
				provisional,
				abandoned,
				pending,
				already;

	job_cxt = job_xact_begin();
	races = job_load_races(run, job_cxt, &n);
	job_xact_end(job_cxt);

	keys = palloc0(sizeof(TabRaceKey) * Max(n, 1));
	map = palloc(sizeof(int) * Max(n, 1));
	initStringInfo(&official);
	initStringInfo(&provisional);
	initStringInfo(&abandoned);
	initStringInfo(&pending);
	initStringInfo(&already);
	appendStringInfoChar(&official, '[');
	appendStringInfoChar(&provisional, '[');
	appendStringInfoChar(&abandoned, '[');
	appendStringInfoChar(&pending, '[');
	appendStringInfoChar(&already, '[');

	for (int i = 0; i < n; i++)
	{
		if (races[i].finished)
		{
			/* official or abandoned already: nothing to fetch */
			races[i].done = true;
			append_id(&already, races[i].race_id);
			continue;
		}
		keys[nkeys] = races[i].key;
		map[nkeys++] = i;
	}

	job_fetch_races(run, keys, nkeys, &summary, outcome);

	for (int k = 0; k < nkeys; k++)
	{
		JobRace    *r = &races[map[k]];
		TabRaceStatus status = keys[k].stored ?
			tab_race_status_from_text(keys[k].status_text) : TAB_RACE_UNKNOWN;

		switch (status)
		{
			case TAB_RACE_PAYING:
				r->done = true;
				outcome->items_processed++;
				append_id(&official, r->race_id);
				break;
			case TAB_RACE_ABANDONED:
				r->done = true;
				outcome->items_processed++;
				append_id(&abandoned, r->race_id);
				break;
			case TAB_RACE_INTERIM:
				/* provisional results stored; official ones still to come */
				outcome->items_processed++;
				outcome->items_failed++;
				append_id(&provisional, r->race_id);
				break;
			default:
				outcome->items_failed++;
				append_id(&pending, r->race_id);
				if (keys[k].stored)
					outcome_error(outcome, "race " INT64_FORMAT " has no results yet (status %s)",
								  r->race_id, keys[k].status_text ? keys[k].status_text : "unknown");
				break;
		}
	}

	appendStringInfoChar(&official, ']');
	appendStringInfoChar(&provisional, ']');
	appendStringInfoChar(&abandoned, ']');
	appendStringInfoChar(&pending, ']');
	appendStringInfoChar(&already, ']');
	outcome_meta(outcome, "race_ids_official", official.data);
	outcome_meta(outcome, "race_ids_provisional", provisional.data);
	outcome_meta(outcome, "race_ids_abandoned", abandoned.data);
	outcome_meta(outcome, "race_ids_pending", pending.data);
	outcome_meta(outcome, "race_ids_already_final", already.data);
	outcome_meta_int(outcome, "requests", summary.requests);
	if (outcome->items_failed > 0)
		outcome_meta(outcome, "retry_args",
					 psprintf("{\"race_ids\": %s}", race_ids_json(races, n, false)));
}
