-- racing_sched 1.0 -> 1.1.  CREATE EXTENSION installs 1.0 and then runs this
-- script, so a new install and an upgraded one end with the same objects.
-- Each change keeps the data and the schedules of a running installation,
-- and the library works against both 1.0 and 1.1 until the update is run.

\echo Use "ALTER EXTENSION racing_sched UPDATE TO '1.1'" to load this file. \quit

-- _cleanup_batch: find a batch through the (status, started_at) index and
-- delete it through the primary key.  The 1.0 body joined the batch's ids
-- back to job_runs, which the planner did with a sequential scan of the
-- whole table for every batch of 5,000: deleting 1,000,000 old runs took
-- twice as long as one plain DELETE (bench/cleanup).
CREATE OR REPLACE FUNCTION _cleanup_batch(p_cutoff timestamptz, p_limit integer) RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
WITH d AS (
	DELETE FROM racing_sched.job_runs WHERE job_run_id = ANY (ARRAY(
		SELECT job_run_id FROM racing_sched.job_runs
		WHERE status = 'success' AND started_at < p_cutoff
		ORDER BY status, started_at
		LIMIT p_limit FOR UPDATE SKIP LOCKED))
	RETURNING 1)
SELECT count(*) FROM d
$$;
