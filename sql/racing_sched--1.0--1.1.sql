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
