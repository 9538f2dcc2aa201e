-- Constraints of the racing data and the job tables.
CREATE EXTENSION racing_sched;
SET search_path = racing_sched, public;
-- Failing rows carry timestamps: show the constraint, not the row.
\set VERBOSITY terse

-- Meetings: natural keys from the TAB API.
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name, location)
VALUES ('2026-11-28', 'R', 'RHL', 'ROSEHILL', 'NSW');
-- the same venue and day, another race type: a different meeting
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name, location)
VALUES ('2026-11-28', 'G', 'RHL', 'ROSEHILL', 'NSW');
-- the same key twice
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name, location)
VALUES ('2026-11-28', 'R', 'RHL', 'ROSEHILL GARDENS', 'NSW');
-- fixed-odds-only meetings are keyed by name
INSERT INTO meetings (meeting_date, race_type, meeting_name, location, fixed_odds_only)
VALUES ('2026-11-28', 'G', 'Sunderland (GBR)', 'GBR', true);
INSERT INTO meetings (meeting_date, race_type, meeting_name, location, fixed_odds_only)
VALUES ('2026-11-28', 'G', 'Sunderland (GBR)', 'GBR', true);
-- an ordinary meeting needs its mnemonic
INSERT INTO meetings (meeting_date, race_type, meeting_name, location)
VALUES ('2026-11-28', 'R', 'NOWHERE', 'NSW');
-- race types are R, H, G
INSERT INTO meetings (meeting_date, race_type, venue_mnemonic, meeting_name)
VALUES ('2026-11-28', 'X', 'XXX', 'XXX');

-- Races: meeting + number, or meeting + match name for fixed-odds-only.
INSERT INTO races (meeting_id, race_number, start_time)
SELECT meeting_id, 1, '2026-11-28 01:35Z' FROM meetings WHERE venue_mnemonic = 'RHL' AND race_type = 'R';
INSERT INTO races (meeting_id, race_number, start_time)
SELECT meeting_id, 1, '2026-11-28 02:35Z' FROM meetings WHERE venue_mnemonic = 'RHL' AND race_type = 'R';
INSERT INTO races (meeting_id, race_number, start_time)
SELECT meeting_id, 0, '2026-11-28 02:35Z' FROM meetings WHERE venue_mnemonic = 'RHL' AND race_type = 'R';
INSERT INTO races (meeting_id, race_number, match_name, start_time)
SELECT meeting_id, 7, m, t::timestamptz FROM meetings,
	(VALUES ('SUNDERLAND R07 23/09 PLC 1-2', '2026-11-28 10:00Z'),
			('SUNDERLAND R07 24/09 PLC 1-2', '2026-11-29 10:00Z')) AS v(m, t)
WHERE meeting_name = 'Sunderland (GBR)';
SELECT race_number, match_name FROM races WHERE match_name IS NOT NULL ORDER BY match_name;

-- Runners: race + number.
INSERT INTO runners (race_id, runner_number, runner_name)
SELECT race_id, 1, 'FIRST' FROM races WHERE race_number = 1;
INSERT INTO runners (race_id, runner_number, runner_name)
SELECT race_id, 1, 'AGAIN' FROM races WHERE race_number = 1;
INSERT INTO runners (race_id, runner_number, runner_name)
SELECT race_id, -1, 'NEGATIVE' FROM races WHERE race_number = 1;

-- Odds reference a scrape and a runner; prices are not negative.
INSERT INTO scrapes (scrape_type, race_id) SELECT 'pre_race_t60', race_id FROM races WHERE race_number = 1;
INSERT INTO odds (scrape_id, race_id, runner_number, fixed_win)
SELECT s.scrape_id, s.race_id, 1, 2.5 FROM scrapes s;
INSERT INTO odds (scrape_id, race_id, runner_number, fixed_win)
SELECT s.scrape_id, s.race_id, 2, 2.5 FROM scrapes s;
INSERT INTO odds (scrape_id, race_id, runner_number, fixed_win)
SELECT s.scrape_id, s.race_id, 1, -1 FROM scrapes s;
-- one snapshot per race and pre-race phase
INSERT INTO scrapes (scrape_type, race_id) SELECT 'pre_race_t60', race_id FROM races WHERE race_number = 1;
-- but any number of other fetches
INSERT INTO scrapes (scrape_type, race_id) SELECT 'post_race', race_id FROM races WHERE race_number = 1;
INSERT INTO scrapes (scrape_type, race_id) SELECT 'post_race', race_id FROM races WHERE race_number = 1;
INSERT INTO scrapes (scrape_type, race_id) SELECT 'bogus', race_id FROM races WHERE race_number = 1;

-- Dividends: list or text selections, not both; no duplicates.
INSERT INTO dividends (race_id, product, selections, amount)
SELECT race_id, 'Win', '{1}', 3.4 FROM races WHERE race_number = 1;
INSERT INTO dividends (race_id, product, selections, amount)
SELECT race_id, 'Win', '{1}', 3.4 FROM races WHERE race_number = 1;
INSERT INTO dividends (race_id, product, selections_text, amount)
SELECT race_id, 'Quinella', 'SPLIT', 1.2 FROM races WHERE race_number = 1;
INSERT INTO dividends (race_id, product, amount)
SELECT race_id, 'Exacta', 1.2 FROM races WHERE race_number = 1;

-- Results: one position per runner, official or not.
INSERT INTO results (race_id, runner_number, position, official)
SELECT race_id, 1, 1, false FROM races WHERE race_number = 1;
INSERT INTO results (race_id, runner_number, position, official)
SELECT race_id, 1, 0, false FROM races WHERE race_number = 1;

-- Job runs: statuses, triggers, counts, and one queued or running run per
-- dedupe key.
INSERT INTO job_runs (job_name, job_type, trigger, dedupe_key)
VALUES ('morning_scrape', 'morning_scrape', 'manual', 'morning_scrape:2026-11-28');
INSERT INTO job_runs (job_name, job_type, trigger, dedupe_key)
VALUES ('morning_scrape', 'morning_scrape', 'manual', 'morning_scrape:2026-11-28');
INSERT INTO job_runs (job_name, job_type, trigger, status, started_at, completed_at, dedupe_key)
VALUES ('morning_scrape', 'morning_scrape', 'manual', 'success', now(), now(), 'morning_scrape:2026-11-28');
INSERT INTO job_runs (job_name, job_type, trigger, status) VALUES ('x', 'sql', 'manual', 'sleeping');
INSERT INTO job_runs (job_name, job_type, trigger) VALUES ('x', 'sql', 'whenever');
INSERT INTO job_runs (job_name, job_type, trigger) VALUES ('x', 'rocket', 'manual');
INSERT INTO job_runs (job_name, job_type, trigger, items_processed) VALUES ('x', 'sql', 'manual', -1);
-- partial means some items failed; finished means completed_at is set
INSERT INTO job_runs (job_name, job_type, trigger, status, started_at, completed_at)
VALUES ('x', 'sql', 'manual', 'partial', now(), now());
INSERT INTO job_runs (job_name, job_type, trigger, status, started_at)
VALUES ('x', 'sql', 'manual', 'failed', now());
-- a retry's parent may go; the link becomes NULL
INSERT INTO job_runs (job_name, job_type, trigger, status, started_at, completed_at)
VALUES ('p', 'sql', 'manual', 'failed', now(), now());
INSERT INTO job_runs (job_name, job_type, trigger, retry_count, parent_job_run_id)
SELECT 'p', 'sql', 'retry', 1, job_run_id FROM job_runs WHERE job_name = 'p';
DELETE FROM job_runs WHERE job_name = 'p' AND retry_count = 0;
SELECT job_name, retry_count, parent_job_run_id FROM job_runs WHERE job_name = 'p';

-- Jobs: race-driven jobs have an offset and no schedule; SQL jobs a command
-- and an owner.
INSERT INTO jobs (job_name, job_type, schedule) VALUES ('t', 'pre_race_t15', '* * * * *');
INSERT INTO jobs (job_name, job_type, schedule) VALUES ('s', 'sql', '* * * * *');
INSERT INTO jobs (job_name, job_type, schedule, command, owner)
VALUES ('bad name!', 'sql', '* * * * *', 'SELECT 1', current_user);
INSERT INTO jobs (job_name, job_type, schedule, command, owner, timeout)
VALUES ('neg', 'sql', '* * * * *', 'SELECT 1', current_user, '-1 minute');

DROP EXTENSION racing_sched;
DROP SCHEMA racing_sched;
RESET search_path;
