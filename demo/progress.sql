-- demo/progress.sql: one refresh of the demo's live view of the racing day,
-- as one text value: a block of lines (psql -v compact=off), or a single
-- line for a log (compact=on).  :'since' is when the day's morning scrape
-- was triggered.  It reads the extension's tables only: what the scheduler
-- knows, not what the simulator plans.
WITH r AS (
	SELECT r.*, m.race_type, m.meeting_date,
		   m.meeting_name || ' R' || r.race_number || ' (' || m.race_type || ')' AS label
	FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
),
day AS (
	SELECT count(*) AS races,
		   count(*) FILTER (WHERE official_at IS NOT NULL OR abandoned_at IS NOT NULL) AS resulted,
		   count(*) FILTER (WHERE official_at IS NOT NULL) AS official,
		   count(*) FILTER (WHERE abandoned_at IS NOT NULL) AS abandoned,
		   count(*) FILTER (WHERE start_time <= now()) AS jumped,
		   count(*) FILTER (WHERE official_at IS NULL AND abandoned_at IS NULL
							AND EXISTS (SELECT FROM racing_sched.results x
										WHERE x.race_id = r.race_id)) AS provisional,
		   min(meeting_date) AS meeting_date
	FROM r
),
statuses AS (
	SELECT string_agg(status || ' ' || n, '  ' ORDER BY ord, status) AS line
	FROM (SELECT status, count(*) AS n,
				 coalesce(array_position('{Normal,Closed,Interim,Paying,Abandoned}'::text[], status), 9) AS ord
		  FROM r GROUP BY status) s
),
snaps AS (
	SELECT count(DISTINCT race_id) FILTER (WHERE scrape_type = 'pre_race_t60') AS t60,
		   count(DISTINCT race_id) FILTER (WHERE scrape_type = 'pre_race_t15') AS t15,
		   (SELECT count(*) FROM racing_sched.odds) AS odds
	FROM racing_sched.scrapes
),
runs AS (
	SELECT string_agg(status || ' ' || n, '  ' ORDER BY ord) AS line,
		   string_agg(replace(replace(status, 'success', 'ok'), 'running', 'run') || ' ' || n, ' '
					  ORDER BY ord) AS short
	FROM (SELECT s.status, coalesce(q.n, 0) AS n, s.ord
		  FROM unnest('{running,queued,success,partial,failed,cancelled}'::text[])
			   WITH ORDINALITY AS s(status, ord)
		  LEFT JOIN (SELECT status, count(*) AS n FROM racing_sched.job_runs GROUP BY status) q
			USING (status)) x
),
retries AS (
	SELECT coalesce(sum(n), 0) AS n,
		   coalesce(' (' || string_agg(job_name || ' ' || n, ', ' ORDER BY job_name) || ')', '') AS detail
	FROM (SELECT job_name, count(*) AS n FROM racing_sched.job_runs
		  WHERE trigger = 'retry' GROUP BY job_name) q
),
-- What comes next: queued runs, and race phases not yet planned.
next AS (
	SELECT q.due_at AS at, q.job_name,
		   CASE WHEN q.trigger = 'retry' THEN 'retry ' ELSE '' END ||
		   coalesce((SELECT string_agg(r.label, ', ' ORDER BY r.start_time)
					 FROM jsonb_array_elements_text(q.args->'race_ids') AS i
					 JOIN r ON r.race_id = i::bigint),
					q.args->>'date', '') AS what
	FROM racing_sched.job_runs q WHERE q.status = 'queued'
	UNION ALL
	SELECT r.start_time + j.race_offset, j.job_name, r.label
	FROM racing_sched.jobs j JOIN r ON true
	WHERE j.enabled AND j.race_offset IS NOT NULL
	  AND r.official_at IS NULL AND r.abandoned_at IS NULL
	  AND (j.race_offset > '0' OR r.start_time > now())
	  AND r.start_time + j.race_offset > now() - j.tolerance
	  AND NOT EXISTS (SELECT FROM racing_sched.race_phases p
					  WHERE p.race_id = r.race_id AND p.job_name = j.job_name)
),
next2 AS (
	SELECT string_agg(format('%-13s %-26s %s', job_name, what,
							 CASE WHEN at <= now() THEN 'due now'
								  ELSE 'in ' || round(extract(epoch FROM at - now())::numeric, 1) || ' s' END),
					  E'\n             ' ORDER BY at, job_name) AS lines,
		   (array_agg(job_name || ' ' || what || ' ' ||
					  CASE WHEN at <= now() THEN 'now'
						   ELSE 'in ' || round(extract(epoch FROM at - now())) || 's' END
					  ORDER BY at, job_name))[1] AS first
	FROM (SELECT * FROM next ORDER BY at, job_name LIMIT 3) n
),
running AS (
	SELECT string_agg(format('%s #%s (%s)', job_name, job_run_id,
							 coalesce(jsonb_array_length(args->'race_ids') ||
									  CASE jsonb_array_length(args->'race_ids') WHEN 1 THEN ' race' ELSE ' races' END,
									  args->>'date', 'manual')),
					  ', ' ORDER BY job_run_id) AS line
	FROM racing_sched.job_runs WHERE status = 'running'
),
bar AS (
	SELECT repeat('#', w) || repeat('-', 40 - w) AS s
	FROM (SELECT CASE WHEN races = 0 THEN 0 ELSE (40 * resulted / races)::int END AS w FROM day) x
)
SELECT CASE WHEN :'compact' = 'on' THEN
	format('%s [%s/%s] %s | T-60 %s T-15 %s | prov %s off %s | runs %s | retries %s | next %s',
		   to_char(now() - :'since'::timestamptz, 'MI:SS'), d.resulted, d.races,
		   coalesce(st.line, 'no races yet'), sn.t60, sn.t15, d.provisional, d.official,
		   ru.short, re.n, coalesce(nx.first, '-'))
ELSE
	format('racing_sched demo: simulated day %s, %s since the morning scrape',
		   coalesce(d.meeting_date::text, '?'), to_char(now() - :'since'::timestamptz, 'MI:SS')) || E'\n\n' ||
	format(' [%s] %s/%s races resulted (%s official, %s abandoned), %s jumped',
		   b.s, d.resulted, d.races, d.official, d.abandoned, d.jumped) || E'\n\n' ||
	format(' races       %s', coalesce(st.line, 'none stored yet')) || E'\n' ||
	format(' snapshots   T-60 %s/%s   T-15 %s/%s   (%s odds rows)', sn.t60, d.races, sn.t15, d.races, sn.odds) || E'\n' ||
	format(' results     provisional %s   official %s   dividends %s',
		   d.provisional, d.official, (SELECT count(*) FROM racing_sched.dividends)) || E'\n' ||
	format(' job runs    %s', ru.line) || E'\n' ||
	format(' retries     %s%s', re.n, re.detail) || E'\n' ||
	format(' running     %s', coalesce(rn.line, '-')) || E'\n' ||
	format(' next        %s', coalesce(nx.lines, 'nothing: the day is over'))
END
FROM day d, statuses st, snaps sn, runs ru, retries re, next2 nx, running rn, bar b;
