-- The baseline of bench/ingest: the same documents ingested by plain SQL
-- (jsonb_to_recordset upserts) into the same tables, with the same natural
-- keys, status timestamps, scratchings, results, odds snapshot, dividends
-- and scrapes rows as the C path.  One call per document, statements per
-- table, no validation beyond what the casts and constraints do.
CREATE SCHEMA IF NOT EXISTS bench;

CREATE OR REPLACE FUNCTION bench.status(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE s WHEN 'Open' THEN 'Normal' WHEN 'Final' THEN 'Paying'
		WHEN 'Resulted' THEN 'Paying' ELSE s END
$$;

CREATE OR REPLACE FUNCTION bench.plain_meetings(doc jsonb, jur text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	CREATE TEMP TABLE IF NOT EXISTS m_stage (meeting_id bigint, meeting_date date,
		race_type text, venue text, name text, races jsonb) ON COMMIT DROP;
	TRUNCATE m_stage;

	WITH m AS (
		SELECT * FROM jsonb_to_recordset(doc->'meetings') AS x("meetingName" text,
			"displayMeetingName" text, location text, "raceType" text, "meetingDate" date,
			"venueMnemonic" text, "fixedOddsOnly" boolean, "prizeMoney" text,
			"weatherCondition" text, "trackCondition" text, "railPosition" text, races jsonb)
	), v AS (
		INSERT INTO racing_sched.meetings AS t (meeting_date, race_type, venue_mnemonic,
			meeting_name, display_meeting_name, location, fixed_odds_only, prize_money,
			weather_condition, track_condition, rail_position, jurisdictions)
		SELECT "meetingDate", "raceType", "venueMnemonic", "meetingName", "displayMeetingName",
			location, coalesce("fixedOddsOnly", false),
			replace(replace("prizeMoney", '$', ''), ',', '')::numeric,
			"weatherCondition", "trackCondition", "railPosition", ARRAY[jur]
		FROM m WHERE "venueMnemonic" IS NOT NULL
		ON CONFLICT (meeting_date, race_type, venue_mnemonic) WHERE venue_mnemonic IS NOT NULL
		DO UPDATE SET meeting_name = EXCLUDED.meeting_name,
			prize_money = coalesce(EXCLUDED.prize_money, t.prize_money),
			weather_condition = coalesce(EXCLUDED.weather_condition, t.weather_condition),
			track_condition = coalesce(EXCLUDED.track_condition, t.track_condition),
			rail_position = EXCLUDED.rail_position,
			jurisdictions = ARRAY(SELECT DISTINCT j FROM unnest(t.jurisdictions || EXCLUDED.jurisdictions) j ORDER BY j),
			updated_at = now()
		RETURNING meeting_id, meeting_date, race_type, venue_mnemonic, meeting_name
	), n AS (
		INSERT INTO racing_sched.meetings AS t (meeting_date, race_type, venue_mnemonic,
			meeting_name, display_meeting_name, location, fixed_odds_only,
			weather_condition, track_condition, rail_position, jurisdictions)
		SELECT "meetingDate", "raceType", NULL, "meetingName", "displayMeetingName",
			location, true, "weatherCondition", "trackCondition", "railPosition", ARRAY[jur]
		FROM m WHERE "venueMnemonic" IS NULL
		ON CONFLICT (meeting_date, race_type, meeting_name) WHERE venue_mnemonic IS NULL
		DO UPDATE SET display_meeting_name = EXCLUDED.display_meeting_name,
			jurisdictions = ARRAY(SELECT DISTINCT j FROM unnest(t.jurisdictions || EXCLUDED.jurisdictions) j ORDER BY j),
			updated_at = now()
		RETURNING meeting_id, meeting_date, race_type, venue_mnemonic, meeting_name
	)
	INSERT INTO m_stage
	SELECT u.meeting_id, u.meeting_date, u.race_type, u.venue_mnemonic, u.meeting_name, m.races
	FROM (SELECT * FROM v UNION ALL SELECT * FROM n) u
	JOIN m ON m."meetingDate" = u.meeting_date AND m."raceType" = u.race_type
		AND (m."venueMnemonic" = u.venue_mnemonic OR (m."venueMnemonic" IS NULL
			AND u.venue_mnemonic IS NULL AND m."meetingName" = u.meeting_name));

	CREATE TEMP TABLE IF NOT EXISTS r_stage (race_id bigint, status text, results jsonb,
		scratchings jsonb) ON COMMIT DROP;
	TRUNCATE r_stage;
	WITH r AS (
		SELECT s.meeting_id, s.venue, x.*
		FROM m_stage s, jsonb_to_recordset(s.races) AS x("raceNumber" int, "raceName" text,
			"raceClassConditions" text, "matchName" text, "meetingDate" date,
			"raceStartTime" timestamptz, "raceStatus" text, "raceDistance" int,
			"hasFixedOdds" boolean, "hasParimutuel" boolean, results jsonb, scratchings jsonb)
	), up AS (
		INSERT INTO racing_sched.races AS t (meeting_id, race_number, match_name, race_date,
			race_name, race_class, start_time, status, distance_m, has_fixed_odds,
			has_parimutuel, closed_at, interim_at, official_at, abandoned_at)
		SELECT meeting_id, "raceNumber", CASE WHEN r.venue IS NULL THEN "matchName" END,
			coalesce(r."meetingDate", s.meeting_date), "raceName", "raceClassConditions",
			"raceStartTime", bench.status("raceStatus"), nullif("raceDistance", 0),
			"hasFixedOdds", "hasParimutuel",
			CASE WHEN "raceStatus" = 'Closed' THEN now() END,
			CASE WHEN "raceStatus" = 'Interim' THEN now() END,
			CASE WHEN bench.status("raceStatus") = 'Paying' THEN now() END,
			CASE WHEN "raceStatus" = 'Abandoned' THEN now() END
		FROM r JOIN m_stage s USING (meeting_id) WHERE r.venue IS NOT NULL
		ON CONFLICT (meeting_id, race_number) WHERE match_name IS NULL
		DO UPDATE SET start_time = EXCLUDED.start_time, status = EXCLUDED.status,
			status_changed_at = CASE WHEN t.status <> EXCLUDED.status THEN now() ELSE t.status_changed_at END,
			closed_at = coalesce(t.closed_at, EXCLUDED.closed_at),
			interim_at = coalesce(t.interim_at, EXCLUDED.interim_at),
			official_at = coalesce(t.official_at, EXCLUDED.official_at),
			abandoned_at = coalesce(t.abandoned_at, EXCLUDED.abandoned_at), updated_at = now()
		RETURNING race_id, meeting_id, race_number, match_name, status
	), upm AS (
		INSERT INTO racing_sched.races AS t (meeting_id, race_number, match_name, race_date,
			race_name, race_class, start_time, status, distance_m, has_fixed_odds,
			has_parimutuel, closed_at, interim_at, official_at, abandoned_at)
		SELECT meeting_id, "raceNumber", "matchName", coalesce(r."meetingDate", s.meeting_date),
			"raceName", "raceClassConditions", "raceStartTime", bench.status("raceStatus"),
			nullif("raceDistance", 0), "hasFixedOdds", "hasParimutuel",
			CASE WHEN "raceStatus" = 'Closed' THEN now() END,
			CASE WHEN "raceStatus" = 'Interim' THEN now() END,
			CASE WHEN bench.status("raceStatus") = 'Paying' THEN now() END,
			CASE WHEN "raceStatus" = 'Abandoned' THEN now() END
		FROM r JOIN m_stage s USING (meeting_id) WHERE r.venue IS NULL
		ON CONFLICT (meeting_id, match_name) WHERE match_name IS NOT NULL
		DO UPDATE SET start_time = EXCLUDED.start_time, status = EXCLUDED.status,
			status_changed_at = CASE WHEN t.status <> EXCLUDED.status THEN now() ELSE t.status_changed_at END,
			closed_at = coalesce(t.closed_at, EXCLUDED.closed_at),
			interim_at = coalesce(t.interim_at, EXCLUDED.interim_at),
			official_at = coalesce(t.official_at, EXCLUDED.official_at),
			abandoned_at = coalesce(t.abandoned_at, EXCLUDED.abandoned_at), updated_at = now()
		RETURNING race_id, meeting_id, race_number, match_name, status
	)
	INSERT INTO r_stage
	SELECT u.race_id, u.status, r.results, r.scratchings
	FROM (SELECT * FROM up UNION ALL SELECT * FROM upm) u
	JOIN r ON r.meeting_id = u.meeting_id AND r."raceNumber" = u.race_number
		AND (u.match_name IS NULL OR r."matchName" = u.match_name);

	INSERT INTO racing_sched.runners AS t (race_id, runner_number, runner_name, scratched,
		late_scratched, scratched_at)
	SELECT s.race_id, x."runnerNumber", coalesce(x."runnerName", ''), true,
		x."bettingStatus" = 'LateScratched', now()
	FROM r_stage s, jsonb_to_recordset(s.scratchings) AS x("runnerNumber" int,
		"runnerName" text, "bettingStatus" text)
	WHERE jsonb_typeof(s.scratchings) = 'array'
	ON CONFLICT (race_id, runner_number) DO UPDATE SET scratched = true,
		late_scratched = t.late_scratched OR EXCLUDED.late_scratched,
		scratched_at = coalesce(t.scratched_at, EXCLUDED.scratched_at), updated_at = now();

	PERFORM bench.plain_results(s.race_id, s.results, s.status = 'Paying')
	FROM r_stage s WHERE jsonb_typeof(s.results) = 'array' AND jsonb_array_length(s.results) > 0;

	INSERT INTO racing_sched.scrapes (scrape_type, meeting_id, jurisdiction)
	SELECT 'manual', meeting_id, jur FROM m_stage;
END
$$;

CREATE OR REPLACE FUNCTION bench.plain_results(rid bigint, results jsonb, official boolean)
RETURNS void LANGUAGE sql AS $$
	WITH t AS (
		SELECT e::int AS n, g.pos::int AS pos
		FROM jsonb_array_elements(results) WITH ORDINALITY AS g(grp, pos),
			jsonb_array_elements_text(g.grp) AS e
	), gone AS (
		DELETE FROM racing_sched.results x WHERE x.race_id = rid
			AND NOT EXISTS (SELECT 1 FROM t WHERE t.n = x.runner_number)
	)
	INSERT INTO racing_sched.results AS x (race_id, runner_number, position, official)
	SELECT rid, n, pos, official FROM t
	ON CONFLICT (race_id, runner_number) DO UPDATE SET position = EXCLUDED.position,
		official = EXCLUDED.official, updated_at = now()
	WHERE (x.position, x.official) IS DISTINCT FROM (EXCLUDED.position, EXCLUDED.official)
$$;

CREATE OR REPLACE FUNCTION bench.plain_race(doc jsonb, jur text, req_date date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	m jsonb := doc->'meeting';
	mid bigint;
	rid bigint;
	sid bigint;
	st text := bench.status(doc->>'raceStatus');
	fixed boolean := (m->>'venueMnemonic') IS NULL;
BEGIN
	IF NOT fixed THEN
		INSERT INTO racing_sched.meetings AS t (meeting_date, race_type, venue_mnemonic,
			meeting_name, location, weather_condition, track_condition, jurisdictions)
		VALUES ((m->>'meetingDate')::date, m->>'raceType', m->>'venueMnemonic',
			m->>'meetingName', m->>'location', m->>'weatherCondition', m->>'trackCondition', ARRAY[jur])
		ON CONFLICT (meeting_date, race_type, venue_mnemonic) WHERE venue_mnemonic IS NOT NULL
		DO UPDATE SET weather_condition = coalesce(EXCLUDED.weather_condition, t.weather_condition),
			track_condition = coalesce(EXCLUDED.track_condition, t.track_condition),
			jurisdictions = ARRAY(SELECT DISTINCT j FROM unnest(t.jurisdictions || EXCLUDED.jurisdictions) j ORDER BY j),
			updated_at = now()
		RETURNING meeting_id INTO mid;
		INSERT INTO racing_sched.races AS t (meeting_id, race_number, race_date, race_name,
			race_class, start_time, status, distance_m, has_fixed_odds, has_parimutuel,
			closed_at, interim_at, official_at, abandoned_at)
		VALUES (mid, (doc->>'raceNumber')::int, (m->>'meetingDate')::date, doc->>'raceName',
			doc->>'raceClassConditions', (doc->>'raceStartTime')::timestamptz, st,
			nullif((doc->>'raceDistance')::int, 0), (doc->>'hasFixedOdds')::boolean,
			(doc->>'hasParimutuel')::boolean,
			CASE WHEN st = 'Closed' THEN now() END, CASE WHEN st = 'Interim' THEN now() END,
			CASE WHEN st = 'Paying' THEN now() END, CASE WHEN st = 'Abandoned' THEN now() END)
		ON CONFLICT (meeting_id, race_number) WHERE match_name IS NULL
		DO UPDATE SET start_time = EXCLUDED.start_time, status = EXCLUDED.status,
			status_changed_at = CASE WHEN t.status <> EXCLUDED.status THEN now() ELSE t.status_changed_at END,
			closed_at = coalesce(t.closed_at, EXCLUDED.closed_at),
			interim_at = coalesce(t.interim_at, EXCLUDED.interim_at),
			official_at = coalesce(t.official_at, EXCLUDED.official_at),
			abandoned_at = coalesce(t.abandoned_at, EXCLUDED.abandoned_at), updated_at = now()
		RETURNING race_id INTO rid;
	ELSE
		INSERT INTO racing_sched.meetings AS t (meeting_date, race_type, meeting_name, location,
			fixed_odds_only, jurisdictions)
		VALUES (req_date, m->>'raceType', m->>'meetingName', m->>'location', true, ARRAY[jur])
		ON CONFLICT (meeting_date, race_type, meeting_name) WHERE venue_mnemonic IS NULL
		DO UPDATE SET jurisdictions = ARRAY(SELECT DISTINCT j FROM unnest(t.jurisdictions || EXCLUDED.jurisdictions) j ORDER BY j),
			updated_at = now()
		RETURNING meeting_id INTO mid;
		INSERT INTO racing_sched.races AS t (meeting_id, race_number, match_name, race_date,
			race_name, start_time, status, distance_m, has_fixed_odds, has_parimutuel,
			closed_at, interim_at, official_at, abandoned_at)
		VALUES (mid, (doc->>'raceNumber')::int, doc->>'matchName',
			coalesce((doc->>'meetingDate')::date, (m->>'meetingDate')::date), doc->>'raceName',
			(doc->>'raceStartTime')::timestamptz, st, nullif((doc->>'raceDistance')::int, 0),
			(doc->>'hasFixedOdds')::boolean, (doc->>'hasParimutuel')::boolean,
			CASE WHEN st = 'Closed' THEN now() END, CASE WHEN st = 'Interim' THEN now() END,
			CASE WHEN st = 'Paying' THEN now() END, CASE WHEN st = 'Abandoned' THEN now() END)
		ON CONFLICT (meeting_id, match_name) WHERE match_name IS NOT NULL
		DO UPDATE SET start_time = EXCLUDED.start_time, status = EXCLUDED.status,
			status_changed_at = CASE WHEN t.status <> EXCLUDED.status THEN now() ELSE t.status_changed_at END,
			closed_at = coalesce(t.closed_at, EXCLUDED.closed_at),
			interim_at = coalesce(t.interim_at, EXCLUDED.interim_at),
			official_at = coalesce(t.official_at, EXCLUDED.official_at),
			abandoned_at = coalesce(t.abandoned_at, EXCLUDED.abandoned_at), updated_at = now()
		RETURNING race_id INTO rid;
	END IF;

	INSERT INTO racing_sched.runners AS t (race_id, runner_number, runner_name, barrier,
		trainer_name, rider_name, handicap_weight, emergency, vacant_box, last5_starts,
		scratched, late_scratched, scratched_at)
	SELECT rid, x."runnerNumber", coalesce(x."runnerName", ''), x."barrierNumber",
		x."trainerName", x."riderDriverName", x."handicapWeight", coalesce(x.emergency, false),
		coalesce(x."vacantBox", false), x."last5Starts",
		coalesce(x."fixedOdds"->>'bettingStatus' IN ('Scratched', 'LateScratched'), false)
			OR coalesce(x.parimutuel->>'bettingStatus' IN ('Scratched', 'LateScratched'), false),
		coalesce(x."fixedOdds"->>'bettingStatus' = 'LateScratched', false),
		CASE WHEN x."fixedOdds"->>'bettingStatus' IN ('Scratched', 'LateScratched')
			THEN coalesce((x."fixedOdds"->>'scratchedTime')::timestamptz, now()) END
	FROM jsonb_to_recordset(doc->'runners') AS x("runnerNumber" int, "runnerName" text,
		"barrierNumber" int, "trainerName" text, "riderDriverName" text,
		"handicapWeight" numeric, emergency boolean, "vacantBox" boolean, "last5Starts" text,
		"fixedOdds" jsonb, parimutuel jsonb)
	ON CONFLICT (race_id, runner_number) DO UPDATE SET runner_name = EXCLUDED.runner_name,
		barrier = EXCLUDED.barrier, trainer_name = EXCLUDED.trainer_name,
		rider_name = EXCLUDED.rider_name, handicap_weight = EXCLUDED.handicap_weight,
		emergency = EXCLUDED.emergency, vacant_box = EXCLUDED.vacant_box,
		last5_starts = EXCLUDED.last5_starts, scratched = t.scratched OR EXCLUDED.scratched,
		late_scratched = t.late_scratched OR EXCLUDED.late_scratched,
		scratched_at = coalesce(t.scratched_at, EXCLUDED.scratched_at), updated_at = now();

	INSERT INTO racing_sched.scrapes (scrape_type, meeting_id, race_id, jurisdiction)
	VALUES ('manual', mid, rid, jur) RETURNING scrape_id INTO sid;

	INSERT INTO racing_sched.odds (scrape_id, race_id, runner_number, fixed_win, fixed_place,
		tote_win, tote_place, betting_status)
	SELECT sid, rid, x."runnerNumber", (x."fixedOdds"->>'returnWin')::numeric,
		(x."fixedOdds"->>'returnPlace')::numeric, (x.parimutuel->>'returnWin')::numeric,
		(x.parimutuel->>'returnPlace')::numeric,
		coalesce(x."fixedOdds"->>'bettingStatus', x.parimutuel->>'bettingStatus')
	FROM jsonb_to_recordset(doc->'runners') AS x("runnerNumber" int, "fixedOdds" jsonb,
		parimutuel jsonb);

	IF jsonb_typeof(doc->'results') = 'array' AND jsonb_array_length(doc->'results') > 0 THEN
		PERFORM bench.plain_results(rid, doc->'results', st = 'Paying');
	END IF;

	IF st = 'Paying' AND jsonb_typeof(doc->'dividends') = 'array' THEN
		DELETE FROM racing_sched.dividends WHERE race_id = rid;
		INSERT INTO racing_sched.dividends (race_id, product, pool_status, selections,
			selections_text, amount)
		SELECT rid, d."wageringProduct", d."poolStatusCode",
			CASE WHEN jsonb_typeof(p->'selections') = 'array'
				THEN ARRAY(SELECT jsonb_array_elements_text(p->'selections')::int) END,
			CASE WHEN jsonb_typeof(p->'selections') = 'string' THEN p->>'selections' END,
			(p->>'amount')::numeric
		FROM jsonb_to_recordset(doc->'dividends') AS d("wageringProduct" text,
			"poolStatusCode" text, "poolDividends" jsonb),
			jsonb_array_elements(d."poolDividends") AS p
		ON CONFLICT DO NOTHING;
	END IF;
END
$$;
