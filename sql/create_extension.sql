-- The extension installs and drops cleanly, and says what it made.
CREATE EXTENSION racing_sched;
\dx racing_sched

SELECT c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'racing_sched' AND c.relkind IN ('r', 'v', 'S')
ORDER BY c.relname;

SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'racing_sched'
ORDER BY 1, 2;

-- The seeded jobs: five built-in job types with their schedules and retries.
SELECT job_name, job_type, schedule, enabled, retry_delays, timeout, race_offset, tolerance
FROM racing_sched.jobs ORDER BY job_name;

-- Not relocatable, schema fixed.
ALTER EXTENSION racing_sched SET SCHEMA public;

-- Nothing of it is left behind after DROP EXTENSION but the empty schema
-- that CREATE EXTENSION made for it.
DROP EXTENSION racing_sched;
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = n.oid) AS relations,
	   (SELECT count(*) FROM pg_proc WHERE pronamespace = n.oid) AS functions,
	   (SELECT count(*) FROM pg_type WHERE typnamespace = n.oid) AS types
FROM pg_namespace n WHERE nspname = 'racing_sched';
CREATE EXTENSION racing_sched;
SELECT count(*) AS jobs FROM racing_sched.jobs;
DROP EXTENSION racing_sched;
DROP SCHEMA racing_sched;

-- Only a superuser can create it.
CREATE ROLE rs_nobody;
SET ROLE rs_nobody;
CREATE EXTENSION racing_sched;
RESET ROLE;
DROP ROLE rs_nobody;
