-- racing_sched 1.0 -> 1.1.  CREATE EXTENSION installs 1.0 and then runs this
-- script, so a new install and an upgraded one end with the same objects.
-- Each change keeps the data and the schedules of a running installation,
-- and the library works against both 1.0 and 1.1 until the update is run.

\echo Use "ALTER EXTENSION racing_sched UPDATE TO '1.1'" to load this file. \quit

--
-- Privileges: search_path and session settings cannot steer the functions
-- that act with more rights than their caller.
--

-- schedule() and unschedule() read and write racing_sched.jobs as a
-- superuser on behalf of their caller; under the caller's search_path an
-- operator or function of the caller's schemas (=(text, text), now(),
-- jsonb_build_object, ...) would run with the superuser's rights.  The
-- library pins the path itself too, for databases still at 1.0.
ALTER FUNCTION schedule(text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION unschedule(text) SET search_path = pg_catalog, pg_temp;

-- The racing day of a morning scrape's dedupe key is written YYYY-MM-DD
-- whatever the caller's DateStyle: run_now() under DateStyle German made a
-- key of its own (morning_scrape:28.11.2026), so the same day's scrape
-- could be queued twice.
CREATE OR REPLACE FUNCTION _dedupe_key(job_name text, job_type text, args jsonb, at timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN job_type = 'morning_scrape' THEN
		job_name || ':' || coalesce(args->>'date',
			to_char((at AT TIME ZONE current_setting('racing_sched.timezone'))::date
					+ coalesce((args->>'days_ahead')::int, 0), 'YYYY-MM-DD'))
	WHEN args - 'deadline' = '{}' THEN job_name
	ELSE job_name || ':' || md5((args - 'deadline')::text)
END;

-- _next_run() is SECURITY DEFINER and executable by every role with USAGE
-- on the schema, so that the metrics views work for a monitoring role; with
-- any p_now it told the start time of every race, past or future.  It now
-- answers for the present only, which is what the views ask and what
-- metrics_jobs shows anyway; p_now stays for the views that pass now().
CREATE OR REPLACE FUNCTION _next_run(p_job_name text, p_now timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN (SELECT CASE
			WHEN NOT j.enabled THEN NULL
			WHEN j.schedule IS NOT NULL THEN
				racing_sched.cron_next(j.schedule, greatest(j.last_fire_at, now()),
									   current_setting('racing_sched.timezone'))
			ELSE (SELECT min(r.start_time) + j.race_offset FROM racing_sched.races r
				  WHERE r.start_time > now() - j.race_offset
					AND NOT EXISTS (SELECT FROM racing_sched.race_phases p
									WHERE p.race_id = r.race_id AND p.job_name = j.job_name))
		END
		FROM racing_sched.jobs j WHERE j.job_name = p_job_name);

-- The race phase planners write job_runs; only the scheduler calls them.
REVOKE ALL ON FUNCTION _plan_race_phases(text, timestamptz), _plan_all_race_phases(timestamptz)
FROM PUBLIC;

--
-- Missed pre-race phases: every race whose pre-race window closed before
-- the scheduler could plan it is counted as missed.  In 1.0 a race whose
-- start (or close, or results) also passed while the scheduler was down was
-- left out, so a longer outage counted fewer misses than a short one.  Races
-- first seen after their window closed (backfills) and races abandoned
-- before it closed are still left alone.  (A planned race that jumped
-- before its run fetched it is counted by the run itself, in the library.)
-- After the update, such races of the last day are counted once, at the
-- next planning.
--
CREATE OR REPLACE FUNCTION racing_sched._plan_race_phases(p_job_name text, p_now timestamptz) RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j racing_sched.jobs;
	pre boolean;
	ids bigint[];
	edges timestamptz[];
	starts timestamptz[];
	missed bigint[] := '{}';
	missed_edges timestamptz[] := '{}';
	n integer;
	i integer := 1;
	k integer;
	args jsonb;
	run_id bigint;
BEGIN
	SELECT * INTO j FROM racing_sched.jobs
	WHERE job_name = p_job_name AND enabled AND race_offset IS NOT NULL;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	pre := j.race_offset < '0';

	-- Races not yet planned for this job, by edge.
	SELECT coalesce(array_agg(c.race_id ORDER BY c.edge_at, c.race_id), '{}'),
		   array_agg(c.edge_at ORDER BY c.edge_at, c.race_id),
		   array_agg(c.start_time ORDER BY c.edge_at, c.race_id)
	INTO ids, edges, starts
	FROM (SELECT r.race_id, r.start_time + j.race_offset AS edge_at, r.start_time
		  FROM racing_sched.races r
		  WHERE r.start_time > p_now - interval '1 day' - j.race_offset
			AND CASE WHEN pre THEN
				-- known before its window closed (not a backfill), and either
				-- still to be fetched (before the jump), or its window closed
				-- unplanned (missed), whatever happened to the race since,
				-- unless it was abandoned before the window closed
				r.created_at <= r.start_time + j.race_offset + j.tolerance
				AND ((r.start_time > p_now AND r.closed_at IS NULL AND r.interim_at IS NULL
					  AND r.official_at IS NULL AND r.abandoned_at IS NULL)
					 OR (r.start_time + j.race_offset + j.tolerance < p_now
						 AND (r.abandoned_at IS NULL
							  OR r.abandoned_at > r.start_time + j.race_offset + j.tolerance)))
				ELSE r.official_at IS NULL AND r.abandoned_at IS NULL END
			AND NOT EXISTS (SELECT FROM racing_sched.race_phases p
							WHERE p.race_id = r.race_id AND p.job_name = j.job_name)) c;
	n := cardinality(ids);

	-- Pre-race windows that closed unplanned: missed, not run late.
	WHILE pre AND i <= n AND edges[i] + j.tolerance < p_now LOOP
		missed := missed || ids[i];
		missed_edges := missed_edges || edges[i];
		i := i + 1;
	END LOOP;
	IF cardinality(missed) > 0 THEN
		INSERT INTO racing_sched.race_phases (race_id, job_name, edge_at, state)
		SELECT m.race_id, j.job_name, m.edge_at, 'missed'
		FROM unnest(missed, missed_edges) AS m(race_id, edge_at);
		INSERT INTO racing_sched.job_stats (job_name, job_type)
		VALUES (j.job_name, j.job_type) ON CONFLICT (job_name) DO NOTHING;
		UPDATE racing_sched.job_stats SET missed_phases = missed_phases + cardinality(missed)
		WHERE job_name = j.job_name;
		RAISE LOG 'racing_sched: % missed its window for races %', j.job_name, missed;
	END IF;

	-- Due windows: one run each.
	WHILE i <= n AND edges[i] <= p_now LOOP
		k := i;
		WHILE k < n AND edges[k + 1] <= edges[i] + j.tolerance / 2 LOOP
			k := k + 1;
		END LOOP;
		args := jsonb_build_object('race_ids', to_jsonb(ids[i:k]));
		IF pre THEN
			args := args || jsonb_build_object('deadline', (SELECT min(s) FROM unnest(starts[i:k]) s));
		END IF;
		INSERT INTO racing_sched.job_runs (job_name, job_type, trigger, due_at, args, dedupe_key, metadata)
		VALUES (j.job_name, j.job_type, 'race', edges[k], args,
				racing_sched._dedupe_key(j.job_name, j.job_type, args, edges[k]),
				CASE WHEN cardinality(missed) = 0 THEN '{}'
					 ELSE jsonb_build_object('missed_race_ids', to_jsonb(missed)) END)
		ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
		RETURNING job_run_id INTO run_id;
		missed := '{}';
		INSERT INTO racing_sched.race_phases (race_id, job_name, edge_at, state, job_run_id)
		SELECT p.race_id, j.job_name, p.edge_at, 'planned', run_id
		FROM unnest(ids[i:k], edges[i:k]) AS p(race_id, edge_at);
		i := k + 1;
	END LOOP;

	RETURN edges[i];
END
$$;
