-- cron_next and next_runs: cron syntax, wall-clock evaluation across the
-- daylight-saving transitions of Australia/Sydney and other zones, and every
-- parse error with its SQLSTATE.  Expected instants are written with their
-- UTC offset, so they do not depend on the session's TimeZone.
BEGIN;
SET LOCAL search_path TO public, racing_sched;
SET LOCAL timezone TO 'UTC';

SELECT plan(150);

-- Every fire of expr in (from_ts, to_ts), found by iterating cron_next.
CREATE FUNCTION pg_temp.fires(expr text, from_ts timestamptz, to_ts timestamptz, tz text)
RETURNS SETOF timestamptz LANGUAGE plpgsql AS $$
DECLARE
	t timestamptz := from_ts;
BEGIN
	LOOP
		t := racing_sched.cron_next(expr, t, tz);
		EXIT WHEN t >= to_ts;
		RETURN NEXT t;
	END LOOP;
END
$$;

-- How many fires of expr fall on a local calendar day in tz.
CREATE FUNCTION pg_temp.fires_on(expr text, day date, tz text)
RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*)
	FROM pg_temp.fires(expr, (day - 1)::timestamp AT TIME ZONE tz,
					   (day + 2)::timestamp AT TIME ZONE tz, tz) AS f
	WHERE (f AT TIME ZONE tz)::date = day
$$;

-- The DETAIL (or HINT) of the error cron_next raises for expr.
CREATE FUNCTION pg_temp.error_part(expr text, part text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
	hint text;
BEGIN
	PERFORM racing_sched.cron_next(expr, '2026-01-01 00:00+00', 'UTC');
	RETURN 'no error';
EXCEPTION WHEN invalid_parameter_value THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN CASE part WHEN 'detail' THEN detail ELSE hint END;
END
$$;

--
-- The function itself.
--
SELECT has_function('racing_sched', 'cron_next', ARRAY['text', 'timestamp with time zone', 'text'],
	'cron_next(text, timestamptz, text) exists');
SELECT volatility_is('racing_sched', 'cron_next', ARRAY['text', 'timestamp with time zone', 'text'],
	'stable', 'cron_next is STABLE (a NULL tz reads racing_sched.timezone)');
SELECT isnt_strict('racing_sched', 'cron_next', ARRAY['text', 'timestamp with time zone', 'text'],
	'cron_next is not STRICT: NULL arguments are errors');
SELECT has_function('racing_sched', 'next_runs', ARRAY['text', 'integer'],
	'next_runs(text, integer) exists');

--
-- Australia/Sydney, 2026-04-05: clocks go back from 03:00 AEDT (+11) to
-- 02:00 AEST (+10); 02:00-02:59 happens twice and fires only the first time.
--
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 2 * * *', '2026-04-04 00:00+11', '2026-04-07 00:00+10', 'Australia/Sydney')$$,
	$$VALUES ('2026-04-04 02:00+11'::timestamptz), ('2026-04-05 02:00+11'), ('2026-04-06 02:00+10')$$,
	'0 2 * * * across the fall-back of 2026-04-05 fires at the first 02:00');
SELECT is(pg_temp.fires_on('0 2 * * *', '2026-04-05', 'Australia/Sydney'), 1::bigint,
	'0 2 * * * fires exactly once on 2026-04-05');
SELECT is(cron_next('0 2 * * *', '2026-04-05 02:00+11', 'Australia/Sydney'),
	'2026-04-06 02:00+10',
	'0 2 * * * never fires at the second 02:00 of 2026-04-05');
SELECT is(cron_next('0 2 * * *', '2026-04-05 02:30+11', 'Australia/Sydney'),
	'2026-04-06 02:00+10',
	'0 2 * * *, after between the two 02:00s, skips the second one');
SELECT is(cron_next('30 2 * * *', '2026-04-05 02:10+10', 'Australia/Sydney'),
	'2026-04-06 02:30+10',
	'30 2 * * *, after inside the repeated hour, waits for the next day');
SELECT is(cron_next('* * * * *', '2026-04-05 02:59:30+11', 'Australia/Sydney'),
	'2026-04-05 03:00+10',
	'* * * * * is silent through the repeated hour');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 6 * * *', '2026-04-04 00:00+11', '2026-04-07 00:00+10', 'Australia/Sydney')$$,
	$$VALUES ('2026-04-04 06:00+11'::timestamptz), ('2026-04-05 06:00+10'), ('2026-04-06 06:00+10')$$,
	'0 6 * * * across the fall-back of 2026-04-05');
SELECT is(cron_next('0 6 * * *', '2026-04-04 06:00+11', 'Australia/Sydney')
		  - '2026-04-04 06:00+11'::timestamptz, '25 hours'::interval,
	'0 6 * * * is 25 hours apart across the fall-back');
SELECT is(pg_temp.fires_on('0 6 * * *', '2026-04-05', 'Australia/Sydney'), 1::bigint,
	'0 6 * * * fires exactly once on 2026-04-05');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('*/30 2 * * *', '2026-04-04 00:00+11', '2026-04-07 00:00+10', 'Australia/Sydney')$$,
	$$VALUES ('2026-04-04 02:00+11'::timestamptz), ('2026-04-04 02:30+11'),
			 ('2026-04-05 02:00+11'), ('2026-04-05 02:30+11'),
			 ('2026-04-06 02:00+10'), ('2026-04-06 02:30+10')$$,
	'*/30 2 * * * fires in the first 02:00 hour of 2026-04-05 only');

--
-- Australia/Sydney, 2026-10-04: clocks go forward from 02:00 AEST (+10) to
-- 03:00 AEDT (+11); 02:00-02:59 does not exist and fires at 03:00 AEDT.
--
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 2 * * *', '2026-10-03 00:00+10', '2026-10-06 00:00+11', 'Australia/Sydney')$$,
	$$VALUES ('2026-10-03 02:00+10'::timestamptz), ('2026-10-04 03:00+11'), ('2026-10-05 02:00+11')$$,
	'0 2 * * * across the spring-forward of 2026-10-04 fires when the gap ends');
SELECT is(pg_temp.fires_on('0 2 * * *', '2026-10-04', 'Australia/Sydney'), 1::bigint,
	'0 2 * * * fires exactly once on 2026-10-04');
SELECT is(cron_next('15 2 * * *', '2026-10-04 01:59:59+10', 'Australia/Sydney'),
	'2026-10-04 03:00+11',
	'02:15 in the gap fires at the instant the gap ends');
SELECT is(cron_next('15 2 * * *', '2026-10-04 03:00+11', 'Australia/Sydney'),
	'2026-10-05 02:15+11',
	'the gap fire happens once: after it, the next day');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 6 * * *', '2026-10-03 00:00+10', '2026-10-06 00:00+11', 'Australia/Sydney')$$,
	$$VALUES ('2026-10-03 06:00+10'::timestamptz), ('2026-10-04 06:00+11'), ('2026-10-05 06:00+11')$$,
	'0 6 * * * across the spring-forward of 2026-10-04');
SELECT is(cron_next('0 6 * * *', '2026-10-03 06:00+10', 'Australia/Sydney')
		  - '2026-10-03 06:00+10'::timestamptz, '23 hours'::interval,
	'0 6 * * * is 23 hours apart across the spring-forward');
SELECT is(pg_temp.fires_on('0 6 * * *', '2026-10-04', 'Australia/Sydney'), 1::bigint,
	'0 6 * * * fires exactly once on 2026-10-04');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('*/30 2 * * *', '2026-10-03 00:00+10', '2026-10-06 00:00+11', 'Australia/Sydney')$$,
	$$VALUES ('2026-10-03 02:00+10'::timestamptz), ('2026-10-03 02:30+10'),
			 ('2026-10-04 03:00+11'),
			 ('2026-10-05 02:00+11'), ('2026-10-05 02:30+11')$$,
	'*/30 2 * * *: both times inside the gap fire once, at its end');
SELECT is(pg_temp.fires_on('*/30 2 * * *', '2026-10-04', 'Australia/Sydney'), 1::bigint,
	'*/30 2 * * * fires exactly once on 2026-10-04');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0,30 2,3 * * *', '2026-10-04 00:00+10', '2026-10-05 00:00+11', 'Australia/Sydney')$$,
	$$VALUES ('2026-10-04 03:00+11'::timestamptz), ('2026-10-04 03:30+11')$$,
	'0,30 2,3 * * *: the gap and 03:00 itself fire once together');

--
-- Australia/Sydney, 2027-04-04: the next fall-back.
--
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 2 * * *', '2027-04-03 00:00+11', '2027-04-06 00:00+10', 'Australia/Sydney')$$,
	$$VALUES ('2027-04-03 02:00+11'::timestamptz), ('2027-04-04 02:00+11'), ('2027-04-05 02:00+10')$$,
	'0 2 * * * across the fall-back of 2027-04-04');
SELECT is(pg_temp.fires_on('0 2 * * *', '2027-04-04', 'Australia/Sydney'), 1::bigint,
	'0 2 * * * fires exactly once on 2027-04-04');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 6 * * *', '2027-04-03 00:00+11', '2027-04-06 00:00+10', 'Australia/Sydney')$$,
	$$VALUES ('2027-04-03 06:00+11'::timestamptz), ('2027-04-04 06:00+10'), ('2027-04-05 06:00+10')$$,
	'0 6 * * * across the fall-back of 2027-04-04');
SELECT is(pg_temp.fires_on('0 6 * * *', '2027-04-04', 'Australia/Sydney'), 1::bigint,
	'0 6 * * * fires exactly once on 2027-04-04');

--
-- Other zones.
--
SELECT is(cron_next('30 2 * * *', '2026-03-08 00:00-05', 'America/New_York'),
	'2026-03-08 03:00-04',
	'New York spring-forward: 02:30 fires at 03:00 EDT');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('30 1 * * *', '2026-10-31 00:00-04', '2026-11-03 00:00-05', 'America/New_York')$$,
	$$VALUES ('2026-10-31 01:30-04'::timestamptz), ('2026-11-01 01:30-04'), ('2026-11-02 01:30-05')$$,
	'New York fall-back: 01:30 fires at its first (EDT) occurrence');
SELECT is(cron_next('15 2 * * *', '2026-10-04 00:00+10:30', 'Australia/Lord_Howe'),
	'2026-10-04 02:30+11',
	'Lord Howe half-hour spring-forward: 02:15 fires at 02:30 +11');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 12 * * *', '2011-12-29 00:00+00', '2011-12-31 00:00+00', 'Pacific/Apia')$$,
	$$VALUES ('2011-12-29 12:00-10'::timestamptz), ('2011-12-31 00:00+14'), ('2011-12-31 12:00+14')$$,
	'Samoa skipped 2011-12-30: its noon fires once, when the skipped day ends');
SELECT is(cron_next('0 9 * * *', '2026-06-01 00:00+00', 'Asia/Kolkata'),
	'2026-06-01 09:00+05:30', 'a zone with a half-hour offset');
SELECT is(cron_next('0 9 * * *', '2026-06-01 00:00+00', 'utc'),
	'2026-06-01 09:00+00', 'zone names are case-insensitive');
SELECT is(cron_next('0 2 * * *', '2026-10-03 12:00+10'),
	cron_next('0 2 * * *', '2026-10-03 12:00+10', current_setting('racing_sched.timezone')),
	'no tz means racing_sched.timezone');
SELECT is(cron_next('0 2 * * *', '2026-10-03 12:00+10', NULL),
	cron_next('0 2 * * *', '2026-10-03 12:00+10', current_setting('racing_sched.timezone')),
	'a NULL tz means racing_sched.timezone');
SET LOCAL timezone TO 'America/New_York';
SELECT is(cron_next('0 0 * * *', '2026-01-01 00:00+00', 'UTC'), '2026-01-02 00:00+00',
	'the session TimeZone plays no part');
SET LOCAL timezone TO 'UTC';

--
-- Ordinary cron, in UTC.  2026-01-01 is a Thursday.
--
SELECT is(cron_next('0 0 * * *', '2026-01-01 00:00+00', 'UTC'), '2026-01-02 00:00+00',
	'the next fire is strictly after after');
SELECT is(cron_next('0 0 * * *', '2025-12-31 23:59:59.999999+00', 'UTC'), '2026-01-01 00:00+00',
	'a microsecond before a fire');
SELECT is(cron_next('* * * * *', '2026-01-01 00:00:30+00', 'UTC'), '2026-01-01 00:01+00',
	'* * * * * fires on the next minute');
SELECT is(cron_next('*/15 * * * *', '2026-01-01 00:07+00', 'UTC'), '2026-01-01 00:15+00',
	'*/15');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('1-30/5 * * * *', '2026-01-01 00:00+00', '2026-01-01 01:02+00', 'UTC')$$,
	$$VALUES ('2026-01-01 00:01+00'::timestamptz), ('2026-01-01 00:06+00'), ('2026-01-01 00:11+00'),
			 ('2026-01-01 00:16+00'), ('2026-01-01 00:21+00'), ('2026-01-01 00:26+00'),
			 ('2026-01-01 01:01+00')$$,
	'1-30/5: a stepped range');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('5/10 * * * *', '2026-01-01 00:00+00', '2026-01-01 01:06+00', 'UTC')$$,
	$$VALUES ('2026-01-01 00:05+00'::timestamptz), ('2026-01-01 00:15+00'), ('2026-01-01 00:25+00'),
			 ('2026-01-01 00:35+00'), ('2026-01-01 00:45+00'), ('2026-01-01 00:55+00'),
			 ('2026-01-01 01:05+00')$$,
	'5/10: from 5 to the end of the field');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 8,12,18 * * *', '2026-01-01 12:00+00', '2026-01-02 13:00+00', 'UTC')$$,
	$$VALUES ('2026-01-01 18:00+00'::timestamptz), ('2026-01-02 08:00+00'), ('2026-01-02 12:00+00')$$,
	'a list of hours');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0,1-2,*/20 0 * * *', '2026-01-01 00:00+00', '2026-01-01 01:00+00', 'UTC')$$,
	$$VALUES ('2026-01-01 00:01+00'::timestamptz), ('2026-01-01 00:02+00'),
			 ('2026-01-01 00:20+00'), ('2026-01-01 00:40+00')$$,
	'a list mixing values, ranges and steps');
SELECT is(cron_next('0 9-17 * * mon-fri', '2026-01-02 17:30+00', 'UTC'), '2026-01-05 09:00+00',
	'working hours on weekdays skip the weekend');
SELECT is(cron_next('0 0 * * 0', '2026-01-01 00:00+00', 'UTC'), '2026-01-04 00:00+00',
	'0 is Sunday');
SELECT is(cron_next('0 0 * * 7', '2026-01-01 00:00+00', 'UTC'), '2026-01-04 00:00+00',
	'7 is Sunday too');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 0 * * 5-7', '2026-01-01 00:00+00', '2026-01-10 00:00+00', 'UTC')$$,
	$$VALUES ('2026-01-02 00:00+00'::timestamptz), ('2026-01-03 00:00+00'),
			 ('2026-01-04 00:00+00'), ('2026-01-09 00:00+00')$$,
	'5-7: Friday to Sunday');
SELECT is(cron_next('0 0 * * SUN', '2026-01-01 00:00+00', 'UTC'), '2026-01-04 00:00+00',
	'weekday names in upper case');
SELECT is(cron_next('0 0 * * Sun', '2026-01-01 00:00+00', 'UTC'), '2026-01-04 00:00+00',
	'weekday names in mixed case');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 0 1 jan,JUL *', '2026-01-01 00:00+00', '2027-01-02 00:00+00', 'UTC')$$,
	$$VALUES ('2026-07-01 00:00+00'::timestamptz), ('2027-01-01 00:00+00')$$,
	'a list of month names');
SELECT is(cron_next('0 0 1 jan-mar/2 *', '2026-01-01 00:00+00', 'UTC'), '2026-03-01 00:00+00',
	'a stepped range of month names');
SELECT is(cron_next('0 0 1 sep-dec *', '2026-01-01 00:00+00', 'UTC'), '2026-09-01 00:00+00',
	'a range of month names');
SELECT is(cron_next(E'\t0   0\t* *  *  ', '2026-01-01 00:00+00', 'UTC'), '2026-01-02 00:00+00',
	'spaces and tabs separate fields');

-- Day of month and day of week.
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 0 13 * fri', '2026-01-01 00:00+00', '2026-02-01 00:00+00', 'UTC')$$,
	$$VALUES ('2026-01-02 00:00+00'::timestamptz), ('2026-01-09 00:00+00'), ('2026-01-13 00:00+00'),
			 ('2026-01-16 00:00+00'), ('2026-01-23 00:00+00'), ('2026-01-30 00:00+00')$$,
	'both day fields restricted: the 13th or a Friday');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 0 1-7 * mon', '2026-01-01 00:00+00', '2026-01-20 00:00+00', 'UTC')$$,
	$$VALUES ('2026-01-02 00:00+00'::timestamptz), ('2026-01-03 00:00+00'),
			 ('2026-01-04 00:00+00'), ('2026-01-05 00:00+00'), ('2026-01-06 00:00+00'),
			 ('2026-01-07 00:00+00'), ('2026-01-12 00:00+00'), ('2026-01-19 00:00+00')$$,
	'1-7 with mon is the first week or any Monday (not the first Monday)');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 0 13 * *', '2026-01-01 00:00+00', '2026-03-01 00:00+00', 'UTC')$$,
	$$VALUES ('2026-01-13 00:00+00'::timestamptz), ('2026-02-13 00:00+00')$$,
	'day of week *: only the day of month counts');
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 0 */2 * mon', '2026-01-01 00:00+00', '2026-03-01 00:00+00', 'UTC')$$,
	$$VALUES ('2026-01-05 00:00+00'::timestamptz), ('2026-01-19 00:00+00'),
			 ('2026-02-09 00:00+00'), ('2026-02-23 00:00+00')$$,
	'a day of month starting with * is unrestricted: odd days that are Mondays');
SELECT is(cron_next('0 0 * * fri', '2026-01-01 00:00+00', 'UTC'), '2026-01-02 00:00+00',
	'day of month *: only the day of week counts');

-- Month ends, leap days, year ends.
SELECT results_eq(
	$$SELECT * FROM pg_temp.fires('0 0 31 * *', '2026-01-01 00:00+00', '2026-09-01 00:00+00', 'UTC')$$,
	$$VALUES ('2026-01-31 00:00+00'::timestamptz), ('2026-03-31 00:00+00'), ('2026-05-31 00:00+00'),
			 ('2026-07-31 00:00+00'), ('2026-08-31 00:00+00')$$,
	'the 31st skips the shorter months');
SELECT is(cron_next('0 0 30 * *', '2026-01-30 00:00+00', 'UTC'), '2026-03-30 00:00+00',
	'the 30th skips February');
SELECT is(cron_next('0 0 29 2 *', '2026-01-01 00:00+00', 'UTC'), '2028-02-29 00:00+00',
	'0 0 29 2 *: the next leap day');
SELECT is(cron_next('0 0 29 2 *', '2028-02-29 00:00+00', 'UTC'), '2032-02-29 00:00+00',
	'0 0 29 2 *: and the one after');
SELECT is(cron_next('0 0 29 2 *', '2096-03-01 00:00+00', 'UTC'), '2104-02-29 00:00+00',
	'0 0 29 2 *: 2100 is no leap year, eight years to wait');
SELECT is(cron_next('0 0 29 2 *', '2099-01-01 00:00+00', 'Australia/Sydney'), '2104-02-29 00:00+11',
	'0 0 29 2 * in Sydney');
SELECT is(cron_next('59 23 31 12 *', '2026-06-01 00:00+00', 'UTC'), '2026-12-31 23:59+00',
	'the last minute of the year');
SELECT is(cron_next('0 0 1 1 *', '2026-06-01 00:00+00', 'UTC'), '2027-01-01 00:00+00',
	'into the next year');
SELECT is(cron_next('0 0 1 1 *', '1969-12-31 12:00+00', 'UTC'), '1970-01-01 00:00+00',
	'before 1970');

-- Macros.
SELECT is(cron_next('@hourly', '2026-01-01 10:30+00', 'UTC'), '2026-01-01 11:00+00', '@hourly');
SELECT is(cron_next('@daily', '2026-01-01 10:30+00', 'UTC'), '2026-01-02 00:00+00', '@daily');
SELECT is(cron_next('@midnight', '2026-01-01 10:30+00', 'UTC'), '2026-01-02 00:00+00', '@midnight');
SELECT is(cron_next('@weekly', '2026-01-01 10:30+00', 'UTC'), '2026-01-04 00:00+00', '@weekly is Sunday midnight');
SELECT is(cron_next('@monthly', '2026-01-01 10:30+00', 'UTC'), '2026-02-01 00:00+00', '@monthly');
SELECT is(cron_next('@yearly', '2026-01-01 10:30+00', 'UTC'), '2027-01-01 00:00+00', '@yearly');
SELECT is(cron_next('@annually', '2026-01-01 10:30+00', 'UTC'), '2027-01-01 00:00+00', '@annually');
SELECT is(cron_next('  @Daily  ', '2026-01-01 10:30+00', 'UTC'), '2026-01-02 00:00+00',
	'macros are case-insensitive and may be padded');

-- A long gap stays cheap: skipping by field, not by minute.
SELECT ok((SELECT count(*) FROM generate_series(1, 1000) AS i
		   WHERE cron_next('0 0 29 2 *', '2096-03-01 00:00+00', 'Australia/Sydney')
				 = '2104-02-29 00:00+11') = 1000,
	'a thousand eight-year searches run (and agree) within the test');

--
-- Parse errors: SQLSTATE 22023, the field and the value in the message.
--
SELECT throws_ok($$SELECT cron_next('61 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 61 out of range 0-59 in minute field', 'minute 61');
SELECT throws_ok($$SELECT cron_next('* 24 * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 24 out of range 0-23 in hour field', 'hour 24');
SELECT throws_ok($$SELECT cron_next('0 0 0 * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 0 out of range 1-31 in day-of-month field', 'day of month 0');
SELECT throws_ok($$SELECT cron_next('0 0 32 * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 32 out of range 1-31 in day-of-month field', 'day of month 32');
SELECT throws_ok($$SELECT cron_next('0 0 * 0 *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 0 out of range 1-12 in month field', 'month 0');
SELECT throws_ok($$SELECT cron_next('0 0 * 13 *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 13 out of range 1-12 in month field', 'month 13');
SELECT throws_ok($$SELECT cron_next('0 0 * * 8', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 8 out of range 0-7 in day-of-week field', 'day of week 8');
SELECT throws_ok($$SELECT cron_next('0 0 1-32 * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 32 out of range 1-31 in day-of-month field', 'range end 32');
SELECT throws_ok($$SELECT cron_next('99999999999 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 99999999999 out of range 0-59 in minute field', 'a huge number');
SELECT throws_ok($$SELECT cron_next('*/0 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: step 0 out of range 1-60 in minute field', 'step 0');
SELECT throws_ok($$SELECT cron_next('0 */25 * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: step 25 out of range 1-24 in hour field', 'step 25 in hours');
SELECT throws_ok($$SELECT cron_next('0 0 * * */8', now(), 'UTC')$$, '22023',
	'invalid cron expression: step 8 out of range 1-7 in day-of-week field', 'step 8 in weekdays');
SELECT throws_ok($$SELECT cron_next('30-5 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: range "30-5" runs backwards in minute field', 'backwards range');
SELECT throws_ok($$SELECT cron_next('0 0 * * fri-mon', now(), 'UTC')$$, '22023',
	'invalid cron expression: range "fri-mon" runs backwards in day-of-week field', 'backwards named range');
SELECT throws_ok($$SELECT cron_next('0 0 * foo *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown name "foo" in month field', 'unknown month name');
SELECT throws_ok($$SELECT cron_next('0 0 * * monday', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown name "monday" in day-of-week field', 'full weekday names are not names');
SELECT throws_ok($$SELECT cron_next('0 0 * * mön', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown name in day-of-week field', 'a name with a non-ASCII letter');
SELECT throws_ok($$SELECT cron_next('0 0 * jan-foo *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown name "foo" in month field', 'unknown name as a range end');
SELECT throws_ok($$SELECT cron_next('mon * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "m" in minute field', 'names only in month and weekday fields');
SELECT throws_ok($$SELECT cron_next('0 0 jan * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "j" in day-of-month field', 'a month name in the day-of-month field');
SELECT throws_ok($$SELECT cron_next('1,,2 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "," in minute field', 'an empty list item');
SELECT throws_ok($$SELECT cron_next('1, * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: missing value in minute field', 'a trailing comma');
SELECT throws_ok($$SELECT cron_next('1- * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: missing value in minute field', 'a range without an end');
SELECT throws_ok($$SELECT cron_next('*/ * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: missing value in minute field', 'a step without a number');
SELECT throws_ok($$SELECT cron_next('*/x * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "x" in minute field', 'a step that is not a number');
SELECT throws_ok($$SELECT cron_next('5x * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "x" in minute field', 'garbage after a number');
SELECT throws_ok($$SELECT cron_next('-1 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "-" in minute field', 'a negative number');
SELECT throws_ok($$SELECT cron_next('*-5 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "-" in minute field', 'a range starting with *');
SELECT throws_ok($$SELECT cron_next('1/2/3 * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "/" in minute field', 'two steps');
SELECT throws_ok($$SELECT cron_next('0 0 ? * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "?" in day-of-month field', 'Quartz-style ?');
SELECT throws_ok($$SELECT cron_next('0 0 L * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character "L" in day-of-month field', 'Quartz-style L');
SELECT throws_ok($$SELECT cron_next('é * * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected character in minute field', 'a non-ASCII character');
SELECT throws_ok($$SELECT cron_next('', now(), 'UTC')$$, '22023',
	'invalid cron expression: the expression is empty', 'an empty expression');
SELECT throws_ok($$SELECT cron_next('   ', now(), 'UTC')$$, '22023',
	'invalid cron expression: the expression is empty', 'a blank expression');
SELECT throws_ok($$SELECT cron_next('0 0 * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: missing day-of-week field', 'four fields');
SELECT throws_ok($$SELECT cron_next('0', now(), 'UTC')$$, '22023',
	'invalid cron expression: missing hour field', 'one field');
SELECT throws_ok($$SELECT cron_next('0 0 0 * * *', now(), 'UTC')$$, '22023',
	'invalid cron expression: value 0 out of range 1-31 in day-of-month field',
	'six fields with seconds fail on the first field that does not fit');
SELECT throws_ok($$SELECT cron_next('0 0 * * * 2026', now(), 'UTC')$$, '22023',
	'invalid cron expression: too many fields', 'a sixth field');
SELECT throws_ok($$SELECT cron_next('@reboot', now(), 'UTC')$$, '22023',
	'invalid cron expression: macro "@reboot" is not supported', '@reboot');
SELECT throws_ok($$SELECT cron_next('@fortnightly', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown macro "@fortnightly"', 'an unknown macro');
SELECT throws_ok($$SELECT cron_next('@daily,', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown macro "@daily,"', 'a macro with trailing punctuation');
SELECT throws_ok($$SELECT cron_next(E'@dai\x02ly', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown macro', 'a macro with a control character is not quoted');
SELECT throws_ok($$SELECT cron_next('@dailé', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown macro', 'a macro with a non-ASCII letter is not quoted');
SELECT throws_ok($$SELECT cron_next('@', now(), 'UTC')$$, '22023',
	'invalid cron expression: unknown macro "@"', 'a bare @');
SELECT throws_ok($$SELECT cron_next('@daily 5', now(), 'UTC')$$, '22023',
	'invalid cron expression: unexpected text after macro "@daily"', 'text after a macro');

-- Where: a caret under the offending character, and a hint on the shape.
SELECT is(pg_temp.error_part('0 61 * * *', 'detail'), E'Error at character 3:\n0 61 * * *\n  ^',
	'the detail points at the offending value');
SELECT is(pg_temp.error_part(E'0\t0 * * x', 'detail'), E'Error at character 9:\n0 0 * * x\n        ^',
	'a tab is shown as a space, so the caret lines up');
SELECT is(pg_temp.error_part('0 0 * *', 'detail'), E'Error at character 8:\n0 0 * *\n       ^',
	'a missing field points past the end');
SELECT is(pg_temp.error_part('0 0 * * * *', 'hint'),
	'A cron expression has five fields (minute hour day-of-month month day-of-week) or is one of @yearly, @monthly, @weekly, @daily, @hourly.',
	'too many fields: the hint shows the shape');
SELECT is(pg_temp.error_part('61 * * * *', 'hint'), '', 'a bad value: no hint');

--
-- Other errors.
--
SELECT throws_ok($$SELECT cron_next('0 0 30 2 *', '2026-01-01 00:00+00', 'UTC')$$, '22023',
	'cron expression "0 0 30 2 *" has no fire time within 8 years after 2026-01-01 00:00:00+00',
	'February 30th never comes');
SELECT throws_ok($$SELECT cron_next('0 0 31 4,6,9,11 *', '2026-01-01 00:00+00', 'UTC')$$, '22023',
	'cron expression "0 0 31 4,6,9,11 *" has no fire time within 8 years after 2026-01-01 00:00:00+00',
	'nor does the 31st of a 30-day month');
SELECT throws_ok($$SELECT cron_next(NULL, now(), 'UTC')$$, '22004',
	'argument "expr" of cron_next must not be null', 'NULL expr');
SELECT throws_ok($$SELECT cron_next('* * * * *', NULL, 'UTC')$$, '22004',
	'argument "after" of cron_next must not be null', 'NULL after');
SELECT throws_ok($$SELECT cron_next('* * * * *', 'infinity', 'UTC')$$, '22008',
	'argument "after" of cron_next must be finite', 'infinite after');
SELECT throws_ok($$SELECT cron_next('* * * * *', '-infinity', 'UTC')$$, '22008',
	'argument "after" of cron_next must be finite', 'minus infinite after');
SELECT throws_ok($$SELECT cron_next('* * * * *', now(), 'Mars/Olympus_Mons')$$, '22023',
	'time zone "Mars/Olympus_Mons" not recognized', 'an unknown time zone');
SELECT throws_ok($$SELECT cron_next('* * * * *', now(), '')$$, '22023',
	'time zone "" not recognized', 'an empty time zone');

--
-- next_runs: the schedule of a job, in racing_sched.timezone, after now().
--
SELECT is((SELECT count(*) FROM next_runs('morning_scrape')), 5::bigint,
	'next_runs gives five fire times by default');
SELECT is((SELECT count(*) FROM next_runs('morning_scrape', 3)), 3::bigint,
	'next_runs gives n fire times');
SELECT is((SELECT min(t) FROM next_runs('morning_scrape', 3) AS t),
	cron_next('0 6 * * *', now()),
	'the first is the next fire after now()');
SELECT is(
	(SELECT array_agg(DISTINCT (t AT TIME ZONE current_setting('racing_sched.timezone'))::time)
	 FROM next_runs('morning_scrape', 10) AS t),
	ARRAY['06:00'::time],
	'morning_scrape fires at 06:00 local time');
SELECT is(
	(SELECT count(DISTINCT (t AT TIME ZONE current_setting('racing_sched.timezone'))::date)
	 FROM next_runs('morning_scrape', 10) AS t),
	10::bigint,
	'on ten different days');
SELECT results_eq(
	$$SELECT t FROM next_runs('cleanup_job_runs', 4) AS t$$,
	$$SELECT t FROM next_runs('cleanup_job_runs', 4) AS t ORDER BY t$$,
	'in increasing order');
SELECT is_empty($$SELECT * FROM next_runs('pre_race_t15')$$,
	'a race-driven job has no cron fire times');
SELECT is_empty($$SELECT * FROM next_runs('morning_scrape', 0)$$, 'n = 0 gives nothing');
INSERT INTO racing_sched.jobs (job_name, job_type, schedule, command, owner)
VALUES ('cron_tap_job', 'sql', '*/20 * * * *', 'SELECT 1', current_user);
SELECT is(
	(SELECT array_agg(DISTINCT extract(minute FROM t)::int ORDER BY extract(minute FROM t)::int)
	 FROM next_runs('cron_tap_job', 6) AS t),
	ARRAY[0, 20, 40],
	'a custom job''s schedule');
SELECT is((SELECT count(DISTINCT t) FROM next_runs('cron_tap_job', 6) AS t), 6::bigint,
	'six distinct fire times');
SELECT throws_ok($$SELECT * FROM next_runs('no_such_job')$$, '42704',
	'job "no_such_job" does not exist', 'an unknown job');
SELECT throws_ok($$SELECT * FROM next_runs(NULL)$$, '22004',
	'argument "job_name" of next_runs must not be null', 'NULL job_name');
SELECT throws_ok($$SELECT * FROM next_runs('morning_scrape', NULL)$$, '22004',
	'argument "n" of next_runs must not be null', 'NULL n');
SELECT throws_ok($$SELECT * FROM next_runs('morning_scrape', -1)$$, '22023',
	'argument "n" of next_runs must not be negative', 'negative n');

SELECT * FROM finish();
ROLLBACK;
