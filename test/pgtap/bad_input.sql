-- Bad input to every public function of the SQL API: NULLs, wrong types,
-- unknown jobs and runs, malformed cron, negative and huge
-- intervals, oversized and deeply nested arguments.  Each is refused with
-- its SQLSTATE (22004 a NULL, 22023 a value of the wrong form, 42704 an
-- unknown job or run, 54000 oversized, PostgreSQL's own codes for
-- input that does not even have the argument's type) and a message that
-- names the argument; and the job tables are the same after as before.
-- The valid forms next to the refused ones still work (at the end).
-- The shared test cluster runs with racing_sched.enabled = off, and the API
-- URL points at a closed port: nothing here reaches a worker or the network.
BEGIN;
SELECT plan(125);
SET search_path = racing_sched, public;
SET LOCAL racing_sched.tab_api_url = 'http://127.0.0.1:9/closed';

-- A custom job and a race, so that the calls below have something to hit.
SELECT schedule('bad_input_job', '*/5 * * * *', 'SELECT 1');
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name)
VALUES ('2026-11-28', 'R', 'BIN', 'BAD INPUT');
INSERT INTO races (meeting_id, race_number, start_time)
SELECT meeting_id, 1, '2026-11-28 04:25Z' FROM meetings WHERE venue_mnemonic = 'BIN';

-- The state the bad calls must not change: jobs, runs, counters, races.
CREATE FUNCTION pg_temp.state() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(j::text, ',' ORDER BY job_name) FROM racing_sched.jobs j),
		(SELECT string_agg(r::text, ',' ORDER BY job_run_id) FROM racing_sched.job_runs r),
		(SELECT string_agg(s::text, ',' ORDER BY job_name) FROM racing_sched.job_stats s),
		(SELECT string_agg(r::text, ',' ORDER BY race_id) FROM racing_sched.races r)))
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.state() AS s;

-- run_now(job_name, args)
SELECT throws_ok($$SELECT run_now(NULL)$$, '22004', 'job_name must not be null', 'run_now: NULL job');
SELECT throws_ok($$SELECT run_now('morning_scrape', NULL)$$, '22004', 'args must not be null', 'run_now: NULL args');
SELECT throws_ok($$SELECT run_now('nope')$$, '42704', 'job "nope" does not exist', 'run_now: unknown job');
SELECT throws_ok($$SELECT run_now('')$$, '42704', 'job "" does not exist', 'run_now: empty job name');
SELECT throws_ok(format('SELECT run_now(%L)', repeat('j', 100000)), '42704', NULL, 'run_now: 100 kB job name');
SELECT throws_ok($$SELECT run_now('morning_scrape', '[]')$$, '22023', 'args must be a JSON object', 'run_now: args an array');
SELECT throws_ok($$SELECT run_now('morning_scrape', 'null')$$, '22023', 'args must be a JSON object', 'run_now: args JSON null');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"date": 20261128}')$$, '22023',
	'invalid value for argument "date": 20261128', 'run_now: date a number');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"date": "2026-02-30"}')$$, '22023',
	'invalid value for argument "date": "2026-02-30"', 'run_now: a date that does not exist');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"date": "0800-01-01"}')$$, '22023',
	'invalid value for argument "date": "0800-01-01"', 'run_now: a date out of range');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"days_ahead": -1}')$$, '22023',
	'invalid value for argument "days_ahead": -1', 'run_now: negative days_ahead');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"days_ahead": 1.5}')$$, '22023',
	'invalid value for argument "days_ahead": 1.5', 'run_now: fractional days_ahead');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"days_ahead": 1e400}')$$, '22023', NULL, 'run_now: huge days_ahead');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"jurisdictions": ["WA"]}')$$, '22023',
	'invalid value for argument "jurisdictions": ["WA"]', 'run_now: unknown jurisdiction');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"jurisdictions": [null]}')$$, '22023',
	'invalid value for argument "jurisdictions": [null]', 'run_now: null jurisdiction');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"jurisdictions": "NSW"}')$$, '22023',
	'invalid value for argument "jurisdictions": "NSW"', 'run_now: jurisdictions not an array');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"only": [1]}')$$, '22023',
	'invalid value for argument "only": [1]', 'run_now: only entries not objects');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"only": [{"date": "2026-11-28"}]}')$$, '22023',
	NULL, 'run_now: only entry without a jurisdiction');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"only": [{"date": "2026-11-28", "jurisdiction": "NSW", "venue": "X"}]}')$$,
	'22023', NULL, 'run_now: only entry with an unknown key');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"deadline": "soon"}')$$, '22023',
	'invalid value for argument "deadline": "soon"', 'run_now: deadline not a timestamp');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"deadline": 5}')$$, '22023',
	'invalid value for argument "deadline": 5', 'run_now: deadline a number');
SELECT throws_ok($$SELECT run_now('post_race', '{"race_id": "1"}')$$, '22023',
	'invalid value for argument "race_id": "1"', 'run_now: race_id a string');
SELECT throws_ok($$SELECT run_now('post_race', '{"race_id": -1}')$$, '22023',
	'invalid value for argument "race_id": -1', 'run_now: negative race_id');
SELECT throws_ok($$SELECT run_now('post_race', '{"race_id": 1.0}')$$, '22023',
	'invalid value for argument "race_id": 1.0', 'run_now: race_id not written as a whole number');
SELECT throws_ok($$SELECT run_now('post_race', '{"race_id": 1e30}')$$, '22023', NULL, 'run_now: race_id beyond bigint');
SELECT throws_ok($$SELECT run_now('post_race', '{"race_ids": ["a"]}')$$, '22023',
	'invalid value for argument "race_ids": ["a"]', 'run_now: race_ids of strings');
SELECT throws_ok($$SELECT run_now('post_race', '{"race_ids": [[1]]}')$$, '22023',
	'invalid value for argument "race_ids": [[1]]', 'run_now: nested race_ids');
SELECT throws_ok($$SELECT run_now('morning_scrape', '{"race_id": 1}')$$, '22023',
	'unknown argument "race_id" for a morning_scrape job', 'run_now: an argument of another job type');
SELECT throws_ok($$SELECT run_now('bad_input_job', '{"date": "2026-11-28"}')$$, '22023',
	'unknown argument "date" for a sql job', 'run_now: arguments to a SQL job');
SELECT throws_ok($$SELECT run_now('morning_scrape', jsonb_build_object('deadline', repeat('x', 10 * 1024 * 1024)))$$,
	'54000', 'args are too large (10485776 bytes)', 'run_now: 10 MB args');
SELECT throws_ok($$SELECT run_now('morning_scrape', ('{"only": ' || repeat('[', 3000) || repeat(']', 3000) || '}')::jsonb)$$,
	'22023', NULL, 'run_now: 3,000-deep nested args');
SELECT throws_ok($$SELECT run_now('morning_scrape', 'not json')$$, '22P02', 'invalid input syntax for type json',
	'run_now: args not JSON (PostgreSQL''s own error)');
SELECT throws_ok($$SELECT run_now(1, 2)$$, '42883', NULL, 'run_now: wrong argument types');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'run_now: nothing changed');

-- wait_for(job_run_id, timeout)
SELECT throws_ok($$SELECT wait_for(NULL)$$, '22004', 'job_run_id and timeout must not be null', 'wait_for: NULL run');
SELECT throws_ok($$SELECT wait_for(1, NULL)$$, '22004', 'job_run_id and timeout must not be null', 'wait_for: NULL timeout');
SELECT throws_ok($$SELECT wait_for(-1, '1s')$$, '42704', 'job run -1 does not exist', 'wait_for: negative run id');
SELECT throws_ok($$SELECT wait_for(9223372036854775807, '1s')$$, '42704',
	'job run 9223372036854775807 does not exist', 'wait_for: unknown run');
SELECT throws_ok($$SELECT wait_for(1, '-1 s')$$, '22023', 'timeout must be between 0 and 1 day, not -00:00:01',
	'wait_for: negative timeout');
SELECT throws_ok($$SELECT wait_for(1, '1000 years')$$, '22023', 'timeout must be between 0 and 1 day, not 1000 years',
	'wait_for: huge timeout');
SELECT throws_ok($$SELECT wait_for(1, 'forever')$$, '22007', NULL, 'wait_for: timeout not an interval');
SELECT throws_ok($$SELECT wait_for('x')$$, '22P02', NULL, 'wait_for: run id not a number');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'wait_for: nothing changed');

-- cancel(job_run_id)
SELECT throws_ok($$SELECT cancel(NULL)$$, '22004', 'job_run_id must not be null', 'cancel: NULL');
SELECT throws_ok($$SELECT cancel(-5)$$, '42704', 'job run -5 does not exist', 'cancel: negative run id');
SELECT throws_ok($$SELECT cancel(9223372036854775807)$$, '42704', 'job run 9223372036854775807 does not exist',
	'cancel: unknown run');
SELECT throws_ok($$SELECT cancel(99999999999999999999)$$, '42883', NULL, 'cancel: beyond bigint');
SELECT throws_ok($$SELECT cancel('abc')$$, '22P02', NULL, 'cancel: not a number');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'cancel: nothing changed');

-- alter_job(job_name, schedule, enabled, retry_delays, timeout, race_offset, tolerance)
SELECT throws_ok($$SELECT alter_job(NULL)$$, '22004', 'job_name must not be null', 'alter_job: NULL job');
SELECT throws_ok($$SELECT alter_job('nope', enabled => false)$$, '42704', 'job "nope" does not exist', 'alter_job: unknown job');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => 'bad cron')$$, '22023',
	'invalid cron expression: unexpected character "b" in minute field', 'alter_job: malformed cron');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => '')$$, '22023',
	'invalid cron expression: the expression is empty', 'alter_job: empty cron');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => '0 6 * *')$$, '22023', NULL, 'alter_job: four fields');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => '0 24 * * *')$$, '22023',
	'invalid cron expression: value 24 out of range 0-23 in hour field', 'alter_job: hour out of range');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => '*/0 * * * *')$$, '22023', NULL, 'alter_job: step 0');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => '0 0 30 2 *')$$, '22023', NULL,
	'alter_job: a schedule that never fires');
SELECT throws_ok($$SELECT alter_job('morning_scrape', schedule => repeat('1,', 5000000) || '1 * * * *')$$, '54000',
	'schedule is too long (10000009 bytes)', 'alter_job: 10 MB schedule');
SELECT throws_ok($$SELECT alter_job('pre_race_t15', schedule => '* * * * *')$$, '22023',
	'job "pre_race_t15" is driven by race start times and has no schedule', 'alter_job: schedule of a race-driven job');
SELECT throws_ok($$SELECT alter_job('morning_scrape', timeout => '-1 s')$$, '22023',
	'timeout must be more than 0 and at most 7 days, not -00:00:01', 'alter_job: negative timeout');
SELECT throws_ok($$SELECT alter_job('morning_scrape', timeout => '0')$$, '22023',
	'timeout must be more than 0 and at most 7 days, not 00:00:00', 'alter_job: zero timeout');
SELECT throws_ok($$SELECT alter_job('morning_scrape', timeout => '178000000 years')$$, '22023',
	'timeout must be more than 0 and at most 7 days, not 178000000 years', 'alter_job: huge timeout');
SELECT throws_ok($$SELECT alter_job('morning_scrape', timeout => 'infinity')$$, '22007', NULL,
	'alter_job: infinite timeout (not an interval)');
SELECT throws_ok($$SELECT alter_job('morning_scrape', retry_delays => '{-1 s}')$$, '22023',
	'retry_delays must hold at most 10 intervals, each more than 0 and at most 1 day', 'alter_job: negative retry delay');
SELECT throws_ok($$SELECT alter_job('morning_scrape', retry_delays => '{1 min, NULL}')$$, '22023',
	'retry_delays must hold at most 10 intervals, each more than 0 and at most 1 day', 'alter_job: NULL retry delay');
SELECT throws_ok($$SELECT alter_job('morning_scrape', retry_delays => '{2 days}')$$, '22023',
	'retry_delays must hold at most 10 intervals, each more than 0 and at most 1 day', 'alter_job: huge retry delay');
SELECT throws_ok($$SELECT alter_job('morning_scrape', retry_delays => array_fill('1 min'::interval, ARRAY[100000]))$$, '22023',
	'retry_delays must hold at most 10 intervals, each more than 0 and at most 1 day', 'alter_job: 100,000 retry delays');
SELECT throws_ok($$SELECT alter_job('morning_scrape', retry_delays => '{{1 min, 2 min}, {3 min, 4 min}}')$$, '22023',
	'retry_delays must hold at most 10 intervals, each more than 0 and at most 1 day', 'alter_job: two-dimensional retry delays');
SELECT throws_ok($$SELECT alter_job('morning_scrape', race_offset => '-1 hour')$$, '22023',
	'job "morning_scrape" runs on a schedule and has no race_offset or tolerance', 'alter_job: race_offset of a cron job');
SELECT throws_ok($$SELECT alter_job('pre_race_t60', race_offset => '-100 days')$$, '22023',
	'race_offset must be between -1 day and 1 day, not -100 days', 'alter_job: huge negative race_offset');
SELECT throws_ok($$SELECT alter_job('pre_race_t60', race_offset => '1 mon')$$, '22023',
	'race_offset must be between -1 day and 1 day, not 1 mon', 'alter_job: huge race_offset');
SELECT throws_ok($$SELECT alter_job('post_race', tolerance => '-1 s')$$, '22023',
	'tolerance must be between 0 and 1 hour, not -00:00:01', 'alter_job: negative tolerance');
SELECT throws_ok($$SELECT alter_job('post_race', tolerance => '2 hours')$$, '22023',
	'tolerance must be between 0 and 1 hour, not 02:00:00', 'alter_job: huge tolerance');
SELECT throws_ok($$SELECT alter_job('morning_scrape', enabled => 'maybe')$$, '22P02', NULL, 'alter_job: enabled not a boolean');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'alter_job: nothing changed');

-- schedule(job_name, schedule, command), unschedule(job_name)
SELECT throws_ok($$SELECT schedule(NULL, '* * * * *', 'SELECT 1')$$, '22004', 'job_name must not be null', 'schedule: NULL name');
SELECT throws_ok($$SELECT schedule('j', NULL, 'SELECT 1')$$, '22004', 'schedule must not be null', 'schedule: NULL schedule');
SELECT throws_ok($$SELECT schedule('j', '* * * * *', NULL)$$, '22004', 'command must not be null', 'schedule: NULL command');
SELECT throws_ok($$SELECT schedule('j', '61 * * * *', 'SELECT 1')$$, '22023',
	'invalid cron expression: value 61 out of range 0-59 in minute field', 'schedule: malformed cron');
SELECT throws_ok($$SELECT schedule('j', repeat('1,', 5000000) || '1 * * * *', 'SELECT 1')$$, '54000',
	'schedule is too long (10000009 bytes)', 'schedule: 10 MB schedule');
SELECT throws_ok($$SELECT schedule('j', '* * * * *', ' ; ')$$, '22023', 'command must not be empty', 'schedule: empty command');
SELECT throws_ok($$SELECT schedule('j', '* * * * *', repeat('x', 10 * 1024 * 1024))$$, '54000',
	'command is too long (10485760 bytes)', 'schedule: 10 MB command');
SELECT throws_ok($$SELECT schedule('bad name!', '* * * * *', 'SELECT 1')$$, '22023', 'invalid job name "bad name!"',
	'schedule: invalid job name');
SELECT throws_ok(format('SELECT schedule(%L, ''* * * * *'', ''SELECT 1'')', repeat('j', 64)), '22023',
	format('invalid job name "%s"', repeat('j', 64)), 'schedule: 64-character job name');
SELECT throws_ok($$SELECT schedule('', '* * * * *', 'SELECT 1')$$, '22023', 'invalid job name ""', 'schedule: empty job name');
SELECT throws_ok($$SELECT schedule('morning_scrape', '* * * * *', 'SELECT 1')$$, '42710',
	'job "morning_scrape" is a built-in job', 'schedule: a built-in job''s name');
SELECT throws_ok($$SELECT unschedule(NULL)$$, '22004', 'job_name must not be null', 'unschedule: NULL');
SELECT throws_ok($$SELECT unschedule('nope')$$, '42704', 'job "nope" does not exist', 'unschedule: unknown job');
SELECT throws_ok($$SELECT unschedule('post_race')$$, '22023',
	'job "post_race" is a built-in job and cannot be unscheduled', 'unschedule: a built-in job');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'schedule, unschedule: nothing changed');

-- next_runs(job_name, n), cron_next(expr, after, tz)
SELECT throws_ok($$SELECT next_runs(NULL)$$, '22004', 'argument "job_name" of next_runs must not be null', 'next_runs: NULL job');
SELECT throws_ok($$SELECT next_runs('morning_scrape', NULL)$$, '22004', 'argument "n" of next_runs must not be null',
	'next_runs: NULL n');
SELECT throws_ok($$SELECT next_runs('nope')$$, '42704', 'job "nope" does not exist', 'next_runs: unknown job');
SELECT throws_ok($$SELECT next_runs('morning_scrape', -1)$$, '22023',
	'argument "n" of next_runs must not be negative', 'next_runs: negative n');
SELECT throws_ok($$SELECT next_runs('morning_scrape', 2147483647)$$, '22023',
	'argument "n" of next_runs must be at most 10000, not 2147483647', 'next_runs: huge n');
SELECT throws_ok($$SELECT cron_next(NULL, now())$$, '22004', 'argument "expr" of cron_next must not be null', 'cron_next: NULL expr');
SELECT throws_ok($$SELECT cron_next('* * * * *', NULL)$$, '22004', 'argument "after" of cron_next must not be null',
	'cron_next: NULL after');
SELECT throws_ok($$SELECT cron_next('* * * * *', 'infinity')$$, '22008', 'argument "after" of cron_next must be finite',
	'cron_next: infinite after');
SELECT throws_ok($$SELECT cron_next('* * * * *', now(), 'Mars/Olympus')$$, '22023', 'time zone "Mars/Olympus" not recognized',
	'cron_next: unknown time zone');
SELECT throws_ok($$SELECT cron_next('@fortnightly', now())$$, '22023', NULL, 'cron_next: unknown macro');
SELECT throws_ok($$SELECT cron_next('* * * * * *', now())$$, '22023', NULL, 'cron_next: six fields');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'next_runs, cron_next: nothing changed');

-- fetch_meetings, fetch_race, fetch_fixed_odds_race (the checks the store
-- tests do not make), http_get, http_get_all
SELECT throws_ok($$SELECT fetch_meetings('0800-01-01', 'NSW')$$, '22023', 'date 0800-01-01 is out of range',
	'fetch_meetings: date out of range');
SELECT throws_ok($$SELECT fetch_meetings('2026-11-28', repeat('N', 10 * 1024 * 1024))$$, '22023', NULL,
	'fetch_meetings: 10 MB jurisdiction');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', repeat('A', 10 * 1024 * 1024), 1, 'NSW')$$, '22023',
	'venue must be 1 to 200 bytes long', 'fetch_race: 10 MB venue');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', 'RHL', -1, 'NSW')$$, '22023', 'race_number -1 is out of range',
	'fetch_race: negative race number');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'RR', 'RHL', 1, 'NSW')$$, '22023', 'invalid race_type "RR"',
	'fetch_race: two-letter race type');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', 'RHL', 2147483648, 'NSW')$$, '42883', NULL,
	'fetch_race: race number beyond integer');
SELECT throws_ok($$SELECT fetch_fixed_odds_race('2026-11-28', 'R', NULL, 'M', 'NSW')$$, '22004', 'meeting_name must not be null',
	'fetch_fixed_odds_race: NULL meeting');
SELECT throws_ok($$SELECT fetch_fixed_odds_race('2026-11-28', 'R', 'Sunderland (GBR)', NULL, 'NSW')$$, '22004',
	'match_name must not be null', 'fetch_fixed_odds_race: NULL match');
SELECT throws_ok($$SELECT fetch_fixed_odds_race('2026-11-28', 'R', 'Sunderland (GBR)', '', 'NSW')$$, '22023',
	'match_name must be 1 to 200 bytes long', 'fetch_fixed_odds_race: empty match');
SELECT throws_ok($$SELECT fetch_fixed_odds_race(NULL, 'R', 'Sunderland (GBR)', 'M', 'NSW')$$, '22004', 'date must not be null',
	'fetch_fixed_odds_race: NULL date');
SELECT throws_ok($$SELECT http_get(NULL)$$, '22004', 'url must not be null', 'http_get: NULL url');
SELECT throws_ok($$SELECT http_get('http://127.0.0.1:9/', NULL)$$, '22004', 'include_body must not be null',
	'http_get: NULL include_body');
SELECT throws_ok($$SELECT http_get_all(NULL)$$, '22004', 'urls must not be null', 'http_get_all: NULL');
SELECT throws_ok($$SELECT http_get_all('{http://127.0.0.1:9/, NULL}')$$, '22004', 'urls must not contain nulls',
	'http_get_all: a NULL url');
SELECT throws_ok($$SELECT http_get_all(array_fill('http://127.0.0.1:9/'::text, ARRAY[100000]))$$, '54000',
	'too many urls (100000)', 'http_get_all: 100,000 urls');
SELECT throws_ok($$SELECT health('x')$$, '42883', NULL, 'health takes no argument');
SELECT is(pg_temp.state(), (SELECT s FROM before), 'fetch and http functions: nothing changed');

-- The valid forms next to the refused ones are still accepted.
SELECT lives_ok($$SELECT run_now('morning_scrape', '{"only": [{"date": "2026-11-28", "jurisdiction": "NSW",
	"race_type": "R", "location": null}], "date": "2026-11-28", "deadline": "2026-11-28 12:00+11"}')$$,
	'run_now: a retry''s "only" list and a deadline');
SELECT lives_ok($$SELECT run_now('morning_scrape', '{"date": "2026-11-29", "jurisdictions": ["NSW", "TAS"], "days_ahead": 0}')$$,
	'run_now: a date and jurisdictions');
SELECT lives_ok(format('SELECT run_now(''post_race'', ''{"race_ids": [%s]}'')',
					   (SELECT race_id FROM races WHERE meeting_id = (SELECT meeting_id FROM meetings WHERE venue_mnemonic = 'BIN'))),
	'run_now: race_ids of races that exist');
SELECT lives_ok($$SELECT alter_job('morning_scrape', schedule => '@daily', retry_delays => '{1 min, 1 day}', timeout => '7 days')$$,
	'alter_job: the bounds themselves');
SELECT lives_ok($$SELECT unschedule('bad_input_job')$$, 'unschedule of the custom job');
SELECT isnt(pg_temp.state(), (SELECT s FROM before), 'and these do change the state');

SELECT * FROM finish();
ROLLBACK;
