-- racing_sched 1.0: racing data, the job queue and history, the SQL API.
-- Loaded by CREATE EXTENSION racing_sched; never run this file directly.

\echo Use "CREATE EXTENSION racing_sched" to load this file. \quit

--
-- Racing data.  Natural keys follow the TAB API: a meeting is its date, race
-- type and venue mnemonic (or its name, for a fixed-odds-only meeting, which
-- has no mnemonic); a race is its meeting and number (or its match name, for a
-- fixed-odds-only race, whose numbers repeat); a runner is its race and number.
--

CREATE TABLE meetings (
	meeting_id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	meeting_date		date NOT NULL,
	race_type			text NOT NULL CHECK (race_type IN ('R', 'H', 'G')),
	venue_mnemonic		text CHECK (venue_mnemonic <> ''),
	meeting_name		text NOT NULL CHECK (meeting_name <> ''),
	display_meeting_name text,
	location			text,
	fixed_odds_only		boolean NOT NULL DEFAULT false,
	prize_money			numeric(14, 2) CHECK (prize_money >= 0),
	weather_condition	text,
	track_condition		text,
	rail_position		text,
	jurisdictions		text[] NOT NULL DEFAULT '{}',
	created_at			timestamptz NOT NULL DEFAULT now(),
	updated_at			timestamptz NOT NULL DEFAULT now(),
	CHECK (fixed_odds_only OR venue_mnemonic IS NOT NULL)
);
CREATE UNIQUE INDEX meetings_venue_key
	ON meetings (meeting_date, race_type, venue_mnemonic)
	WHERE venue_mnemonic IS NOT NULL;
CREATE UNIQUE INDEX meetings_name_key
	ON meetings (meeting_date, race_type, meeting_name)
	WHERE venue_mnemonic IS NULL;

CREATE TABLE races (
	race_id				bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	meeting_id			bigint NOT NULL REFERENCES meetings ON DELETE CASCADE,
	race_number			integer NOT NULL CHECK (race_number BETWEEN 1 AND 99),
	match_name			text CHECK (match_name <> ''),
	race_date			date,
	race_name			text,
	race_class			text,
	start_time			timestamptz NOT NULL,
	status				text NOT NULL DEFAULT 'Normal' CHECK (status <> ''),
	distance_m			integer CHECK (distance_m > 0),
	has_fixed_odds		boolean,
	has_parimutuel		boolean,
	status_changed_at	timestamptz NOT NULL DEFAULT now(),
	closed_at			timestamptz,
	interim_at			timestamptz,
	official_at			timestamptz,
	abandoned_at		timestamptz,
	created_at			timestamptz NOT NULL DEFAULT now(),
	updated_at			timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX races_number_key
	ON races (meeting_id, race_number)
	WHERE match_name IS NULL;
CREATE UNIQUE INDEX races_match_key
	ON races (meeting_id, match_name)
	WHERE match_name IS NOT NULL;
CREATE INDEX races_start_time ON races (start_time);

CREATE TABLE runners (
	race_id				bigint NOT NULL REFERENCES races ON DELETE CASCADE,
	runner_number		integer NOT NULL CHECK (runner_number BETWEEN 1 AND 999),
	runner_name			text NOT NULL,
	barrier				integer CHECK (barrier >= 0),
	trainer_name		text,
	rider_name			text,
	handicap_weight		numeric(5, 1) CHECK (handicap_weight >= 0),
	emergency			boolean NOT NULL DEFAULT false,
	vacant_box			boolean NOT NULL DEFAULT false,
	last5_starts		text,
	scratched			boolean NOT NULL DEFAULT false,
	late_scratched		boolean NOT NULL DEFAULT false,
	scratched_at		timestamptz,
	updated_at			timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (race_id, runner_number)
);

--
-- Job history and queue.  Every execution of every job is one row; see the
-- README for the state machine.
--

CREATE TABLE jobs (
	job_name			text PRIMARY KEY
						CHECK (job_name ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$'),
	job_type			text NOT NULL
						CHECK (job_type IN ('morning_scrape', 'pre_race_t60', 'pre_race_t15',
											'post_race', 'cleanup_job_runs', 'sql')),
	schedule			text,
	enabled				boolean NOT NULL DEFAULT true,
	retry_delays		interval[] NOT NULL DEFAULT '{}',
	timeout				interval NOT NULL DEFAULT '1 hour'
						CHECK (timeout > '0' AND timeout <= '7 days'),
	race_offset			interval,
	tolerance			interval CHECK (tolerance >= '0'),
	command				text,
	owner				name,
	last_fire_at		timestamptz,
	created_at			timestamptz NOT NULL DEFAULT now(),
	updated_at			timestamptz NOT NULL DEFAULT now(),
	CHECK ((job_type IN ('pre_race_t60', 'pre_race_t15', 'post_race'))
		   = (race_offset IS NOT NULL AND tolerance IS NOT NULL)),
	CHECK ((job_type IN ('pre_race_t60', 'pre_race_t15', 'post_race'))
		   = (schedule IS NULL)),
	CHECK ((job_type = 'sql') = (command IS NOT NULL AND owner IS NOT NULL)),
	CHECK (array_position(retry_delays, NULL) IS NULL
		   AND cardinality(retry_delays) <= 10)
);

CREATE TABLE job_runs (
	job_run_id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	job_name			text NOT NULL,
	job_type			text NOT NULL
						CHECK (job_type IN ('morning_scrape', 'pre_race_t60', 'pre_race_t15',
											'post_race', 'cleanup_job_runs', 'sql')),
	status				text NOT NULL DEFAULT 'queued'
						CHECK (status IN ('queued', 'running', 'success', 'partial',
										  'failed', 'cancelled')),
	trigger				text NOT NULL
						CHECK (trigger IN ('schedule', 'manual', 'retry', 'race')),
	due_at				timestamptz NOT NULL DEFAULT now(),
	created_at			timestamptz NOT NULL DEFAULT now(),
	started_at			timestamptz,
	completed_at		timestamptz,
	duration_ms			bigint CHECK (duration_ms >= 0),
	items_processed		integer NOT NULL DEFAULT 0 CHECK (items_processed >= 0),
	items_failed		integer NOT NULL DEFAULT 0 CHECK (items_failed >= 0),
	retry_count			integer NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
	parent_job_run_id	bigint REFERENCES job_runs ON DELETE SET NULL,
	errors				text[] NOT NULL DEFAULT '{}',
	metadata			jsonb NOT NULL DEFAULT '{}',
	args				jsonb NOT NULL DEFAULT '{}',
	dedupe_key			text,
	worker_pid			integer,
	CHECK ((status IN ('queued', 'running')) = (completed_at IS NULL)),
	CHECK (status IN ('queued', 'cancelled') OR started_at IS NOT NULL),
	CHECK (status <> 'partial' OR items_failed > 0),
	CHECK (jsonb_typeof(args) = 'object' AND jsonb_typeof(metadata) = 'object')
);
-- Two runs of the same work can never be queued or running at once.
CREATE UNIQUE INDEX job_runs_dedupe_key
	ON job_runs (dedupe_key)
	WHERE status IN ('queued', 'running');
-- The scheduler's two questions: what is due, and what is running.
CREATE INDEX job_runs_queued_due ON job_runs (due_at) WHERE status = 'queued';
CREATE INDEX job_runs_running ON job_runs (job_name) WHERE status = 'running';
-- Cleanup deletes old successful runs by age.
CREATE INDEX job_runs_status_started ON job_runs (status, started_at);
-- ON DELETE SET NULL of the parent link must not scan the table per row.
CREATE INDEX job_runs_parent ON job_runs (parent_job_run_id)
	WHERE parent_job_run_id IS NOT NULL;
CREATE INDEX job_runs_job_name ON job_runs (job_name, job_run_id);

-- Cumulative counters per job: they only grow, so cleaning job_runs never
-- makes a metric go down.  A job's row appears with its first finished run
-- and moves in the transaction that ends each run.
CREATE TABLE job_stats (
	job_name			text PRIMARY KEY,
	job_type			text NOT NULL,
	runs_success		bigint NOT NULL DEFAULT 0,
	runs_partial		bigint NOT NULL DEFAULT 0,
	runs_failed			bigint NOT NULL DEFAULT 0,
	runs_cancelled		bigint NOT NULL DEFAULT 0,
	-- retries_started[n] counts runs with retry_count = n
	retries				bigint[] NOT NULL DEFAULT '{}',
	items_processed		bigint NOT NULL DEFAULT 0,
	items_failed		bigint NOT NULL DEFAULT 0,
	-- duration histogram: duration_buckets[i] counts runs with
	-- duration <= duration_bucket_bounds()[i] seconds (non-cumulative)
	duration_buckets	bigint[] NOT NULL DEFAULT '{}',
	duration_sum_ms		bigint NOT NULL DEFAULT 0,
	duration_count		bigint NOT NULL DEFAULT 0,
	last_status			text,
	last_run_at			timestamptz,
	last_success_at		timestamptz,
	last_failure_at		timestamptz,
	consecutive_failures integer NOT NULL DEFAULT 0,
	missed_phases		bigint NOT NULL DEFAULT 0,
	CHECK (runs_success >= 0 AND runs_partial >= 0 AND runs_failed >= 0
		   AND runs_cancelled >= 0 AND items_processed >= 0 AND items_failed >= 0
		   AND consecutive_failures >= 0 AND missed_phases >= 0)
);

--
-- Fetches, odds snapshots, results.
--

CREATE TABLE scrapes (
	scrape_id			bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	job_run_id			bigint REFERENCES job_runs ON DELETE SET NULL,
	scrape_type			text NOT NULL
						CHECK (scrape_type IN ('morning_scrape', 'pre_race_t60', 'pre_race_t15',
											   'post_race', 'manual')),
	meeting_id			bigint REFERENCES meetings ON DELETE CASCADE,
	race_id				bigint REFERENCES races ON DELETE CASCADE,
	jurisdiction		text,
	scraped_at			timestamptz NOT NULL DEFAULT now(),
	http_status			integer,
	bytes				integer CHECK (bytes >= 0),
	elapsed_ms			integer CHECK (elapsed_ms >= 0),
	CHECK (meeting_id IS NOT NULL OR race_id IS NOT NULL)
);
-- One snapshot per race and pre-race phase, held by the data itself.
CREATE UNIQUE INDEX scrapes_phase_once
	ON scrapes (race_id, scrape_type)
	WHERE scrape_type IN ('pre_race_t60', 'pre_race_t15');
CREATE INDEX scrapes_job_run ON scrapes (job_run_id) WHERE job_run_id IS NOT NULL;
CREATE INDEX scrapes_race ON scrapes (race_id, scraped_at);

-- One row per runner per scrape: a snapshot is never overwritten.
CREATE TABLE odds (
	scrape_id			bigint NOT NULL REFERENCES scrapes ON DELETE CASCADE,
	race_id				bigint NOT NULL,
	runner_number		integer NOT NULL,
	fixed_win			numeric(10, 2) CHECK (fixed_win >= 0),
	fixed_place			numeric(10, 2) CHECK (fixed_place >= 0),
	tote_win			numeric(10, 2) CHECK (tote_win >= 0),
	tote_place			numeric(10, 2) CHECK (tote_place >= 0),
	betting_status		text,
	PRIMARY KEY (scrape_id, runner_number),
	FOREIGN KEY (race_id, runner_number) REFERENCES runners ON DELETE CASCADE
);
CREATE INDEX odds_race ON odds (race_id, runner_number);

CREATE TABLE results (
	race_id				bigint NOT NULL REFERENCES races ON DELETE CASCADE,
	runner_number		integer NOT NULL CHECK (runner_number BETWEEN 1 AND 999),
	position			integer NOT NULL CHECK (position BETWEEN 1 AND 999),
	official			boolean NOT NULL,
	updated_at			timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (race_id, runner_number)
);

CREATE TABLE dividends (
	race_id				bigint NOT NULL REFERENCES races ON DELETE CASCADE,
	product				text NOT NULL CHECK (product <> ''),
	pool_status			text,
	-- runner numbers in finishing order, or a text selection such as SPLIT
	selections			integer[],
	selections_text		text,
	amount				numeric(12, 2) NOT NULL CHECK (amount >= 0),
	CHECK ((selections IS NULL) <> (selections_text IS NULL)),
	UNIQUE NULLS NOT DISTINCT (race_id, product, selections, selections_text)
);

--
-- The built-in jobs, named after their job types.
--

INSERT INTO jobs (job_name, job_type, schedule, retry_delays, timeout, race_offset, tolerance)
VALUES
	('morning_scrape', 'morning_scrape', '0 6 * * *',
	 '{30 minutes,30 minutes,30 minutes}', '30 minutes', NULL, NULL),
	('pre_race_t60', 'pre_race_t60', NULL,
	 '{1 minute,2 minutes}', '5 minutes', '-60 minutes', '60 seconds'),
	('pre_race_t15', 'pre_race_t15', NULL,
	 '{1 minute,2 minutes}', '5 minutes', '-15 minutes', '60 seconds'),
	('post_race', 'post_race', NULL,
	 '{5 minutes,5 minutes,10 minutes}', '5 minutes', '5 minutes', '60 seconds'),
	('cleanup_job_runs', 'cleanup_job_runs', '0 2 * * *',
	 '{}', '1 hour', NULL, NULL);

--
-- Status.
--

CREATE FUNCTION scheduler_status(
	OUT pid integer, OUT state text, OUT started_at timestamptz,
	OUT heartbeat_at timestamptz, OUT database text)
RETURNS record
AS 'MODULE_PATHNAME', 'racing_sched_scheduler_status'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

CREATE FUNCTION health() RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s record;
	age double precision;
	reasons text[] := '{}';
	verdict text := 'ok';
BEGIN
	SELECT * INTO s FROM racing_sched.scheduler_status();
	age := extract(epoch FROM clock_timestamp() - s.heartbeat_at);
	IF s.pid IS NULL THEN
		verdict := 'down';
		reasons := reasons || 'scheduler not running'::text;
	ELSIF age > 180 THEN
		verdict := 'down';
		reasons := reasons || format('scheduler heartbeat stale (%s s)', round(age));
	ELSIF s.state <> 'running' THEN
		verdict := 'degraded';
		reasons := reasons || format('scheduler is %s', s.state);
	END IF;
	RETURN jsonb_build_object(
		'status', verdict,
		'reasons', to_jsonb(reasons),
		'scheduler', jsonb_build_object(
			'pid', s.pid,
			'state', s.state,
			'database', s.database,
			'started_at', s.started_at,
			'heartbeat_at', s.heartbeat_at,
			'heartbeat_age_s', round(age::numeric, 3)));
END
$$;

-- Wake the scheduler when the creating transaction commits, so that it
-- starts working at once instead of at its next heartbeat.
CREATE FUNCTION wake_scheduler() RETURNS void
AS 'MODULE_PATHNAME', 'racing_sched_wake_scheduler'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION wake_scheduler() FROM PUBLIC;

--
-- HTTP probes: one GET (or a batch) through the same client the jobs use,
-- returning its outcome.  Outbound requests are for superusers and the
-- roles they grant.
--

CREATE FUNCTION http_get(url text, include_body boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'racing_sched_http_get'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION http_get(text, boolean) FROM PUBLIC;

CREATE FUNCTION http_get_all(urls text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'racing_sched_http_get_all'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;
REVOKE ALL ON FUNCTION http_get_all(text[]) FROM PUBLIC;

--
-- Privileges: nothing is granted to PUBLIC beyond reading the schema's names;
-- the README shows the grants for an operator and a monitoring role.
--

REVOKE ALL ON ALL TABLES IN SCHEMA racing_sched FROM PUBLIC;
REVOKE ALL ON FUNCTION scheduler_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION health() FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('meetings', '');
SELECT pg_catalog.pg_extension_config_dump('races', '');
SELECT pg_catalog.pg_extension_config_dump('runners', '');
SELECT pg_catalog.pg_extension_config_dump('scrapes', '');
SELECT pg_catalog.pg_extension_config_dump('odds', '');
SELECT pg_catalog.pg_extension_config_dump('results', '');
SELECT pg_catalog.pg_extension_config_dump('dividends', '');
SELECT pg_catalog.pg_extension_config_dump('job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('job_stats', '');
-- The built-in jobs belong to the extension script; custom SQL jobs are data.
SELECT pg_catalog.pg_extension_config_dump('jobs', 'WHERE job_type = ''sql''');
SELECT pg_catalog.pg_extension_config_dump('meetings_meeting_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('races_race_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('scrapes_scrape_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('job_runs_job_run_id_seq', '');

SELECT wake_scheduler();
