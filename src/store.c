/*
 * store.c
 *		Parsed TAB documents into the racing tables through SPI.
 *
 * One call stores one unit (a meeting with its race stubs, or a race
 * document) inside an internal subtransaction, itself inside the caller's
 * transaction or one started here (see store.h).  Every statement is a plan
 * prepared once per process and kept (SPI_keepplan), planned once (a
 * generic plan); every value is a parameter.  Rows of one kind are written
 * by one statement taking arrays (INSERT ... SELECT FROM unnest(...)), never
 * a statement per row.
 *
 * Not here: HTTP, JSON, URL building (tab_client.c), job bookkeeping.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "store.h"

/* Statements, prepared on first use. */
typedef enum StorePlanId
{
	PLAN_MEETING_VENUE,
	PLAN_MEETING_NAME,
	PLAN_RACES_NUMBER,
	PLAN_RACES_MATCH,
	PLAN_SCRATCHINGS,
	PLAN_RUNNERS,
	PLAN_RESULTS,
	PLAN_SCRAPE,
	PLAN_ODDS,
	PLAN_DIVIDENDS_DELETE,
	PLAN_DIVIDENDS_INSERT,
	NUM_PLANS
} StorePlanId;

typedef struct StorePlanDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[20];
} StorePlanDef;

/*
 * The meeting upsert: later documents refresh what they carry and keep
 * what they do not (a race document's meeting block has no prize money);
 * jurisdictions is a sorted set union.
 */
#define MEETING_INSERT \
	"INSERT INTO racing_sched.meetings AS m (meeting_date, race_type," \
	" venue_mnemonic, meeting_name, display_meeting_name, location," \
	" fixed_odds_only, prize_money, weather_condition, track_condition," \
	" rail_position, jurisdictions)" \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8::numeric / 100, $9, $10, $11," \
	" CASE WHEN $12::text IS NULL THEN '{}'::text[] ELSE ARRAY[$12::text] END)"
#define MEETING_UPDATE \
	" DO UPDATE SET meeting_name = EXCLUDED.meeting_name," \
	" display_meeting_name = coalesce(EXCLUDED.display_meeting_name, m.display_meeting_name)," \
	" location = coalesce(EXCLUDED.location, m.location)," \
	" fixed_odds_only = EXCLUDED.fixed_odds_only," \
	" prize_money = coalesce(EXCLUDED.prize_money, m.prize_money)," \
	" weather_condition = coalesce(EXCLUDED.weather_condition, m.weather_condition)," \
	" track_condition = coalesce(EXCLUDED.track_condition, m.track_condition)," \
	" rail_position = CASE WHEN $13 THEN EXCLUDED.rail_position ELSE m.rail_position END," \
	" jurisdictions = CASE WHEN EXCLUDED.jurisdictions <@ m.jurisdictions THEN m.jurisdictions" \
	"  ELSE ARRAY(SELECT DISTINCT j FROM unnest(m.jurisdictions || EXCLUDED.jurisdictions) AS j ORDER BY j) END," \
	" updated_at = now()" \
	" RETURNING meeting_id"
#define MEETING_ARGS {DATEOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, \
	BOOLOID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID}

/*
 * Races of one meeting in one statement.  $4 is the status as stored, $5
 * its kind (closed, interim, official, abandoned or NULL), which sets the
 * matching timestamp the first time it is seen.  A NULL status (absent in
 * the document) keeps the stored one, as absent optional fields do.
 */
#define RACES_INSERT \
	"INSERT INTO racing_sched.races AS r (meeting_id, race_number, match_name," \
	" race_date, race_name, race_class, start_time, status, distance_m," \
	" has_fixed_odds, has_parimutuel, status_changed_at, closed_at, interim_at," \
	" official_at, abandoned_at)" \
	" SELECT $1, t.n, t.match, t.rdate, t.rname, t.rclass, t.st," \
	"  coalesce(t.status, (SELECT x.status FROM racing_sched.races x" \
	"   WHERE x.meeting_id = $1 AND CASE WHEN t.match IS NULL" \
	"   THEN x.match_name IS NULL AND x.race_number = t.n" \
	"   ELSE x.match_name = t.match END), 'Normal')," \
	"  t.dist, t.hfo, t.hpm, now()," \
	"  CASE WHEN t.kind = 'closed' THEN now() END," \
	"  CASE WHEN t.kind = 'interim' THEN now() END," \
	"  CASE WHEN t.kind = 'official' THEN now() END," \
	"  CASE WHEN t.kind = 'abandoned' THEN now() END" \
	" FROM unnest($2::int[], $3::text[], $4::date[], $5::text[], $6::text[]," \
	"  $7::timestamptz[], $8::text[], $9::text[], $10::int[], $11::bool[], $12::bool[])" \
	"  AS t(n, match, rdate, rname, rclass, st, status, kind, dist, hfo, hpm)"
#define RACES_UPDATE \
	" DO UPDATE SET race_number = EXCLUDED.race_number," \
	" race_date = coalesce(EXCLUDED.race_date, r.race_date)," \
	" race_name = coalesce(EXCLUDED.race_name, r.race_name)," \
	" race_class = coalesce(EXCLUDED.race_class, r.race_class)," \
	" start_time = EXCLUDED.start_time," \
	" distance_m = coalesce(EXCLUDED.distance_m, r.distance_m)," \
	" has_fixed_odds = coalesce(EXCLUDED.has_fixed_odds, r.has_fixed_odds)," \
	" has_parimutuel = coalesce(EXCLUDED.has_parimutuel, r.has_parimutuel)," \
	" status = EXCLUDED.status," \
	" status_changed_at = CASE WHEN r.status IS DISTINCT FROM EXCLUDED.status" \
	"  THEN now() ELSE r.status_changed_at END," \
	" closed_at = coalesce(r.closed_at, EXCLUDED.closed_at)," \
	" interim_at = coalesce(r.interim_at, EXCLUDED.interim_at)," \
	" official_at = coalesce(r.official_at, EXCLUDED.official_at)," \
	" abandoned_at = coalesce(r.abandoned_at, EXCLUDED.abandoned_at)," \
	" updated_at = now()" \
	" RETURNING race_id, race_number, match_name"
#define RACES_ARGS {INT8OID, INT4ARRAYOID, TEXTARRAYOID, DATEARRAYOID, \
	TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, \
	TEXTARRAYOID, INT4ARRAYOID, BOOLARRAYOID, BOOLARRAYOID}

static const StorePlanDef plan_defs[NUM_PLANS] = {
	[PLAN_MEETING_VENUE] = {
		MEETING_INSERT
		" ON CONFLICT (meeting_date, race_type, venue_mnemonic)"
		" WHERE venue_mnemonic IS NOT NULL" MEETING_UPDATE,
		13, MEETING_ARGS
	},
	[PLAN_MEETING_NAME] = {
		MEETING_INSERT
		" ON CONFLICT (meeting_date, race_type, meeting_name)"
		" WHERE venue_mnemonic IS NULL" MEETING_UPDATE,
		13, MEETING_ARGS
	},
	[PLAN_RACES_NUMBER] = {
		RACES_INSERT
		" ON CONFLICT (meeting_id, race_number) WHERE match_name IS NULL"
		RACES_UPDATE,
		12, RACES_ARGS
	},
	[PLAN_RACES_MATCH] = {
		RACES_INSERT
		" ON CONFLICT (meeting_id, match_name) WHERE match_name IS NOT NULL"
		RACES_UPDATE,
		12, RACES_ARGS
	},

	/*
	 * Scratchings of a meetings list: runner rows marked scratched.  The
	 * first sighting dates scratched_at; late_scratched never reverts.
	 */
	[PLAN_SCRATCHINGS] = {
		"INSERT INTO racing_sched.runners AS u (race_id, runner_number, runner_name,"
		" scratched, late_scratched, scratched_at)"
		" SELECT t.race_id, t.n, coalesce(t.name, ''), true, t.late, now()"
		" FROM unnest($1::bigint[], $2::int[], $3::text[], $4::bool[])"
		"  AS t(race_id, n, name, late)"
		" ON CONFLICT (race_id, runner_number) DO UPDATE SET"
		" runner_name = CASE WHEN EXCLUDED.runner_name <> '' THEN EXCLUDED.runner_name"
		"  ELSE u.runner_name END,"
		" scratched = true,"
		" late_scratched = u.late_scratched OR EXCLUDED.late_scratched,"
		" scratched_at = coalesce(u.scratched_at, EXCLUDED.scratched_at),"
		" updated_at = now()"
		" WHERE NOT u.scratched OR (EXCLUDED.late_scratched AND NOT u.late_scratched)"
		"  OR (EXCLUDED.runner_name <> '' AND u.runner_name IS DISTINCT FROM EXCLUDED.runner_name)",
		4, {INT8ARRAYOID, INT4ARRAYOID, TEXTARRAYOID, BOOLARRAYOID}
	},

	/* The runners of a race document, all columns it carries. */
	[PLAN_RUNNERS] = {
		"INSERT INTO racing_sched.runners AS u (race_id, runner_number, runner_name,"
		" barrier, trainer_name, rider_name, handicap_weight, emergency, vacant_box,"
		" last5_starts, scratched, late_scratched, scratched_at)"
		" SELECT $1, t.n, coalesce(t.name, ''), t.barrier, t.trainer, t.rider,"
		"  t.weight::numeric(5,1), t.emergency, t.vacant, t.last5, t.scr, t.late,"
		"  CASE WHEN t.scr THEN coalesce(t.scr_at, now()) END"
		" FROM unnest($2::int[], $3::text[], $4::int[], $5::text[], $6::text[],"
		"  $7::float8[], $8::bool[], $9::bool[], $10::text[], $11::bool[], $12::bool[],"
		"  $13::timestamptz[])"
		"  AS t(n, name, barrier, trainer, rider, weight, emergency, vacant, last5,"
		"  scr, late, scr_at)"
		" ON CONFLICT (race_id, runner_number) DO UPDATE SET"
		" runner_name = CASE WHEN EXCLUDED.runner_name <> '' THEN EXCLUDED.runner_name"
		"  ELSE u.runner_name END,"
		" barrier = EXCLUDED.barrier, trainer_name = EXCLUDED.trainer_name,"
		" rider_name = EXCLUDED.rider_name, handicap_weight = EXCLUDED.handicap_weight,"
		" emergency = EXCLUDED.emergency, vacant_box = EXCLUDED.vacant_box,"
		" last5_starts = EXCLUDED.last5_starts,"
		" scratched = u.scratched OR EXCLUDED.scratched,"
		" late_scratched = u.late_scratched OR EXCLUDED.late_scratched,"
		" scratched_at = coalesce(u.scratched_at, EXCLUDED.scratched_at),"
		" updated_at = now()",
		13, {INT8OID, INT4ARRAYOID, TEXTARRAYOID, INT4ARRAYOID, TEXTARRAYOID,
			TEXTARRAYOID, FLOAT8ARRAYOID, BOOLARRAYOID, BOOLARRAYOID, TEXTARRAYOID,
		BOOLARRAYOID, BOOLARRAYOID, TIMESTAMPTZARRAYOID}
	},

	/*
	 * Results of one or more races: upsert the placings given, delete the
	 * placings of those races no longer given.  Provisional rows turn
	 * official in place; unchanged rows are left alone.
	 */
	[PLAN_RESULTS] = {
		"WITH t AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::bool[])"
		"  AS t(race_id, n, pos, official)),"
		" gone AS (DELETE FROM racing_sched.results x"
		"  WHERE x.race_id = ANY ($1)"
		"  AND NOT EXISTS (SELECT 1 FROM t WHERE t.race_id = x.race_id AND t.n = x.runner_number))"
		" INSERT INTO racing_sched.results AS x (race_id, runner_number, position, official)"
		" SELECT race_id, n, pos, official FROM t"
		" ON CONFLICT (race_id, runner_number) DO UPDATE SET"
		" position = EXCLUDED.position, official = EXCLUDED.official, updated_at = now()"
		" WHERE (x.position, x.official) IS DISTINCT FROM (EXCLUDED.position, EXCLUDED.official)",
		4, {INT8ARRAYOID, INT4ARRAYOID, INT4ARRAYOID, BOOLARRAYOID}
	},

	/*
	 * One fetch.  A pre-race phase already taken for the race inserts
	 * nothing and returns no row (scrapes_phase_once).
	 */
	[PLAN_SCRAPE] = {
		"INSERT INTO racing_sched.scrapes (job_run_id, scrape_type, meeting_id, race_id,"
		" jurisdiction, http_status, bytes, elapsed_ms)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
		" ON CONFLICT (race_id, scrape_type)"
		" WHERE scrape_type IN ('pre_race_t60', 'pre_race_t15') DO NOTHING"
		" RETURNING scrape_id",
		8, {INT8OID, TEXTOID, INT8OID, INT8OID, TEXTOID, INT4OID, INT4OID, INT4OID}
	},

	[PLAN_ODDS] = {
		"INSERT INTO racing_sched.odds (scrape_id, race_id, runner_number, fixed_win,"
		" fixed_place, tote_win, tote_place, betting_status)"
		" SELECT $1, $2, t.n, t.fw::numeric(10,2), t.fp::numeric(10,2),"
		"  t.tw::numeric(10,2), t.tp::numeric(10,2), t.bs"
		" FROM unnest($3::int[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],"
		"  $8::text[]) AS t(n, fw, fp, tw, tp, bs)",
		8, {INT8OID, INT8OID, INT4ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, FLOAT8ARRAYOID, TEXTARRAYOID}
	},

	[PLAN_DIVIDENDS_DELETE] = {
		"DELETE FROM racing_sched.dividends WHERE race_id = $1",
		1, {INT8OID}
	},

	/* selections come as int[] literals ('{4,1}'), NULL for a text selection */
	[PLAN_DIVIDENDS_INSERT] = {
		"INSERT INTO racing_sched.dividends (race_id, product, pool_status, selections,"
		" selections_text, amount)"
		" SELECT $1, t.product, t.status, t.sel::int[], t.sel_text, t.amount::numeric(12,2)"
		" FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::float8[])"
		"  AS t(product, status, sel, sel_text, amount)"
		" ON CONFLICT DO NOTHING",
		6, {INT8OID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		FLOAT8ARRAYOID}
	},
};

static SPIPlanPtr plans[NUM_PLANS];

static SPIPlanPtr
get_plan(StorePlanId id)
{
	if (plans[id] == NULL)
	{
		const StorePlanDef *def = &plan_defs[id];
		SPIPlanPtr	plan;

		/*
		 * Generic plans: the statements take arrays, and a custom plan
		 * (the plan cache's choice for them, since unnest of a known
		 * array looks cheaper than of an unknown one) would plan every
		 * statement of every unit anew.
		 */
		plan = SPI_prepare_cursor(def->sql, def->nargs, (Oid *) def->argtypes,
								  CURSOR_OPT_GENERIC_PLAN);
		if (plan == NULL)
			elog(ERROR, "racing_sched store: SPI_prepare failed: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "racing_sched store: SPI_keepplan failed");
		plans[id] = plan;
	}
	return plans[id];
}

/*
 * Parameters of one statement: Datums and the SPI null flags.
 */
typedef struct Params
{
	Datum		values[20];
	char		nulls[20];
	int			n;
} Params;

static void
params_init(Params *p)
{
	p->n = 0;
}

static void
p_datum(Params *p, Datum d, bool isnull)
{
	Assert(p->n < 20);
	p->values[p->n] = d;
	p->nulls[p->n] = isnull ? 'n' : ' ';
	p->n++;
}

static void
p_text(Params *p, const char *s)
{
	p_datum(p, s ? CStringGetTextDatum(s) : (Datum) 0, s == NULL);
}

static void
p_int4(Params *p, int32 v)
{
	p_datum(p, Int32GetDatum(v), false);
}

static void
p_int8_or_null(Params *p, int64 v)
{
	p_datum(p, Int64GetDatum(v), v == 0);
}

static void
p_bool(Params *p, bool v)
{
	p_datum(p, BoolGetDatum(v), false);
}

/* Run a plan; returns SPI_processed. */
static uint64
exec_plan(StorePlanId id, Params *p, int expect)
{
	int			rc;

	Assert(p->n == plan_defs[id].nargs);
	rc = SPI_execute_plan(get_plan(id), p->values, p->nulls, false, 0);
	if (rc != expect)
		elog(ERROR, "racing_sched store: statement %d returned %s", (int) id,
			 SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * One-dimensional arrays built element by element.
 */
typedef struct ArrayBuild
{
	Oid			elemtype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;
	int			cap;
	Datum	   *values;
	bool	   *nulls;
} ArrayBuild;

static void
ab_init(ArrayBuild *a, Oid elemtype, int cap)
{
	a->elemtype = elemtype;
	switch (elemtype)
	{
		case INT4OID:
		case DATEOID:
			a->typlen = 4;
			a->typbyval = true;
			a->typalign = TYPALIGN_INT;
			break;
		case INT8OID:
		case FLOAT8OID:
		case TIMESTAMPTZOID:
			a->typlen = 8;
			a->typbyval = FLOAT8PASSBYVAL;
			a->typalign = TYPALIGN_DOUBLE;
			break;
		case BOOLOID:
			a->typlen = 1;
			a->typbyval = true;
			a->typalign = TYPALIGN_CHAR;
			break;
		default:
			get_typlenbyvalalign(elemtype, &a->typlen, &a->typbyval, &a->typalign);
			break;
	}
	a->n = 0;
	a->cap = Max(cap, 1);
	a->values = palloc(sizeof(Datum) * a->cap);
	a->nulls = palloc(sizeof(bool) * a->cap);
}

static void
ab_add(ArrayBuild *a, Datum d, bool isnull)
{
	if (a->n >= a->cap)
	{
		a->cap *= 2;
		a->values = repalloc(a->values, sizeof(Datum) * a->cap);
		a->nulls = repalloc(a->nulls, sizeof(bool) * a->cap);
	}
	a->values[a->n] = d;
	a->nulls[a->n] = isnull;
	a->n++;
}

static void
ab_text(ArrayBuild *a, const char *s)
{
	ab_add(a, s ? CStringGetTextDatum(s) : (Datum) 0, s == NULL);
}

static void
ab_int4(ArrayBuild *a, int32 v)
{
	ab_add(a, Int32GetDatum(v), false);
}

static void
ab_bool(ArrayBuild *a, bool v)
{
	ab_add(a, BoolGetDatum(v), false);
}

static void
ab_float8(ArrayBuild *a, bool present, double v)
{
	ab_add(a, present ? Float8GetDatum(v) : (Datum) 0, !present);
}

static void
p_array(Params *p, ArrayBuild *a)
{
	int			dims[1] = {a->n};
	int			lbs[1] = {1};
	ArrayType  *arr;

	arr = construct_md_array(a->values, a->nulls, 1, dims, lbs, a->elemtype,
							 a->typlen, a->typbyval, a->typalign);
	p_datum(p, PointerGetDatum(arr), false);
}

static TimestampTz
epoch_to_timestamptz(int64 epoch)
{
	return (TimestampTz) (epoch - ((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY))
		* USECS_PER_SEC;
}

static DateADT
tab_date_to_date(const TabDate *d)
{
	return date2j(d->year, d->month, d->day) - POSTGRES_EPOCH_JDATE;
}

/*
 * The status as stored, and its kind.  Known aliases are stored under the
 * TAB name racing_sched uses everywhere (Open -> Normal; Final, Resulted ->
 * Paying); an unknown status is stored verbatim and logged.
 */
static const char *
status_to_store(const TabRaceStub *s, const char **kind, bool *unknown)
{
	*kind = NULL;
	switch (s->status)
	{
		case TAB_RACE_NORMAL:
			return "Normal";
		case TAB_RACE_CLOSED:
			*kind = "closed";
			return "Closed";
		case TAB_RACE_INTERIM:
			*kind = "interim";
			return "Interim";
		case TAB_RACE_PAYING:
			*kind = "official";
			return "Paying";
		case TAB_RACE_ABANDONED:
			*kind = "abandoned";
			return "Abandoned";
		case TAB_RACE_UNKNOWN:
			break;
	}
	if (s->status_text != NULL && s->status_text[0] != '\0')
	{
		*unknown = true;
		ereport(LOG,
				(errmsg("racing_sched: unknown race status \"%s\" of race %d stored as is",
						s->status_text, s->race_number)));
		return s->status_text;
	}
	return NULL;				/* absent: keep what is stored */
}

/* Upsert a meeting; returns its meeting_id. */
static int64
upsert_meeting(const TabMeeting *m, const char *jurisdiction, bool has_rail)
{
	Params		p;
	bool		isnull;
	Datum		d;
	bool		by_venue = (m->venue_mnemonic != NULL);
	char		race_type[2] = {m->race_type, '\0'};

	params_init(&p);
	p_datum(&p, DateADTGetDatum(tab_date_to_date(&m->meeting_date)), false);
	p_text(&p, race_type);
	p_text(&p, m->venue_mnemonic);
	p_text(&p, m->meeting_name);
	p_text(&p, m->display_meeting_name);
	p_text(&p, m->location);
	p_bool(&p, m->fixed_odds_only || !by_venue);
	p_datum(&p, Int64GetDatum(m->prize_money_cents), !m->has_prize_money);
	p_text(&p, m->weather_condition);
	p_text(&p, m->track_condition);
	p_text(&p, m->rail_position);
	p_text(&p, jurisdiction);
	p_bool(&p, has_rail);

	if (exec_plan(by_venue ? PLAN_MEETING_VENUE : PLAN_MEETING_NAME, &p,
				  SPI_OK_INSERT_RETURNING) != 1)
		elog(ERROR, "racing_sched store: meeting upsert returned no row");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return DatumGetInt64(d);
}

/*
 * Upsert race stubs of one meeting in one statement; race_ids[i] receives
 * the id of stubs[i].
 */
static void
upsert_races(int64 meeting_id, const TabMeeting *m, const TabRaceStub *const *stubs,
			 int n, int64 *race_ids, StoreResult *out)
{
	bool		by_match = (m->venue_mnemonic == NULL);
	ArrayBuild	num, match, rdate, rname, rclass, st, status, kind, dist, hfo, hpm;
	Params		p;
	uint64		i;

	ab_init(&num, INT4OID, n);
	ab_init(&match, TEXTOID, n);
	ab_init(&rdate, DATEOID, n);
	ab_init(&rname, TEXTOID, n);
	ab_init(&rclass, TEXTOID, n);
	ab_init(&st, TIMESTAMPTZOID, n);
	ab_init(&status, TEXTOID, n);
	ab_init(&kind, TEXTOID, n);
	ab_init(&dist, INT4OID, n);
	ab_init(&hfo, BOOLOID, n);
	ab_init(&hpm, BOOLOID, n);

	for (int k = 0; k < n; k++)
	{
		const TabRaceStub *s = stubs[k];
		const char *kd;
		const char *stored;

		if (by_match && s->match_name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("race %d of fixed-odds-only meeting \"%s\" has no matchName",
							s->race_number, m->meeting_name)));
		stored = status_to_store(s, &kd, &out->unknown_status);
		ab_int4(&num, s->race_number);
		/* an ordinary race is keyed by its number, never by a match name */
		ab_text(&match, by_match ? s->match_name : NULL);
		ab_add(&rdate, DateADTGetDatum(tab_date_to_date(s->has_meeting_date ?
														&s->meeting_date :
														&m->meeting_date)), false);
		ab_text(&rname, s->race_name);
		ab_text(&rclass, s->race_class_conditions);
		ab_add(&st, TimestampTzGetDatum(epoch_to_timestamptz(s->start_time)), false);
		ab_text(&status, stored);
		ab_text(&kind, kd);
		ab_add(&dist, Int32GetDatum(s->distance_m), !s->has_distance || s->distance_m <= 0);
		ab_bool(&hfo, s->has_fixed_odds);
		ab_bool(&hpm, s->has_parimutuel);
	}

	params_init(&p);
	p_datum(&p, Int64GetDatum(meeting_id), false);
	p_array(&p, &num);
	p_array(&p, &match);
	p_array(&p, &rdate);
	p_array(&p, &rname);
	p_array(&p, &rclass);
	p_array(&p, &st);
	p_array(&p, &status);
	p_array(&p, &kind);
	p_array(&p, &dist);
	p_array(&p, &hfo);
	p_array(&p, &hpm);

	exec_plan(by_match ? PLAN_RACES_MATCH : PLAN_RACES_NUMBER, &p,
			  SPI_OK_INSERT_RETURNING);
	if (SPI_processed != (uint64) n)
		elog(ERROR, "racing_sched store: race upsert wrote " UINT64_FORMAT " rows of %d",
			 SPI_processed, n);

	/* map the returned keys back to the stubs */
	for (int k = 0; k < n; k++)
		race_ids[k] = 0;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		int32		number = DatumGetInt32(SPI_getbinval(tup, td, 2, &isnull));
		char	   *mname = by_match ? SPI_getvalue(tup, td, 3) : NULL;

		for (int k = 0; k < n; k++)
		{
			if (race_ids[k] != 0)
				continue;
			if (by_match ? (mname != NULL && strcmp(mname, stubs[k]->match_name) == 0)
				: stubs[k]->race_number == number)
			{
				race_ids[k] = id;
				break;
			}
		}
	}
	for (int k = 0; k < n; k++)
		if (race_ids[k] == 0)
			elog(ERROR, "racing_sched store: race %d not returned by its upsert",
				 stubs[k]->race_number);
	out->races += n;
}

/* Results of races, official when the race is Paying. */
static void
store_results(const TabRaceStub *const *stubs, const int64 *race_ids, int n,
			  StoreResult *out)
{
	ArrayBuild	rid, num, pos, off;
	Params		p;
	int			total = 0;

	for (int k = 0; k < n; k++)
		if (stubs[k]->has_results)
			total += stubs[k]->n_results;
	if (total == 0)
		return;					/* empty or absent results never erase placings */

	ab_init(&rid, INT8OID, total);
	ab_init(&num, INT4OID, total);
	ab_init(&pos, INT4OID, total);
	ab_init(&off, BOOLOID, total);
	for (int k = 0; k < n; k++)
	{
		const TabRaceStub *s = stubs[k];

		if (!s->has_results)
			continue;
		for (int i = 0; i < s->n_results; i++)
		{
			ab_add(&rid, Int64GetDatum(race_ids[k]), false);
			ab_int4(&num, s->results[i].runner_number);
			ab_int4(&pos, s->results[i].position);
			ab_bool(&off, s->status == TAB_RACE_PAYING);
		}
	}
	params_init(&p);
	p_array(&p, &rid);
	p_array(&p, &num);
	p_array(&p, &pos);
	p_array(&p, &off);
	out->results += (int) exec_plan(PLAN_RESULTS, &p, SPI_OK_INSERT);
}

/* Scratchings of race stubs as runner rows. */
static void
store_scratchings(const TabRaceStub *const *stubs, const int64 *race_ids, int n,
				  StoreResult *out)
{
	ArrayBuild	rid, num, name, late;
	Params		p;
	int			total = 0;

	for (int k = 0; k < n; k++)
		total += stubs[k]->n_scratchings;
	if (total == 0)
		return;
	ab_init(&rid, INT8OID, total);
	ab_init(&num, INT4OID, total);
	ab_init(&name, TEXTOID, total);
	ab_init(&late, BOOLOID, total);
	for (int k = 0; k < n; k++)
	{
		for (int i = 0; i < stubs[k]->n_scratchings; i++)
		{
			const TabScratching *sc = &stubs[k]->scratchings[i];

			ab_add(&rid, Int64GetDatum(race_ids[k]), false);
			ab_int4(&num, sc->runner_number);
			ab_text(&name, sc->runner_name);
			ab_bool(&late, sc->late);
		}
	}
	params_init(&p);
	p_array(&p, &rid);
	p_array(&p, &num);
	p_array(&p, &name);
	p_array(&p, &late);
	out->runners += (int) exec_plan(PLAN_SCRATCHINGS, &p, SPI_OK_INSERT);
}

/* Insert a scrapes row; returns its id, or 0 when the phase was taken. */
static int64
insert_scrape(const ScrapeInfo *info, int64 meeting_id, int64 race_id)
{
	Params		p;
	bool		isnull;

	params_init(&p);
	p_int8_or_null(&p, info->job_run_id);
	p_text(&p, info->scrape_type ? info->scrape_type : "manual");
	p_int8_or_null(&p, meeting_id);
	p_int8_or_null(&p, race_id);
	p_text(&p, info->jurisdiction);
	p_datum(&p, Int32GetDatum(info->http_status), info->http_status == 0);
	p_int4(&p, (int32) Min(Max(info->bytes, 0), PG_INT32_MAX));
	p_int4(&p, Max(info->elapsed_ms, 0));
	if (exec_plan(PLAN_SCRAPE, &p, SPI_OK_INSERT_RETURNING) == 0)
		return 0;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/* The body of store_meeting, inside the unit's subtransaction. */
static void
store_meeting_unit(const TabMeeting *m, const ScrapeInfo *info, StoreResult *out)
{
	const TabRaceStub **stubs;
	int64	   *race_ids;

	out->meeting_id = upsert_meeting(m, info->jurisdiction, true);
	if (m->n_races > 0)
	{
		stubs = palloc(sizeof(TabRaceStub *) * m->n_races);
		race_ids = palloc(sizeof(int64) * m->n_races);
		for (int k = 0; k < m->n_races; k++)
			stubs[k] = &m->races[k];
		upsert_races(out->meeting_id, m, stubs, m->n_races, race_ids, out);
		store_scratchings(stubs, race_ids, m->n_races, out);
		store_results(stubs, race_ids, m->n_races, out);
	}
	out->scrape_id = insert_scrape(info, out->meeting_id, 0);
}

static void
store_runners(const TabRace *r, int64 race_id, StoreResult *out)
{
	ArrayBuild	num, name, barrier, trainer, rider, weight, emerg, vacant, last5,
				scr, late, scr_at;
	Params		p;
	int			n = r->n_runners;

	ab_init(&num, INT4OID, n);
	ab_init(&name, TEXTOID, n);
	ab_init(&barrier, INT4OID, n);
	ab_init(&trainer, TEXTOID, n);
	ab_init(&rider, TEXTOID, n);
	ab_init(&weight, FLOAT8OID, n);
	ab_init(&emerg, BOOLOID, n);
	ab_init(&vacant, BOOLOID, n);
	ab_init(&last5, TEXTOID, n);
	ab_init(&scr, BOOLOID, n);
	ab_init(&late, BOOLOID, n);
	ab_init(&scr_at, TIMESTAMPTZOID, n);
	for (int i = 0; i < n; i++)
	{
		const TabRunner *u = &r->runners[i];
		bool		is_late;

		is_late = (u->fixed.betting_status &&
				   strcmp(u->fixed.betting_status, "LateScratched") == 0) ||
			(u->tote.betting_status &&
			 strcmp(u->tote.betting_status, "LateScratched") == 0);
		ab_int4(&num, u->runner_number);
		ab_text(&name, u->runner_name);
		ab_add(&barrier, Int32GetDatum(u->barrier), !u->has_barrier);
		ab_text(&trainer, u->trainer);
		ab_text(&rider, u->rider);
		ab_float8(&weight, u->has_handicap_weight, u->handicap_weight);
		ab_bool(&emerg, u->emergency);
		ab_bool(&vacant, u->vacant_box);
		ab_text(&last5, u->last5);
		ab_bool(&scr, u->scratched || is_late);
		ab_bool(&late, is_late);
		ab_add(&scr_at, TimestampTzGetDatum(epoch_to_timestamptz(u->fixed.scratched_time)),
			   !u->fixed.has_scratched_time);
	}
	params_init(&p);
	p_datum(&p, Int64GetDatum(race_id), false);
	p_array(&p, &num);
	p_array(&p, &name);
	p_array(&p, &barrier);
	p_array(&p, &trainer);
	p_array(&p, &rider);
	p_array(&p, &weight);
	p_array(&p, &emerg);
	p_array(&p, &vacant);
	p_array(&p, &last5);
	p_array(&p, &scr);
	p_array(&p, &late);
	p_array(&p, &scr_at);
	out->runners += (int) exec_plan(PLAN_RUNNERS, &p, SPI_OK_INSERT);
}

static void
store_odds(const TabRace *r, int64 race_id, int64 scrape_id, StoreResult *out)
{
	ArrayBuild	num, fw, fp, tw, tp, bs;
	Params		p;
	int			n = r->n_runners;

	ab_init(&num, INT4OID, n);
	ab_init(&fw, FLOAT8OID, n);
	ab_init(&fp, FLOAT8OID, n);
	ab_init(&tw, FLOAT8OID, n);
	ab_init(&tp, FLOAT8OID, n);
	ab_init(&bs, TEXTOID, n);
	for (int i = 0; i < n; i++)
	{
		const TabRunner *u = &r->runners[i];

		ab_int4(&num, u->runner_number);
		ab_float8(&fw, u->fixed.present && u->fixed.has_win, u->fixed.win);
		ab_float8(&fp, u->fixed.present && u->fixed.has_place, u->fixed.place);
		ab_float8(&tw, u->tote.present && u->tote.has_win, u->tote.win);
		ab_float8(&tp, u->tote.present && u->tote.has_place, u->tote.place);
		ab_text(&bs, u->fixed.betting_status ? u->fixed.betting_status
				: u->tote.betting_status);
	}
	params_init(&p);
	p_datum(&p, Int64GetDatum(scrape_id), false);
	p_datum(&p, Int64GetDatum(race_id), false);
	p_array(&p, &num);
	p_array(&p, &fw);
	p_array(&p, &fp);
	p_array(&p, &tw);
	p_array(&p, &tp);
	p_array(&p, &bs);
	out->odds += (int) exec_plan(PLAN_ODDS, &p, SPI_OK_INSERT);
}

/* Replace the dividends of a Paying race. */
static void
store_dividends(const TabRace *r, int64 race_id, StoreResult *out)
{
	ArrayBuild	product, status, sel, sel_text, amount;
	Params		p;
	StringInfoData buf;

	params_init(&p);
	p_datum(&p, Int64GetDatum(race_id), false);
	exec_plan(PLAN_DIVIDENDS_DELETE, &p, SPI_OK_DELETE);

	ab_init(&product, TEXTOID, 16);
	ab_init(&status, TEXTOID, 16);
	ab_init(&sel, TEXTOID, 16);
	ab_init(&sel_text, TEXTOID, 16);
	ab_init(&amount, FLOAT8OID, 16);
	initStringInfo(&buf);
	for (int i = 0; i < r->n_dividends; i++)
	{
		const TabDividend *d = &r->dividends[i];

		for (int j = 0; j < d->n_pool_dividends; j++)
		{
			const TabPoolDividend *pd = &d->pool_dividends[j];

			ab_text(&product, d->product);
			ab_text(&status, d->pool_status);
			if (pd->selections_text != NULL)
			{
				ab_text(&sel, NULL);
				ab_text(&sel_text, pd->selections_text);
			}
			else
			{
				resetStringInfo(&buf);
				appendStringInfoChar(&buf, '{');
				for (int s = 0; s < pd->n_selections; s++)
					appendStringInfo(&buf, s ? ",%d" : "%d", pd->selections[s]);
				appendStringInfoChar(&buf, '}');
				ab_text(&sel, buf.data);
				ab_text(&sel_text, NULL);
			}
			ab_float8(&amount, true, pd->amount);
		}
	}
	if (product.n == 0)
		return;
	params_init(&p);
	p_datum(&p, Int64GetDatum(race_id), false);
	p_array(&p, &product);
	p_array(&p, &status);
	p_array(&p, &sel);
	p_array(&p, &sel_text);
	p_array(&p, &amount);
	out->dividends += (int) exec_plan(PLAN_DIVIDENDS_INSERT, &p, SPI_OK_INSERT);
}

/* The body of store_race, inside the unit's subtransaction. */
static void
store_race_unit(const TabRace *r, const ScrapeInfo *info, StoreResult *out)
{
	const TabRaceStub *stub = &r->stub;
	const TabRaceStub *stubs[1] = {stub};
	TabMeeting	m = r->meeting;
	int64		race_id;

	/* the prize money of a race document is the race's, not the meeting's */
	m.has_prize_money = false;
	if (m.venue_mnemonic == NULL && info->meeting_date != NULL)
	{
		if (tab_parse_date(info->meeting_date, strlen(info->meeting_date),
						   &m.meeting_date) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid meeting date \"%s\"", info->meeting_date)));
	}
	out->meeting_id = upsert_meeting(&m, info->jurisdiction, false);
	upsert_races(out->meeting_id, &m, stubs, 1, &race_id, out);
	out->race_id = race_id;
	if (r->n_runners > 0)
		store_runners(r, race_id, out);
	store_scratchings(stubs, &race_id, 1, out);

	out->scrape_id = insert_scrape(info, out->meeting_id, race_id);
	if (out->scrape_id == 0)
		out->phase_duplicate = true;
	else if (r->n_runners > 0)
		store_odds(r, race_id, out->scrape_id, out);

	store_results(stubs, &race_id, 1, out);
	if (stub->status == TAB_RACE_PAYING && r->n_dividends > 0)
		store_dividends(r, race_id, out);
}

typedef void (*UnitFn) (const void *doc, const ScrapeInfo *info, StoreResult *out);

static void
meeting_unit(const void *doc, const ScrapeInfo *info, StoreResult *out)
{
	store_meeting_unit((const TabMeeting *) doc, info, out);
}

static void
race_unit(const void *doc, const ScrapeInfo *info, StoreResult *out)
{
	store_race_unit((const TabRace *) doc, info, out);
}

/*
 * Run one unit in a subtransaction of the current transaction, starting
 * and committing a transaction of our own when there is none.
 */
static bool
run_unit(UnitFn fn, const void *doc, const ScrapeInfo *info, StoreResult *result,
		 char **error)
{
	MemoryContext callercxt = CurrentMemoryContext;
	volatile ResourceOwner callerowner = CurrentResourceOwner;
	bool		own_xact = !IsTransactionState();
	volatile bool ok = true;
	StoreResult local;
	StoreResult *volatile out = result ? result : &local;
	ErrorData  *volatile edata = NULL;

	memset(out, 0, sizeof(*out));
	if (error)
		*error = NULL;

	if (own_xact)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		callerowner = CurrentResourceOwner;
	}

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(callercxt);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "racing_sched store: SPI_connect failed");
		fn(doc, info, out);
		SPI_finish();
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(callercxt);
		CurrentResourceOwner = callerowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(callercxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(callercxt);
		CurrentResourceOwner = callerowner;
		ok = false;
	}
	PG_END_TRY();

	if (!ok)
	{
		StoreResult failed;

		/* interrupts are not a unit's failure: pass them on */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN ||
			edata->sqlerrcode == ERRCODE_CRASH_SHUTDOWN)
		{
			if (own_xact)
			{
				PopActiveSnapshot();
				AbortCurrentTransaction();
				MemoryContextSwitchTo(callercxt);
			}
			ReThrowError(edata);
		}
		memset(&failed, 0, sizeof(failed));
		*out = failed;
		if (error)
		{
			if (edata->detail)
				*error = psprintf("%s (%s)", edata->message, edata->detail);
			else
				*error = pstrdup(edata->message);
		}
		FreeErrorData(edata);
	}

	if (own_xact)
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(callercxt);
	}
	return ok;
}

bool
store_meeting(const TabMeeting *m, const ScrapeInfo *info, StoreResult *out,
			  char **error)
{
	return run_unit(meeting_unit, m, info, out, error);
}

bool
store_race(const TabRace *r, const ScrapeInfo *info, StoreResult *out,
		   char **error)
{
	return run_unit(race_unit, r, info, out, error);
}
