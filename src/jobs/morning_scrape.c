/*
 * morning_scrape.c
 *		morning_scrape: the meetings list of the racing day for each
 *		jurisdiction, keeping the race types and locations of the settings;
 *		each meeting and its race stubs stored as one unit.  A meeting seen
 *		under several jurisdictions is one row (the store merges them).
 *
 * What failed is listed in metadata.failed_combinations as
 * {date, jurisdiction, race_type, location} (race_type and location null
 * when a whole list failed), and the retry's args ask for exactly that
 * ("only").  The race-driven jobs need nothing more: the scheduler plans
 * their phases from the stored races.  One thing is left over from earlier
 * days: races still without official results after their post-race retries
 * (racing_sched.pending_results); a morning scrape (not a retry) queues
 * one post_race run for them (queue_pending_results).
 */
#include "racing_sched.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "jobs/jobs.h"
#include "jobs/tab_jobs.h"

/* One meetings list to fetch, and which of its meetings to keep. */
typedef struct ListRequest
{
	char	   *date;
	char	   *jurisdiction;
	bool		all;			/* keep every meeting the settings keep */
	List	   *only;			/* else: of OnlyEntry *, race_type/location
								 * NULL = any */
} ListRequest;

typedef struct OnlyEntry
{
	char	   *race_type;
	char	   *location;
} OnlyEntry;

typedef struct ScrapeState
{
	ListRequest *req;
	List	   *failed;			/* of char *, JSON objects, distinct */
	int			meetings_failed;
} ScrapeState;

static char *
combination_json(const char *date, const char *jurisdiction,
				 const char *race_type, const char *location)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"date\": ");
	escape_json(&buf, date);
	appendStringInfoString(&buf, ", \"jurisdiction\": ");
	escape_json(&buf, jurisdiction);
	appendStringInfoString(&buf, ", \"race_type\": ");
	if (race_type)
		escape_json(&buf, race_type);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"location\": ");
	if (location)
		escape_json(&buf, location);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

static void
add_failed(ScrapeState *st, char *combination)
{
	ListCell   *lc;

	foreach(lc, st->failed)
		if (strcmp((char *) lfirst(lc), combination) == 0)
			return;
	st->failed = lappend(st->failed, combination);
}

static bool
keep_meeting(const TabMeeting *m, void *arg)
{
	ScrapeState *st = arg;
	char		race_type[2] = {m->race_type, '\0'};
	ListCell   *lc;

	if (!code_list_contains(rs_race_types, race_type))
		return false;
	if (strcmp(rs_locations, "all") != 0 &&
		(m->location == NULL || !code_list_contains(rs_locations, m->location)))
		return false;
	if (st->req->all)
		return true;
	foreach(lc, st->req->only)
	{
		OnlyEntry  *e = lfirst(lc);

		if ((e->race_type == NULL || strcmp(e->race_type, race_type) == 0) &&
			(e->location == NULL ||
			 (m->location != NULL && strcmp(e->location, m->location) == 0)))
			return true;
	}
	return false;
}

static void
meeting_done(const TabMeeting *m, bool stored, void *arg)
{
	ScrapeState *st = arg;
	char		race_type[2] = {m->race_type, '\0'};

	if (stored)
		return;
	st->meetings_failed++;
	add_failed(st, combination_json(st->req->date, st->req->jurisdiction,
									race_type, m->location));
}

static char *
spi_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

static ListRequest *
find_request(List *reqs, const char *date, const char *jurisdiction)
{
	ListCell   *lc;

	foreach(lc, reqs)
	{
		ListRequest *r = lfirst(lc);

		if (strcmp(r->date, date) == 0 && strcmp(r->jurisdiction, jurisdiction) == 0)
			return r;
	}
	return NULL;
}

/*
 * The lists to fetch: from args.only (a retry), else the racing date
 * (args.date, or today in racing_sched.timezone plus args.days_ahead)
 * for each of args.jurisdictions or the setting.  Call in a transaction;
 * the result lives in job_cxt.
 */
static List *
plan_requests(const JobRun *run, MemoryContext job_cxt, char **date_out)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1] = {CStringGetTextDatum(run->args ? run->args : "{}")};
	List	   *reqs = NIL;
	MemoryContext spi_cxt;
	int			rc;

	rc = SPI_execute_with_args(
							   "WITH a AS (SELECT $1::jsonb AS a),"
							   " d AS (SELECT coalesce(a->>'date',"
							   "   ((now() AT TIME ZONE current_setting('racing_sched.timezone'))::date"
							   "    + coalesce((a->>'days_ahead')::int, 0))::text) AS d FROM a)"
							   " SELECT e->>'date', e->>'jurisdiction', e->>'race_type', e->>'location', true"
							   "   FROM a, jsonb_array_elements(a->'only') e"
							   "  WHERE a ? 'only'"
							   " UNION ALL"
							   " SELECT d, btrim(j), NULL, NULL, false"
							   "   FROM a, d, unnest(coalesce("
							   "     (SELECT array_agg(x) FROM jsonb_array_elements_text(a->'jurisdictions') x),"
							   "     string_to_array(current_setting('racing_sched.jurisdictions'), ','))) j"
							   "  WHERE NOT a ? 'only' AND btrim(j) <> ''"
							   " UNION ALL"
							   " SELECT d, NULL, NULL, NULL, NULL FROM d",
							   1, types, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: reading the morning scrape's arguments failed: %s",
			 SPI_result_code_string(rc));

	spi_cxt = MemoryContextSwitchTo(job_cxt);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *date = spi_text(i, 1);
		char	   *jurisdiction = spi_text(i, 2);
		char	   *from_only = spi_text(i, 5);
		ListRequest *r;

		if (from_only == NULL)
		{
			*date_out = pstrdup(date);
			continue;
		}
		if (date == NULL || jurisdiction == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("each element of argument \"only\" needs a date and a jurisdiction")));
		r = find_request(reqs, date, jurisdiction);
		if (r == NULL)
		{
			r = palloc0(sizeof(ListRequest));
			r->date = pstrdup(date);
			r->jurisdiction = pstrdup(jurisdiction);
			r->all = (from_only[0] == 'f');
			reqs = lappend(reqs, r);
		}
		if (from_only[0] == 't')
		{
			OnlyEntry  *e = palloc0(sizeof(OnlyEntry));
			char	   *race_type = spi_text(i, 3);
			char	   *location = spi_text(i, 4);

			e->race_type = race_type ? pstrdup(race_type) : NULL;
			e->location = location ? pstrdup(location) : NULL;
			if (e->race_type == NULL && e->location == NULL)
				r->all = true;
			r->only = lappend(r->only, e);
		}
	}
	MemoryContextSwitchTo(spi_cxt);
	return reqs;
}

static int64
meetings_stored(int64 job_run_id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(job_run_id)};
	bool		isnull;
	int			rc;

	rc = SPI_execute_with_args("SELECT count(DISTINCT meeting_id) FROM racing_sched.scrapes"
							   " WHERE job_run_id = $1 AND race_id IS NULL",
							   1, types, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: counting stored meetings failed: %s",
			 SPI_result_code_string(rc));
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

static char *
json_list(List *items)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	foreach(lc, items)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, (char *) lfirst(lc));
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * Queue one post_race run for the races of the last 3 days past their
 * post-race edge that still have neither official results nor an abandoned
 * mark, and that no queued or running post_race run holds; its id and the
 * races go in the metadata.  Nothing when post_race is disabled.  Uses only
 * what version 1.0 of the schema has.
 */
static void
queue_pending_results(JobOutcome *outcome)
{
	MemoryContext job_cxt;
	bool		isnull;
	Datum		d;
	char	   *ids = NULL;
	int64		post_run = 0;

	job_cxt = job_xact_begin();
	if (SPI_execute("WITH p AS ("
					"  SELECT r.race_id FROM racing_sched.races r"
					"  JOIN racing_sched.jobs j ON j.job_name = 'post_race' AND j.enabled"
					"   AND j.race_offset IS NOT NULL"
					"  WHERE r.start_time + j.race_offset < now()"
					"    AND r.start_time > now() - interval '3 days'"
					"    AND r.official_at IS NULL AND r.abandoned_at IS NULL"
					"    AND NOT EXISTS (SELECT FROM racing_sched.job_runs q"
					"         WHERE q.job_name = 'post_race' AND q.status IN ('queued', 'running')"
					"           AND coalesce(q.args->'race_ids', jsonb_build_array(q.args->'race_id'))"
					"               @> to_jsonb(r.race_id))),"
					" a AS (SELECT jsonb_agg(race_id ORDER BY race_id) AS ids FROM p)"
					" SELECT a.ids::text, racing_sched.run_now('post_race', jsonb_build_object('race_ids', a.ids))"
					"   FROM a WHERE a.ids IS NOT NULL",
					false, 0) != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: queueing the pending results failed");
	if (SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		ids = MemoryContextStrdup(job_cxt, v);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		post_run = isnull ? 0 : DatumGetInt64(d);
	}
	job_xact_end(job_cxt);
	if (ids)
	{
		outcome_meta(outcome, "pending_race_ids", ids);
		outcome_meta_int(outcome, "post_race_job_run_id", post_run);
	}
}

void
run_morning_scrape_job(const JobRun *run, JobOutcome *outcome)
{
	MemoryContext job_cxt;
	ScrapeState st = {0};
	List	   *reqs;
	char	   *date = NULL;
	int			requests = 0;
	int64		failed = 0;
	ListCell   *lc;

	job_cxt = job_xact_begin();
	reqs = plan_requests(run, job_cxt, &date);
	job_xact_end(job_cxt);

	foreach(lc, reqs)
	{
		ListRequest *req = lfirst(lc);
		TabFetchContext ctx = {0};
		TabFetchSummary summary;
		ListCell   *elc;
		int			failed_before = st.meetings_failed;
		int			unattributed;

		CHECK_FOR_INTERRUPTS();
		st.req = req;
		ctx.job_run_id = run->job_run_id;
		ctx.scrape_type = run->job_type;
		ctx.keep_meeting = keep_meeting;
		ctx.meeting_done = meeting_done;
		ctx.hook_arg = &st;
		tab_summary_init(&summary);
		tab_fetch_meetings(req->date, req->jurisdiction, &ctx, &summary);
		job_count_requests(&summary);
		requests += summary.requests;

		/*
		 * Failures no meeting accounts for: the request, the document, or
		 * meetings that could not be parsed.  The retry fetches the list
		 * whole.
		 */
		unattributed = summary.failed - (st.meetings_failed - failed_before);
		if (unattributed > 0)
		{
			add_failed(&st, combination_json(req->date, req->jurisdiction, NULL, NULL));
			failed += unattributed;
		}
		foreach(elc, summary.errors)
			outcome_error(outcome, "%s", (char *) lfirst(elc));
	}
	failed += st.meetings_failed;

	/* after the lists, which may have finished some of them already */
	if (run->retry_count == 0)
		queue_pending_results(outcome);

	job_cxt = job_xact_begin();
	outcome->items_processed = meetings_stored(run->job_run_id);
	job_xact_end(job_cxt);
	outcome->items_failed = failed;

	if (date)
		outcome_meta_text(outcome, "date", date);
	outcome_meta_int(outcome, "requests", requests);
	outcome_meta(outcome, "failed_combinations", json_list(st.failed));
	if (st.failed != NIL)
	{
		StringInfoData args;

		initStringInfo(&args);
		appendStringInfo(&args, "{\"only\": %s", json_list(st.failed));
		if (date && list_length(reqs) > 0 &&
			strcmp(((ListRequest *) linitial(reqs))->date, date) == 0)
		{
			appendStringInfoString(&args, ", \"date\": ");
			escape_json(&args, date);
		}
		appendStringInfoChar(&args, '}');
		outcome_meta(outcome, "retry_args", args.data);
	}
}
