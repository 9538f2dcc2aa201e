# Databases and upgrades with live work.  ALTER EXTENSION racing_sched
# UPDATE from 1.0 to 1.1 while a run is running keeps the racing data, the
# jobs and their history, and the jobs keep running (run_now, cron fires,
# the run that was running finishes into the updated schema); an updated
# database holds exactly the objects of a fresh install.  DROP DATABASE of
# another database completes while workers are busy.  DROP EXTENSION while
# runs are running completes, its workers are stopped, the scheduler waits,
# and CREATE EXTENSION brings it back to work.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use RacingSched::Test;
use RacingSched::Sim;

my ($base, $port) = rs_tabsim('--meetings', '3', '--races-per-meeting', '4', '--first-jump', '7200');
my $sim = sim_new($port);
my $date = $sim->get('day')->{date};
my @day = $sim->races;

my $node = rs_node('upgrade', conf => [
	"racing_sched.tab_api_url = '$base'",
	'racing_sched.max_workers = 4',
	'racing_sched.http_max_retries = 0',
	'racing_sched.http_rate_limit = 0',
	"racing_sched.http_timeout = '300s'",
	'racing_sched.http_low_speed_limit = 0',
	"racing_sched.heartbeat_interval = '1s'",
	'racing_sched.timezone = UTC']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }
sub run_ok
{
	my ($job, $args, $want) = @_;
	my $id = sql("SELECT racing_sched.run_now('$job', '" . ($args // '{}') . "')");
	is(sql("SELECT racing_sched.wait_for($id, '60s')"), $want // 'success', "$job " . ($args // '') . ' ran: ' . ($want // 'success'));
	return $id;
}

# A description of every object of the extension's schema and of the
# extension itself, to compare two databases.
my $catalog = q{
WITH ext AS (SELECT oid, extversion, extconfig, extcondition FROM pg_extension WHERE extname = 'racing_sched'),
nsp AS (SELECT oid, nspacl FROM pg_namespace WHERE nspname = 'racing_sched'),
descr AS (
	SELECT 'extension ' || e.extversion || ' config ' ||
		coalesce((SELECT string_agg(c::regclass::text, ',' ORDER BY c::regclass::text) FROM unnest(e.extconfig) c), '') ||
		' conditions ' || coalesce(array_to_string(e.extcondition, ','), '') AS d
	FROM ext e
	UNION ALL
	SELECT 'schema acl ' || coalesce(nspacl::text, '') FROM nsp
	UNION ALL
	SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
	FROM pg_depend d, ext e WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'
	UNION ALL
	SELECT 'relation ' || c.relname || ' kind ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '') ||
		' options ' || coalesce(c.reloptions::text, '') || ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '') ||
		E'\n  columns ' || coalesce((SELECT string_agg(a.attnum || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
				|| CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || ' ' || a.attidentity::text || a.attgenerated::text
				|| coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
				|| coalesce(' comment ' || col_description(c.oid, a.attnum), ''), E'\n    ' ORDER BY a.attnum)
			FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
			WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') ||
		E'\n  constraints ' || coalesce((SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), E'\n    ' ORDER BY co.conname)
			FROM pg_constraint co WHERE co.conrelid = c.oid), '') ||
		E'\n  index ' || coalesce(pg_get_indexdef(CASE WHEN c.relkind = 'i' THEN c.oid END), '') ||
		E'\n  view ' || coalesce(pg_get_viewdef(CASE WHEN c.relkind IN ('v', 'm') THEN c.oid END), '') ||
		E'\n  triggers ' || coalesce((SELECT string_agg(pg_get_triggerdef(t.oid), E'\n    ' ORDER BY t.tgname)
			FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '') ||
		E'\n  policies ' || coalesce((SELECT string_agg(p.polname || ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), ''), E'\n    ')
			FROM pg_policy p WHERE p.polrelid = c.oid), '')
	FROM pg_class c, nsp WHERE c.relnamespace = nsp.oid
	UNION ALL
	SELECT 'function ' || p.oid::regprocedure::text || ' acl ' || coalesce(p.proacl::text, '') ||
		' comment ' || coalesce(obj_description(p.oid, 'pg_proc'), '') || E'\n' ||
		CASE WHEN p.prokind IN ('f', 'p', 'w') THEN pg_get_functiondef(p.oid) ELSE p.prokind::text END
	FROM pg_proc p, nsp WHERE p.pronamespace = nsp.oid
	UNION ALL
	SELECT 'type ' || t.typname || ' ' || t.typtype::text || ' ' || coalesce(t.typacl::text, '')
	FROM pg_type t, nsp WHERE t.typnamespace = nsp.oid
	UNION ALL
	SELECT 'event trigger ' || evtname || ' ' || evtevent || ' ' || evtfoid::regproc::text FROM pg_event_trigger
)
SELECT string_agg(d, E'\n' ORDER BY d) FROM descr};

# -- 1.0 with data, jobs and history ------------------------------------------
sql("CREATE EXTENSION racing_sched VERSION '1.0'");
is(sql("SELECT extversion FROM pg_extension WHERE extname = 'racing_sched'"), '1.0', 'version 1.0 installed');
ok(wait_until(sub { sql("SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running' }, 30),
	'the scheduler works with a 1.0 database');
sql("SELECT racing_sched.alter_job('pre_race_t60', retry_delays => '{5 seconds}')");
sql("SELECT racing_sched.alter_job('pre_race_t15', enabled => false)");
sql('CREATE TABLE public.ticks (job_run_id bigint, at timestamptz DEFAULT now())');
sql("SELECT racing_sched.schedule('tick', '* * * * *',
	'INSERT INTO public.ticks (job_run_id) SELECT job_run_id FROM racing_sched.job_runs WHERE status = ''running'' AND job_name = ''tick''')");
sql("SELECT racing_sched.schedule('nap', '0 0 1 1 *', 'SELECT pg_sleep(4)')");
sql("SELECT racing_sched.schedule('broken', '0 0 1 1 *', 'SELECT 1/0')");
run_ok('morning_scrape', "{\"date\": \"$date\"}");
my @ids = split /\n/, sql("SELECT race_id FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
		WHERE m.venue_mnemonic IS NOT NULL ORDER BY start_time, race_id LIMIT 4");
run_ok('pre_race_t60', "{\"race_ids\": [$ids[0], $ids[1]]}");
run_ok('tick');
run_ok('broken', undef, 'failed');

my %tables = (
	meetings => 'true', races => 'true', runners => 'true', odds => 'true', scrapes => 'true',
	results => 'true', dividends => 'true', race_phases => 'true', http_stats => 'true',
	jobs => "job_name <> 'tick'",    # tick's last fire moves on with time
	job_runs => "status NOT IN ('queued', 'running') AND job_name NOT IN ('tick', 'nap')",
	job_stats => "job_name NOT IN ('tick', 'nap')");
sub contents
{
	my %h;
	for my $t (sort keys %tables)
	{
		$h{$t} = sql("SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')
				FROM racing_sched.$t t WHERE $tables{$t}");
	}
	return \%h;
}

# The update runs while a run is running.
my $nap = sql("SELECT racing_sched.run_now('nap')");
ok(wait_until(sub { sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $nap") eq 'running' }, 30),
	'a run is running');
my $before = contents();
my $jobs_before = sql("SELECT string_agg(job_name || ' ' || coalesce(schedule, '') || ' ' || enabled || ' ' || retry_delays::text, ',' ORDER BY job_name) FROM racing_sched.jobs");
my $t_update = sql('SELECT now()');
sql('ALTER EXTENSION racing_sched UPDATE');
is(sql("SELECT extversion FROM pg_extension WHERE extname = 'racing_sched'"), '1.1', 'updated to 1.1');
is_deeply(contents(), $before, 'racing data, jobs, runs and counters kept by the update');
is(sql("SELECT string_agg(job_name || ' ' || coalesce(schedule, '') || ' ' || enabled || ' ' || retry_delays::text, ',' ORDER BY job_name) FROM racing_sched.jobs"),
	$jobs_before, 'schedules and job settings kept');
is(sql("SELECT racing_sched.wait_for($nap, '30s')"), 'success', 'the run that was running during the update finished, recorded in 1.1');
run_ok('pre_race_t60', "{\"race_ids\": [$ids[2], $ids[3]]}");
run_ok('morning_scrape', "{\"date\": \"$date\"}");
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'tick' AND trigger = 'schedule'
			AND due_at > '$t_update' AND status = 'success'") >= 1 }, 75),
	'the cron schedule fires after the update');
is(sql("SELECT count(*) FROM public.ticks t JOIN racing_sched.job_runs r USING (job_run_id) WHERE r.trigger = 'schedule'"),
	sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'tick' AND trigger = 'schedule' AND status = 'success'"),
	'each cron fire ran once');
is(sql("SELECT racing_sched.health()->>'status'"), 'ok', 'health ok after the update');
my @problems = racing_problems($node, 'postgres', \@day);
is(scalar(@problems), 0, 'racing tables consistent with the simulator') or diag join("\n", @problems);

# An updated database has exactly the objects of a fresh install.
sql('CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION racing_sched');
my $updated = sql($catalog);
my $fresh = $node->safe_psql('fresh', $catalog);
ok(length($fresh) > 10000, 'the catalog description covers the extension (' . length($fresh) . ' bytes)');
my @u = split /\n/, $updated;
my @f = split /\n/, $fresh;
my ($first_diff) = grep { ($u[$_] // '') ne ($f[$_] // '') } 0 .. ($#u > $#f ? $#u : $#f);
ok(!defined $first_diff, 'an updated database has the same objects as a fresh 1.1 install')
  or diag "first difference at line $first_diff:\n updated: " . ($u[$first_diff] // '(none)') . "\n fresh:   " . ($f[$first_diff] // '(none)');
# and it would see a difference
$node->safe_psql('fresh', "COMMENT ON COLUMN racing_sched.jobs.timeout IS 'changed'");
isnt($node->safe_psql('fresh', $catalog), $updated, 'the comparison sees a changed comment');
sql('DROP DATABASE fresh');

# -- DROP DATABASE of another database while workers are busy ---------------
# Two workers: one receiving race documents a few bytes at a time, one in a
# SQL job.
sql("SELECT racing_sched.schedule('sleepy', '0 0 1 1 *', 'SELECT pg_sleep(600)')");
$sim->fault({ path => '/races/\d+\?', fault => 'trickle', params => { chunk => 64, interval => 0.2 } });
my $slow = sql("SELECT racing_sched.run_now('pre_race_t15', '{\"race_ids\": [$ids[0]]}')");
my $sleepy = sql("SELECT racing_sched.run_now('sleepy')");
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_run_id IN ($slow, $sleepy) AND status = 'running'") == 2
			&& $sim->get('stats')->{inflight} >= 1 }, 30),
	'two workers busy: one receiving a race, one in a SQL job');
my $pids = sql("SELECT string_agg(worker_pid::text, ',') FROM racing_sched.job_runs WHERE job_run_id IN ($slow, $sleepy)");
sql('CREATE DATABASE other');
my $t0 = time();
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE other', timeout => 60);
my $took = time() - $t0;
ok($ret == 0 && $took < 5, sprintf('DROP DATABASE of another database completed in %.2f s', $took)) or diag $err;
is(sql("SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids)"), 2, 'the workers carry on');

# -- DROP EXTENSION while runs are running -----------------------------------
my $sched = scheduler_pid($node);
my $offset = -s $node->logfile;
$t0 = time();
($ret, $out, $err) = $node->psql('postgres', 'DROP EXTENSION racing_sched', timeout => 60);
$took = time() - $t0;
ok($ret == 0 && $took < 5, sprintf('DROP EXTENSION with two runs running completed in %.2f s', $took)) or diag $err;
ok(wait_until(sub { $node->log_contains('is not installed in database "postgres"', $offset) }, 30),
	'the scheduler waits for the extension');
ok(wait_until(sub { sql("SELECT count(*) FROM pg_stat_activity WHERE pid IN ($pids)") == 0 }, 30),
	'the workers of the dropped extension are stopped');
is(scheduler_pid($node), $sched, 'the scheduler stayed up');
ok(!$node->log_contains(qr/terminated by signal|server process .* was terminated|all server processes terminated/, $offset),
	'no crash');
$sim->clear_faults;

sql('CREATE EXTENSION racing_sched');
ok(wait_until(sub { sql("SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running' }, 10),
	'CREATE EXTENSION again: the scheduler works again');
is(scheduler_pid($node), $sched, 'without a restart');
run_ok('morning_scrape', "{\"date\": \"$date\"}");
my $first = sql('SELECT min(job_run_id) FROM racing_sched.job_runs');
run_ok('pre_race_t60', "{\"race_ids\": [" . sql("SELECT min(race_id) FROM racing_sched.races") . "]}");
is(sql("SELECT count(*) FROM racing_sched.scrapes s WHERE s.job_run_id IS NULL OR s.job_run_id < $first
		OR NOT EXISTS (SELECT FROM racing_sched.job_runs r WHERE r.job_run_id = s.job_run_id)"),
	0, 'every scrape belongs to a run of the new extension: nothing of the old workers leaked in');
@problems = racing_problems($node, 'postgres', \@day);
is(scalar(@problems), 0, 'racing tables consistent with the simulator') or diag join("\n", @problems);
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE status = 'running'"), 0, 'nothing left running');

$node->stop;
done_testing();
