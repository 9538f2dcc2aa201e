-- demo/summary.sql: the demo's end-of-day summary.  What was stored, the job
-- runs by job and status, the lateness of the pre-race snapshots, the
-- requests the simulator served (psql -v simstats='<GET /_control/stats>'),
-- and every failed or partial run with its reason.  The verdict (did the day
-- complete) is demo/run's.
\pset footer off
\pset null '-'

\echo
\echo '== Stored'
SELECT what, n AS count FROM (VALUES
	(1, 'meetings', (SELECT count(*) FROM racing_sched.meetings)::text
		|| ' (' || (SELECT string_agg(race_type || ' ' || n, ', ' ORDER BY race_type)
					FROM (SELECT race_type, count(*) n FROM racing_sched.meetings GROUP BY 1) t) || ')'),
	(2, 'races', (SELECT count(*) || ' (' || count(*) FILTER (WHERE official_at IS NOT NULL) || ' official, '
					|| count(*) FILTER (WHERE abandoned_at IS NOT NULL) || ' abandoned, '
					|| count(*) FILTER (WHERE interim_at IS NOT NULL) || ' seen provisional first)'
				  FROM racing_sched.races)),
	(3, 'runners', (SELECT count(*) || ' (' || count(*) FILTER (WHERE scratched) || ' scratched, '
					|| count(*) FILTER (WHERE late_scratched) || ' late)' FROM racing_sched.runners)),
	(4, 'odds snapshots', (SELECT count(*) FILTER (WHERE scrape_type = 'pre_race_t60') || ' T-60, '
						   || count(*) FILTER (WHERE scrape_type = 'pre_race_t15') || ' T-15 ('
						   || (SELECT count(*) FROM racing_sched.odds) || ' odds rows)'
						   FROM racing_sched.scrapes)),
	(5, 'results', (SELECT count(*) || ' placings (' || count(*) FILTER (WHERE official) || ' official, '
					|| count(*) FILTER (WHERE NOT official) || ' provisional), '
					|| (SELECT count(*) FROM (SELECT race_id, position FROM racing_sched.results
											  GROUP BY 1, 2 HAVING count(*) > 1) dh) || ' dead heat(s)'
					FROM racing_sched.results)),
	(6, 'dividends', (SELECT count(*) || ' (' || count(DISTINCT race_id) || ' races, '
					  || count(DISTINCT product) || ' products)' FROM racing_sched.dividends)),
	(7, 'fetches', (SELECT sum(n) || ' (' || string_agg(scrape_type || ' ' || n, ', ' ORDER BY scrape_type) || ')'
					FROM (SELECT scrape_type, count(*) n FROM racing_sched.scrapes GROUP BY 1) s))
) AS t(ord, what, n) ORDER BY ord;

\echo '== Job runs'
SELECT coalesce(job_name, 'all') AS job,
	   count(*) FILTER (WHERE status = 'success') AS success,
	   count(*) FILTER (WHERE status = 'partial') AS partial,
	   count(*) FILTER (WHERE status = 'failed') AS failed,
	   count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
	   count(*) FILTER (WHERE status IN ('queued', 'running')) AS unfinished,
	   count(*) FILTER (WHERE trigger = 'retry') AS retries,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)) AS "p50 ms"
FROM racing_sched.job_runs
GROUP BY ROLLUP (job_name)
ORDER BY job_name NULLS LAST;

\echo '== Pre-race snapshot lateness: fetched after start + race offset'
SELECT s.scrape_type AS phase, count(*) AS snapshots,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l.ms)) AS "p50 ms",
	   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l.ms)) AS "p99 ms",
	   round(max(l.ms)) AS "max ms",
	   min(j.tolerance) AS tolerance,
	   (SELECT coalesce(sum(missed_phases), 0) FROM racing_sched.job_stats js
		WHERE js.job_name = s.scrape_type) AS missed
FROM racing_sched.scrapes s
JOIN racing_sched.races r USING (race_id)
JOIN racing_sched.jobs j ON j.job_name = s.scrape_type,
LATERAL (SELECT extract(epoch FROM s.scraped_at - (r.start_time + j.race_offset)) * 1000 AS ms) l
WHERE s.scrape_type IN ('pre_race_t60', 'pre_race_t15')
GROUP BY s.scrape_type ORDER BY s.scrape_type DESC;

\echo '== Requests: served by the simulator, counted by the extension'
WITH st AS (SELECT :'simstats'::jsonb AS j),
per_race AS (
	SELECT (v->>'count')::int AS n
	FROM st, jsonb_each(st.j->'by_path') AS p(path, v)
	WHERE p.path ~ '/races/[^/]+$'
)
SELECT what, n AS value FROM (VALUES
	(1, 'requests served', (SELECT (j->'total'->>'requests') || ' (' ||
		(SELECT string_agg(k || ' ' || v, ', ' ORDER BY k) FROM jsonb_each_text(j->'by_status') AS s(k, v)) || ')' FROM st)),
	(2, 'meetings lists', (SELECT coalesce(j->'by_template'->'meetings'->>'count', '0') FROM st)),
	(3, 'race documents', (SELECT (coalesce((j->'by_template'->'race'->>'count')::int, 0)
		+ coalesce((j->'by_template'->'race_fixed'->>'count')::int, 0))::text FROM st)),
	(4, 'requests per race', (SELECT round(avg(n), 2) || ' mean, ' || min(n) || ' min, ' || max(n)
		|| ' max (at least 3: T-60, T-15, one post-race)' FROM per_race)),
	(5, 'faults injected', (SELECT coalesce(nullif((SELECT string_agg(k || ' ' || v, ', ' ORDER BY k)
		FROM jsonb_each_text(j->'by_fault') AS f(k, v)), ''), 'none') FROM st)),
	(6, 'requests of racing_sched', (SELECT sum(requests) || ' (' || string_agg(endpoint || ' ' ||
		CASE http_status WHEN 0 THEN 'no response' ELSE http_status::text END || ': ' || requests,
		', ' ORDER BY endpoint, http_status) || '), ' || sum(failures) || ' failed after their retries'
		FROM racing_sched.http_stats)),
	(7, 'retried inside a request', (SELECT ((j->'total'->>'requests')::bigint
		- (SELECT coalesce(sum(requests), 0) FROM racing_sched.http_stats))::text
		|| ' attempts (served minus requests)' FROM st))
) AS t(ord, what, n) ORDER BY ord;

\echo '== What failed, and why'
-- Runs that failed or were partial, by kind of reason; a post-race run that
-- found a race still Interim (provisional) is partial by design.
WITH f AS (
	SELECT f.*,
		   CASE WHEN cardinality(f.errors) > 0 THEN 'errors (below)'
				WHEN jsonb_array_length(coalesce(f.metadata->'race_ids_provisional', '[]')) > 0
				THEN 'provisional results only (Interim): official ones still to come'
				ELSE 'see metadata' END AS kind,
		   (SELECT c.status FROM racing_sched.job_runs c
			WHERE c.job_run_id = (f.metadata->>'retry_job_run_id')::bigint) AS retry_status
	FROM racing_sched.job_runs f WHERE f.status IN ('failed', 'partial')
)
SELECT job_name AS job, status, kind AS reason, count(*) AS runs,
	   coalesce(string_agg(DISTINCT 'retry ' || retry_status, ', '), 'not retried') AS "their retries"
FROM f GROUP BY job_name, status, kind
ORDER BY job_name, status, kind;

SELECT count(*) > 0 AS has_errors FROM racing_sched.job_runs
WHERE status IN ('failed', 'partial') AND cardinality(errors) > 0 \gset
\if :has_errors
\echo 'Runs with errors:'
SELECT f.job_run_id AS run, f.job_name AS job, f.status, f.retry_count AS retry,
	   array_to_string(f.errors, E'\n') AS errors,
	   CASE WHEN (f.metadata->>'retry_scheduled')::boolean
			THEN 'retry #' || (f.metadata->>'retry_job_run_id') || ': '
				 || (SELECT c.status FROM racing_sched.job_runs c
					 WHERE c.job_run_id = (f.metadata->>'retry_job_run_id')::bigint)
			ELSE coalesce(f.metadata->>'retry_skipped', 'not retried') END AS then
FROM racing_sched.job_runs f
WHERE f.status IN ('failed', 'partial') AND cardinality(f.errors) > 0
ORDER BY f.job_run_id;
\else
\echo 'No run had errors.'
\endif
