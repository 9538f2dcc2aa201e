# Load: 10,000 runs queued for later (the retries and race phases of a busy
# day) and 50 clients calling run_now at once, through pgbench (50 calls a
# second together; RS_LOAD_RATE=0: as fast as they can).  No
# deadlock; no run lost or doubled, counted exactly (every id a caller got
# is a run of the job it asked for, every run was handed to a caller, every
# run executed its command once, and two runs of one job never overlap); and
# with a worker slot for it (max_workers above the number of jobs), a new
# run_now starts within 1 s of being queued while the backlog is there.
use strict;
use warnings;
use IPC::Run;
use Time::HiRes ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $jobs = 20;
my $clients = 50;
my $seconds = $ENV{RS_LOAD_SECONDS} // 20;
# Calls per second of all clients together: busy callers, well beyond what an
# operator does, that leave the machine CPU for the scheduler (unthrottled
# on two cores, the scheduler process waits for the CPU itself).
my $rate = $ENV{RS_LOAD_RATE} // 50;

my $node = rs_node('load', conf => [
	'racing_sched.max_workers = 24', 'racing_sched.timezone = UTC',
	'max_connections = 120', 'deadlock_timeout = 100ms', 'log_lock_waits = on']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }

sql('CREATE EXTENSION racing_sched');
sql(q{
CREATE TABLE public.load_log (job text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE public.load_calls (caller int NOT NULL, job text NOT NULL, id bigint NOT NULL,
	at timestamptz NOT NULL DEFAULT clock_timestamp());
});
sql("SELECT racing_sched.schedule('load_' || k, '0 0 1 1 *',
	format('INSERT INTO public.load_log (job) VALUES (%L)', 'load_' || k)) FROM generate_series(1, $jobs) k");
sql("SELECT racing_sched.schedule('probe', '0 0 1 1 *', 'SELECT 1')");
sql("SELECT racing_sched.schedule('backlog', '0 0 1 1 *', 'SELECT 1')");

# The backlog: 10,000 runs queued for the next hours.
sql(q{
INSERT INTO racing_sched.job_runs (job_name, job_type, trigger, due_at, dedupe_key, retry_count)
SELECT 'backlog', 'sql', 'retry', now() + interval '1 hour' + g * interval '1 second', 'backlog:' || g, 1
FROM generate_series(1, 10000) g;
ANALYZE racing_sched.job_runs;
});
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE status = 'queued'"), '10000', '10,000 queued runs');

# One run_now of the probe job: how long from queued to started (s).
sub probe
{
	my $id = sql("SELECT racing_sched.run_now('probe')");
	my $st = sql("SELECT racing_sched.wait_for($id, '30s')");
	return undef unless $st eq 'success';
	return sql("SELECT extract(epoch FROM started_at - created_at) FROM racing_sched.job_runs WHERE job_run_id = $id");
}

my @idle = grep { defined } map { probe() } 1 .. 5;
is(scalar(@idle), 5, 'with the backlog, idle: run_now runs');
cmp_ok(max(@idle), '<=', 1, 'and starts within 1 s (max ' . sprintf('%.3f', max(@idle)) . ' s)');

# 50 clients, each calling run_now of a random load job as fast as it can,
# recording the id it got.
my $script = PostgreSQL::Test::Utils::tempdir() . '/run_now.sql';
open my $fh, '>', $script or die;
print $fh "\\set k random(1, $jobs)\n",
  "INSERT INTO public.load_calls (caller, job, id) SELECT :client_id, 'load_' || :k, racing_sched.run_now('load_' || :k);\n";
close $fh;
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', $clients, '-j', 2, '-T', $seconds, ($rate ? ('-R', $rate) : ()), '-f', $script,
	  '-h', $node->host, '-p', $node->port, '-U', 'postgres', 'postgres' ],
	'>', \$out, '2>', \$err);

# Meanwhile, the probe, again and again.
my @busy;
while ($bench->pumpable)
{
	my $lat = probe();
	push @busy, $lat // 999;
	$bench->pump_nb;
}
ok($bench->finish, 'pgbench ran to the end') or diag("pgbench: $out\n$err");
unlike($out . $err, qr/aborted|error/i, 'no client aborted, no error');
my ($txns) = $out =~ /number of transactions actually processed: (\d+)/;
ok($txns && $txns > 0, "pgbench: $txns run_now calls");
note($out);
ok(@busy >= 3, scalar(@busy) . ' probes during the load');
cmp_ok(max(@busy), '<=', 1,
	sprintf('under load with the backlog, a new run_now starts within 1 s (max %.3f s, median %.3f s)',
		max(@busy), median(@busy)));

# Let the queue drain (the backlog stays for later).
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name <> 'backlog' AND status IN ('queued', 'running')") == 0 }, 120),
	'every load run finished');

ok(!$node->log_contains('deadlock detected') && !$node->log_contains('40P01'), 'no deadlock (40P01) in the log');
is(sql('SELECT count(*) FROM public.load_calls'), $txns, 'every committed call recorded the id it got');
is(sql(q{SELECT count(*) FROM public.load_calls c LEFT JOIN racing_sched.job_runs r ON r.job_run_id = c.id
		 WHERE r.job_run_id IS NULL OR r.job_name <> c.job OR r.trigger <> 'manual'}), '0',
	'each id is a manual run of the job asked for');
is(sql(q{SELECT count(*) FROM racing_sched.job_runs r WHERE r.job_name LIKE 'load\_%'
		 AND NOT EXISTS (SELECT FROM public.load_calls c WHERE c.id = r.job_run_id)}), '0',
	'each run of a load job was handed to a caller: none made behind the callers\' backs');
my $runs = sql(q{SELECT count(*) FROM racing_sched.job_runs WHERE job_name LIKE 'load\_%'});
cmp_ok($runs, '>', $jobs, "$runs load runs");
is(sql(q{SELECT count(*) FROM racing_sched.job_runs WHERE job_name LIKE 'load\_%' AND status <> 'success'}), '0',
	'all of them succeeded');
is(sql('SELECT count(*) FROM public.load_log'), $runs, 'and their commands ran exactly once each in total');
is(sql(q{SELECT count(*) FROM (SELECT job_name, count(*) AS n FROM racing_sched.job_runs
		 WHERE job_name LIKE 'load\_%' GROUP BY job_name) r
		 FULL JOIN (SELECT job, count(*) AS n FROM public.load_log GROUP BY job) l ON l.job = r.job_name
		 WHERE r.n IS DISTINCT FROM l.n}), '0', 'and per job');
is(sql(q{SELECT sum(runs_success) FROM racing_sched.job_stats WHERE job_name LIKE 'load\_%'}), $runs,
	'job_stats counted each once');
is(sql(q{SELECT count(*) FROM (SELECT started_at, lag(completed_at) OVER (PARTITION BY job_name ORDER BY started_at) AS prev_end
		 FROM racing_sched.job_runs WHERE job_name LIKE 'load\_%') x WHERE started_at < prev_end}), '0',
	'two runs of one job never overlapped');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'backlog' AND status = 'queued' AND started_at IS NULL"),
	'10000', 'the backlog is still there, untouched');
my $lat = sql(q{SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))::numeric, 3)
		|| ' ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at))::numeric, 3)
		|| ' ' || round(max(extract(epoch FROM started_at - created_at))::numeric, 3)
		FROM racing_sched.job_runs WHERE job_name LIKE 'load\_%'});
note("load runs, queued to started (s): median, p99, max: $lat");
note(sprintf('probe, idle with the backlog (s): max %.3f; under load: %d probes, median %.3f, max %.3f',
		max(@idle), scalar(@busy), median(@busy), max(@busy)));

# Every slot busy and a run due (the state of a backlog that is due): the
# scheduler sleeps until a worker exits, it does not spin.
sql("ALTER SYSTEM SET racing_sched.max_workers = 1");
sql('SELECT pg_reload_conf()');
sql("SELECT racing_sched.schedule('hold', '0 0 1 1 *', 'SELECT pg_sleep(60)')");
my $hold = sql("SELECT racing_sched.run_now('hold')");
ok(wait_until(sub { sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $hold") eq 'running' }, 30),
	'one slot, held by a long run');
my $waiting = sql("SELECT racing_sched.run_now('probe')");
ok(wait_until(sub { $node->log_contains('all 1 job worker slots busy') }, 30), 'the scheduler saw the slots full');
my $spid = sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'racing_sched scheduler'");
sub cpu_ticks { my @f = split ' ', slurp_file("/proc/$spid/stat"); return $f[13] + $f[14] }
my $t0 = cpu_ticks();
Time::HiRes::sleep(2);	# a window to measure in, not a wait for an event
my $used = (cpu_ticks() - $t0) / 100;
cmp_ok($used, '<', 0.05, sprintf('with a run due and no slot the scheduler sleeps (%.2f s of CPU in 2 s)', $used));
is(sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $waiting"), 'queued', 'the due run waits');
sql("SELECT racing_sched.cancel($hold)");
is(sql("SELECT racing_sched.wait_for($waiting, '30s')"), 'success', 'and starts when the slot frees');

$node->stop;
done_testing();

sub max { my $m = shift; for (@_) { $m = $_ if $_ > $m } return $m }
sub median { my @s = sort { $a <=> $b } @_; return $s[int($#s / 2)] }
