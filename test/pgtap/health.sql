-- health(): each rule, judged by _health with the time and the scheduler's
-- status as arguments; health() itself keeps its keys and is callable by a
-- role granted EXECUTE on it alone.
BEGIN;
SELECT plan(26);
SET search_path = racing_sched, public;

-- Judge at local time hh:mm of today in racing_sched.timezone, the
-- scheduler running with a fresh heartbeat.
CREATE FUNCTION pg_temp.at(hhmm text) RETURNS timestamptz LANGUAGE sql
RETURN (date_trunc('day', now() AT TIME ZONE current_setting('racing_sched.timezone')) + hhmm::interval)
	AT TIME ZONE current_setting('racing_sched.timezone');
CREATE FUNCTION pg_temp.h(hhmm text DEFAULT '12:00') RETURNS jsonb LANGUAGE sql
RETURN racing_sched._health(pg_temp.at(hhmm), 4242, 'running', pg_temp.at(hhmm) - interval '1 hour',
							pg_temp.at(hhmm) - interval '10 seconds', 'rstest');
CREATE FUNCTION pg_temp.reasons(hhmm text DEFAULT '12:00') RETURNS text LANGUAGE sql
RETURN (SELECT coalesce(string_agg(r, ' | '), '') FROM jsonb_array_elements_text(pg_temp.h(hhmm)->'reasons') r);

-- The jobs have existed for days; this morning's scrape succeeded.
UPDATE jobs SET created_at = now() - interval '3 days';
INSERT INTO job_stats (job_name, job_type, last_success_at, runs_success)
VALUES ('morning_scrape', 'morning_scrape', pg_temp.at('06:05'), 1);

SELECT is(pg_temp.h()->>'status', 'ok', 'all well: ok');
SELECT is(pg_temp.h()->'reasons', '[]'::jsonb, 'with no reasons');
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(pg_temp.h()->'scheduler') k),
	'{database,heartbeat_age_s,heartbeat_at,pid,started_at,state}', 'scheduler keys');
SELECT is((pg_temp.h()->'scheduler'->>'heartbeat_age_s')::numeric, 10.000, 'heartbeat age');

-- The scheduler.
SELECT is(_health(pg_temp.at('12:00'), NULL, 'not running', NULL, NULL, 'rstest')->>'status', 'down',
	'no scheduler: down');
SELECT is(_health(pg_temp.at('12:00'), NULL, 'not running', NULL, NULL, 'rstest')->'reasons',
	'["scheduler not running"]', 'says so');
SELECT is(_health(pg_temp.at('12:00'), 4242, 'running', pg_temp.at('11:00'), pg_temp.at('11:50'), 'rstest')->>'status',
	'down', 'a heartbeat 10 minutes old: down');
SELECT is(_health(pg_temp.at('12:00'), 4242, 'running', pg_temp.at('11:00'), pg_temp.at('11:50'), 'rstest')->'reasons',
	'["scheduler heartbeat stale (600 s)"]', 'stale heartbeat, with its age');
SELECT is(_health(pg_temp.at('12:00'), 4242, 'disabled', pg_temp.at('11:00'), pg_temp.at('11:59'), 'rstest')->>'status',
	'degraded', 'scheduler disabled: degraded');

-- A job failing repeatedly.
INSERT INTO job_stats (job_name, job_type, consecutive_failures) VALUES ('post_race', 'post_race', 2);
SELECT is(pg_temp.reasons(), '', 'two failures in a row: fine');
UPDATE job_stats SET consecutive_failures = 3 WHERE job_name = 'post_race';
SELECT is(pg_temp.reasons(), 'job post_race failed 3 times in a row', 'three: degraded');
SELECT is(pg_temp.h()->'failing_jobs'->0->>'job_name', 'post_race', 'named in failing_jobs');
UPDATE jobs SET enabled = false WHERE job_name = 'post_race';
SELECT is(pg_temp.reasons(), '', 'a disabled job is not judged');
UPDATE jobs SET enabled = true WHERE job_name = 'post_race';
UPDATE job_stats SET consecutive_failures = 0 WHERE job_name = 'post_race';

-- A backlog of due runs.
INSERT INTO job_runs (job_name, job_type, trigger, due_at)
VALUES ('cleanup_job_runs', 'cleanup_job_runs', 'manual', pg_temp.at('11:56'));
SELECT is(pg_temp.reasons(), '', 'a run due 4 minutes ago: fine');
INSERT INTO job_runs (job_name, job_type, trigger, due_at)
VALUES ('morning_scrape', 'morning_scrape', 'manual', pg_temp.at('11:50'));
SELECT is(pg_temp.reasons(), '1 queued runs overdue (the oldest due 600 s ago)', 'one due 10 minutes ago: degraded');
SELECT is((pg_temp.h()->>'overdue_runs')::int, 1, 'counted in overdue_runs');
DELETE FROM job_runs;

-- The morning scrape (cron 0 6 * * *, 30 minutes of grace).
UPDATE job_stats SET last_success_at = pg_temp.at('06:05') - interval '1 day' WHERE job_name = 'morning_scrape';
SELECT is(pg_temp.reasons('06:20'), '', 'before 06:30: not yet expected');
SELECT is(pg_temp.reasons('06:31'), 'no successful morning_scrape today (due at 06:00)',
	'after 06:30 with yesterday''s success only: degraded');
UPDATE job_stats SET last_success_at = pg_temp.at('06:10') WHERE job_name = 'morning_scrape';
SELECT is(pg_temp.reasons('06:31'), '', 'today''s success: fine');
DELETE FROM job_stats WHERE job_name = 'morning_scrape';
SELECT is(pg_temp.reasons('07:00'), 'no successful morning_scrape today (due at 06:00)', 'never succeeded: degraded');
UPDATE jobs SET created_at = pg_temp.at('06:15') WHERE job_name = 'morning_scrape';
SELECT is(pg_temp.reasons('07:00'), '', 'created after today''s fire: not expected');
UPDATE jobs SET created_at = now() - interval '3 days', enabled = false WHERE job_name = 'morning_scrape';
SELECT is(pg_temp.reasons('07:00'), '', 'disabled: not expected');
UPDATE jobs SET enabled = true WHERE job_name = 'morning_scrape';
INSERT INTO job_stats (job_name, job_type, last_success_at) VALUES ('morning_scrape', 'morning_scrape', pg_temp.at('06:05'));

-- Races without official results long after the jump.
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name)
VALUES (current_date, 'R', 'RHL', 'ROSEHILL');
INSERT INTO races (meeting_id, race_number, start_time)
SELECT meeting_id, 1, pg_temp.at('11:30') FROM meetings;
SELECT is(pg_temp.reasons(), '', 'a race 30 minutes after its jump: fine');
INSERT INTO races (meeting_id, race_number, start_time)
SELECT meeting_id, 2, pg_temp.at('10:30') FROM meetings;
SELECT is(pg_temp.reasons(), '1 races without official results more than 1 hour after the jump',
	'90 minutes after the jump without official results: degraded');
UPDATE races SET official_at = pg_temp.at('10:40') WHERE race_number = 2;
SELECT is(pg_temp.reasons(), '', 'official results: fine');

-- health() for a monitoring role granted EXECUTE on it alone.
CREATE ROLE rs_health_test;
GRANT USAGE ON SCHEMA racing_sched TO rs_health_test;
GRANT EXECUTE ON FUNCTION health() TO rs_health_test;
SET ROLE rs_health_test;
SELECT ok(racing_sched.health()->>'status' IN ('ok', 'degraded', 'down'), 'health() as a monitoring role');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
