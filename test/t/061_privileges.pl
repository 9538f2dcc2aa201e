# Privileges with a live scheduler: an operator (the README's recipe, used
# from a login role of its own) triggers, waits for and cancels runs from
# its own sessions but changes no setting; a custom SQL job runs as its
# owner from start to commit (deferred triggers, WITH HOLD cursors) and
# cannot take other rights, nor leave settings that steer the worker's own
# statements; a database owner's search_path does not reach the scheduler's
# and the workers' statements.  The table-level matrix of the roles is
# test/pgtap/privileges.sql.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $node = rs_node('privs', conf => ['racing_sched.max_workers = 4', 'racing_sched.timezone = UTC']);
$node->start;

# Our own sessions keep a plain path whatever the database's default is.
sub sql
{
	my ($q, $user) = @_;
	local $ENV{PGOPTIONS} = '-c search_path=pg_catalog,public';
	return $node->safe_psql('postgres', $q, extra_params => ['-U', $user // 'postgres']);
}
# ($ret, $stdout, $stderr) of a statement expected to fail.
sub try_sql
{
	my ($q, $user) = @_;
	local $ENV{PGOPTIONS} = '-c search_path=pg_catalog,public';
	my ($ret, $out, $err) = $node->psql('postgres', $q, extra_params => ['-U', $user // 'postgres']);
	return ($ret, $out, $err);
}
sub run_field { sql("SELECT $_[1] FROM racing_sched.job_runs WHERE job_run_id = $_[0]") }

sql('CREATE EXTENSION racing_sched');
sql("SELECT racing_sched.schedule('quick', '0 0 1 1 *', 'SELECT 1')");
sql("SELECT racing_sched.schedule('sleepy', '0 0 1 1 *', 'SELECT pg_sleep(60)')");

# The README's operator, and a person who logs in with its rights.
sql(q{
CREATE ROLE racing_operator;
GRANT USAGE ON SCHEMA racing_sched TO racing_operator;
GRANT EXECUTE ON FUNCTION racing_sched.run_now(text, jsonb), racing_sched.wait_for(bigint, interval),
      racing_sched.cancel(bigint), racing_sched.health() TO racing_operator;
GRANT SELECT ON racing_sched.job_runs, racing_sched.jobs TO racing_operator;
CREATE ROLE ops LOGIN IN ROLE racing_operator;
});

# Trigger in one session, wait in another: the run is the scheduler's.
my $id = sql("SELECT racing_sched.run_now('quick')", 'ops');
is(sql("SELECT racing_sched.wait_for($id, '30s')", 'ops'), 'success', 'operator: run_now, then wait_for in another session');
my $s = sql("SELECT racing_sched.run_now('sleepy')", 'ops');
ok(wait_until(sub { run_field($s, 'status') eq 'running' }, 30), 'operator: a long run is running');
is(sql("SELECT racing_sched.cancel($s)", 'ops'), 't', 'operator: cancel a running run');
is(sql("SELECT racing_sched.wait_for($s, '30s')", 'ops'), 'failed', 'it is stopped');
is(run_field($s, 'errors[1]'), 'cancelled by ops', 'and says who cancelled it');

# The operator changes no job and no setting.
my ($ret, $out, $err) = try_sql("SELECT racing_sched.alter_job('quick', enabled => false)", 'ops');
like($err, qr/permission denied for function alter_job/, 'operator: alter_job refused');
for my $setting ('racing_sched.enabled = off', 'racing_sched.max_workers = 1', "racing_sched.http_timeout = '1s'",
	"racing_sched.tab_api_url = 'http://127.0.0.1:1/x'")
{
	($ret, $out, $err) = try_sql("ALTER SYSTEM SET $setting", 'ops');
	like($err, qr/permission denied to set parameter/, "operator: ALTER SYSTEM SET $setting refused");
}
($ret, $out, $err) = try_sql("SET racing_sched.http_max_inflight = 64", 'ops');
like($err, qr/permission denied to set parameter "racing_sched.http_max_inflight"/, 'operator: an HTTP setting, even for its session, refused');
is($node->safe_psql('postgres', 'SHOW racing_sched.enabled'), 'on', 'the settings are unchanged');

# A job owner without privileges: the job can do what bob can, no more.
sql(q{
CREATE ROLE bob LOGIN;
GRANT USAGE ON SCHEMA racing_sched TO bob;
GRANT EXECUTE ON FUNCTION racing_sched.schedule(text, text, text), racing_sched.unschedule(text),
      racing_sched.run_now(text, jsonb), racing_sched.wait_for(bigint, interval) TO bob;
GRANT SELECT ON racing_sched.job_runs TO bob;
CREATE TABLE public.secret (x int);
CREATE SCHEMA bobs AUTHORIZATION bob;
});
sql(q{
CREATE TABLE bobs.calls (what text, who name, super boolean);
CREATE FUNCTION bobs.log(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO bobs.calls VALUES (what, current_user,
		(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user));
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		EXECUTE 'ALTER ROLE bob SUPERUSER';
	END IF;
	RETURN true;
END $$;
CREATE FUNCTION bobs.row_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM bobs.log('deferred trigger');
	-- and leave a hostile path behind, for the worker's statements after the job
	PERFORM pg_catalog.set_config('search_path', 'bobs, pg_catalog', false);
	RETURN NULL;
END $$;
CREATE TABLE bobs.t (x int);
CREATE CONSTRAINT TRIGGER t_at_commit AFTER INSERT ON bobs.t DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION bobs.row_logged();
CREATE FUNCTION bobs.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM bobs.log('=(text, text)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR bobs.= (leftarg = text, rightarg = text, function = bobs.eq);
CREATE DOMAIN bobs.jsonb AS pg_catalog.jsonb CHECK (bobs.log('domain bobs.jsonb'));
}, 'bob');

my %escape = (
	secret => 'INSERT INTO public.secret VALUES (1)',
	set_role => 'SET ROLE postgres; INSERT INTO public.secret VALUES (2)',
	reset_role => 'RESET ROLE; INSERT INTO public.secret VALUES (3)',
	session_auth => "SELECT set_config('session_authorization', 'postgres', false); INSERT INTO public.secret VALUES (4)",
	grant_self => 'ALTER ROLE bob SUPERUSER',
);
for my $name (sort keys %escape)
{
	sql("SELECT racing_sched.schedule('bob_$name', '0 0 1 1 *', \$cmd\$$escape{$name}\$cmd\$)", 'bob');
	$id = sql("SELECT racing_sched.run_now('bob_$name')", 'bob');
	is(sql("SELECT racing_sched.wait_for($id, '30s')", 'bob'), 'failed', "bob's job $name failed");
	like(run_field($id, 'errors[1]'), qr/SQLSTATE 42501/, "$name: for lack of privilege");
}
is(sql('SELECT count(*) FROM public.secret'), '0', 'bob\'s jobs wrote nothing bob may not write');

# What runs at commit is the job's too: a deferred trigger and a WITH HOLD
# cursor run as bob; the settings the job and its trigger changed do not
# steer the worker recording the outcome (its $6::jsonb, its operators).
sql(q{SELECT racing_sched.schedule('bob_commit', '0 0 1 1 *', $cmd$
	SET search_path = bobs, pg_catalog;
	CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (bobs.log('domain pg_temp.jsonb'));
	INSERT INTO bobs.t VALUES (1);
	DECLARE c CURSOR WITH HOLD FOR SELECT bobs.log('WITH HOLD cursor')
$cmd$)}, 'bob');
$id = sql("SELECT racing_sched.run_now('bob_commit')", 'bob');
is(sql("SELECT racing_sched.wait_for($id, '30s')", 'bob'), 'success', 'bob\'s job with work at commit succeeded');
is(run_field($id, "metadata->>'run_as'"), 'bob', 'recorded as run as bob');
is(sql("SELECT string_agg(what || ' as ' || who, ', ' ORDER BY what) FROM bobs.calls"),
	'WITH HOLD cursor as bob, deferred trigger as bob', 'the deferred trigger and the cursor ran as bob');
is(sql('SELECT count(*) FROM bobs.calls WHERE super'), '0', 'nothing of bob\'s ran as a superuser');
is(sql("SELECT rolsuper FROM pg_roles WHERE rolname = 'bob'"), 'f', 'bob is no superuser');

# A database owner sets a hostile search_path for every session of the
# database, the scheduler's and the workers' included (both connect as the
# bootstrap superuser).  Their statements do not use its objects.
sql(q{
CREATE ROLE dbo LOGIN;
ALTER DATABASE postgres OWNER TO dbo;
});
sql(q{
CREATE SCHEMA trap;
CREATE TABLE trap.calls (what text, who name, super boolean, process text);
GRANT USAGE ON SCHEMA trap TO PUBLIC;
GRANT INSERT ON trap.calls TO PUBLIC;
CREATE FUNCTION trap.log(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO trap.calls VALUES (what, current_user,
		(SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
		(SELECT backend_type FROM pg_catalog.pg_stat_activity WHERE pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()));
	IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		EXECUTE 'ALTER ROLE dbo SUPERUSER';
	END IF;
	RETURN true;
END $$;
CREATE FUNCTION trap.eq(a text, b text) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('=(text, text)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR trap.= (leftarg = text, rightarg = text, function = trap.eq);
CREATE FUNCTION trap.eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('=(bigint, bigint)'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR trap.= (leftarg = bigint, rightarg = bigint, function = trap.eq);
CREATE FUNCTION trap.now() RETURNS timestamptz LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('now()'); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION trap.jsonb_build_object(text, bigint) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('jsonb_build_object(text, bigint)'); RETURN '{}'; END $$;
CREATE FUNCTION trap.jsonb_build_object(text, text, text, timestamptz) RETURNS jsonb LANGUAGE plpgsql
	AS $$ BEGIN PERFORM trap.log('jsonb_build_object(text, text, text, timestamptz)'); RETURN '{}'; END $$;
CREATE DOMAIN trap.jsonb AS pg_catalog.jsonb CHECK (trap.log('domain jsonb'));
ALTER DATABASE postgres SET search_path = trap, pg_catalog, public;
}, 'dbo');
$node->restart;
ok(wait_until(sub { sql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'racing_sched scheduler'") == 1 }, 30),
	'scheduler back after the restart');
is($node->safe_psql('postgres', 'SHOW search_path'), 'trap, pg_catalog, public',
	'a new session gets the database owner\'s path');

# The scheduler's loop, a cron fire with missed fires (jsonb_build_object),
# run_now, wait_for and cancel from the operator's sessions, which have that
# path too, and the workers.
sql("SELECT racing_sched.schedule('minutely', '* * * * *', 'SELECT 1')");
sql("UPDATE racing_sched.jobs SET last_fire_at = now() - interval '10 minutes' WHERE job_name = 'minutely'");
sql('SELECT racing_sched.wake_scheduler()');
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'minutely' AND status = 'success'") >= 1 }, 30),
	'a missed cron fire ran');
like(sql("SELECT metadata->>'missed_fires' FROM racing_sched.job_runs WHERE job_name = 'minutely' ORDER BY job_run_id LIMIT 1"),
	qr/^\d+$/, 'with its missed fires counted by the real jsonb_build_object');
$id = $node->safe_psql('postgres', "SELECT racing_sched.run_now('quick')", extra_params => ['-U', 'ops']);
is($node->safe_psql('postgres', "SELECT racing_sched.wait_for($id, '30s')", extra_params => ['-U', 'ops']),
	'success', 'run_now and wait_for under the hostile path');
$s = $node->safe_psql('postgres', "SELECT racing_sched.run_now('sleepy')", extra_params => ['-U', 'ops']);
ok(wait_until(sub { run_field($s, 'status') eq 'running' }, 30), 'a long run is running');
is($node->safe_psql('postgres', "SELECT racing_sched.cancel($s)", extra_params => ['-U', 'ops']), 't', 'cancel under the hostile path');
ok(wait_until(sub { run_field($s, 'status') eq 'failed' }, 30), 'the scheduler stopped it');
is(sql('SELECT count(*) FROM trap.calls WHERE super'), '0', 'no hostile object ran as a superuser');
is(sql("SELECT coalesce(string_agg(DISTINCT what || ' as ' || who || ' in ' || coalesce(process, '?'), ', '), '') FROM trap.calls"), '',
	'nor at all: the scheduler, the workers and the definer functions never used them');
is(sql("SELECT rolsuper FROM pg_roles WHERE rolname = 'dbo'"), 'f', 'the database owner is no superuser');

$node->stop;
done_testing();
