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
	last_fire_at		timestamptz NOT NULL DEFAULT now(),
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

-- health() judges the scheduler and the work now; the rules are in _health
-- (Monitoring, at the end of this script).  SECURITY DEFINER, so that a
-- monitoring role needs EXECUTE on it alone.
CREATE FUNCTION health() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT racing_sched._health(clock_timestamp(), s.pid, s.state, s.started_at,
										s.heartbeat_at, s.database)
			FROM racing_sched.scheduler_status() s);
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
-- Fetch and store now, in the calling session: the HTTP client, the parser
-- and the store of the racing jobs, without the scheduler.  Each meeting or
-- race is stored in a subtransaction of the caller's transaction; a bad one
-- is counted in "failed" and named in "errors" of the jsonb summary.  Not
-- STRICT: a NULL argument is an error (22004), not a silent NULL.
--

CREATE FUNCTION fetch_meetings(date date, jurisdiction text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'racing_sched_fetch_meetings'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION fetch_race(date date, race_type text, venue text, race_number integer,
						   jurisdiction text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'racing_sched_fetch_race'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- A race of a fixed-odds-only meeting, keyed by meeting name and match name.
CREATE FUNCTION fetch_fixed_odds_race(date date, race_type text, meeting_name text,
									  match_name text, jurisdiction text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'racing_sched_fetch_fixed_odds_race'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- The same parse and store path for a document given as text (tests, bench).
CREATE FUNCTION _ingest_meetings(doc text, jurisdiction text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'racing_sched_ingest_meetings'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION _ingest_race(doc text, jurisdiction text DEFAULT NULL,
							 date date DEFAULT NULL, scrape_type text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'racing_sched_ingest_race'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

REVOKE ALL ON FUNCTION fetch_meetings(date, text),
	fetch_race(date, text, text, integer, text),
	fetch_fixed_odds_race(date, text, text, text, text),
	_ingest_meetings(text, text), _ingest_race(text, text, date, text)
FROM PUBLIC;

--
-- Cron.  cron_next is STABLE, not IMMUTABLE: with tz NULL it reads the
-- setting racing_sched.timezone, and its answers follow the time zone
-- database, which a server update may change.  It is not STRICT, so that a
-- NULL expr or after is an error (22004) rather than a silent NULL.
--

CREATE FUNCTION cron_next(expr text, after timestamptz, tz text DEFAULT NULL)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'racing_sched_cron_next'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cron_next(text, timestamptz, text) IS
	'first fire of a five-field cron expression strictly after a time, in wall-clock time of tz (default racing_sched.timezone)';

-- The next n fire times of a job's cron schedule after now(), whether or not
-- the job is enabled.  Race-driven jobs have no schedule and return no rows.
CREATE FUNCTION next_runs(job_name text, n integer DEFAULT 5)
RETURNS SETOF timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	expr text;
	t timestamptz := now();
BEGIN
	IF next_runs.job_name IS NULL THEN
		RAISE EXCEPTION 'argument "job_name" of next_runs must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF next_runs.n IS NULL THEN
		RAISE EXCEPTION 'argument "n" of next_runs must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF next_runs.n < 0 THEN
		RAISE EXCEPTION 'argument "n" of next_runs must not be negative'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT j.schedule INTO expr
		FROM racing_sched.jobs j
		WHERE j.job_name = next_runs.job_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job "%" does not exist', next_runs.job_name
			USING ERRCODE = 'undefined_object',
				  HINT = 'The jobs are listed in racing_sched.jobs.';
	END IF;
	IF expr IS NULL THEN
		RETURN;
	END IF;
	FOR i IN 1 .. next_runs.n LOOP
		t := racing_sched.cron_next(expr, t);
		RETURN NEXT t;
	END LOOP;
END
$$;
COMMENT ON FUNCTION next_runs(text, integer) IS
	'the next n fire times of a job''s cron schedule after now(), in racing_sched.timezone';

--
-- Privileges: nothing is granted to PUBLIC beyond reading the schema's names;
-- the README shows the grants for an operator and a monitoring role.
--

REVOKE ALL ON ALL TABLES IN SCHEMA racing_sched FROM PUBLIC;
REVOKE ALL ON FUNCTION scheduler_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION health() FROM PUBLIC;

--
-- The job engine's SQL side: dedupe keys, argument checks, the end of a run
-- (terminal state, counters and retry in one transaction), and the
-- operators' API.  The C side (scheduler.c, worker.c, job_runs.c) calls the
-- internal functions, whose names start with an underscore.
--

-- Upper bounds (seconds) of the run duration histogram; the last bucket of
-- job_stats.duration_buckets counts everything above the last bound.
CREATE FUNCTION duration_bucket_bounds() RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{0.1,0.5,1,5,10,30,60,300,900,3600}'::float8[];

-- What makes two runs the same work: at most one of them may be queued or
-- running (job_runs_dedupe_key).  A morning scrape is the same work when it
-- is for the same racing day; a race phase when it is for the same race.
CREATE FUNCTION _dedupe_key(job_name text, job_type text, args jsonb, at timestamptz)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE
	WHEN job_type = 'morning_scrape' THEN
		job_name || ':' || coalesce(args->>'date',
			((at AT TIME ZONE current_setting('racing_sched.timezone'))::date
			 + coalesce((args->>'days_ahead')::int, 0))::text)
	WHEN args - 'deadline' = '{}' THEN job_name
	ELSE job_name || ':' || md5((args - 'deadline')::text)
END;

-- The arguments each job type takes.  An unknown key or a value of the wrong
-- form is an error, so a typo never silently runs the wrong work.
CREATE FUNCTION _check_args(job_type text, args jsonb) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	allowed text[];
	k text;
	v jsonb;
BEGIN
	IF args IS NULL OR jsonb_typeof(args) <> 'object' THEN
		RAISE EXCEPTION 'args must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF octet_length(args::text) > 65536 THEN
		RAISE EXCEPTION 'args are too large (% bytes)', octet_length(args::text)
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = 'At most 65536 bytes of arguments are accepted.';
	END IF;
	allowed := CASE job_type
		WHEN 'morning_scrape' THEN '{date,days_ahead,jurisdictions,only,deadline}'
		WHEN 'pre_race_t60' THEN '{race_id,race_ids,deadline}'
		WHEN 'pre_race_t15' THEN '{race_id,race_ids,deadline}'
		WHEN 'post_race' THEN '{race_id,race_ids,deadline}'
		ELSE '{deadline}' END;
	FOR k, v IN SELECT * FROM jsonb_each(args) LOOP
		IF NOT k = ANY (allowed) THEN
			RAISE EXCEPTION 'unknown argument "%" for a % job', k, job_type
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = format('Allowed: %s.', array_to_string(allowed, ', '));
		END IF;
		IF (k = 'date' AND (jsonb_typeof(v) <> 'string' OR v #>> '{}' !~ '^\d{4}-\d{2}-\d{2}$'))
		   OR (k = 'days_ahead' AND (jsonb_typeof(v) <> 'number' OR v::numeric NOT BETWEEN 0 AND 7
									OR v::numeric <> trunc(v::numeric)))
		   OR (k = 'race_id' AND (jsonb_typeof(v) <> 'number' OR v::numeric <= 0
								 OR v::numeric <> trunc(v::numeric)))
		   OR (k IN ('race_ids', 'only', 'jurisdictions') AND jsonb_typeof(v) <> 'array')
		   OR (k = 'deadline' AND jsonb_typeof(v) <> 'string') THEN
			RAISE EXCEPTION 'invalid value for argument "%": %', k, v
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = CASE k
						WHEN 'date' THEN 'A date is written YYYY-MM-DD.'
						WHEN 'days_ahead' THEN 'days_ahead is a whole number from 0 to 7.'
						WHEN 'race_id' THEN 'race_id is a race_id of racing_sched.races.'
						WHEN 'deadline' THEN 'A deadline is a timestamp with time zone.'
						ELSE format('%s is a JSON array.', k) END;
		END IF;
		IF k = 'date' THEN
			PERFORM (v #>> '{}')::date;
		ELSIF k = 'deadline' THEN
			PERFORM (v #>> '{}')::timestamptz;
		END IF;
	END LOOP;
END
$$;

-- a with its i-th element (1-based) one more, zeros filling any gap.
CREATE FUNCTION _array_inc(a bigint[], i integer) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT array_agg(coalesce(a[k], 0) + (k = i)::int ORDER BY k)
		FROM generate_series(1, greatest(i, coalesce(cardinality(a), 0))) AS k);

-- Count a finished or cancelled run in job_stats: counters only grow.
CREATE FUNCTION _record_run_stats(run job_runs) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bounds float8[] := racing_sched.duration_bucket_bounds();
	bucket integer;
BEGIN
	IF run.duration_ms IS NOT NULL THEN
		bucket := coalesce((SELECT min(b.i) FROM unnest(bounds) WITH ORDINALITY AS b(bound, i)
							WHERE run.duration_ms / 1000.0 <= b.bound),
						   cardinality(bounds) + 1);
	END IF;
	INSERT INTO racing_sched.job_stats (job_name, job_type)
	VALUES (run.job_name, run.job_type)
	ON CONFLICT (job_name) DO NOTHING;
	UPDATE racing_sched.job_stats s SET
		runs_success = s.runs_success + (run.status = 'success')::int,
		runs_partial = s.runs_partial + (run.status = 'partial')::int,
		runs_failed = s.runs_failed + (run.status = 'failed')::int,
		runs_cancelled = s.runs_cancelled + (run.status = 'cancelled')::int,
		items_processed = s.items_processed + run.items_processed,
		items_failed = s.items_failed + run.items_failed,
		duration_buckets = CASE WHEN bucket IS NULL THEN s.duration_buckets
							ELSE racing_sched._array_inc(s.duration_buckets, bucket) END,
		duration_sum_ms = s.duration_sum_ms + coalesce(run.duration_ms, 0),
		duration_count = s.duration_count + (bucket IS NOT NULL)::int,
		last_status = run.status,
		last_run_at = coalesce(run.completed_at, now()),
		last_success_at = CASE WHEN run.status = 'success' THEN run.completed_at
						  ELSE s.last_success_at END,
		last_failure_at = CASE WHEN run.status = 'failed' THEN run.completed_at
						  ELSE s.last_failure_at END,
		consecutive_failures = CASE run.status
			WHEN 'failed' THEN s.consecutive_failures + 1
			WHEN 'success' THEN 0
			ELSE s.consecutive_failures END
	WHERE s.job_name = run.job_name;
END
$$;

-- End a running run once: terminal state, counters, and the retry its job's
-- policy asks for, all in the caller's transaction.  Returns false, changing
-- nothing, when the run is no longer running (someone else ended it) or is
-- owned by another worker.
CREATE FUNCTION _finish_run(
	p_job_run_id bigint, p_status text, p_items_processed integer,
	p_items_failed integer, p_errors text[], p_metadata jsonb,
	p_worker_pid integer, p_retry boolean)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r racing_sched.job_runs;
	delays interval[];
	delay interval;
	deadline timestamptz;
	child bigint;
	note jsonb;
BEGIN
	UPDATE racing_sched.job_runs SET
		status = p_status,
		completed_at = clock_timestamp(),
		duration_ms = greatest(0, round(extract(epoch FROM clock_timestamp() - started_at) * 1000)),
		items_processed = coalesce(p_items_processed, 0),
		items_failed = coalesce(p_items_failed, 0),
		errors = errors || coalesce(p_errors, '{}'),
		metadata = metadata || coalesce(p_metadata, '{}')
	WHERE job_run_id = p_job_run_id AND status = 'running'
	  AND (p_worker_pid IS NULL OR worker_pid = p_worker_pid)
	RETURNING * INTO r;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	PERFORM racing_sched._record_run_stats(r);

	IF r.status NOT IN ('failed', 'partial') THEN
		RETURN true;
	END IF;
	SELECT retry_delays INTO delays FROM racing_sched.jobs WHERE job_name = r.job_name;
	delay := delays[r.retry_count + 1];
	deadline := (r.args->>'deadline')::timestamptz;
	IF NOT p_retry THEN
		note := jsonb_build_object('retry_scheduled', false, 'retry_skipped', 'not retried after a cancel');
	ELSIF delay IS NULL THEN
		note := jsonb_build_object('retry_scheduled', false,
			'retry_skipped', format('no retries left (%s allowed)', coalesce(cardinality(delays), 0)));
	ELSIF r.completed_at + delay >= deadline THEN
		note := jsonb_build_object('retry_scheduled', false,
			'retry_skipped', format('a retry at %s would be past the deadline %s', r.completed_at + delay, deadline));
	ELSE
		INSERT INTO racing_sched.job_runs
			(job_name, job_type, trigger, due_at, retry_count, parent_job_run_id, args, dedupe_key)
		VALUES (r.job_name, r.job_type, 'retry', r.completed_at + delay, r.retry_count + 1,
				r.job_run_id, coalesce(r.metadata->'retry_args', r.args), r.dedupe_key)
		ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
		RETURNING job_run_id INTO child;
		IF child IS NULL THEN
			note := jsonb_build_object('retry_scheduled', false,
				'retry_skipped', 'the same work is already queued or running');
		ELSE
			note := jsonb_build_object('retry_scheduled', true, 'retry_job_run_id', child,
				'retry_due_at', r.completed_at + delay);
			UPDATE racing_sched.job_stats
			SET retries = racing_sched._array_inc(retries, r.retry_count + 1)
			WHERE job_name = r.job_name;
		END IF;
	END IF;
	UPDATE racing_sched.job_runs SET metadata = metadata || note WHERE job_run_id = r.job_run_id;
	RETURN true;
END
$$;

--
-- Operators' API.  Functions that change work are SECURITY DEFINER with a
-- pinned search_path, and not executable by PUBLIC; the README shows the
-- grants for an operator role.
--

CREATE FUNCTION _job(job_name text) RETURNS jobs
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j racing_sched.jobs;
BEGIN
	IF job_name IS NULL THEN
		RAISE EXCEPTION 'job_name must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO j FROM racing_sched.jobs WHERE jobs.job_name = _job.job_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job "%" does not exist', job_name
			USING ERRCODE = 'undefined_object',
				  HINT = 'The jobs are listed in racing_sched.jobs.';
	END IF;
	RETURN j;
END
$$;

CREATE FUNCTION run_now(job_name text, args jsonb DEFAULT '{}') RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j racing_sched.jobs := racing_sched._job(job_name);
	key text;
	id bigint;
BEGIN
	IF args IS NULL THEN
		RAISE EXCEPTION 'args must not be null' USING ERRCODE = 'null_value_not_allowed',
			HINT = 'Pass ''{}'' for no arguments.';
	END IF;
	PERFORM racing_sched._check_args(j.job_type, args);
	key := racing_sched._dedupe_key(j.job_name, j.job_type, args, now());
	-- Either we queue it, or the same work is queued or running already and
	-- we return that; a run that ends between the two looks sends us round.
	LOOP
		INSERT INTO racing_sched.job_runs (job_name, job_type, trigger, args, dedupe_key, due_at)
		VALUES (j.job_name, j.job_type, 'manual', args, key, now())
		ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
		RETURNING job_run_id INTO id;
		IF id IS NOT NULL THEN
			PERFORM racing_sched.wake_scheduler();
			RETURN id;
		END IF;
		SELECT r.job_run_id INTO id FROM racing_sched.job_runs r
		WHERE r.dedupe_key = key AND r.status IN ('queued', 'running');
		IF id IS NOT NULL THEN
			RETURN id;
		END IF;
	END LOOP;
END
$$;

CREATE FUNCTION wait_for(job_run_id bigint, timeout interval DEFAULT '60s') RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s text;
	own boolean;
	deadline timestamptz;
BEGIN
	IF job_run_id IS NULL OR timeout IS NULL THEN
		RAISE EXCEPTION 'job_run_id and timeout must not be null'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF timeout < '0' OR timeout > '1 day' THEN
		RAISE EXCEPTION 'timeout must be between 0 and 1 day, not %', timeout
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF current_setting('transaction_isolation') <> 'read committed' THEN
		RAISE EXCEPTION 'wait_for needs a READ COMMITTED transaction'
			USING ERRCODE = 'active_sql_transaction',
				  DETAIL = 'Under a transaction snapshot the run would never be seen to finish.';
	END IF;
	deadline := clock_timestamp() + timeout;
	LOOP
		SELECT r.status, r.xmin = xid(pg_current_xact_id_if_assigned()) INTO s, own
		FROM racing_sched.job_runs r WHERE r.job_run_id = wait_for.job_run_id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'job run % does not exist', job_run_id USING ERRCODE = 'undefined_object';
		END IF;
		IF own THEN
			RAISE EXCEPTION 'job run % was queued or changed by this transaction', job_run_id
				USING ERRCODE = 'active_sql_transaction',
					  DETAIL = 'The scheduler sees the run only once this transaction commits.',
					  HINT = 'Call run_now() and wait_for() in separate transactions.';
		END IF;
		EXIT WHEN s NOT IN ('queued', 'running') OR clock_timestamp() >= deadline;
		PERFORM pg_sleep(least(0.05, greatest(0, extract(epoch FROM deadline - clock_timestamp()))));
	END LOOP;
	RETURN s;
END
$$;

CREATE FUNCTION cancel(job_run_id bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r racing_sched.job_runs;
BEGIN
	IF job_run_id IS NULL THEN
		RAISE EXCEPTION 'job_run_id must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT * INTO r FROM racing_sched.job_runs j WHERE j.job_run_id = cancel.job_run_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job run % does not exist', job_run_id USING ERRCODE = 'undefined_object';
	END IF;
	IF r.status = 'queued' THEN
		UPDATE racing_sched.job_runs j SET status = 'cancelled', completed_at = clock_timestamp(),
			metadata = j.metadata || jsonb_build_object('cancelled_by', session_user::text)
		WHERE j.job_run_id = r.job_run_id
		RETURNING * INTO r;
		PERFORM racing_sched._record_run_stats(r);
		RETURN true;
	ELSIF r.status = 'running' THEN
		-- The scheduler stops the worker and ends the run.
		UPDATE racing_sched.job_runs j SET
			metadata = j.metadata || jsonb_build_object('cancel_requested_by', session_user::text,
														'cancel_requested_at', clock_timestamp())
		WHERE j.job_run_id = r.job_run_id;
		PERFORM racing_sched.wake_scheduler();
		RETURN true;
	END IF;
	RETURN false;
END
$$;

CREATE FUNCTION alter_job(
	job_name text,
	schedule text DEFAULT NULL,
	enabled boolean DEFAULT NULL,
	retry_delays interval[] DEFAULT NULL,
	timeout interval DEFAULT NULL,
	race_offset interval DEFAULT NULL,
	tolerance interval DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j racing_sched.jobs := racing_sched._job(job_name);
	race_driven boolean := j.job_type IN ('pre_race_t60', 'pre_race_t15', 'post_race');
BEGIN
	IF schedule IS NOT NULL THEN
		IF race_driven THEN
			RAISE EXCEPTION 'job "%" is driven by race start times and has no schedule', job_name
				USING ERRCODE = 'invalid_parameter_value',
					  HINT = 'Change its race_offset instead.';
		END IF;
		PERFORM racing_sched.cron_next(schedule, now(), current_setting('racing_sched.timezone'));
	END IF;
	IF (race_offset IS NOT NULL OR tolerance IS NOT NULL) AND NOT race_driven THEN
		RAISE EXCEPTION 'job "%" runs on a schedule and has no race_offset or tolerance', job_name
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF race_offset NOT BETWEEN '-1 day' AND '1 day' THEN
		RAISE EXCEPTION 'race_offset must be between -1 day and 1 day, not %', race_offset
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF tolerance NOT BETWEEN '0' AND '1 hour' THEN
		RAISE EXCEPTION 'tolerance must be between 0 and 1 hour, not %', tolerance
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF timeout <= '0' OR timeout > '7 days' THEN
		RAISE EXCEPTION 'timeout must be more than 0 and at most 7 days, not %', timeout
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF cardinality(retry_delays) > 10
	   OR EXISTS (SELECT FROM unnest(retry_delays) d WHERE d IS NULL OR d <= '0' OR d > '1 day') THEN
		RAISE EXCEPTION 'retry_delays must hold at most 10 intervals, each more than 0 and at most 1 day'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;

	UPDATE racing_sched.jobs SET
		schedule = coalesce(alter_job.schedule, jobs.schedule),
		-- a new schedule, or a job enabled again, counts from now: no
		-- catch-up run for fires of the old schedule or of the pause
		last_fire_at = CASE WHEN (alter_job.schedule IS NOT NULL
								  AND alter_job.schedule IS DISTINCT FROM jobs.schedule)
							  OR (alter_job.enabled AND NOT jobs.enabled)
							THEN now() ELSE jobs.last_fire_at END,
		enabled = coalesce(alter_job.enabled, jobs.enabled),
		retry_delays = coalesce(alter_job.retry_delays, jobs.retry_delays),
		timeout = coalesce(alter_job.timeout, jobs.timeout),
		race_offset = coalesce(alter_job.race_offset, jobs.race_offset),
		tolerance = coalesce(alter_job.tolerance, jobs.tolerance),
		updated_at = now()
	WHERE jobs.job_name = j.job_name;
	PERFORM racing_sched.wake_scheduler();
END
$$;

CREATE FUNCTION schedule(job_name text, schedule text, command text) RETURNS void
AS 'MODULE_PATHNAME', 'racing_sched_schedule'
LANGUAGE C VOLATILE;

CREATE FUNCTION unschedule(job_name text) RETURNS boolean
AS 'MODULE_PATHNAME', 'racing_sched_unschedule'
LANGUAGE C VOLATILE;

REVOKE ALL ON FUNCTION duration_bucket_bounds(), _dedupe_key(text, text, jsonb, timestamptz),
	_check_args(text, jsonb), _array_inc(bigint[], integer), _record_run_stats(job_runs),
	_finish_run(bigint, text, integer, integer, text[], jsonb, integer, boolean),
	_job(text), run_now(text, jsonb), wait_for(bigint, interval), cancel(bigint),
	alter_job(text, text, boolean, interval[], interval, interval, interval),
	schedule(text, text, text), unschedule(text)
FROM PUBLIC;

-- Requests to the TAB API by endpoint and HTTP status (0: no response),
-- counted by the workers after each batch; counters only grow.
CREATE TABLE http_stats (
	endpoint			text NOT NULL,
	http_status			integer NOT NULL CHECK (http_status BETWEEN 0 AND 999),
	requests			bigint NOT NULL DEFAULT 0 CHECK (requests >= 0),
	failures			bigint NOT NULL DEFAULT 0 CHECK (failures >= 0),
	bytes				bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
	-- request duration histogram, bounds in http_duration_bucket_bounds()
	duration_buckets	bigint[] NOT NULL DEFAULT '{}',
	duration_sum_ms		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (endpoint, http_status)
);

CREATE FUNCTION http_duration_bucket_bounds() RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{0.05,0.1,0.25,0.5,1,2.5,5,10,30}'::float8[];

-- Count one request.
CREATE FUNCTION _record_http(p_endpoint text, p_http_status integer, p_ok boolean,
							 p_bytes bigint, p_elapsed_ms bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bounds float8[] := racing_sched.http_duration_bucket_bounds();
	bucket integer := coalesce((SELECT min(b.i) FROM unnest(bounds) WITH ORDINALITY AS b(bound, i)
								WHERE p_elapsed_ms / 1000.0 <= b.bound), cardinality(bounds) + 1);
BEGIN
	INSERT INTO racing_sched.http_stats AS s
		(endpoint, http_status, requests, failures, bytes, duration_buckets, duration_sum_ms)
	VALUES (p_endpoint, p_http_status, 1, (NOT p_ok)::int, greatest(p_bytes, 0),
			racing_sched._array_inc('{}', bucket), greatest(p_elapsed_ms, 0))
	ON CONFLICT (endpoint, http_status) DO UPDATE SET
		requests = s.requests + 1,
		failures = s.failures + (NOT p_ok)::int,
		bytes = s.bytes + greatest(p_bytes, 0),
		duration_buckets = racing_sched._array_inc(s.duration_buckets, bucket),
		duration_sum_ms = s.duration_sum_ms + greatest(p_elapsed_ms, 0);
END
$$;
REVOKE ALL ON FUNCTION _record_http(text, integer, boolean, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON http_stats FROM PUBLIC;

--
-- cleanup_job_runs: one batch of the delete, in the caller's transaction.
-- Successful runs started before p_cutoff go; failed, partial, cancelled,
-- queued and running runs stay.  Retries' parent links and
-- scrapes.job_run_id become NULL (ON DELETE SET NULL).  Rows another
-- transaction holds are skipped, so job inserts never wait on it.
--

CREATE FUNCTION _cleanup_batch(p_cutoff timestamptz, p_limit integer) RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
WITH d AS (
	DELETE FROM racing_sched.job_runs WHERE job_run_id IN (
		SELECT job_run_id FROM racing_sched.job_runs
		WHERE status = 'success' AND started_at < p_cutoff
		LIMIT p_limit FOR UPDATE SKIP LOCKED)
	RETURNING 1)
SELECT count(*) FROM d
$$;
REVOKE ALL ON FUNCTION _cleanup_batch(timestamptz, integer) FROM PUBLIC;

--
-- Race-driven jobs.  A race is due for a phase at start_time + race_offset;
-- race_phases remembers, per race and job, that the phase was planned (and
-- by which run) or missed, so each race is fetched once per phase.
--

CREATE TABLE race_phases (
	race_id				bigint NOT NULL REFERENCES races ON DELETE CASCADE,
	job_name			text NOT NULL,
	edge_at				timestamptz NOT NULL,
	state				text NOT NULL CHECK (state IN ('planned', 'missed')),
	job_run_id			bigint REFERENCES job_runs ON DELETE SET NULL,
	planned_at			timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (race_id, job_name)
);
CREATE INDEX race_phases_job_run ON race_phases (job_run_id) WHERE job_run_id IS NOT NULL;

-- Plan one race-driven job at time p_now: races whose edges lie within half
-- the tolerance share one run, due at the latest edge of the window, so that
-- no race is fetched before its edge, and the other half of the tolerance is
-- left for starting the worker and the fetch itself: snapshots land within
-- the tolerance after their edge.  A pre-race phase whose window closed before it could be
-- planned (the scheduler was down) is recorded as missed, not run late;
-- races first seen after their window closed (backfills) are left alone.
-- Returns the next edge still to come, for the scheduler's sleep.
CREATE FUNCTION _plan_race_phases(p_job_name text, p_now timestamptz) RETURNS timestamptz
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	j racing_sched.jobs;
	pre boolean;
	ids bigint[];
	edges timestamptz[];
	starts timestamptz[];
	missed bigint[] := '{}';
	missed_edges timestamptz[] := '{}';
	n integer;
	i integer := 1;
	k integer;
	args jsonb;
	run_id bigint;
BEGIN
	SELECT * INTO j FROM racing_sched.jobs
	WHERE job_name = p_job_name AND enabled AND race_offset IS NOT NULL;
	IF NOT FOUND THEN
		RETURN NULL;
	END IF;
	pre := j.race_offset < '0';

	-- Races not yet planned for this job, by edge.
	SELECT coalesce(array_agg(c.race_id ORDER BY c.edge_at, c.race_id), '{}'),
		   array_agg(c.edge_at ORDER BY c.edge_at, c.race_id),
		   array_agg(c.start_time ORDER BY c.edge_at, c.race_id)
	INTO ids, edges, starts
	FROM (SELECT r.race_id, r.start_time + j.race_offset AS edge_at, r.start_time
		  FROM racing_sched.races r
		  WHERE r.start_time > p_now - interval '1 day' - j.race_offset
			AND r.official_at IS NULL AND r.abandoned_at IS NULL
			AND (NOT pre OR (r.start_time > p_now AND r.closed_at IS NULL AND r.interim_at IS NULL
							 AND r.created_at <= r.start_time + j.race_offset + j.tolerance))
			AND NOT EXISTS (SELECT FROM racing_sched.race_phases p
							WHERE p.race_id = r.race_id AND p.job_name = j.job_name)) c;
	n := cardinality(ids);

	-- Pre-race windows that closed unplanned: missed, not run late.
	WHILE pre AND i <= n AND edges[i] + j.tolerance < p_now LOOP
		missed := missed || ids[i];
		missed_edges := missed_edges || edges[i];
		i := i + 1;
	END LOOP;
	IF cardinality(missed) > 0 THEN
		INSERT INTO racing_sched.race_phases (race_id, job_name, edge_at, state)
		SELECT m.race_id, j.job_name, m.edge_at, 'missed'
		FROM unnest(missed, missed_edges) AS m(race_id, edge_at);
		INSERT INTO racing_sched.job_stats (job_name, job_type)
		VALUES (j.job_name, j.job_type) ON CONFLICT (job_name) DO NOTHING;
		UPDATE racing_sched.job_stats SET missed_phases = missed_phases + cardinality(missed)
		WHERE job_name = j.job_name;
		RAISE LOG 'racing_sched: % missed its window for races %', j.job_name, missed;
	END IF;

	-- Due windows: one run each.
	WHILE i <= n AND edges[i] <= p_now LOOP
		k := i;
		WHILE k < n AND edges[k + 1] <= edges[i] + j.tolerance / 2 LOOP
			k := k + 1;
		END LOOP;
		args := jsonb_build_object('race_ids', to_jsonb(ids[i:k]));
		IF pre THEN
			args := args || jsonb_build_object('deadline', (SELECT min(s) FROM unnest(starts[i:k]) s));
		END IF;
		INSERT INTO racing_sched.job_runs (job_name, job_type, trigger, due_at, args, dedupe_key, metadata)
		VALUES (j.job_name, j.job_type, 'race', edges[k], args,
				racing_sched._dedupe_key(j.job_name, j.job_type, args, edges[k]),
				CASE WHEN cardinality(missed) = 0 THEN '{}'
					 ELSE jsonb_build_object('missed_race_ids', to_jsonb(missed)) END)
		ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
		RETURNING job_run_id INTO run_id;
		missed := '{}';
		INSERT INTO racing_sched.race_phases (race_id, job_name, edge_at, state, job_run_id)
		SELECT p.race_id, j.job_name, p.edge_at, 'planned', run_id
		FROM unnest(ids[i:k], edges[i:k]) AS p(race_id, edge_at);
		i := k + 1;
	END LOOP;

	RETURN edges[i];
END
$$;

-- Plan every enabled race-driven job; returns the next edge to wake for.
CREATE FUNCTION _plan_all_race_phases(p_now timestamptz) RETURNS timestamptz
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
RETURN (SELECT min(racing_sched._plan_race_phases(job_name, p_now))
		FROM racing_sched.jobs WHERE enabled AND race_offset IS NOT NULL);

-- Races past their start without official results (nor abandoned): what
-- the next morning scrape or run_now('post_race', '{"race_id": ...}') can
-- finish.
CREATE VIEW pending_results AS
SELECT r.race_id, m.meeting_date, m.race_type, m.venue_mnemonic, m.meeting_name,
	   r.race_number, r.match_name, r.start_time, r.status, r.interim_at,
	   now() - r.start_time AS since_start,
	   EXISTS (SELECT FROM results x WHERE x.race_id = r.race_id) AS has_provisional_results
FROM races r JOIN meetings m USING (meeting_id)
WHERE r.start_time < now() AND r.official_at IS NULL AND r.abandoned_at IS NULL;

-- When a job runs next after p_now: its next cron fire, or the first edge of
-- a race not yet planned for it; NULL when disabled or nothing is to come.
-- SECURITY DEFINER so that the metrics views can call it for a monitoring
-- role that reads no table.
CREATE FUNCTION _next_run(p_job_name text, p_now timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN (SELECT CASE
			WHEN NOT j.enabled THEN NULL
			WHEN j.schedule IS NOT NULL THEN
				racing_sched.cron_next(j.schedule, greatest(j.last_fire_at, p_now),
									   current_setting('racing_sched.timezone'))
			ELSE (SELECT min(r.start_time) + j.race_offset FROM racing_sched.races r
				  WHERE r.start_time > p_now - j.race_offset
					AND NOT EXISTS (SELECT FROM racing_sched.race_phases p
									WHERE p.race_id = r.race_id AND p.job_name = j.job_name))
		END
		FROM racing_sched.jobs j WHERE j.job_name = p_job_name);

-- One row per job: what it is, when it runs next, how its last run went.
CREATE VIEW schedulers AS
SELECT j.job_name, j.job_type, j.enabled,
	   coalesce(j.schedule, 'start ' || CASE WHEN j.race_offset < '0' THEN '- ' || (-j.race_offset)::text
											 ELSE '+ ' || j.race_offset::text END) AS schedule,
	   j.race_offset, j.tolerance, j.retry_delays, j.timeout,
	   _next_run(j.job_name, now()) AS next_run,
	   last.job_run_id AS last_job_run_id, last.status AS last_status,
	   last.started_at AS last_started_at, last.completed_at AS last_completed_at,
	   last.duration_ms AS last_duration_ms,
	   (SELECT count(*) FROM job_runs q WHERE q.job_name = j.job_name AND q.status = 'running') AS running,
	   (SELECT count(*) FROM job_runs q WHERE q.job_name = j.job_name AND q.status = 'queued') AS queued,
	   coalesce(s.consecutive_failures, 0) AS consecutive_failures,
	   s.last_success_at, s.last_failure_at
FROM jobs j
LEFT JOIN job_stats s USING (job_name)
LEFT JOIN LATERAL (SELECT q.job_run_id, q.status, q.started_at, q.completed_at, q.duration_ms
				   FROM job_runs q
				   WHERE q.job_name = j.job_name AND q.status NOT IN ('queued', 'running')
				   ORDER BY q.job_run_id DESC LIMIT 1) last ON true;

REVOKE ALL ON race_phases, pending_results, schedulers FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('meetings', '');
SELECT pg_catalog.pg_extension_config_dump('races', '');
SELECT pg_catalog.pg_extension_config_dump('runners', '');
SELECT pg_catalog.pg_extension_config_dump('scrapes', '');
SELECT pg_catalog.pg_extension_config_dump('odds', '');
SELECT pg_catalog.pg_extension_config_dump('results', '');
SELECT pg_catalog.pg_extension_config_dump('dividends', '');
SELECT pg_catalog.pg_extension_config_dump('job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('job_stats', '');
SELECT pg_catalog.pg_extension_config_dump('race_phases', '');
SELECT pg_catalog.pg_extension_config_dump('http_stats', '');
-- The built-in jobs belong to the extension script; custom SQL jobs are data.
SELECT pg_catalog.pg_extension_config_dump('jobs', 'WHERE job_type = ''sql''');
SELECT pg_catalog.pg_extension_config_dump('meetings_meeting_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('races_race_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('scrapes_scrape_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('job_runs_job_run_id_seq', '');

SELECT wake_scheduler();

--
-- Monitoring: the metrics views that postgres_exporter reads (mapped by
-- exporter/queries.yaml), pre-race lateness, the rules of health(), and the
-- recent failures a dashboard lists.
--
-- The metrics views read counters (job_stats, http_stats, phase_lateness),
-- the jobs, the partial indexes of queued and running runs, and the catalog;
-- never the history in job_runs, so that a scrape costs the same with a
-- million runs as with a thousand.  Each has one row per label set; every
-- number is a number (0 for never or none, not NULL); counters only grow,
-- across cleanups and restarts.  Names follow Prometheus: base units
-- (seconds, bytes), _total for counters, _timestamp_seconds for times.
-- Histograms are four columns: <name>_le, the upper bounds in seconds
-- (without +Inf); <name>_buckets, the cumulative count at each bound;
-- <name>_sum_seconds; and <name>_count, which includes what lies above the
-- last bound.  Functions the views call are executable by PUBLIC and read no
-- table with the caller's rights, so that SELECT on the views is all a
-- monitoring role needs.
--

-- Lateness of pre-race snapshots: how long after its phase's edge
-- (race_phases.edge_at) each race was fetched, one histogram per job, counted
-- when the snapshot is stored.  Counters only grow.
CREATE TABLE phase_lateness (
	job_name			text PRIMARY KEY,
	-- non-cumulative; bounds in lateness_bucket_bounds(), last one overflow
	buckets				bigint[] NOT NULL DEFAULT '{}',
	sum_seconds			double precision NOT NULL DEFAULT 0 CHECK (sum_seconds >= 0),
	count				bigint NOT NULL DEFAULT 0 CHECK (count >= 0)
);
REVOKE ALL ON phase_lateness FROM PUBLIC;

-- Upper bounds (seconds) of the lateness histogram.
CREATE FUNCTION lateness_bucket_bounds() RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{1,2,5,10,15,30,60,120,300,600}'::float8[];

-- Count one snapshot of job p_job_name stored p_seconds after its edge; a
-- negative lateness (clock skew) counts as 0, a NULL one not at all.  Call it
-- in the transaction that stores the snapshot, once per race and phase.
CREATE FUNCTION _record_lateness(p_job_name text, p_seconds double precision) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	bounds float8[] := racing_sched.lateness_bucket_bounds();
	secs double precision := greatest(p_seconds, 0);
	bucket integer;
BEGIN
	IF p_job_name IS NULL OR p_seconds IS NULL THEN
		RETURN;
	END IF;
	bucket := coalesce((SELECT min(b.i) FROM unnest(bounds) WITH ORDINALITY AS b(bound, i)
						WHERE secs <= b.bound), cardinality(bounds) + 1);
	INSERT INTO racing_sched.phase_lateness AS l (job_name, buckets, sum_seconds, count)
	VALUES (p_job_name, racing_sched._array_inc('{}', bucket), secs, 1)
	ON CONFLICT (job_name) DO UPDATE SET
		buckets = racing_sched._array_inc(l.buckets, bucket),
		sum_seconds = l.sum_seconds + secs,
		count = l.count + 1;
END
$$;
REVOKE ALL ON FUNCTION _record_lateness(text, double precision) FROM PUBLIC;

-- Count the lateness of race p_race_id's snapshot for phase p_job_name,
-- taken at p_scraped_at, from the edge its plan recorded (race_phases); a
-- race fetched outside a planned phase (run_now with race_id) counts nothing.
CREATE FUNCTION _record_phase_snapshot(p_job_name text, p_race_id bigint, p_scraped_at timestamptz)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT racing_sched._record_lateness(p.job_name, extract(epoch FROM p_scraped_at - p.edge_at)::float8)
	FROM racing_sched.race_phases p
	WHERE p.race_id = p_race_id AND p.job_name = p_job_name AND p.state = 'planned';
END;
REVOKE ALL ON FUNCTION _record_phase_snapshot(text, bigint, timestamptz) FROM PUBLIC;

-- Cumulative counts at the first n bounds of a non-cumulative histogram.
CREATE FUNCTION _cumulative(counts bigint[], n integer) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT coalesce(array_agg(c.total ORDER BY c.k), '{}')
		FROM (SELECT k, (sum(coalesce(counts[k], 0)) OVER (ORDER BY k))::bigint AS total
			  FROM generate_series(1, n) AS k) c);

-- The metrics views read the bounds with the caller's rights.
GRANT EXECUTE ON FUNCTION duration_bucket_bounds() TO PUBLIC;

-- The scheduler's liveness, for metrics_scheduler.
CREATE FUNCTION _scheduler_liveness(OUT up integer, OUT started_at timestamptz,
									OUT heartbeat_at timestamptz)
RETURNS record
LANGUAGE sql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
RETURN (SELECT ROW((s.pid IS NOT NULL)::integer, s.started_at, s.heartbeat_at)
		FROM racing_sched.scheduler_status() s);

-- Every job that exists or has counters: an unscheduled custom job keeps its
-- counters, so its series do not vanish and come back lower.
CREATE VIEW _job_counters AS
SELECT job_name, coalesce(j.job_type, s.job_type) AS job_type,
	   j.job_name IS NOT NULL AS defined, coalesce(j.enabled, false) AS enabled,
	   j.retry_delays,
	   coalesce(s.runs_success, 0) AS runs_success, coalesce(s.runs_partial, 0) AS runs_partial,
	   coalesce(s.runs_failed, 0) AS runs_failed, coalesce(s.runs_cancelled, 0) AS runs_cancelled,
	   coalesce(s.retries, '{}') AS retries,
	   coalesce(s.items_processed, 0) AS items_processed, coalesce(s.items_failed, 0) AS items_failed,
	   coalesce(s.duration_buckets, '{}') AS duration_buckets,
	   coalesce(s.duration_sum_ms, 0) AS duration_sum_ms, coalesce(s.duration_count, 0) AS duration_count,
	   s.last_success_at, s.last_failure_at,
	   coalesce(s.consecutive_failures, 0) AS consecutive_failures,
	   coalesce(s.missed_phases, 0) AS missed_phases
FROM jobs j FULL JOIN job_stats s USING (job_name);

-- racing_sched_job_runs_total{job_name, job_type, status}: finished runs by
-- outcome (cancelled: cancelled while queued).
CREATE VIEW metrics_job_runs AS
SELECT c.job_name, c.job_type, o.status,
	   CASE o.status WHEN 'success' THEN c.runs_success WHEN 'partial' THEN c.runs_partial
					 WHEN 'failed' THEN c.runs_failed ELSE c.runs_cancelled END AS runs_total
FROM _job_counters c
CROSS JOIN (VALUES ('success'), ('partial'), ('failed'), ('cancelled')) AS o(status);

-- racing_sched_job_retries_total{job_name, job_type, retry}: retries queued,
-- by retry number (1 = first retry), for every retry the job allows or made.
CREATE VIEW metrics_job_retries AS
SELECT c.job_name, c.job_type, n::text AS retry, coalesce(c.retries[n], 0) AS retries_total
FROM _job_counters c,
	 generate_series(1, greatest(cardinality(c.retries), coalesce(cardinality(c.retry_delays), 0))) AS n;

-- Per job: gauges of what is running and waiting, counters of items, times,
-- and the run duration histogram.
CREATE VIEW metrics_jobs AS
SELECT c.job_name, c.job_type,
	   c.enabled::integer AS enabled,
	   coalesce(a.running, 0) AS active_runs,
	   coalesce(q.queued, 0) AS queued_runs,
	   coalesce(q.due, 0) AS due_runs,
	   coalesce(extract(epoch FROM now() - q.oldest_due)::float8, 0) AS oldest_due_run_age_seconds,
	   c.items_processed AS items_processed_total,
	   c.items_failed AS items_failed_total,
	   coalesce(extract(epoch FROM c.last_success_at)::float8, 0) AS last_success_timestamp_seconds,
	   coalesce(extract(epoch FROM c.last_failure_at)::float8, 0) AS last_failure_timestamp_seconds,
	   coalesce(extract(epoch FROM _next_run(c.job_name, now()))::float8, 0) AS next_run_timestamp_seconds,
	   c.consecutive_failures,
	   duration_bucket_bounds() AS duration_le,
	   _cumulative(c.duration_buckets, cardinality(duration_bucket_bounds())) AS duration_buckets,
	   c.duration_sum_ms / 1000.0::float8 AS duration_sum_seconds,
	   c.duration_count
FROM _job_counters c
-- job_runs_running and job_runs_queued_due: a few rows, whatever the history
LEFT JOIN (SELECT job_name, count(*) AS running FROM job_runs
		   WHERE status = 'running' GROUP BY job_name) a USING (job_name)
LEFT JOIN (SELECT job_name, count(*) AS queued, count(*) FILTER (WHERE due_at <= now()) AS due,
				  min(due_at) FILTER (WHERE due_at <= now()) AS oldest_due
		   FROM job_runs WHERE status = 'queued' GROUP BY job_name) q USING (job_name);

-- Requests to the TAB API by endpoint and HTTP status (0: no response).
CREATE VIEW metrics_http AS
SELECT h.endpoint, h.http_status::text AS http_status,
	   h.requests AS requests_total, h.failures AS request_failures_total,
	   h.bytes AS response_bytes_total,
	   http_duration_bucket_bounds() AS request_duration_le,
	   _cumulative(h.duration_buckets, cardinality(http_duration_bucket_bounds())) AS request_duration_buckets,
	   h.duration_sum_ms / 1000.0::float8 AS request_duration_sum_seconds,
	   h.requests AS request_duration_count
FROM http_stats h;

-- Per race-driven job (the phase): how late snapshots came after the edge,
-- and how many races missed the phase's window.
CREATE VIEW metrics_phases AS
SELECT job_name AS phase,
	   lateness_bucket_bounds() AS lateness_le,
	   _cumulative(coalesce(l.buckets, '{}'), cardinality(lateness_bucket_bounds())) AS lateness_buckets,
	   coalesce(l.sum_seconds, 0) AS lateness_sum_seconds,
	   coalesce(l.count, 0) AS lateness_count,
	   coalesce(s.missed_phases, 0) AS missed_total
FROM jobs j
FULL JOIN phase_lateness l USING (job_name)
LEFT JOIN job_stats s USING (job_name)
WHERE j.race_offset IS NOT NULL OR l.job_name IS NOT NULL;

-- The scheduler: up (1 when its process is attached), heartbeat and start.
CREATE VIEW metrics_scheduler AS
SELECT l.up,
	   coalesce(extract(epoch FROM l.heartbeat_at)::float8, 0) AS heartbeat_timestamp_seconds,
	   coalesce(extract(epoch FROM l.started_at)::float8, 0) AS start_time_seconds
FROM _scheduler_liveness() l;

-- Size of the extension's tables: live rows (from the statistics system,
-- else the planner's estimate) and bytes on disk with indexes and TOAST.
CREATE VIEW metrics_tables AS
SELECT c.relname::text AS table_name,
	   coalesce(nullif(pg_stat_get_live_tuples(c.oid), 0), greatest(c.reltuples, 0)::bigint) AS rows,
	   pg_total_relation_size(c.oid) AS bytes
FROM pg_class c
WHERE c.relnamespace = 'racing_sched'::regnamespace AND c.relkind = 'r';

-- The latest failed and partial runs with their errors, newest first, for
-- a dashboard table (job_runs_status_started keeps it cheap).
CREATE VIEW recent_failures AS
SELECT f.* FROM (
	(SELECT job_run_id, job_name, job_type, status, trigger, retry_count, due_at, started_at,
			completed_at, duration_ms, items_processed, items_failed, errors
	 FROM job_runs WHERE status = 'failed' ORDER BY started_at DESC NULLS LAST LIMIT 100)
	UNION ALL
	(SELECT job_run_id, job_name, job_type, status, trigger, retry_count, due_at, started_at,
			completed_at, duration_ms, items_processed, items_failed, errors
	 FROM job_runs WHERE status = 'partial' ORDER BY started_at DESC NULLS LAST LIMIT 100)) f
ORDER BY f.completed_at DESC LIMIT 100;

REVOKE ALL ON _job_counters, metrics_job_runs, metrics_job_retries, metrics_jobs, metrics_http,
	metrics_phases, metrics_scheduler, metrics_tables, recent_failures FROM PUBLIC;

-- The verdict of health(), with every input an argument so that each rule
-- can be tested: p_now is the time judged at, the rest the scheduler's
-- status.  down: no scheduler, or its heartbeat is stale.  degraded: the
-- scheduler is not running its jobs; an enabled job failed three times in a
-- row; queued runs are overdue by more than 5 minutes; no successful morning
-- scrape today 30 minutes after its fire time; races without official
-- results more than an hour after the jump (the last day's, while a post_race
-- job is enabled).
CREATE FUNCTION _health(p_now timestamptz, p_pid integer, p_state text,
						p_started_at timestamptz, p_heartbeat_at timestamptz, p_database text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	age double precision := extract(epoch FROM p_now - p_heartbeat_at);
	stale double precision := greatest(180, 3 * extract(epoch FROM
		current_setting('racing_sched.heartbeat_interval')::interval));
	tz text := current_setting('racing_sched.timezone');
	midnight timestamptz := date_trunc('day', p_now AT TIME ZONE tz) AT TIME ZONE tz;
	reasons text[] := '{}';
	down boolean := false;
	r record;
	fire timestamptz;
	overdue bigint;
	oldest timestamptz;
	pending bigint := 0;
	failing jsonb := '[]';
BEGIN
	IF p_pid IS NULL THEN
		down := true;
		reasons := reasons || 'scheduler not running'::text;
	ELSIF age > stale THEN
		down := true;
		reasons := reasons || format('scheduler heartbeat stale (%s s)', round(age));
	ELSIF p_state <> 'running' THEN
		reasons := reasons || format('scheduler is %s', p_state);
	END IF;

	FOR r IN SELECT s.job_name, s.consecutive_failures, s.last_failure_at
			 FROM racing_sched.job_stats s JOIN racing_sched.jobs j USING (job_name)
			 WHERE j.enabled AND s.consecutive_failures >= 3 ORDER BY s.job_name LOOP
		reasons := reasons || format('job %s failed %s times in a row', r.job_name, r.consecutive_failures);
		failing := failing || jsonb_build_object('job_name', r.job_name,
			'consecutive_failures', r.consecutive_failures, 'last_failure_at', r.last_failure_at);
	END LOOP;

	SELECT count(*), min(due_at) INTO overdue, oldest
	FROM racing_sched.job_runs WHERE status = 'queued' AND due_at < p_now - interval '5 minutes';
	IF overdue > 0 THEN
		reasons := reasons || format('%s queued runs overdue (the oldest due %s s ago)',
									 overdue, round(extract(epoch FROM p_now - oldest)));
	END IF;

	FOR r IN SELECT j.job_name, j.schedule, j.created_at, s.last_success_at
			 FROM racing_sched.jobs j LEFT JOIN racing_sched.job_stats s USING (job_name)
			 WHERE j.job_type = 'morning_scrape' AND j.enabled AND j.schedule IS NOT NULL LOOP
		-- today's first fire; expected only if the job existed at that time
		fire := racing_sched.cron_next(r.schedule, midnight - interval '1 microsecond', tz);
		IF fire < midnight + interval '1 day' AND fire >= r.created_at
		   AND p_now >= fire + interval '30 minutes'
		   AND (r.last_success_at IS NULL OR r.last_success_at < midnight) THEN
			reasons := reasons || format('no successful %s today (due at %s)', r.job_name,
										 to_char(fire AT TIME ZONE tz, 'HH24:MI'));
		END IF;
	END LOOP;

	IF EXISTS (SELECT FROM racing_sched.jobs WHERE job_type = 'post_race' AND enabled) THEN
		SELECT count(*) INTO pending FROM racing_sched.races
		WHERE start_time >= p_now - interval '1 day' AND start_time < p_now - interval '1 hour'
		  AND official_at IS NULL AND abandoned_at IS NULL;
		IF pending > 0 THEN
			reasons := reasons || format('%s races without official results more than 1 hour after the jump',
										 pending);
		END IF;
	END IF;

	RETURN jsonb_build_object(
		'status', CASE WHEN down THEN 'down' WHEN cardinality(reasons) > 0 THEN 'degraded' ELSE 'ok' END,
		'reasons', to_jsonb(reasons),
		'checked_at', p_now,
		'failing_jobs', failing,
		'overdue_runs', overdue,
		'pending_results', pending,
		'scheduler', jsonb_build_object(
			'pid', p_pid,
			'state', p_state,
			'database', p_database,
			'started_at', p_started_at,
			'heartbeat_at', p_heartbeat_at,
			'heartbeat_age_s', round(age::numeric, 3)));
END
$$;
REVOKE ALL ON FUNCTION _health(timestamptz, integer, text, timestamptz, timestamptz, text) FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('phase_lateness', '');
