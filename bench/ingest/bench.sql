-- The driver of bench/ingest: alternate the C path (_ingest_meetings,
-- _ingest_race: parse + store in C) and the plain SQL path
-- (bench.plain_meetings, bench.plain_race) over the same documents, from
-- empty tables each run, each document in its own subtransaction (a bad unit
-- must roll back alone on both paths), and record times and rows written.
CREATE TABLE IF NOT EXISTS bench.timings (path text, run int, total_ms float8, rows bigint,
	cpu_ms float8);
CREATE TABLE IF NOT EXISTS bench.doc_times (path text, run int, kind text, ms float8);

CREATE OR REPLACE FUNCTION bench.rows() RETURNS bigint LANGUAGE sql AS $$
	SELECT (SELECT count(*) FROM racing_sched.meetings) + (SELECT count(*) FROM racing_sched.races)
		+ (SELECT count(*) FROM racing_sched.runners) + (SELECT count(*) FROM racing_sched.odds)
		+ (SELECT count(*) FROM racing_sched.results) + (SELECT count(*) FROM racing_sched.dividends)
		+ (SELECT count(*) FROM racing_sched.scrapes)
$$;

-- CPU time of this backend so far (user + system, from /proc, in ticks of
-- 10 ms): on a busy machine it says what the work cost when wall time also
-- counts waiting for a core.
CREATE OR REPLACE FUNCTION bench.cpu_ms() RETURNS float8 LANGUAGE sql AS $$
	SELECT (split_part(s, ' ', 12)::bigint + split_part(s, ' ', 13)::bigint) * 10.0
	FROM (SELECT substr(t, strpos(t, ') ') + 2) AS s
		FROM pg_read_file('/proc/' || pg_backend_pid() || '/stat') AS t) AS x
$$;

CREATE OR REPLACE PROCEDURE bench.run(path text, run int) LANGUAGE plpgsql AS $$
DECLARE
	d record;
	t0 timestamptz;
	t1 timestamptz;
	start timestamptz;
	cpu0 float8;
	s jsonb;
	failed int := 0;
BEGIN
	TRUNCATE racing_sched.meetings, racing_sched.scrapes CASCADE;
	COMMIT;
	cpu0 := bench.cpu_ms();
	start := clock_timestamp();
	FOR d IN SELECT * FROM bench.docs ORDER BY kind, name LOOP
		t0 := clock_timestamp();
		IF path = 'c' THEN
			IF d.kind = 'meetings' THEN
				s := racing_sched._ingest_meetings(d.body, 'NSW');
			ELSE
				s := racing_sched._ingest_race(d.body, 'NSW', d.req_date);
			END IF;
			IF (s->>'failed')::int > 0 THEN
				RAISE WARNING '%: %', d.name, s->'errors';
			END IF;
			failed := failed + (s->>'failed')::int;
		ELSE
			BEGIN
				IF d.kind = 'meetings' THEN
					PERFORM bench.plain_meetings(d.body::jsonb, 'NSW');
				ELSE
					PERFORM bench.plain_race(d.body::jsonb, 'NSW', d.req_date);
				END IF;
			EXCEPTION WHEN OTHERS THEN
				RAISE WARNING '%: %', d.name, SQLERRM;
				failed := failed + 1;
			END;
		END IF;
		t1 := clock_timestamp();
		INSERT INTO bench.doc_times VALUES (path, run, d.kind, extract(epoch FROM t1 - t0) * 1000);
	END LOOP;
	t1 := clock_timestamp();
	cpu0 := bench.cpu_ms() - cpu0;
	IF failed > 0 THEN
		RAISE EXCEPTION 'path % run %: % documents failed', path, run, failed;
	END IF;
	INSERT INTO bench.timings VALUES (path, run, extract(epoch FROM t1 - start) * 1000, bench.rows(),
		cpu0);
	COMMIT;
END
$$;
