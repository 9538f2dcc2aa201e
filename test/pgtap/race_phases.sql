-- Planning of race-driven jobs, with the time as an argument.
BEGIN;
SELECT plan(27);
SET search_path = racing_sched, public;

INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name, location)
VALUES ('2026-11-28', 'R', 'RHL', 'ROSEHILL', 'NSW');
-- Four races known since the morning: jumps at 12:00, 12:00:30, 12:02, 12:20.
INSERT INTO races (meeting_id, race_number, start_time, created_at)
SELECT meeting_id, n, t::timestamptz, '2026-11-28 06:00Z'
FROM meetings, (VALUES (1, '2026-11-28 12:00:00Z'), (2, '2026-11-28 12:00:30Z'),
				 (3, '2026-11-28 12:02:00Z'), (4, '2026-11-28 12:20:00Z')) AS v(n, t);
CREATE FUNCTION pg_temp.race(n int) RETURNS bigint LANGUAGE sql
RETURN (SELECT race_id FROM racing_sched.races WHERE race_number = n);
CREATE FUNCTION pg_temp.plan(t text) RETURNS timestamptz LANGUAGE sql
RETURN racing_sched._plan_race_phases('pre_race_t15', t::timestamptz);
UPDATE jobs SET enabled = false WHERE job_name IN ('pre_race_t60', 'post_race');

SELECT is(pg_temp.plan('2026-11-28 11:44:59Z'), '2026-11-28 11:45:00Z'::timestamptz,
	'before the first edge: nothing queued, wake at the edge');
SELECT is((SELECT count(*) FROM job_runs), 0::bigint, 'nothing queued early');

SELECT is(pg_temp.plan('2026-11-28 11:45:00Z'), '2026-11-28 11:47:00Z'::timestamptz,
	'at the first edge: the next edge to come is race 3''s');
SELECT results_eq($$SELECT trigger, due_at, args FROM job_runs$$,
	$$VALUES ('race', '2026-11-28 11:45:30Z'::timestamptz,
			  jsonb_build_object('race_ids', jsonb_build_array(pg_temp.race(1), pg_temp.race(2)),
								 'deadline', '2026-11-28 12:00:00Z'::timestamptz))$$,
	'races 1 and 2 share a run, due at the later edge, with the first jump as deadline');
SELECT is((SELECT count(*) FROM race_phases WHERE state = 'planned'
		   AND job_run_id = (SELECT job_run_id FROM job_runs)), 2::bigint, 'both races planned with that run');

SELECT is(pg_temp.plan('2026-11-28 11:45:10Z'), '2026-11-28 11:47:00Z'::timestamptz, 'planning again');
SELECT is((SELECT count(*) FROM job_runs), 1::bigint, 'queues nothing twice');

-- Race 3's start moves 3 minutes later before its edge: planned from the new time.
UPDATE races SET start_time = '2026-11-28 12:05:00Z' WHERE race_number = 3;
SELECT is(pg_temp.plan('2026-11-28 11:47:30Z'), '2026-11-28 11:50:00Z'::timestamptz,
	'a moved race is planned from its stored start');
SELECT is((SELECT count(*) FROM job_runs), 1::bigint, 'not at its old edge');
SELECT is(pg_temp.plan('2026-11-28 11:50:00Z'), '2026-11-28 12:05:00Z'::timestamptz, 'at its new edge');
SELECT is((SELECT due_at FROM job_runs WHERE args->'race_ids' = jsonb_build_array(pg_temp.race(3))),
	'2026-11-28 11:50:00Z'::timestamptz, 'race 3 queued alone at its new edge');

-- The scheduler was down through race 4's window: missed, not run late.
SELECT is(pg_temp.plan('2026-11-28 12:06:30Z'), NULL, 'nothing left to plan');
SELECT is((SELECT state FROM race_phases WHERE race_id = pg_temp.race(4)), 'missed', 'race 4 missed');
SELECT is((SELECT count(*) FROM job_runs WHERE args->'race_ids' @> to_jsonb(pg_temp.race(4))), 0::bigint,
	'and not fetched late');
SELECT is((SELECT missed_phases FROM job_stats WHERE job_name = 'pre_race_t15'), 1::bigint, 'counted as missed');

-- A race first stored after its window (a backfill) is not a miss.
INSERT INTO races (meeting_id, race_number, start_time, created_at)
SELECT meeting_id, 5, '2026-11-28 12:10:00Z', '2026-11-28 12:07:00Z' FROM meetings;
SELECT is(pg_temp.plan('2026-11-28 12:07:00Z'), NULL, 'nothing to plan');
SELECT is((SELECT count(*) FROM race_phases WHERE race_id = pg_temp.race(5)), 0::bigint,
	'a race first seen after its window is neither planned nor missed');

-- The scheduler was down through a race's window and its start: missed too,
-- however long the outage; a race abandoned before its window closed is not.
INSERT INTO races (meeting_id, race_number, start_time, created_at, abandoned_at)
SELECT meeting_id, v.n, v.t::timestamptz, '2026-11-28 06:00Z', v.a::timestamptz
FROM meetings, (VALUES (6, '2026-11-28 12:30:00Z', NULL), (7, '2026-11-28 12:31:00Z', NULL),
				 (8, '2026-11-28 12:32:00Z', '2026-11-28 12:00Z')) AS v(n, t, a);
UPDATE races SET closed_at = '2026-11-28 12:31:30Z', interim_at = '2026-11-28 12:32:00Z' WHERE race_number = 7;
SELECT is(pg_temp.plan('2026-11-28 12:40:00Z'), NULL, 'after an outage past the jumps: nothing to plan');
SELECT is((SELECT string_agg(race_number || ':' || coalesce(p.state, '-'), ',' ORDER BY race_number)
		   FROM races r LEFT JOIN race_phases p USING (race_id) WHERE race_number >= 6),
	'6:missed,7:missed,8:-', 'races that jumped (or closed) during the outage missed, the abandoned one not');
SELECT is((SELECT missed_phases FROM job_stats WHERE job_name = 'pre_race_t15'), 3::bigint,
	'counted as missed');
SELECT is(pg_temp.plan('2026-11-28 12:41:00Z'), NULL, 'planning again');
SELECT is((SELECT missed_phases FROM job_stats WHERE job_name = 'pre_race_t15'), 3::bigint,
	'counts nothing twice');

-- Post-race: every race not yet official or abandoned, at start + 5 min.
UPDATE jobs SET enabled = (job_name = 'post_race');
UPDATE races SET official_at = '2026-11-28 12:01Z' WHERE race_number = 1;
UPDATE races SET abandoned_at = '2026-11-28 12:01Z' WHERE race_number = 2;
SELECT is(racing_sched._plan_all_race_phases('2026-11-28 12:10:00Z'), '2026-11-28 12:15:00Z'::timestamptz,
	'post-race: next is race 5 at 12:15');
SELECT is((SELECT args->'race_ids' FROM job_runs WHERE job_name = 'post_race'),
	jsonb_build_array(pg_temp.race(3)), 'race 3 (12:05) due; official and abandoned races are not');
SELECT is((SELECT args ? 'deadline' FROM job_runs WHERE job_name = 'post_race'), false, 'post-race runs have no deadline');

-- pending_results shows what has no official results yet.
SELECT is((SELECT count(*) FROM pending_results WHERE race_id IN (pg_temp.race(1), pg_temp.race(2))), 0::bigint,
	'official and abandoned races are not pending');
SELECT ok(EXISTS (SELECT FROM pending_results WHERE race_id = pg_temp.race(3)), 'race 3 pending');

SELECT * FROM finish();
ROLLBACK;
