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

-- Argument checks of the SQL API.  In 1.0 some bad arguments got through to
-- a worker (run_now with race ids that are not whole numbers or not races,
-- jurisdictions or "only" entries of the wrong form, which then failed the
-- run with a cast error), or failed with an error that did not name the
-- argument (an impossible date, a deadline that is not a timestamp, a
-- multidimensional retry_delays), or were not bounded (next_runs with a huge
-- n), or were silently NULL (http_get, http_get_all are STRICT).  Now each is
-- refused when called: 22004 for a NULL, 22023 for a value of the wrong form
-- (the message names the argument and says what is allowed), 54000 for
-- oversized arguments.
--

CREATE OR REPLACE FUNCTION _check_args(job_type text, args jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	allowed text[];
	jurisdictions constant text[] := '{NSW,VIC,QLD,ACT,SA,TAS,NT}';
	-- a race_id as the jobs read it (a cast to bigint): digits, positive
	id_re constant text := '^[1-9][0-9]{0,18}$';
	date_re constant text := '^\d{4}-\d{2}-\d{2}$';
	k text;
	v jsonb;
	e jsonb;
	bad boolean;
	hint text;
BEGIN
	IF args IS NULL OR jsonb_typeof(args) <> 'object' THEN
		RAISE EXCEPTION 'args must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF octet_length(args::text) > 65536 THEN
		RAISE EXCEPTION 'args are too large (% bytes)', octet_length(args::text)
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = 'At most 65536 bytes of arguments are accepted.';
	END IF;
	allowed := CASE job_type
		WHEN 'morning_scrape' THEN '{date,days_ahead,jurisdictions,only,deadline}'
		WHEN 'pre_race_t60' THEN '{race_id,race_ids,deadline}'
		WHEN 'pre_race_t15' THEN '{race_id,race_ids,deadline}'
		WHEN 'post_race' THEN '{race_id,race_ids,deadline}'
		ELSE '{deadline}' END;
	FOR k, v IN SELECT * FROM jsonb_each(args) LOOP
		IF NOT k = ANY (allowed) THEN
			RAISE EXCEPTION 'unknown argument "%" for a % job', k, job_type
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Allowed: %s.', array_to_string(allowed, ', '));
		END IF;
		bad := false;
		BEGIN
			CASE k
			WHEN 'date' THEN
				hint := 'A date is written YYYY-MM-DD, between 1900-01-01 and 9999-12-31.';
				bad := jsonb_typeof(v) <> 'string' OR v #>> '{}' !~ date_re
					OR (v #>> '{}')::date NOT BETWEEN '1900-01-01' AND '9999-12-31';
			WHEN 'days_ahead' THEN
				hint := 'days_ahead is a whole number from 0 to 7.';
				bad := jsonb_typeof(v) <> 'number' OR v::numeric NOT BETWEEN 0 AND 7
					OR v::numeric <> trunc(v::numeric);
			WHEN 'race_id' THEN
				hint := 'race_id is a race_id of racing_sched.races.';
				bad := jsonb_typeof(v) <> 'number' OR v::text !~ id_re
					OR v::numeric > 9223372036854775807;
			WHEN 'race_ids' THEN
				hint := 'race_ids is a JSON array of race_id of racing_sched.races.';
				bad := jsonb_typeof(v) <> 'array'
					OR EXISTS (SELECT FROM jsonb_array_elements(v) x
							   WHERE jsonb_typeof(x) <> 'number' OR x::text !~ id_re
								  OR x::numeric > 9223372036854775807);
			WHEN 'jurisdictions' THEN
				hint := format('jurisdictions is a JSON array of %s.', array_to_string(jurisdictions, ', '));
				bad := jsonb_typeof(v) <> 'array'
					OR EXISTS (SELECT FROM jsonb_array_elements(v) x
							   WHERE jsonb_typeof(x) <> 'string' OR NOT x #>> '{}' = ANY (jurisdictions));
			WHEN 'only' THEN
				hint := 'only is a JSON array of {"date", "jurisdiction", "race_type", "location"} objects.';
				bad := jsonb_typeof(v) <> 'array';
				FOR e IN SELECT x FROM jsonb_array_elements(CASE WHEN bad THEN '[]' ELSE v END) x LOOP
					bad := bad OR jsonb_typeof(e) <> 'object'
						OR EXISTS (SELECT FROM jsonb_object_keys(CASE WHEN jsonb_typeof(e) = 'object' THEN e ELSE '{}' END) o
								   WHERE o NOT IN ('date', 'jurisdiction', 'race_type', 'location'))
						OR jsonb_typeof(e->'date') IS DISTINCT FROM 'string' OR e->>'date' !~ date_re
						OR (e->>'date')::date NOT BETWEEN '1900-01-01' AND '9999-12-31'
						OR jsonb_typeof(e->'jurisdiction') IS DISTINCT FROM 'string'
						OR NOT e->>'jurisdiction' = ANY (jurisdictions)
						OR coalesce(jsonb_typeof(e->'race_type'), 'null') NOT IN ('string', 'null')
						OR coalesce(jsonb_typeof(e->'location'), 'null') NOT IN ('string', 'null');
					EXIT WHEN bad;
				END LOOP;
			WHEN 'deadline' THEN
				hint := 'A deadline is a timestamp with time zone.';
				bad := jsonb_typeof(v) <> 'string' OR (v #>> '{}')::timestamptz IS NULL;
			ELSE
			END CASE;
		EXCEPTION WHEN data_exception THEN
			-- a date or a timestamp that does not exist, such as 2026-02-30
			bad := true;
		END;
		IF bad THEN
			RAISE EXCEPTION 'invalid value for argument "%": %', k, left(v::text, 200)
				USING ERRCODE = 'invalid_parameter_value', HINT = hint;
		END IF;
	END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION alter_job(
	job_name text,
	schedule text DEFAULT NULL,
	enabled boolean DEFAULT NULL,
	retry_delays interval[] DEFAULT NULL,
	timeout interval DEFAULT NULL,
	race_offset interval DEFAULT NULL,
	tolerance interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j racing_sched.jobs := racing_sched._job(job_name);
	race_driven boolean := j.job_type IN ('pre_race_t60', 'pre_race_t15', 'post_race');
BEGIN
	IF schedule IS NOT NULL THEN
		IF race_driven THEN
			RAISE EXCEPTION 'job "%" is driven by race start times and has no schedule', job_name
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Change its race_offset instead.';
		END IF;
		IF octet_length(schedule) > 1024 THEN
			RAISE EXCEPTION 'schedule is too long (% bytes)', octet_length(schedule)
				USING ERRCODE = 'program_limit_exceeded',
					  DETAIL = 'At most 1024 bytes are accepted.';
		END IF;
		PERFORM racing_sched.cron_next(schedule, now(), current_setting('racing_sched.timezone'));
	END IF;
	IF (race_offset IS NOT NULL OR tolerance IS NOT NULL) AND NOT race_driven THEN
		RAISE EXCEPTION 'job "%" runs on a schedule and has no race_offset or tolerance', job_name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF race_offset NOT BETWEEN '-1 day' AND '1 day' THEN
		RAISE EXCEPTION 'race_offset must be between -1 day and 1 day, not %', race_offset
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF tolerance NOT BETWEEN '0' AND '1 hour' THEN
		RAISE EXCEPTION 'tolerance must be between 0 and 1 hour, not %', tolerance
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF timeout <= '0' OR timeout > '7 days' THEN
		RAISE EXCEPTION 'timeout must be more than 0 and at most 7 days, not %', timeout
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF array_ndims(retry_delays) > 1 OR cardinality(retry_delays) > 10
	   OR EXISTS (SELECT FROM unnest(retry_delays) d WHERE d IS NULL OR d <= '0' OR d > '1 day') THEN
		RAISE EXCEPTION 'retry_delays must hold at most 10 intervals, each more than 0 and at most 1 day'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'retry_delays is a one-dimensional array, such as ''{1 min, 5 min}''.';
	END IF;

	UPDATE racing_sched.jobs SET
		schedule = coalesce(alter_job.schedule, jobs.schedule),
		-- a new schedule, or a job enabled again, counts from now: no
		-- catch-up run for fires of the old schedule or of the pause
		last_fire_at = CASE WHEN (alter_job.schedule IS NOT NULL
								  AND alter_job.schedule IS DISTINCT FROM jobs.schedule)
							  OR (alter_job.enabled AND NOT jobs.enabled)
							THEN now() ELSE jobs.last_fire_at END,
		enabled = coalesce(alter_job.enabled, jobs.enabled),
		retry_delays = coalesce(alter_job.retry_delays, jobs.retry_delays),
		timeout = coalesce(alter_job.timeout, jobs.timeout),
		race_offset = coalesce(alter_job.race_offset, jobs.race_offset),
		tolerance = coalesce(alter_job.tolerance, jobs.tolerance),
		updated_at = now()
	WHERE jobs.job_name = j.job_name;
	PERFORM racing_sched.wake_scheduler();
END
$$;

CREATE OR REPLACE FUNCTION next_runs(job_name text, n integer DEFAULT 5)
RETURNS SETOF timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	expr text;
	t timestamptz := now();
BEGIN
	IF next_runs.job_name IS NULL THEN
		RAISE EXCEPTION 'argument "job_name" of next_runs must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF next_runs.n IS NULL THEN
		RAISE EXCEPTION 'argument "n" of next_runs must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF next_runs.n < 0 THEN
		RAISE EXCEPTION 'argument "n" of next_runs must not be negative'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF next_runs.n > 10000 THEN
		RAISE EXCEPTION 'argument "n" of next_runs must be at most 10000, not %', next_runs.n
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT j.schedule INTO expr
		FROM racing_sched.jobs j
		WHERE j.job_name = next_runs.job_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job "%" does not exist', next_runs.job_name
			USING ERRCODE = 'undefined_object',
				  HINT = 'The jobs are listed in racing_sched.jobs.';
	END IF;
	IF expr IS NULL THEN
		RETURN;
	END IF;
	FOR i IN 1 .. next_runs.n LOOP
		t := racing_sched.cron_next(expr, t);
		RETURN NEXT t;
	END LOOP;
END
$$;

-- A NULL url or include_body is an error (22004), as in every other function.
ALTER FUNCTION http_get(text, boolean) CALLED ON NULL INPUT;
ALTER FUNCTION http_get_all(text[]) CALLED ON NULL INPUT;
