/*
 * tab_sql.c
 *		SQL-callable fetch and ingest functions: fetch_meetings, fetch_race,
 *		fetch_fixed_odds_race, and the text entries _ingest_meetings and
 *		_ingest_race used by tests and bench/ingest.
 *
 * Each checks its arguments (every error is raised before any request) and
 * hands the work to tab_client.c, which runs the HTTP client, the parser
 * and the store in this backend.  Units are stored in subtransactions of
 * the caller's transaction.
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"

#include "tab_client.h"

PG_FUNCTION_INFO_V1(racing_sched_fetch_meetings);
PG_FUNCTION_INFO_V1(racing_sched_fetch_race);
PG_FUNCTION_INFO_V1(racing_sched_fetch_fixed_odds_race);
PG_FUNCTION_INFO_V1(racing_sched_ingest_meetings);
PG_FUNCTION_INFO_V1(racing_sched_ingest_race);

#define TAB_NAME_MAX 200

static void
require_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* The racing date as YYYY-MM-DD, whatever DateStyle says. */
static char *
date_arg(FunctionCallInfo fcinfo, int n)
{
	DateADT		d;
	int			y,
				m,
				day;

	require_arg(fcinfo, n, "date");
	d = PG_GETARG_DATEADT(n);
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("date must be finite")));
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	if (y < 1900 || y > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("date %04d-%02d-%02d is out of range", y, m, day),
				 errdetail("Racing dates are between 1900 and 9999.")));
	return psprintf("%04d-%02d-%02d", y, m, day);
}

static char *
jurisdiction_arg(FunctionCallInfo fcinfo, int n)
{
	char	   *j;

	require_arg(fcinfo, n, "jurisdiction");
	j = text_to_cstring(PG_GETARG_TEXT_PP(n));
	if (!tab_valid_jurisdiction(j))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid jurisdiction \"%s\"", j),
				 errdetail("Allowed values: %s.", tab_jurisdictions_text())));
	return j;
}

static char
race_type_arg(FunctionCallInfo fcinfo, int n)
{
	char	   *t;

	require_arg(fcinfo, n, "race_type");
	t = text_to_cstring(PG_GETARG_TEXT_PP(n));
	if (strcmp(t, "R") != 0 && strcmp(t, "H") != 0 && strcmp(t, "G") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid race_type \"%s\"", t),
				 errdetail("Allowed values: R (thoroughbred), H (harness), G (greyhound).")));
	return t[0];
}

/* A name for a URL path segment: non-empty, bounded, no control bytes. */
static char *
name_arg(FunctionCallInfo fcinfo, int n, const char *name)
{
	char	   *s;

	require_arg(fcinfo, n, name);
	s = text_to_cstring(PG_GETARG_TEXT_PP(n));
	if (s[0] == '\0' || strlen(s) > TAB_NAME_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be 1 to %d bytes long", name, TAB_NAME_MAX)));
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not contain control characters", name)));
	return s;
}

/* fetch_meetings(date date, jurisdiction text) -> jsonb */
Datum
racing_sched_fetch_meetings(PG_FUNCTION_ARGS)
{
	char	   *date = date_arg(fcinfo, 0);
	char	   *j = jurisdiction_arg(fcinfo, 1);
	TabFetchSummary s;

	tab_summary_init(&s);
	tab_fetch_meetings(date, j, NULL, &s);
	PG_RETURN_JSONB_P(tab_summary_jsonb(&s));
}

/* fetch_race(date, race_type, venue, race_number, jurisdiction) -> jsonb */
Datum
racing_sched_fetch_race(PG_FUNCTION_ARGS)
{
	TabRaceKey	key;
	TabFetchSummary s;

	memset(&key, 0, sizeof(key));
	key.date = date_arg(fcinfo, 0);
	key.race_type = race_type_arg(fcinfo, 1);
	key.venue = name_arg(fcinfo, 2, "venue");
	require_arg(fcinfo, 3, "race_number");
	key.race_number = PG_GETARG_INT32(3);
	if (key.race_number < 1 || key.race_number > 99)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("race_number %d is out of range", key.race_number),
				 errdetail("Race numbers are between 1 and 99.")));
	key.jurisdiction = jurisdiction_arg(fcinfo, 4);

	tab_summary_init(&s);
	tab_fetch_races(&key, 1, NULL, &s);
	PG_RETURN_JSONB_P(tab_summary_jsonb(&s));
}

/* fetch_fixed_odds_race(date, race_type, meeting_name, match_name, jurisdiction) */
Datum
racing_sched_fetch_fixed_odds_race(PG_FUNCTION_ARGS)
{
	TabRaceKey	key;
	TabFetchSummary s;

	memset(&key, 0, sizeof(key));
	key.date = date_arg(fcinfo, 0);
	key.race_type = race_type_arg(fcinfo, 1);
	key.meeting_name = name_arg(fcinfo, 2, "meeting_name");
	key.match_name = name_arg(fcinfo, 3, "match_name");
	key.jurisdiction = jurisdiction_arg(fcinfo, 4);

	tab_summary_init(&s);
	tab_fetch_races(&key, 1, NULL, &s);
	PG_RETURN_JSONB_P(tab_summary_jsonb(&s));
}

static const char *
optional_jurisdiction(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() <= n || PG_ARGISNULL(n))
		return NULL;
	return jurisdiction_arg(fcinfo, n);
}

/* _ingest_meetings(doc text, jurisdiction text DEFAULT NULL) -> jsonb */
Datum
racing_sched_ingest_meetings(PG_FUNCTION_ARGS)
{
	text	   *doc;
	const char *j;
	TabFetchSummary s;

	require_arg(fcinfo, 0, "doc");
	doc = PG_GETARG_TEXT_PP(0);
	j = optional_jurisdiction(fcinfo, 1);
	tab_summary_init(&s);
	tab_ingest_meetings_text(VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc), j, NULL, &s);
	PG_RETURN_JSONB_P(tab_summary_jsonb(&s));
}

/*
 * _ingest_race(doc text, jurisdiction text DEFAULT NULL,
 *				date date DEFAULT NULL, scrape_type text DEFAULT NULL) -> jsonb
 */
Datum
racing_sched_ingest_race(PG_FUNCTION_ARGS)
{
	text	   *doc;
	const char *j;
	const char *date = NULL;
	TabFetchContext ctx = {0, NULL};
	TabFetchSummary s;

	require_arg(fcinfo, 0, "doc");
	doc = PG_GETARG_TEXT_PP(0);
	j = optional_jurisdiction(fcinfo, 1);
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		date = date_arg(fcinfo, 2);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
	{
		ctx.scrape_type = text_to_cstring(PG_GETARG_TEXT_PP(3));
		if (strcmp(ctx.scrape_type, "morning_scrape") != 0 &&
			strcmp(ctx.scrape_type, "pre_race_t60") != 0 &&
			strcmp(ctx.scrape_type, "pre_race_t15") != 0 &&
			strcmp(ctx.scrape_type, "post_race") != 0 &&
			strcmp(ctx.scrape_type, "manual") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid scrape_type \"%s\"", ctx.scrape_type),
					 errdetail("Allowed values: morning_scrape, pre_race_t60, pre_race_t15, post_race, manual.")));
	}
	tab_summary_init(&s);
	tab_ingest_race_text(VARDATA_ANY(doc), VARSIZE_ANY_EXHDR(doc), j, date, &ctx, &s);
	PG_RETURN_JSONB_P(tab_summary_jsonb(&s));
}
