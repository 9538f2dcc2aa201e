-- Request counters by endpoint and status: they add up and only grow.
BEGIN;
SELECT plan(4);
SET search_path = racing_sched, public;
SELECT _record_http('race', 200, true, 40000, 120);
SELECT _record_http('race', 200, true, 60000, 30);
SELECT _record_http('race', 503, false, 0, 7000);
SELECT _record_http('meetings', 0, false, 0, 30001);
SELECT results_eq($$SELECT endpoint, http_status, requests, failures, bytes, duration_sum_ms
	FROM http_stats ORDER BY 1, 2$$,
	$$VALUES ('meetings', 0, 1::bigint, 1::bigint, 0::bigint, 30001::bigint),
			 ('race', 200, 2::bigint, 0::bigint, 100000::bigint, 150::bigint),
			 ('race', 503, 1::bigint, 1::bigint, 0::bigint, 7000::bigint)$$,
	'requests, failures, bytes and time by endpoint and status');
SELECT is((SELECT duration_buckets FROM http_stats WHERE endpoint = 'race' AND http_status = 200),
	'{1,0,1}'::bigint[], '30 ms and 120 ms fall in the 0.05 s and 0.25 s buckets');
SELECT is((SELECT duration_buckets[8] FROM http_stats WHERE endpoint = 'race' AND http_status = 503),
	1::bigint, '7 s falls in the 10 s bucket');
SELECT is((SELECT duration_buckets[10] FROM http_stats WHERE endpoint = 'meetings'),
	1::bigint, 'beyond the last bound: the overflow bucket');
SELECT * FROM finish();
ROLLBACK;
