-- The job engine's SQL side: run_now and its dedupe, argument checks, the
-- end of a run with counters and retries, cancel, alter_job.
-- The shared test cluster runs with racing_sched.enabled = off, so nothing
-- here is picked up by the scheduler.
BEGIN;
SELECT plan(58);
SET search_path = racing_sched, public;

-- run_now: a queued manual run, due now, with a dedupe key per racing day.
SELECT lives_ok($$SELECT run_now('morning_scrape', '{"date": "2026-11-28"}')$$, 'run_now queues a morning scrape');
SELECT results_eq($$SELECT status, trigger, dedupe_key, args FROM job_runs WHERE job_name = 'morning_scrape'$$,
	$$VALUES ('queued', 'manual', 'morning_scrape:2026-11-28', '{"date": "2026-11-28"}'::jsonb)$$,
	'queued manual run with its dedupe key');
SELECT is(run_now('morning_scrape', '{"date": "2026-11-28"}'),
	(SELECT job_run_id FROM job_runs WHERE job_name = 'morning_scrape'),
	'run_now of work already queued returns the existing run');
SELECT is((SELECT count(*) FROM job_runs WHERE job_name = 'morning_scrape'), 1::bigint, 'and queues nothing more');
SELECT isnt(run_now('morning_scrape', '{"date": "2026-11-29"}'),
	(SELECT job_run_id FROM job_runs WHERE dedupe_key = 'morning_scrape:2026-11-28'),
	'another racing day is other work');
SELECT is(_dedupe_key('morning_scrape', 'morning_scrape', '{"days_ahead": 1}', '2026-11-28 20:00Z'),
	'morning_scrape:2026-11-30', 'days_ahead counts from today in racing_sched.timezone (Sydney is a day ahead)');

-- Bad arguments: clear errors with their SQLSTATE, nothing queued.
SELECT throws_ok($$SELECT run_now(NULL)$$, '22004', 'job_name must not be null', 'NULL job name');
SELECT throws_ok($$SELECT run_now('morning_scrape', NULL)$$, '22004', 'args must not be null', 'NULL args');
SELECT throws_ok($$SELECT run_now('no_such_job')$$, '42704', 'job "no_such_job" does not exist', 'unknown job');
SELECT throws_ok($$SELECT run_now('morning_scrape', '[1,2]')$$, '22023', 'args must be a JSON object', 'args not an object');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"dat": "2026-11-28"}')$$, '22023',
	'unknown argument "dat" for a morning_scrape job', 'unknown argument');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"date": "28/11/2026"}')$$, '22023', NULL, 'malformed date');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"date": "2026-13-45"}')$$, '22023',
	'invalid value for argument "date": "2026-13-45"', 'impossible date');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"days_ahead": -1}')$$, '22023', NULL, 'negative days_ahead');
SELECT throws_ok($$SELECT run_now('post_race', '{"race_id": "x"}')$$, '22023', NULL, 'race_id of the wrong type');
SELECT throws_ok($$SELECT run_now('cleanup_job_runs', jsonb_build_object('deadline', repeat('x', 70000)))$$,
	'54000', NULL, 'oversized args');
SELECT is((SELECT count(*) FROM job_runs), 2::bigint, 'no bad call queued anything');

-- _finish_run: terminal state once, counters in the same transaction.
CREATE TEMP TABLE ids AS SELECT run_now('cleanup_job_runs') AS id;
UPDATE job_runs SET status = 'running', started_at = now() - interval '2 s', worker_pid = 4242
WHERE job_run_id = (SELECT id FROM ids);
SELECT ok(NOT _finish_run((SELECT id FROM ids), 'success', 5, 0, '{}', '{}', 1111, true),
	'another worker''s run is not ended');
SELECT ok(_finish_run((SELECT id FROM ids), 'success', 5, 0, '{}', '{"deleted": 5}', 4242, true),
	'the owning worker ends it');
SELECT ok(NOT _finish_run((SELECT id FROM ids), 'failed', 0, 0, '{late}', '{}', 4242, true),
	'a run ends once');
SELECT results_eq($$SELECT status, items_processed, errors, metadata->>'deleted', duration_ms >= 2000, completed_at IS NOT NULL
	FROM job_runs WHERE job_run_id = (SELECT id FROM ids)$$,
	$$VALUES ('success', 5, '{}'::text[], '5', true, true)$$, 'terminal state written');
SELECT results_eq($$SELECT runs_success, items_processed, duration_count, last_status, consecutive_failures,
	duration_buckets[4] FROM job_stats WHERE job_name = 'cleanup_job_runs'$$,
	$$VALUES (1::bigint, 5::bigint, 1::bigint, 'success', 0, 1::bigint)$$,
	'job_stats counted it (a 2 s run falls in the 5 s bucket)');

-- Retries: a failed run gets a child due at completion + the job's delay.
DELETE FROM ids;
INSERT INTO ids SELECT run_now('morning_scrape', '{"date": "2026-12-01"}');
UPDATE job_runs SET status = 'running', started_at = now(), worker_pid = 1 WHERE job_run_id = (SELECT id FROM ids);
SELECT ok(_finish_run((SELECT id FROM ids), 'failed', 0, 2, '{"boom"}', '{}', 1, true), 'first attempt fails');
SELECT results_eq($$SELECT c.trigger, c.retry_count, c.status, c.due_at = p.completed_at + interval '30 minutes',
		c.dedupe_key = p.dedupe_key, c.args
	FROM job_runs p JOIN job_runs c ON c.parent_job_run_id = p.job_run_id
	WHERE p.job_run_id = (SELECT id FROM ids)$$,
	$$VALUES ('retry', 1, 'queued', true, true, '{"date": "2026-12-01"}'::jsonb)$$,
	'a retry row, queued at completion + 30 minutes, same work');
SELECT is((SELECT (metadata->>'retry_scheduled')::boolean AND (metadata->>'retry_job_run_id')::bigint =
	(SELECT job_run_id FROM job_runs WHERE parent_job_run_id = (SELECT id FROM ids))
	FROM job_runs WHERE job_run_id = (SELECT id FROM ids)), true, 'the parent names its retry');
SELECT is((SELECT retries FROM job_stats WHERE job_name = 'morning_scrape'), '{1}'::bigint[], 'retry counted by number');
SELECT is((SELECT consecutive_failures FROM job_stats WHERE job_name = 'morning_scrape'), 1, 'consecutive failure counted');

-- Walk the chain to its end: three retries, then no more.
CREATE FUNCTION pg_temp.fail_next() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE id bigint;
BEGIN
	SELECT job_run_id INTO id FROM racing_sched.job_runs
	WHERE dedupe_key = 'morning_scrape:2026-12-01' AND status = 'queued';
	UPDATE racing_sched.job_runs SET status = 'running', started_at = now(), worker_pid = 1 WHERE job_run_id = id;
	PERFORM racing_sched._finish_run(id, 'failed', 0, 1, '{"boom"}', '{}', 1, true);
	RETURN id;
END $$;
SELECT pg_temp.fail_next();
SELECT pg_temp.fail_next();
CREATE TEMP TABLE last_run AS SELECT pg_temp.fail_next() AS id;
SELECT results_eq($$SELECT retry_count, metadata->>'retry_scheduled', metadata->>'retry_skipped'
	FROM job_runs WHERE job_run_id = (SELECT id FROM last_run)$$,
	$$VALUES (3, 'false', 'no retries left (3 allowed)')$$, 'the third retry is the last');
SELECT is((SELECT count(*) FROM job_runs WHERE dedupe_key = 'morning_scrape:2026-12-01'), 4::bigint,
	'one run and three retries');
SELECT is((SELECT retries FROM job_stats WHERE job_name = 'morning_scrape'), '{1,1,1}'::bigint[], 'retries by number');
SELECT is((SELECT consecutive_failures FROM job_stats WHERE job_name = 'morning_scrape'), 4, 'four failures in a row');

-- A partial run retries with the arguments the job asked for.
DELETE FROM ids;
INSERT INTO ids SELECT run_now('morning_scrape', '{"date": "2026-12-02"}');
UPDATE job_runs SET status = 'running', started_at = now(), worker_pid = 1 WHERE job_run_id = (SELECT id FROM ids);
SELECT ok(_finish_run((SELECT id FROM ids), 'partial', 3, 1, '{"VIC failed"}',
	'{"retry_args": {"date": "2026-12-02", "jurisdictions": ["VIC"]}}', 1, true), 'partial run');
SELECT is((SELECT args FROM job_runs WHERE parent_job_run_id = (SELECT id FROM ids)),
	'{"date": "2026-12-02", "jurisdictions": ["VIC"]}'::jsonb, 'its retry fetches only what failed');

-- A deadline stops retries that would come after it.
DELETE FROM ids;
INSERT INTO ids SELECT run_now('pre_race_t15', jsonb_build_object('race_id', 7, 'deadline', now() + interval '90 s'));
UPDATE job_runs SET status = 'running', started_at = now(), worker_pid = 1 WHERE job_run_id = (SELECT id FROM ids);
SELECT ok(_finish_run((SELECT id FROM ids), 'failed', 0, 1, '{"x"}', '{}', 1, true), 'pre-race run fails');
SELECT is((SELECT count(*) FROM job_runs WHERE parent_job_run_id = (SELECT id FROM ids)), 1::bigint,
	'retry after 1 minute comes before the deadline');
UPDATE job_runs SET status = 'running', started_at = now(), worker_pid = 1
WHERE parent_job_run_id = (SELECT id FROM ids);
SELECT ok(_finish_run((SELECT job_run_id FROM job_runs WHERE parent_job_run_id = (SELECT id FROM ids)),
	'failed', 0, 1, '{"x"}', '{}', 1, true), 'first retry fails');
SELECT alike((SELECT metadata->>'retry_skipped' FROM job_runs WHERE parent_job_run_id = (SELECT id FROM ids)),
	'%past the deadline%', 'no retry past the deadline');

-- cancel: queued → cancelled; running → a request the scheduler carries out.
DELETE FROM ids;
INSERT INTO ids SELECT run_now('morning_scrape', '{"date": "2026-12-03"}');
SELECT ok(cancel((SELECT id FROM ids)), 'cancel a queued run');
SELECT results_eq($$SELECT status, completed_at IS NOT NULL, metadata->>'cancelled_by' = current_user FROM job_runs
	WHERE job_run_id = (SELECT id FROM ids)$$, $$VALUES ('cancelled', true, true)$$, 'cancelled, saying by whom');
SELECT ok(NOT cancel((SELECT id FROM ids)), 'a finished run cannot be cancelled');
SELECT throws_ok(format('SELECT wait_for(%s, ''1s'')', (SELECT id FROM ids)), '25001',
	format('job run %s was queued or changed by this transaction', (SELECT id FROM ids)),
	'wait_for refuses to wait for its own transaction''s run');
SELECT throws_ok($$SELECT cancel(NULL)$$, '22004', NULL, 'cancel(NULL)');
SELECT throws_ok($$SELECT cancel(-1)$$, '42704', 'job run -1 does not exist', 'cancel of an unknown run');

-- alter_job: NULL keeps a value; bad values are refused.
SELECT lives_ok($$SELECT alter_job('pre_race_t15', race_offset => '-15 seconds', tolerance => '5 seconds',
	retry_delays => '{1 second,2 seconds}')$$, 'scale a race phase down to seconds');
SELECT results_eq($$SELECT race_offset, tolerance, retry_delays, enabled, timeout FROM jobs WHERE job_name = 'pre_race_t15'$$,
	$$VALUES ('-15 seconds'::interval, '5 seconds'::interval, '{1 second,2 seconds}'::interval[], true, '5 minutes'::interval)$$,
	'changed what was given, kept the rest');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => '61 * * * *')$$, '22023', NULL, 'bad cron');
SELECT throws_ok($$SELECT alter_job('pre_race_t15', schedule => '* * * * *')$$, '22023', NULL, 'race phases have no schedule');
SELECT throws_ok($$SELECT alter_job('morning_scrape', race_offset => '1 minute')$$, '22023', NULL, 'cron jobs have no offset');
SELECT throws_ok($$SELECT alter_job('morning_scrape', timeout => '-1 minute')$$, '22023', NULL, 'negative timeout');
SELECT throws_ok($$SELECT alter_job('morning_scrape', timeout => '100 years')$$, '22023', NULL, 'huge timeout');
SELECT throws_ok($$SELECT alter_job('morning_scrape', retry_delays => '{-1 minute}')$$, '22023', NULL, 'negative delay');
SELECT throws_ok($$SELECT alter_job('pre_race_t60', race_offset => '2 days')$$, '22023', NULL, 'offset beyond a day');
SELECT throws_ok($$SELECT alter_job(NULL)$$, '22004', NULL, 'NULL job name');
SELECT throws_ok($$SELECT alter_job('nope', enabled => false)$$, '42704', NULL, 'unknown job');
SELECT lives_ok($$SELECT alter_job('morning_scrape', schedule => '30 5 * * 1-5')$$, 'new schedule');
SELECT is((SELECT last_fire_at FROM jobs WHERE job_name = 'morning_scrape'), now(),
	'a new schedule counts from now: no catch-up fire');

UPDATE jobs SET enabled = false, last_fire_at = now() - interval '3 days' WHERE job_name = 'cleanup_job_runs';
SELECT lives_ok($$SELECT alter_job('cleanup_job_runs', enabled => true)$$, 'enable a paused job');
SELECT is((SELECT last_fire_at FROM jobs WHERE job_name = 'cleanup_job_runs'), now(),
	'a job enabled again counts from now: no catch-up fire for the pause');

SELECT * FROM finish();
ROLLBACK;
