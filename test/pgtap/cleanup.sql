-- cleanup_job_runs: what one batch deletes (racing_sched._cleanup_batch,
-- the statement the job runs per transaction), and its schedule on the
-- Sydney DST-change days.
BEGIN;
SELECT plan(12);
SET search_path = racing_sched, public;

CREATE FUNCTION pg_temp.seed(name text, st text, age interval, parent bigint DEFAULT NULL)
RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO racing_sched.job_runs (job_name, job_type, status, trigger, due_at, started_at,
									   completed_at, items_failed, parent_job_run_id, metadata)
	VALUES ('morning_scrape', 'morning_scrape', st, 'manual', now() - age,
			CASE WHEN st NOT IN ('queued', 'cancelled') THEN now() - age END,
			CASE WHEN st NOT IN ('queued', 'running') THEN now() - age + interval '1 second' END,
			CASE WHEN st = 'partial' THEN 1 ELSE 0 END, parent, jsonb_build_object('seed', name))
	RETURNING job_run_id
$$;
CREATE FUNCTION pg_temp.left_seeds() RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(metadata->>'seed', ',' ORDER BY metadata->>'seed') FROM racing_sched.job_runs
$$;

DELETE FROM job_runs;
SELECT pg_temp.seed('old_success_1', 'success', '20 days');
SELECT pg_temp.seed('old_success_2', 'success', '15 days');
SELECT pg_temp.seed('old_failed', 'failed', '20 days');
SELECT pg_temp.seed('old_partial', 'partial', '20 days');
SELECT pg_temp.seed('old_cancelled', 'cancelled', '20 days');
SELECT pg_temp.seed('old_queued', 'queued', '20 days');
SELECT pg_temp.seed('new_success', 'success', '13 days');
SELECT pg_temp.seed('edge_success', 'success', '14 days');
-- a retry whose parent is an old success, and a scrape of that parent
SELECT pg_temp.seed('old_success_parent', 'success', '16 days');
SELECT pg_temp.seed('retry_child', 'failed', '16 days',
	(SELECT job_run_id FROM job_runs WHERE metadata->>'seed' = 'old_success_parent'));
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name)
VALUES ('2026-11-28', 'R', 'RHL', 'ROSEHILL');
INSERT INTO scrapes (job_run_id, scrape_type, meeting_id)
SELECT (SELECT job_run_id FROM job_runs WHERE metadata->>'seed' = 'old_success_parent'),
	   'morning_scrape', meeting_id FROM meetings;

-- The cutoff as the job computes it: now - success_retention (14 days);
-- a run started exactly at the cutoff is not older than it.
CREATE TEMP TABLE cutoff AS
SELECT (SELECT started_at FROM job_runs WHERE metadata->>'seed' = 'edge_success') AS t;

SELECT is(_cleanup_batch((SELECT t FROM cutoff), 2), 2::bigint, 'a batch deletes at most its limit');
SELECT is(_cleanup_batch((SELECT t FROM cutoff), 2), 1::bigint, 'the next batch takes the rest');
SELECT is(_cleanup_batch((SELECT t FROM cutoff), 2), 0::bigint, 'then nothing is left to delete');
SELECT is(pg_temp.left_seeds(),
	'edge_success,new_success,old_cancelled,old_failed,old_partial,old_queued,retry_child',
	'exactly the successful runs older than the cutoff are gone');
SELECT ok((SELECT parent_job_run_id IS NULL FROM job_runs WHERE metadata->>'seed' = 'retry_child'),
	'a retry of a deleted run keeps its row, its parent link NULL');
SELECT is((SELECT count(*) FROM scrapes WHERE job_run_id IS NULL), 1::bigint,
	'a scrape of a deleted run keeps its row, its job_run_id NULL');

-- Rows another transaction holds are skipped, not waited for (one session
-- cannot hold a lock against itself, so the clause is checked).
SELECT matches(pg_get_functiondef('_cleanup_batch(timestamptz, integer)'::regprocedure),
	'FOR UPDATE SKIP LOCKED', 'batches skip rows other transactions hold');

-- The schedule: 02:00 in Sydney runs once on each DST-change day.
SELECT is(cron_next('0 2 * * *', '2026-10-04 00:00+10', 'Australia/Sydney'),
	'2026-10-04 03:00+11'::timestamptz, 'spring forward: 02:00 does not exist, runs at 03:00');
SELECT is(cron_next('0 2 * * *', '2026-10-04 03:00+11', 'Australia/Sydney'),
	'2026-10-05 02:00+11'::timestamptz, '... and not again that day');
SELECT is(cron_next('0 2 * * *', '2026-04-05 00:00+11', 'Australia/Sydney'),
	'2026-04-05 02:00+11'::timestamptz, 'fall back: the first 02:00');
SELECT is(cron_next('0 2 * * *', '2026-04-05 02:00+11', 'Australia/Sydney'),
	'2026-04-06 02:00+10'::timestamptz, '... and not the second');
SELECT is((SELECT schedule FROM jobs WHERE job_name = 'cleanup_job_runs'), '0 2 * * *',
	'cleanup_job_runs runs at 02:00');

SELECT * FROM finish();
ROLLBACK;
