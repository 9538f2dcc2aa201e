-- The fetch functions' argument checks (every error raised before any
-- request) and the store's semantics through the text entries
-- _ingest_meetings and _ingest_race: upserts without duplicates, status
-- timestamps, provisional then official results, odds snapshots, dividends,
-- fixed-odds-only meetings, one snapshot per pre-race phase, a failed unit
-- rolled back alone.  No network: the API URL points at a closed port.
BEGIN;
SELECT plan(80);
SET search_path = racing_sched, public;
SET LOCAL racing_sched.tab_api_url = 'http://127.0.0.1:9/closed';

-- Privileges: nothing here is executable by PUBLIC.
CREATE ROLE rs_store_nobody;
SELECT ok(NOT has_function_privilege('rs_store_nobody', 'racing_sched.fetch_meetings(date, text)', 'EXECUTE'),
	'fetch_meetings is not executable by PUBLIC');
SELECT ok(NOT has_function_privilege('rs_store_nobody', 'racing_sched.fetch_race(date, text, text, integer, text)', 'EXECUTE'),
	'fetch_race is not executable by PUBLIC');
SELECT ok(NOT has_function_privilege('rs_store_nobody', 'racing_sched.fetch_fixed_odds_race(date, text, text, text, text)', 'EXECUTE'),
	'fetch_fixed_odds_race is not executable by PUBLIC');
SELECT ok(NOT has_function_privilege('rs_store_nobody', 'racing_sched._ingest_meetings(text, text)', 'EXECUTE'),
	'_ingest_meetings is not executable by PUBLIC');
SELECT ok(NOT has_function_privilege('rs_store_nobody', 'racing_sched._ingest_race(text, text, date, text)', 'EXECUTE'),
	'_ingest_race is not executable by PUBLIC');

-- Arguments.
SELECT throws_ok($$SELECT fetch_meetings(NULL, 'NSW')$$, '22004', 'date must not be null', 'NULL date');
SELECT throws_ok($$SELECT fetch_meetings('2026-11-28', NULL)$$, '22004', 'jurisdiction must not be null', 'NULL jurisdiction');
SELECT throws_ok($$SELECT fetch_meetings('2026-11-28', 'WA')$$, '22023', 'invalid jurisdiction "WA"', 'unknown jurisdiction');
SELECT throws_ok($$SELECT fetch_meetings('2026-11-28', 'nsw')$$, '22023', 'invalid jurisdiction "nsw"', 'jurisdictions are upper case');
SELECT throws_ok($$SELECT fetch_meetings('infinity', 'NSW')$$, '22023', 'date must be finite', 'infinite date');
SELECT throws_ok($$SELECT fetch_race(NULL, 'R', 'RHL', 1, 'NSW')$$, '22004', 'date must not be null', 'fetch_race: NULL date');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', NULL, 'RHL', 1, 'NSW')$$, '22004', 'race_type must not be null', 'NULL race_type');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'T', 'RHL', 1, 'NSW')$$, '22023', 'invalid race_type "T"', 'unknown race_type');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', NULL, 1, 'NSW')$$, '22004', 'venue must not be null', 'NULL venue');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', '', 1, 'NSW')$$, '22023', 'venue must be 1 to 200 bytes long', 'empty venue');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', E'R\nHL', 1, 'NSW')$$, '22023', 'venue must not contain control characters', 'control character in venue');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', 'RHL', NULL, 'NSW')$$, '22004', 'race_number must not be null', 'NULL race_number');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', 'RHL', 0, 'NSW')$$, '22023', 'race_number 0 is out of range', 'race number 0');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', 'RHL', 100, 'NSW')$$, '22023', 'race_number 100 is out of range', 'race number 100');
SELECT throws_ok($$SELECT fetch_race('2026-11-28', 'R', 'RHL', 1, 'XYZ')$$, '22023', 'invalid jurisdiction "XYZ"', 'fetch_race: bad jurisdiction');
SELECT throws_ok($$SELECT fetch_fixed_odds_race('2026-11-28', 'G', 'Romford (GBR)', NULL, 'NSW')$$, '22004',
	'match_name must not be null', 'fetch_fixed_odds_race: NULL match name');
SELECT throws_ok($$SELECT _ingest_race('{}', 'NSW', NULL, 'pre_race_t30')$$, '22023',
	'invalid scrape_type "pre_race_t30"', '_ingest_race: unknown scrape type');

-- A request that cannot connect is a failed unit in the summary, not an ERROR.
SELECT is(fetch_meetings('2026-11-28', 'NSW') - 'requests_detail' - 'elapsed_ms' - 'errors',
	'{"requests": 1, "stored": 0, "failed": 1, "phase_duplicates": 0, "http_status": null, "bytes": 0}'::jsonb,
	'unreachable API: one request, one failure');
SELECT matches(fetch_meetings('2026-11-28', 'NSW')->'errors'->>0, '^meetings 2026-11-28 NSW: connect: ',
	'the error names the request and the phase');

-- The documents.
CREATE TEMP TABLE doc (name text PRIMARY KEY, body text);
INSERT INTO doc VALUES
('list', $${"meetings": [
 {"meetingName": "ROSEHILL", "location": "NSW", "raceType": "R", "meetingDate": "2026-11-28",
  "venueMnemonic": "RHL", "prizeMoney": "$1250000.00", "weatherCondition": "FINE",
  "trackCondition": "GOOD4", "railPosition": null,
  "races": [
   {"raceNumber": 1, "raceName": "MAIDEN PLATE", "raceStartTime": "2026-11-28T01:35:00.000Z",
    "raceStatus": "Interim", "raceDistance": 1100, "results": [[4], [1], [2], [8]],
    "scratchings": [{"runnerNumber": 6, "runnerName": "SHADOW RUN", "bettingStatus": "LateScratched"}]},
   {"raceNumber": 2, "raceName": "BM72", "raceStartTime": "2026-11-28T02:10:00.000Z",
    "raceStatus": "Normal", "raceDistance": 1400, "results": [], "scratchings": []},
   {"raceNumber": 3, "raceStartTime": "2026-11-28T02:45:00.000Z", "raceStatus": "Photo"},
   {"raceNumber": 4, "raceStartTime": "2026-11-28T03:20:00.000Z", "raceStatus": "Abandoned"}]},
 {"meetingName": "Romford (GBR)", "displayMeetingName": "Romford", "location": "GBR",
  "raceType": "G", "meetingDate": "2026-11-28", "fixedOddsOnly": true,
  "races": [
   {"raceNumber": 7, "matchName": "ROMFORD R07 27/11", "meetingDate": "2026-11-27",
    "raceStartTime": "2026-11-27T20:00:00.000Z", "raceStatus": "Paying", "results": [[2], [5]]},
   {"raceNumber": 7, "matchName": "ROMFORD R07 28/11", "meetingDate": "2026-11-28",
    "raceStartTime": "2026-11-28T20:00:00.000Z", "raceStatus": "Normal"}]}]}$$),
('list_bad', $${"meetings": [
 {"meetingName": "RANDWICK", "location": "NSW", "raceType": "R", "meetingDate": "2026-11-28",
  "venueMnemonic": "RAN", "races": [
   {"raceNumber": 1, "raceStartTime": "2026-11-28T01:00:00Z", "raceStatus": "Normal"},
   {"raceNumber": 100, "raceStartTime": "2026-11-28T02:00:00Z", "raceStatus": "Normal"}]},
 {"meetingName": "FLEMINGTON", "location": "VIC", "raceType": "R", "meetingDate": "2026-11-28",
  "venueMnemonic": "FLE", "races": [
   {"raceNumber": 1, "raceStartTime": "2026-11-28T01:00:00Z", "raceStatus": "Open"}]}]}$$),
('race_paying', $${"raceNumber": 1, "raceName": "MAIDEN PLATE", "raceStartTime": "2026-11-28T01:35:00.000Z",
 "raceStatus": "Paying", "raceDistance": 1100,
 "meeting": {"meetingName": "ROSEHILL", "venueMnemonic": "RHL", "meetingDate": "2026-11-28",
  "location": "NSW", "raceType": "R", "weatherCondition": "FINE", "trackCondition": "GOOD4"},
 "prizeMoney": "$50000.00",
 "runners": [
  {"runnerNumber": 1, "runnerName": "ONE", "barrierNumber": 3, "handicapWeight": 58.5,
   "fixedOdds": {"returnWin": 3.5, "returnPlace": 1.5, "bettingStatus": "Placing"},
   "parimutuel": {"returnWin": 3.4, "returnPlace": 1.45}},
  {"runnerNumber": 2, "runnerName": "TWO", "barrierNumber": 1,
   "fixedOdds": {"returnWin": 6, "returnPlace": 2.1, "bettingStatus": "Placing"}},
  {"runnerNumber": 4, "runnerName": "FOUR", "barrierNumber": 2,
   "fixedOdds": {"returnWin": 2.2, "returnPlace": 1.2, "bettingStatus": "Winner"},
   "parimutuel": {"returnWin": 2.3, "returnPlace": 1.3}},
  {"runnerNumber": 6, "runnerName": "SHADOW RUN", "barrierNumber": 5,
   "fixedOdds": {"returnWin": 9, "bettingStatus": "LateScratched", "scratchedTime": "2026-11-28T01:30:00Z"}},
  {"runnerNumber": 8, "runnerName": "EIGHT", "barrierNumber": 4, "riderDriverName": "NOT NOTIFIED"}],
 "results": [[4], [1], [2], [8]],
 "dividends": [
  {"wageringProduct": "Win", "poolStatusCode": "Paying", "poolDividends": [{"selections": [4], "amount": 2.3}]},
  {"wageringProduct": "Place", "poolStatusCode": "Paying", "poolDividends": [
    {"selections": [4], "amount": 1.3}, {"selections": [1], "amount": 1.45}, {"selections": [2], "amount": 2.0}]},
  {"wageringProduct": "Quinella", "poolDividends": [{"selections": "SPLIT", "amount": 7.1}]}]}$$),
('romford_race', $${"raceNumber": 7, "matchName": "ROMFORD R07 27/11", "raceStartTime": "2026-11-27T20:00:00.000Z",
 "raceStatus": "Paying", "meetingDate": "2026-11-27",
 "meeting": {"meetingName": "Romford (GBR)", "meetingDate": "2026-11-27", "location": "GBR", "raceType": "G"},
 "runners": [{"runnerNumber": 2, "runnerName": "DOG TWO", "fixedOdds": {"returnWin": 4}},
             {"runnerNumber": 5, "runnerName": "DOG FIVE", "fixedOdds": {"returnWin": 5}}],
 "results": [[2], [5]]}$$),
('race2_open', $${"raceNumber": 2, "raceStartTime": "2026-11-28T02:10:00.000Z", "raceStatus": "Normal",
 "meeting": {"meetingName": "ROSEHILL", "venueMnemonic": "RHL", "meetingDate": "2026-11-28", "raceType": "R"},
 "runners": [{"runnerNumber": 1, "runnerName": "A", "fixedOdds": {"returnWin": 2}},
             {"runnerNumber": 2, "runnerName": "B", "fixedOdds": {"returnWin": 3}}]}$$);

CREATE FUNCTION pg_temp.race(venue text, n int) RETURNS racing_sched.races
LANGUAGE sql AS $$
	SELECT r.* FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
	WHERE m.venue_mnemonic = venue AND r.race_number = n AND r.match_name IS NULL
$$;

-- A meetings list: meetings, race stubs, statuses, scratchings, provisional results.
SELECT is(_ingest_meetings((SELECT body FROM doc WHERE name = 'list'), 'NSW') - 'requests_detail',
	'{"requests": 0, "stored": 2, "failed": 0, "phase_duplicates": 0, "errors": [], "http_status": null, "bytes": 0, "elapsed_ms": 0}'::jsonb,
	'meetings list: two meetings stored');
SELECT results_eq($$SELECT meeting_name, venue_mnemonic, fixed_odds_only, prize_money, jurisdictions FROM meetings ORDER BY meeting_name$$,
	$$VALUES ('ROSEHILL', 'RHL', false, 1250000.00::numeric, '{NSW}'::text[]), ('Romford (GBR)', NULL, true, NULL, '{NSW}')$$,
	'meetings keyed by venue, or by name when fixed-odds-only');
SELECT is((SELECT count(*) FROM races), 6::bigint, 'six races, race 7 of the fixed-odds meeting twice');
SELECT results_eq($$SELECT match_name, race_date FROM races WHERE match_name IS NOT NULL ORDER BY match_name$$,
	$$VALUES ('ROMFORD R07 27/11', '2026-11-27'::date), ('ROMFORD R07 28/11', '2026-11-28')$$,
	'fixed-odds races keyed by match name, each with its own date');
SELECT results_eq($$SELECT status, interim_at IS NOT NULL, official_at IS NULL, start_time FROM pg_temp.race('RHL', 1)$$,
	$$VALUES ('Interim', true, true, '2026-11-28 01:35:00+00'::timestamptz)$$, 'Interim: status and interim_at');
SELECT results_eq($$SELECT runner_number, position, official FROM results WHERE race_id = (pg_temp.race('RHL', 1)).race_id ORDER BY position$$,
	$$VALUES (4, 1, false), (1, 2, false), (2, 3, false), (8, 4, false)$$, 'Interim: provisional results');
SELECT results_eq($$SELECT runner_number, runner_name, scratched, late_scratched, scratched_at IS NOT NULL FROM runners WHERE race_id = (pg_temp.race('RHL', 1)).race_id$$,
	$$VALUES (6, 'SHADOW RUN', true, true, true)$$, 'a late scratching is a scratched runner row');
SELECT is((pg_temp.race('RHL', 3)).status, 'Photo', 'an unknown status is stored as is');
SELECT results_eq($$SELECT status, abandoned_at IS NOT NULL FROM pg_temp.race('RHL', 4)$$,
	$$VALUES ('Abandoned', true)$$, 'Abandoned: marked with abandoned_at');
SELECT is((SELECT count(*) FROM results r JOIN races USING (race_id) WHERE match_name = 'ROMFORD R07 27/11' AND official), 2::bigint,
	'a Paying stub in the list: official results');
SELECT is((SELECT count(*) FROM scrapes WHERE scrape_type = 'manual' AND race_id IS NULL AND jurisdiction = 'NSW'), 2::bigint,
	'one scrapes row per meeting');

-- The same list again, from another jurisdiction: nothing duplicated.
CREATE TEMP TABLE before AS SELECT (SELECT interim_at FROM pg_temp.race('RHL', 1)) AS interim_at,
	(SELECT status_changed_at FROM pg_temp.race('RHL', 1)) AS changed;
SELECT is((_ingest_meetings((SELECT body FROM doc WHERE name = 'list'), 'VIC')->>'stored')::int, 2, 'stored again');
SELECT is((SELECT count(*) FROM meetings), 2::bigint, 'no duplicate meetings');
SELECT is((SELECT count(*) FROM races), 6::bigint, 'no duplicate races');
SELECT is((SELECT count(*) FROM results), 6::bigint, 'no duplicate results');
SELECT is((SELECT count(*) FROM runners), 1::bigint, 'no duplicate runners');
SELECT is((SELECT jurisdictions FROM meetings WHERE venue_mnemonic = 'RHL'), '{NSW,VIC}'::text[], 'jurisdictions merged');
SELECT is((SELECT interim_at FROM pg_temp.race('RHL', 1)), (SELECT interim_at FROM before), 'interim_at kept from the first sighting');
SELECT is((SELECT status_changed_at FROM pg_temp.race('RHL', 1)), (SELECT changed FROM before), 'status_changed_at kept while the status holds');

-- The race document at Paying: official results in place, runners, odds, dividends.
SELECT is(_ingest_race((SELECT body FROM doc WHERE name = 'race_paying'), 'NSW') - 'requests_detail' - 'errors',
	'{"requests": 0, "stored": 1, "failed": 0, "phase_duplicates": 0, "http_status": null, "bytes": 0, "elapsed_ms": 0}'::jsonb,
	'race document stored');
SELECT results_eq($$SELECT status, interim_at IS NOT NULL, official_at IS NOT NULL, status_changed_at > (SELECT changed FROM before) OR status_changed_at = now() FROM pg_temp.race('RHL', 1)$$,
	$$VALUES ('Paying', true, true, true)$$, 'Paying: official_at set, interim_at kept, status change dated');
SELECT results_eq($$SELECT runner_number, position, official FROM results WHERE race_id = (pg_temp.race('RHL', 1)).race_id ORDER BY position$$,
	$$VALUES (4, 1, true), (1, 2, true), (2, 3, true), (8, 4, true)$$, 'provisional results turned official in place');
SELECT results_eq($$SELECT runner_number, runner_name, barrier, handicap_weight, rider_name, scratched, late_scratched
	FROM runners WHERE race_id = (pg_temp.race('RHL', 1)).race_id ORDER BY runner_number$$,
	$$VALUES (1, 'ONE', 3, 58.5::numeric, NULL::text, false, false), (2, 'TWO', 1, NULL, NULL, false, false),
	(4, 'FOUR', 2, NULL, NULL, false, false), (6, 'SHADOW RUN', 5, NULL, NULL, true, true),
	(8, 'EIGHT', 4, NULL, 'NOT NOTIFIED', false, false)$$, 'runners upserted');
SELECT results_eq($$SELECT runner_number, fixed_win, fixed_place, tote_win, tote_place, betting_status FROM odds
	WHERE race_id = (pg_temp.race('RHL', 1)).race_id ORDER BY runner_number$$,
	$$VALUES (1, 3.50, 1.50, 3.40, 1.45, 'Placing'), (2, 6.00, 2.10, NULL, NULL, 'Placing'),
	(4, 2.20, 1.20, 2.30, 1.30, 'Winner'), (6, 9.00, NULL, NULL, NULL, 'LateScratched'),
	(8, NULL::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::text)$$, 'one odds snapshot');
SELECT results_eq($$SELECT product, selections, selections_text, amount FROM dividends ORDER BY product, amount$$,
	$$VALUES ('Place', '{4}'::int[], NULL::text, 1.30), ('Place', '{1}', NULL, 1.45), ('Place', '{2}', NULL, 2.00),
	('Quinella', NULL, 'SPLIT', 7.10), ('Win', '{4}', NULL, 2.30)$$, 'dividends, a SPLIT as text');
SELECT is((SELECT prize_money FROM meetings WHERE venue_mnemonic = 'RHL'), 1250000.00, 'a race document keeps the meeting''s prize money');

-- Again: a second odds snapshot, nothing else duplicated.
SELECT is((_ingest_race((SELECT body FROM doc WHERE name = 'race_paying'), 'NSW')->>'stored')::int, 1, 'race stored again');
SELECT is((SELECT count(DISTINCT scrape_id) FROM odds), 2::bigint, 'two odds snapshots');
SELECT is((SELECT count(*) FROM odds), 10::bigint, 'each of five runners');
SELECT is((SELECT count(*) FROM dividends), 5::bigint, 'dividends replaced, not duplicated');
SELECT is((SELECT count(*) FROM results WHERE race_id = (pg_temp.race('RHL', 1)).race_id), 4::bigint, 'results not duplicated');
SELECT is((SELECT count(*) FROM runners WHERE race_id = (pg_temp.race('RHL', 1)).race_id), 5::bigint, 'runners not duplicated');

-- A correction: a placing no longer given is deleted.
SELECT is((_ingest_race(replace((SELECT body FROM doc WHERE name = 'race_paying'), '[[4], [1], [2], [8]]', '[[4], [2], [1]]'), 'NSW')->>'stored')::int,
	1, 'corrected result stored');
SELECT results_eq($$SELECT runner_number, position FROM results WHERE race_id = (pg_temp.race('RHL', 1)).race_id ORDER BY position$$,
	$$VALUES (4, 1), (2, 2), (1, 3)$$, 'placings updated, the dropped one deleted');

-- The fixed-odds race document: its meeting block carries the race's own
-- date; the date it was requested under files it under the list's meeting.
SELECT is((_ingest_race((SELECT body FROM doc WHERE name = 'romford_race'), 'NSW', '2026-11-28')->>'stored')::int, 1,
	'fixed-odds race document stored');
SELECT is((SELECT count(*) FROM meetings), 2::bigint, 'no new meeting for it');
SELECT is((SELECT count(*) FROM runners r JOIN races USING (race_id) WHERE match_name = 'ROMFORD R07 27/11'), 2::bigint,
	'its runners under the race of the list');

-- One snapshot per race and pre-race phase.
SELECT is(_ingest_race((SELECT body FROM doc WHERE name = 'race2_open'), 'NSW', NULL, 'pre_race_t60')->>'phase_duplicates', '0',
	'pre_race_t60: first snapshot');
SELECT is(_ingest_race((SELECT body FROM doc WHERE name = 'race2_open'), 'NSW', NULL, 'pre_race_t60') - 'requests_detail' - 'errors' - 'elapsed_ms',
	'{"requests": 0, "stored": 1, "failed": 0, "phase_duplicates": 1, "http_status": null, "bytes": 0}'::jsonb,
	'pre_race_t60 again: stored, counted as a phase duplicate');
SELECT is((SELECT count(*) FROM scrapes WHERE scrape_type = 'pre_race_t60'), 1::bigint, 'one pre_race_t60 scrape');
SELECT is((SELECT count(*) FROM odds WHERE race_id = (pg_temp.race('RHL', 2)).race_id), 2::bigint, 'one snapshot of odds');
SELECT is((_ingest_race((SELECT body FROM doc WHERE name = 'race2_open'), 'NSW', NULL, 'pre_race_t15')->>'phase_duplicates')::int, 0,
	'pre_race_t15 is another phase');
SELECT is((pg_temp.race('RHL', 2)).status, 'Normal', 'status Normal kept');

-- A failed unit: rolled back alone, named in errors; the other unit stored.
CREATE TEMP TABLE counts AS SELECT (SELECT count(*) FROM meetings) AS meetings, (SELECT count(*) FROM races) AS races,
	(SELECT count(*) FROM scrapes) AS scrapes;
CREATE TEMP TABLE bad AS SELECT _ingest_meetings((SELECT body FROM doc WHERE name = 'list_bad'), 'NSW') AS s;
SELECT is((SELECT (s->>'stored')::int * 10 + (s->>'failed')::int FROM bad), 11, 'one meeting stored, one failed');
SELECT matches((SELECT s->'errors'->>0 FROM bad), '^meeting 2026-11-28 R RAN: .*races_race_number_check',
	'the error names the meeting and the violated check');
SELECT ok(NOT EXISTS (SELECT FROM meetings WHERE venue_mnemonic = 'RAN'), 'nothing of the failed meeting was kept');
SELECT is((SELECT count(*) FROM races), (SELECT races FROM counts) + 1, 'only the good meeting''s race added');
SELECT is((SELECT count(*) FROM scrapes), (SELECT scrapes FROM counts) + 1, 'one scrapes row, of the good meeting');
SELECT is((pg_temp.race('FLE', 1)).status, 'Normal', 'the alias Open is stored as Normal');

-- Broken documents: failed, nothing stored, the session goes on.
CREATE TEMP TABLE broken AS SELECT _ingest_race(left((SELECT body FROM doc WHERE name = 'race_paying'), 300), 'NSW') AS s;
SELECT is((SELECT (s->>'failed')::int FROM broken), 1, 'truncated race document: failed');
SELECT matches((SELECT s->'errors'->>0 FROM broken), '^race document: .*line', 'the parse error says where');
SELECT is((SELECT count(*) FROM scrapes), (SELECT scrapes FROM counts) + 1, 'and stored nothing');
SELECT is((_ingest_meetings('', 'NSW')->>'failed')::int, 1, 'an empty document fails');
SELECT is((_ingest_meetings('<html><body>Access Denied</body></html>', 'NSW')->>'failed')::int, 1, 'an HTML page fails');
SELECT is((_ingest_race('{"raceNumber": "1"}')->>'failed')::int, 1, 'a wrong type fails');
SELECT is((SELECT count(*) FROM meetings), 3::bigint, 'the session still works');

SELECT * FROM finish();
ROLLBACK;
