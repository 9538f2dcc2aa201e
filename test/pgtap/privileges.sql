-- Privileges: what a role without grants, an operator, a monitoring role,
-- an analyst and a job administrator (the README's GRANT recipes, applied
-- as written) may and may not do; the HTTP settings are for superusers; the
-- functions that act with more rights than their caller (SECURITY DEFINER,
-- and schedule()/unschedule(), which write as a superuser) are not steered
-- by a hostile search_path or by the caller's session settings.
-- What needs a job to run or a second session is in test/t/061_privileges.pl.
BEGIN;
SELECT plan(54);
SET search_path = racing_sched, public;

-- The statements of a list that were not refused for lack of privilege
-- (SQLSTATE 42501), each with what happened instead.  Each runs in a
-- subtransaction, so one that succeeds changes nothing that lasts.
CREATE FUNCTION pg_temp.not_refused(stmts text[]) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	s text;
	bad text[] := '{}';
BEGIN
	FOREACH s IN ARRAY stmts LOOP
		BEGIN
			EXECUTE s;
			bad := bad || (s || ': succeeded');
		EXCEPTION WHEN insufficient_privilege THEN
			NULL;
		WHEN OTHERS THEN
			bad := bad || (s || ': ' || SQLSTATE || ' ' || SQLERRM);
		END;
	END LOOP;
	RETURN bad;
END $$;
-- The SQLSTATE of a statement, 00000 when it succeeds.
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN '00000';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END $$;
-- What a role may do in the schema: every privilege on its tables, views
-- and sequences, and the functions it may execute.
CREATE FUNCTION pg_temp.table_privileges(r name) RETURNS text[] LANGUAGE sql AS $$
	SELECT coalesce(array_agg(c.relname || ':' || p.priv ORDER BY c.relname, p.priv), '{}')
	FROM pg_class c
	CROSS JOIN unnest('{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]) AS p(priv)
	WHERE c.relnamespace = 'racing_sched'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
	  AND has_table_privilege(r, c.oid, p.priv)
$$;
CREATE FUNCTION pg_temp.sequence_privileges(r name) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM pg_class c
	WHERE c.relnamespace = 'racing_sched'::regnamespace
	  AND CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(r, c.oid, 'USAGE, SELECT, UPDATE') END
$$;
CREATE FUNCTION pg_temp.executable(r name) RETURNS text[] LANGUAGE sql AS $$
	SELECT coalesce(array_agg(p.proname::text ORDER BY p.proname), '{}')
	FROM pg_proc p
	WHERE p.pronamespace = 'racing_sched'::regnamespace AND has_function_privilege(r, p.oid, 'EXECUTE')
$$;
-- What PUBLIC may execute: pure helpers and read-only functions that tell
-- no racing data (_next_run: the next fire of a job, as metrics_jobs shows;
-- _scheduler_liveness: as metrics_scheduler shows), and two that read with
-- the caller's own rights (next_runs reads jobs).
CREATE TEMP TABLE public_functions AS
SELECT '{_cumulative,_next_run,_scheduler_liveness,cron_next,duration_bucket_bounds,http_duration_bucket_bounds,lateness_bucket_bounds,next_runs}'::text[] AS f;
GRANT SELECT ON public_functions TO PUBLIC;
CREATE FUNCTION pg_temp.plus_public(extra text[]) RETURNS text[] LANGUAGE sql AS $$
	SELECT array_agg(x ORDER BY x) FROM unnest(extra || (SELECT f FROM pg_temp.public_functions)) x
$$;

-- Some data to be refused: a race, a queued run, a custom job of the superuser.
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name)
VALUES ('2026-11-28', 'R', 'RHL', 'ROSEHILL');
INSERT INTO races (meeting_id, race_number, start_time)
SELECT meeting_id, 1, '2026-11-28 03:00Z' FROM meetings;
DO $$ BEGIN PERFORM racing_sched.schedule('su_job', '0 0 1 1 *', 'SELECT 1'); END $$;
CREATE TEMP TABLE ids AS SELECT run_now('morning_scrape', '{"date": "2026-11-20"}') AS queued;
GRANT SELECT ON ids TO PUBLIC;

-- The statements that touch work or data, to be refused to roles without
-- the grant; :id is a queued run.
CREATE TEMP TABLE touch (stmt text);
GRANT SELECT ON touch TO PUBLIC;
INSERT INTO touch SELECT replace(s, ':id', (SELECT queued FROM ids)::text) FROM unnest(ARRAY[
	'SELECT racing_sched.run_now(''morning_scrape'')',
	'SELECT racing_sched.cancel(:id)',
	'SELECT racing_sched.wait_for(:id, ''0'')',
	'SELECT racing_sched.alter_job(''pre_race_t15'', enabled => false)',
	'SELECT racing_sched.schedule(''x'', ''* * * * *'', ''SELECT 1'')',
	'SELECT racing_sched.unschedule(''su_job'')',
	'SELECT racing_sched.fetch_meetings(''2026-11-28'', ''NSW'')',
	'SELECT racing_sched.fetch_race(''2026-11-28'', ''R'', ''RHL'', 1, ''NSW'')',
	'SELECT racing_sched.http_get(''http://127.0.0.1:9/'')',
	'SELECT racing_sched._finish_run(:id, ''success'', 0, 0, ''{}'', ''{}'', NULL, false)',
	'SELECT racing_sched._cleanup_batch(now(), 10)',
	'SELECT racing_sched._plan_all_race_phases(now())',
	'SELECT racing_sched._ingest_meetings(''{}'')',
	'SELECT racing_sched.wake_scheduler()',
	'SELECT * FROM racing_sched.meetings', 'SELECT * FROM racing_sched.races',
	'SELECT * FROM racing_sched.runners', 'SELECT * FROM racing_sched.odds',
	'SELECT * FROM racing_sched.results', 'SELECT * FROM racing_sched.dividends',
	'SELECT * FROM racing_sched.scrapes', 'SELECT * FROM racing_sched.race_phases',
	'SELECT * FROM racing_sched.pending_results', 'SELECT * FROM racing_sched.schedulers',
	'SELECT * FROM racing_sched.job_stats', 'SELECT * FROM racing_sched.http_stats',
	'UPDATE racing_sched.jobs SET enabled = false',
	'INSERT INTO racing_sched.job_runs (job_name, job_type, trigger) VALUES (''morning_scrape'', ''morning_scrape'', ''manual'')',
	'UPDATE racing_sched.job_runs SET status = ''cancelled''',
	'DELETE FROM racing_sched.job_runs',
	'TRUNCATE racing_sched.races']) AS s;
CREATE FUNCTION pg_temp.touch_except(allowed text[]) RETURNS text[] LANGUAGE sql AS $$
	SELECT array_agg(stmt) FROM pg_temp.touch WHERE NOT stmt LIKE ANY (allowed)
$$;

--
-- A role without grants.
--
CREATE ROLE rs_nobody LOGIN;
CREATE ROLE rs_usage_only LOGIN;
GRANT USAGE ON SCHEMA racing_sched TO rs_usage_only;

SELECT ok(NOT has_schema_privilege('rs_nobody', 'racing_sched', 'USAGE'), 'a role without grants cannot even look up names in the schema');
SELECT is(pg_temp.table_privileges('rs_usage_only'), '{}', 'nor, with USAGE on the schema, has it any right on a table or view');
SELECT is(pg_temp.sequence_privileges('rs_usage_only'), 0::bigint, 'nor on a sequence');
SELECT is(pg_temp.executable('rs_usage_only'), (SELECT f FROM public_functions),
	'and it may execute the pure and read-only helpers only');
SET ROLE rs_nobody;
SELECT is(pg_temp.not_refused(pg_temp.touch_except('{}')), '{}',
	'without grants: enqueue, cancel, wait, alter, schedule, fetch and read racing data are all refused (42501)');
SELECT is(pg_temp.not_refused(ARRAY['SELECT racing_sched.health()', 'SELECT * FROM racing_sched.metrics_jobs',
	'SELECT * FROM racing_sched.job_runs', 'SELECT * FROM racing_sched.jobs']), '{}',
	'and so are health(), the metrics and the job tables');
RESET ROLE;
SET ROLE rs_usage_only;
SELECT is(pg_temp.not_refused(pg_temp.touch_except('{}')), '{}',
	'with USAGE on the schema alone: the same, refused object by object');
SELECT is(pg_temp.not_refused(ARRAY['SELECT racing_sched.health()', 'SELECT * FROM racing_sched.metrics_jobs',
	'SELECT * FROM racing_sched.job_runs', 'SELECT * FROM racing_sched.jobs',
	'SELECT racing_sched.next_runs(''morning_scrape'')']), '{}',
	'health(), the metrics, the job tables and next_runs() too');
SELECT is(racing_sched._next_run('post_race', '2026-11-28 00:00Z'), racing_sched._next_run('post_race', now()),
	'_next_run answers for now only: it tells no past race''s start time');
RESET ROLE;
SELECT is((SELECT count(*) FROM job_runs WHERE job_run_id > (SELECT queued FROM ids)), 0::bigint,
	'nothing was queued by those attempts');

--
-- The operator (README, Roles): trigger and cancel, not alter.
--
CREATE ROLE racing_operator;
GRANT USAGE ON SCHEMA racing_sched TO racing_operator;
GRANT EXECUTE ON FUNCTION racing_sched.run_now(text, jsonb), racing_sched.wait_for(bigint, interval),
      racing_sched.cancel(bigint), racing_sched.health() TO racing_operator;
GRANT SELECT ON racing_sched.job_runs, racing_sched.jobs TO racing_operator;

SELECT is(pg_temp.table_privileges('racing_operator'), '{job_runs:SELECT,jobs:SELECT}',
	'operator: reads job_runs and jobs, writes no table');
SELECT is(pg_temp.executable('racing_operator'), pg_temp.plus_public('{cancel,health,run_now,wait_for}'),
	'operator: executes run_now, wait_for, cancel and health besides the helpers');
SET ROLE racing_operator;
SELECT ok(run_now('cleanup_job_runs') > 0, 'operator: run_now queues a run');
SELECT ok(cancel((SELECT queued FROM ids)), 'operator: cancel cancels a queued run');
SELECT is((SELECT status FROM job_runs WHERE job_run_id = (SELECT queued FROM ids)), 'cancelled', 'it is cancelled');
SELECT throws_ok(format('SELECT racing_sched.wait_for(%s, ''0'')', (SELECT queued FROM ids)), '25001', NULL,
	'operator: wait_for is granted (refused here only because this transaction changed the run)');
SELECT ok(health() ? 'status', 'operator: health()');
SELECT is(pg_temp.not_refused(pg_temp.touch_except('{SELECT racing_sched.run_now%,SELECT racing_sched.cancel%,SELECT racing_sched.wait_for%}')), '{}',
	'operator: alter_job, schedule, unschedule, fetches, racing data and writes to the job tables are refused');
SELECT is(pg_temp.not_refused(ARRAY['SELECT pg_reload_conf()',
	'ALTER ROLE CURRENT_USER SET racing_sched.http_timeout = ''1s''',
	'ALTER DATABASE ' || quote_ident(current_database()) || ' SET racing_sched.enabled = off',
	'SELECT set_config(''racing_sched.tab_api_url'', ''http://127.0.0.1:1/x'', false)']), '{}',
	'operator: cannot reload the configuration nor set racing_sched settings for a role or database');
SELECT is(pg_temp.sqlstate_of('SET racing_sched.enabled = off'), '55P02',
	'operator: racing_sched.enabled is changed by a reload only');
SELECT is(pg_temp.sqlstate_of('SET racing_sched.max_workers = 64'), '55P02',
	'operator: nor racing_sched.max_workers');
RESET ROLE;

-- The caller's DateStyle does not make other work of the same racing day.
SET ROLE racing_operator;
CREATE TEMP TABLE ds AS SELECT run_now('morning_scrape') AS iso;
SET datestyle = 'German, DMY';
ALTER TABLE ds ADD COLUMN german bigint;
UPDATE ds SET german = run_now('morning_scrape');
RESET datestyle;
SELECT is((SELECT german FROM ds), (SELECT iso FROM ds),
	'run_now under DateStyle German returns the morning scrape already queued for the day');
SELECT ok((SELECT dedupe_key ~ '^morning_scrape:\d{4}-\d{2}-\d{2}$' FROM job_runs WHERE job_run_id = (SELECT iso FROM ds)),
	'dedupe keys write the day YYYY-MM-DD');
RESET ROLE;

--
-- The job administrator (README: the operator plus alter_job, schedule,
-- unschedule).
--
CREATE ROLE racing_admin IN ROLE racing_operator;
GRANT EXECUTE ON FUNCTION racing_sched.alter_job(text, text, boolean, interval[], interval, interval, interval),
	racing_sched.schedule(text, text, text), racing_sched.unschedule(text) TO racing_admin;
SET ROLE racing_admin;
SELECT lives_ok($$SELECT racing_sched.alter_job('pre_race_t60', tolerance => '90 seconds')$$, 'admin: alter_job');
SELECT lives_ok($$SELECT racing_sched.schedule('admin_job', '0 0 1 1 *', 'SELECT 1')$$, 'admin: schedule');
SELECT throws_ok($$SELECT racing_sched.unschedule('su_job')$$, '42501', 'job "su_job" belongs to role "postgres"',
	'admin: cannot unschedule a job of another role');
SELECT throws_ok($$SELECT racing_sched.schedule('su_job', '* * * * *', 'SELECT 2')$$, '42501', NULL,
	'admin: nor replace it');
SELECT throws_ok('SELECT * FROM racing_sched.races', '42501', NULL, 'admin: racing data stays unreadable');
RESET ROLE;
SELECT is((SELECT owner::text FROM jobs WHERE job_name = 'admin_job'), 'racing_admin', 'the job belongs to its scheduler');
SELECT is((SELECT command FROM jobs WHERE job_name = 'su_job'), 'SELECT 1', 'the superuser''s job is unchanged');

--
-- The monitoring role (README, Monitoring and Roles): the metrics views
-- and health(), nothing else.
--
CREATE ROLE racing_monitor LOGIN;
GRANT USAGE ON SCHEMA racing_sched TO racing_monitor;
GRANT SELECT ON racing_sched.metrics_job_runs, racing_sched.metrics_job_retries,
      racing_sched.metrics_jobs, racing_sched.metrics_http, racing_sched.metrics_phases,
      racing_sched.metrics_scheduler, racing_sched.metrics_tables,
      racing_sched.recent_failures TO racing_monitor;
GRANT EXECUTE ON FUNCTION racing_sched.health() TO racing_monitor;
GRANT EXECUTE ON FUNCTION racing_sched.health(), racing_sched.scheduler_status() TO racing_monitor;

SELECT is(pg_temp.table_privileges('racing_monitor'),
	'{metrics_http:SELECT,metrics_job_retries:SELECT,metrics_job_runs:SELECT,metrics_jobs:SELECT,metrics_phases:SELECT,metrics_scheduler:SELECT,metrics_tables:SELECT,recent_failures:SELECT}',
	'monitor: reads the metrics views and recent_failures, no table');
SELECT is(pg_temp.executable('racing_monitor'), pg_temp.plus_public('{health,scheduler_status}'),
	'monitor: executes health() and scheduler_status() besides the helpers');
SET ROLE racing_monitor;
SELECT lives_ok($$SELECT * FROM racing_sched.metrics_job_runs, racing_sched.metrics_job_retries,
					racing_sched.metrics_jobs, racing_sched.metrics_http, racing_sched.metrics_phases,
					racing_sched.metrics_scheduler, racing_sched.metrics_tables, racing_sched.recent_failures$$,
	'monitor: reads every metrics view');
SELECT ok(health() ? 'status', 'monitor: health()');
SELECT is(pg_temp.not_refused(pg_temp.touch_except('{}') || ARRAY['SELECT * FROM racing_sched.job_runs',
	'SELECT * FROM racing_sched.jobs', 'SELECT * FROM racing_sched.phase_lateness']), '{}',
	'monitor: everything else is refused');
RESET ROLE;

--
-- The analyst (README, Roles): the racing tables, read only.
--
CREATE ROLE analyst;
GRANT USAGE ON SCHEMA racing_sched TO analyst;
GRANT SELECT ON racing_sched.meetings, racing_sched.races, racing_sched.runners,
      racing_sched.odds, racing_sched.results, racing_sched.dividends TO analyst;
SET ROLE analyst;
SELECT is((SELECT count(*) FROM racing_sched.races), 1::bigint, 'analyst: reads the races');
SELECT is(pg_temp.not_refused(pg_temp.touch_except('{SELECT * FROM racing_sched.meetings,SELECT * FROM racing_sched.races,SELECT * FROM racing_sched.runners,SELECT * FROM racing_sched.odds,SELECT * FROM racing_sched.results,SELECT * FROM racing_sched.dividends}')), '{}',
	'analyst: touches no work and writes nothing');
RESET ROLE;

--
-- The HTTP settings (and the API URL) are for superusers only.
--
SELECT is((SELECT array_agg(name ORDER BY name) FROM pg_settings
		   WHERE (name LIKE 'racing_sched.http%' OR name = 'racing_sched.tab_api_url') AND context <> 'superuser'),
	NULL::text[], 'every racing_sched.http_* setting and tab_api_url is superuser-only');
SELECT cmp_ok((SELECT count(*) FROM pg_settings WHERE name LIKE 'racing_sched.http%'), '>=', 12::bigint,
	'(the http settings are all defined)');
CREATE FUNCTION pg_temp.http_settings_not_refused() RETURNS text[] LANGUAGE sql AS $$
	SELECT pg_temp.not_refused(array_agg(format('SET %s = %L', name, reset_val) ORDER BY name)
		|| array_agg(format('SELECT set_config(%L, %L, true)', name, reset_val) ORDER BY name))
	FROM pg_settings WHERE name LIKE 'racing_sched.http%' OR name = 'racing_sched.tab_api_url'
$$;
SET ROLE racing_operator;
SELECT is(pg_temp.http_settings_not_refused(), '{}', 'operator: SET and set_config of each is refused');
RESET ROLE;
SET ROLE racing_monitor;
SELECT is(pg_temp.http_settings_not_refused(), '{}', 'monitor: the same');
RESET ROLE;
SELECT is((SELECT array_agg(name || ': ' || st) FROM
			(SELECT name, pg_temp.sqlstate_of(format('SET LOCAL %s = %L', name, reset_val)) AS st
			 FROM pg_settings WHERE name LIKE 'racing_sched.http%' OR name = 'racing_sched.tab_api_url') s
		   WHERE st <> '00000'), NULL::text[],
	'a superuser sets each of them');

--
-- search_path tricks: a hostile schema first on the caller's path, with
-- functions, operators, a type and tables named like the ones the
-- functions use, and tables in pg_temp, change nothing, and none of them is
-- ever called.  The trap is laid by the job administrator, who may create
-- schemas.
--
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO racing_admin', current_database()); END $$;
CREATE TEMP TABLE trap_results (k text PRIMARY KEY, v text);
GRANT ALL ON trap_results TO PUBLIC;
SET ROLE racing_admin;
CREATE SCHEMA trap;
CREATE TABLE trap.calls (what text, who name, super boolean);
GRANT INSERT ON trap.calls TO PUBLIC;
GRANT USAGE ON SCHEMA trap TO PUBLIC;
CREATE FUNCTION trap.log(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO trap.calls VALUES (what, current_user,
		(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user));
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		EXECUTE 'ALTER ROLE racing_admin SUPERUSER';
	END IF;
	RETURN true;
END $$;
CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('now()'); RETURN '2001-01-01 00:00Z'; END $$;
CREATE FUNCTION trap.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('clock_timestamp()'); RETURN '2001-01-01 00:00Z'; END $$;
CREATE FUNCTION trap.current_setting(text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('current_setting()'); RETURN 'UTC'; END $$;
CREATE FUNCTION trap.md5(text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('md5()'); RETURN 'x'; END $$;
CREATE FUNCTION trap.format(text, text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('format()'); RETURN 'x'; END $$;
CREATE FUNCTION trap.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('jsonb_build_object(text, text)'); RETURN '{}'; END $$;
CREATE FUNCTION trap.jsonb_build_object(text, bigint) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('jsonb_build_object(text, bigint)'); RETURN '{}'; END $$;
CREATE FUNCTION trap.jsonb_build_object(text, boolean, text, text) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('jsonb_build_object(text, boolean, text, text)'); RETURN '{}'; END $$;
CREATE FUNCTION trap.jsonb_build_object(text, text, text, timestamptz) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('jsonb_build_object(text, text, text, timestamptz)'); RETURN '{}'; END $$;
CREATE FUNCTION trap.eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('=(bigint, bigint)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR trap.= (leftarg = bigint, rightarg = bigint, function = trap.eq);
CREATE FUNCTION trap.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('=(text, text)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR trap.= (leftarg = text, rightarg = text, function = trap.eq);
CREATE FUNCTION trap.cat(a jsonb, b jsonb) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('||(jsonb, jsonb)'); RETURN a OPERATOR(pg_catalog.||) b; END $$;
CREATE OPERATOR trap.|| (leftarg = jsonb, rightarg = jsonb, function = trap.cat);
CREATE FUNCTION trap.cat(a text, b text) RETURNS text LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('||(text, text)'); RETURN a OPERATOR(pg_catalog.||) b; END $$;
CREATE OPERATOR trap.|| (leftarg = text, rightarg = text, function = trap.cat);
CREATE FUNCTION trap.lt(a timestamptz, b timestamptz) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('<(timestamptz, timestamptz)'); RETURN a OPERATOR(pg_catalog.<) b; END $$;
CREATE OPERATOR trap.< (leftarg = timestamptz, rightarg = timestamptz, function = trap.lt);
CREATE DOMAIN trap.jsonb AS pg_catalog.jsonb CHECK (trap.log('domain jsonb'));
CREATE TABLE trap.job_runs (job_run_id bigint, status text);
CREATE TABLE trap.jobs (job_name text);
CREATE TEMP TABLE job_runs (job_run_id bigint, status text);
CREATE TEMP TABLE jobs (job_name text);

SET search_path = pg_temp, trap, pg_catalog, public;
INSERT INTO pg_temp.trap_results
SELECT 'run_now', racing_sched.run_now('morning_scrape', '{"date": "2026-12-24"}')::pg_catalog.text;
INSERT INTO pg_temp.trap_results
SELECT 'run_now again', racing_sched.run_now('morning_scrape', '{"date": "2026-12-24"}')::pg_catalog.text;
INSERT INTO pg_temp.trap_results
SELECT 'run_now today', racing_sched.run_now('morning_scrape')::pg_catalog.text;
INSERT INTO pg_temp.trap_results
SELECT 'cancel', racing_sched.cancel(racing_sched.run_now('post_race', '{"race_id": 1}'))::pg_catalog.text;
INSERT INTO pg_temp.trap_results SELECT 'health', racing_sched.health()->>'status';
INSERT INTO pg_temp.trap_results
SELECT 'next_runs', pg_catalog.count(*)::pg_catalog.text FROM racing_sched.next_runs('cleanup_job_runs', 3);
INSERT INTO pg_temp.trap_results
SELECT 'alter_job', racing_sched.alter_job('pre_race_t15', enabled => false, retry_delays => '{1 minute}')::pg_catalog.text;
INSERT INTO pg_temp.trap_results
SELECT 'schedule', racing_sched.schedule('trap_job', '0 0 1 1 *', 'SELECT 1')::pg_catalog.text;
INSERT INTO pg_temp.trap_results
SELECT 'schedule again', racing_sched.schedule('trap_job', '0 0 2 1 *', 'SELECT 2')::pg_catalog.text;
INSERT INTO pg_temp.trap_results
SELECT 'unschedule', racing_sched.unschedule('admin_job')::pg_catalog.text;
SET search_path = racing_sched, public;
RESET ROLE;
SET ROLE racing_monitor;
SET search_path = pg_temp, trap, pg_catalog, public;
INSERT INTO pg_temp.trap_results
SELECT 'metrics', pg_catalog.count(*)::pg_catalog.text
FROM racing_sched.metrics_jobs, racing_sched.metrics_scheduler, racing_sched.metrics_job_runs;
INSERT INTO pg_temp.trap_results SELECT 'monitor health', racing_sched.health()->>'status';
SET search_path = racing_sched, public;
RESET ROLE;

SELECT is((SELECT count(*) FROM trap_results), 12::bigint, 'every call under the hostile search_path went through');
SELECT is((SELECT array_agg(DISTINCT what || ' as ' || who) FROM trap.calls), NULL::text[],
	'no hostile function, operator or type was ever used, by a definer or by the caller');
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'racing_admin'), 'the trap layer did not become superuser');
SELECT is((SELECT v FROM trap_results WHERE k = 'run_now again'), (SELECT v FROM trap_results WHERE k = 'run_now'),
	'run_now deduplicated as usual');
SELECT results_eq(format($$SELECT dedupe_key, trigger, due_at > now() - interval '1 hour'
							FROM racing_sched.job_runs WHERE job_run_id = %s$$, (SELECT v FROM trap_results WHERE k = 'run_now')),
	$$VALUES ('morning_scrape:2026-12-24', 'manual', true)$$,
	'the run is the real one: its key, its trigger, due now (not at the trap''s now())');
SELECT is((SELECT v FROM trap_results WHERE k = 'cancel'), 'true', 'cancel worked');
SELECT is((SELECT count(*) FROM racing_sched.job_runs WHERE status = 'cancelled' AND metadata ? 'cancelled_by'
		   AND completed_at > now() - interval '1 hour'), 2::bigint, 'and recorded the real time');
SELECT is((SELECT count(*) FROM pg_temp.job_runs) + (SELECT count(*) FROM trap.job_runs)
		  + (SELECT count(*) FROM pg_temp.jobs) + (SELECT count(*) FROM trap.jobs), 0::bigint,
	'the look-alike tables in pg_temp and the hostile schema stayed empty');
SELECT results_eq($$SELECT enabled, retry_delays FROM racing_sched.jobs WHERE job_name = 'pre_race_t15'$$,
	$$VALUES (false, '{1 minute}'::interval[])$$, 'alter_job changed the real job');
SELECT is((SELECT array_agg(job_name || ': ' || command || ' as ' || owner) FROM racing_sched.jobs
		   WHERE job_name IN ('trap_job', 'admin_job')),
	'{"trap_job: SELECT 2 as racing_admin"}', 'schedule replaced and unschedule removed the real jobs');
SELECT is((SELECT v FROM trap_results WHERE k = 'next_runs'), '3', 'next_runs answered');
SELECT isnt((SELECT v FROM trap_results WHERE k = 'metrics'), '0', 'the monitor read the metrics views');

SELECT * FROM finish();
ROLLBACK;
