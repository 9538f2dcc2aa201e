-- The metrics views: counters right and monotone, one row per label set,
-- no NULLs, histograms cumulative, readable by a monitoring role alone.
BEGIN;
SELECT plan(36);
SET search_path = racing_sched, public;

CREATE FUNCTION pg_temp.no_nulls(v text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM racing_sched.%I x WHERE NOT (x IS NOT NULL)', v) INTO n;
	RETURN n;
END $$;
-- A run of job mt that started secs ago, ended through the engine.
CREATE FUNCTION pg_temp.finish(status text, items int, failed int, secs int, retry boolean DEFAULT true,
							   id bigint DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE run bigint := id;
BEGIN
	IF run IS NULL THEN
		INSERT INTO racing_sched.job_runs (job_name, job_type, trigger, status, started_at)
		VALUES ('mt', 'sql', 'manual', 'running', clock_timestamp() - make_interval(secs => secs))
		RETURNING job_run_id INTO run;
	ELSE
		UPDATE racing_sched.job_runs SET status = 'running',
			started_at = clock_timestamp() - make_interval(secs => secs) WHERE job_run_id = run;
	END IF;
	PERFORM racing_sched._finish_run(run, status, items, failed,
		CASE WHEN status = 'success' THEN '{}'::text[] ELSE '{boom}' END, '{}', NULL, retry);
	RETURN run;
END $$;

-- Before any run: every built-in job has its series, all zero.
SELECT is((SELECT count(*) FROM metrics_job_runs), 20::bigint, 'five jobs by four outcomes');
SELECT is((SELECT sum(runs_total) FROM metrics_job_runs), 0::numeric, 'all zero before any run');
SELECT is((SELECT count(*) FROM metrics_jobs), 5::bigint, 'one row per job');
SELECT is((SELECT string_agg(phase, ',' ORDER BY phase) FROM metrics_phases),
	'post_race,pre_race_t15,pre_race_t60', 'one row per race-driven job');

-- A custom job: a failed run retried once with success, then a partial run.
INSERT INTO jobs (job_name, job_type, schedule, command, owner, retry_delays)
VALUES ('mt', 'sql', '0 0 1 1 *', 'SELECT 1', 'postgres', '{1 second, 1 second}');
DO $$
BEGIN
	PERFORM pg_temp.finish('failed', 3, 0, 2);
	PERFORM pg_temp.finish('success', 5, 0, 2, true,
		(SELECT job_run_id FROM racing_sched.job_runs WHERE job_name = 'mt' AND trigger = 'retry'));
	PERFORM pg_temp.finish('partial', 4, 1, 2, false);
	-- one cancelled while queued, one queued 10 minutes overdue, one running
	PERFORM racing_sched.cancel(racing_sched.run_now('mt'));
END $$;
INSERT INTO job_runs (job_name, job_type, trigger, due_at) VALUES ('mt', 'sql', 'manual', now() - interval '10 minutes');
INSERT INTO job_runs (job_name, job_type, trigger, due_at) VALUES ('mt', 'sql', 'retry', now() + interval '1 hour');
INSERT INTO job_runs (job_name, job_type, trigger, status, started_at) VALUES ('mt', 'sql', 'manual', 'running', now());

SELECT results_eq($$SELECT status, runs_total FROM metrics_job_runs WHERE job_name = 'mt' ORDER BY status$$,
	$$VALUES ('cancelled', 1::bigint), ('failed', 1::bigint), ('partial', 1::bigint), ('success', 1::bigint)$$,
	'runs by outcome');
SELECT results_eq($$SELECT retry, retries_total FROM metrics_job_retries WHERE job_name = 'mt' ORDER BY retry$$,
	$$VALUES ('1', 1::bigint), ('2', 0::bigint)$$, 'retries by number, every allowed retry present');
SELECT results_eq($$SELECT job_type, enabled, active_runs, queued_runs, due_runs, items_processed_total,
						   items_failed_total, consecutive_failures, duration_count FROM metrics_jobs WHERE job_name = 'mt'$$,
	$$VALUES ('sql', 1, 1::bigint, 2::bigint, 1::bigint, 12::bigint, 1::bigint, 0, 3::bigint)$$,
	'gauges and counters of the job');
SELECT cmp_ok((SELECT oldest_due_run_age_seconds FROM metrics_jobs WHERE job_name = 'mt'), '>=', 600::float8,
	'age of the oldest due run');
SELECT ok((SELECT last_success_timestamp_seconds > 0 AND last_failure_timestamp_seconds > 0
			  AND next_run_timestamp_seconds > extract(epoch FROM now()) FROM metrics_jobs WHERE job_name = 'mt'),
	'last success, last failure and next run as Unix times');
SELECT is((SELECT last_success_timestamp_seconds FROM metrics_jobs WHERE job_name = 'cleanup_job_runs'), 0::float8,
	'never succeeded: 0');
SELECT is((SELECT next_run_timestamp_seconds FROM metrics_jobs WHERE job_name = 'pre_race_t15'), 0::float8,
	'no race to come: 0');
SELECT results_eq($$SELECT duration_le, duration_buckets FROM metrics_jobs WHERE job_name = 'mt'$$,
	$$VALUES ('{0.1,0.5,1,5,10,30,60,300,900,3600}'::float8[], '{0,0,0,3,3,3,3,3,3,3}'::bigint[])$$,
	'three runs of about 2 s: cumulative buckets');
SELECT ok((SELECT duration_sum_seconds BETWEEN 6 AND 7 FROM metrics_jobs WHERE job_name = 'mt'),
	'duration sum in seconds');

-- Cleanup deletes the history: nothing counted goes down.
CREATE TEMP TABLE before AS SELECT * FROM metrics_job_runs;
CREATE TEMP TABLE before_jobs AS SELECT * FROM metrics_jobs;
DELETE FROM job_runs WHERE job_name = 'mt' AND status NOT IN ('queued', 'running');
SELECT set_eq('SELECT * FROM metrics_job_runs', 'SELECT * FROM before', 'runs counters survive the cleanup');
SELECT is((SELECT (items_processed_total, items_failed_total, duration_count, duration_buckets)::text
		   FROM metrics_jobs WHERE job_name = 'mt'),
	(SELECT (items_processed_total, items_failed_total, duration_count, duration_buckets)::text
	 FROM before_jobs WHERE job_name = 'mt'), 'items and durations survive the cleanup');

-- An unscheduled custom job keeps its series.
DELETE FROM job_runs WHERE job_name = 'mt';
DELETE FROM jobs WHERE job_name = 'mt';
SELECT set_eq($$SELECT * FROM metrics_job_runs WHERE job_name = 'mt'$$,
	$$SELECT * FROM before WHERE job_name = 'mt'$$, 'an unscheduled job keeps its counters');
SELECT results_eq($$SELECT enabled, active_runs, queued_runs, next_run_timestamp_seconds FROM metrics_jobs WHERE job_name = 'mt'$$,
	$$VALUES (0, 0::bigint, 0::bigint, 0::float8)$$, 'and reads as disabled, idle');

-- HTTP requests: counters and the duration histogram by endpoint and status.
SELECT _record_http('race', 200, true, 40000, 120);
SELECT _record_http('race', 200, true, 60000, 30);
SELECT _record_http('race', 503, false, 0, 7000);
SELECT _record_http('meetings', 0, false, 0, 30001);
SELECT results_eq($$SELECT endpoint, http_status, requests_total, request_failures_total, response_bytes_total,
						   request_duration_buckets, request_duration_sum_seconds, request_duration_count
					FROM metrics_http ORDER BY 1, 2$$,
	$$VALUES ('meetings', '0', 1::bigint, 1::bigint, 0::bigint, '{0,0,0,0,0,0,0,0,0}'::bigint[], 30.001::float8, 1::bigint),
			 ('race', '200', 2::bigint, 0::bigint, 100000::bigint, '{1,1,2,2,2,2,2,2,2}'::bigint[], 0.15::float8, 2::bigint),
			 ('race', '503', 1::bigint, 1::bigint, 0::bigint, '{0,0,0,0,0,0,0,1,1}'::bigint[], 7::float8, 1::bigint)$$,
	'requests, failures, bytes and durations by endpoint and status');

-- Lateness of snapshots and missed phases.
SELECT _record_lateness('pre_race_t15', 45);
SELECT _record_lateness('pre_race_t15', -2);
SELECT _record_lateness('pre_race_t15', NULL);
UPDATE job_stats SET missed_phases = 2 WHERE job_name = 'pre_race_t60';
INSERT INTO job_stats (job_name, job_type, missed_phases) VALUES ('pre_race_t60', 'pre_race_t60', 2)
	ON CONFLICT DO NOTHING;
-- The racing jobs' call: lateness from the planned edge of the race.
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name) VALUES ('2026-11-28', 'R', 'RHL', 'ROSEHILL');
INSERT INTO races (meeting_id, race_number, start_time) SELECT meeting_id, 1, '2026-11-28 12:00Z' FROM meetings;
INSERT INTO races (meeting_id, race_number, start_time) SELECT meeting_id, 2, '2026-11-28 12:30Z' FROM meetings;
INSERT INTO race_phases (race_id, job_name, edge_at, state)
SELECT race_id, 'pre_race_t15', start_time - interval '15 minutes', CASE race_number WHEN 1 THEN 'planned' ELSE 'missed' END
FROM races;
SELECT _record_phase_snapshot('pre_race_t15', race_id, '2026-11-28 11:45:03.5Z') FROM races;
SELECT _record_phase_snapshot('pre_race_t60', race_id, '2026-11-28 11:45:03.5Z') FROM races;
SELECT results_eq($$SELECT phase, lateness_buckets, lateness_sum_seconds, lateness_count, missed_total
					FROM metrics_phases ORDER BY phase$$,
	$$VALUES ('post_race', '{0,0,0,0,0,0,0,0,0,0}'::bigint[], 0::float8, 0::bigint, 0::bigint),
			 ('pre_race_t15', '{1,1,2,2,2,2,3,3,3,3}'::bigint[], 48.5::float8, 3::bigint, 0::bigint),
			 ('pre_race_t60', '{0,0,0,0,0,0,0,0,0,0}'::bigint[], 0::float8, 0::bigint, 2::bigint)$$,
	'lateness histogram (negative counts as 0, NULL not at all) and missed phases');

-- The scheduler and the tables.
SELECT is((SELECT count(*) FROM metrics_scheduler), 1::bigint, 'one scheduler row');
-- (whether a scheduler is attached to this cluster or not: 006_exporter sees it up)
SELECT is((SELECT (m.up, m.heartbeat_timestamp_seconds > 0, m.start_time_seconds > 0)::text
		   FROM metrics_scheduler m),
	(SELECT ((pid IS NOT NULL)::int, pid IS NOT NULL, pid IS NOT NULL)::text FROM scheduler_status()),
	'up, heartbeat and start as scheduler_status() has them, 0 for none');
SELECT ok((SELECT bytes > 0 AND rows >= 0 FROM metrics_tables WHERE table_name = 'job_runs'),
	'job_runs rows and bytes');

-- Every view: no NULL, one row per label set, histograms cumulative.
SELECT is(pg_temp.no_nulls(v), 0::bigint, v || ': no NULL')
FROM unnest('{metrics_job_runs,metrics_job_retries,metrics_jobs,metrics_http,metrics_phases,metrics_scheduler,metrics_tables}'::text[]) v;
SELECT is((SELECT count(*) - count(DISTINCT (job_name, status)) FROM metrics_job_runs), 0::bigint,
	'runs: one row per job and status');
SELECT is((SELECT count(*) - count(DISTINCT (job_name, retry)) FROM metrics_job_retries), 0::bigint,
	'retries: one row per job and retry');
SELECT is((SELECT count(*) - count(DISTINCT job_name) FROM metrics_jobs), 0::bigint, 'jobs: one row per job');
SELECT is((SELECT count(*) FROM metrics_jobs x
		   WHERE x.duration_buckets <> (SELECT array_agg(c ORDER BY c) FROM unnest(x.duration_buckets) c)
			  OR x.duration_buckets[cardinality(x.duration_buckets)] > x.duration_count),
	0::bigint, 'duration buckets never decrease nor pass the count');

-- A monitoring role reads the views and health(), and nothing else.
CREATE ROLE rs_monitor_test;
GRANT USAGE ON SCHEMA racing_sched TO rs_monitor_test;
GRANT SELECT ON metrics_job_runs, metrics_job_retries, metrics_jobs, metrics_http, metrics_phases,
	metrics_scheduler, metrics_tables, recent_failures TO rs_monitor_test;
GRANT EXECUTE ON FUNCTION health() TO rs_monitor_test;
SET ROLE rs_monitor_test;
SELECT lives_ok($$SELECT * FROM racing_sched.metrics_job_runs, racing_sched.metrics_job_retries,
					racing_sched.metrics_jobs, racing_sched.metrics_http, racing_sched.metrics_phases,
					racing_sched.metrics_scheduler, racing_sched.metrics_tables, racing_sched.recent_failures$$,
	'the monitoring role reads every metrics view');
SELECT ok(racing_sched.health() ? 'status', 'and calls health()');
SELECT throws_ok('SELECT * FROM racing_sched.job_stats', '42501', NULL, 'but not the tables');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
