-- demo/compress.sql: compress the built-in jobs' race-driven timing for the
-- demo's simulated day, dividing every race offset, tolerance and retry
-- delay by :scale (psql -v scale=60: a minute becomes a second), then list
-- the jobs as they now are.  Cron schedules and timeouts are left alone.
SELECT count(*) AS compressed
FROM racing_sched.jobs j,
LATERAL racing_sched.alter_job(
	j.job_name,
	race_offset => j.race_offset / :scale,
	tolerance => j.tolerance / :scale,
	retry_delays => (SELECT array_agg(d / :scale ORDER BY i)
					 FROM unnest(j.retry_delays) WITH ORDINALITY AS u(d, i))) AS a
WHERE j.job_type <> 'sql' \gset

SELECT format('  %-17s %-24s tolerance %-9s retries %s', job_name,
			  coalesce('cron ' || schedule,
					   'start ' || CASE WHEN race_offset < '0' THEN '- ' || (-race_offset)::text
										ELSE '+ ' || race_offset::text END),
			  coalesce(tolerance::text, '-'),
			  CASE WHEN cardinality(retry_delays) = 0 THEN 'none' ELSE retry_delays::text END)
FROM racing_sched.jobs WHERE job_type <> 'sql'
ORDER BY race_offset NULLS FIRST, job_name;
