# Shutdown under a hung API: the simulator holds every request for 120 s
# while job workers run real jobs (a morning scrape and a pre-race
# snapshot).  pg_terminate_backend of a busy worker takes effect within a
# second and its run fails and is retried; DROP DATABASE of another database
# completes while the workers hang; pg_ctl stop -m fast completes within
# 5 s, and after the restart no run of before stays running.  While every
# worker slot is taken, a due run waits without the scheduler spinning.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use RacingSched::Test;
use RacingSched::Sim;

# A day far enough ahead that no race phase falls due during the test.
my ($base, $port) = rs_tabsim('--meetings', '2', '--races-per-meeting', '3', '--first-jump', '7200');
my $sim = sim_new($port);
my $date = $sim->get('day')->{date};

my $node = rs_node('shutdown', conf => [
	"racing_sched.tab_api_url = '$base'",
	'racing_sched.max_workers = 4',
	'racing_sched.http_max_retries = 0',
	'racing_sched.http_rate_limit = 0',
	# curl would wait for the whole hang: nothing but the signal ends it
	"racing_sched.http_timeout = '300s'",
	'racing_sched.http_low_speed_limit = 0']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }
sql('CREATE EXTENSION racing_sched');

my $m0 = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
is(sql("SELECT racing_sched.wait_for($m0, '60s')"), 'success', 'morning scrape without faults');
my @race_ids = split /\n/, sql("SELECT race_id FROM racing_sched.races ORDER BY start_time, race_id LIMIT 2");
is(scalar(@race_ids), 2, 'races stored');

# From now on every API request hangs for 120 s.
$sim->fault({ path => '', fault => 'delay', params => { seconds => 120 } });

sub busy_worker
{
	my ($id) = @_;
	return wait_until(sub {
			sql("SELECT r.worker_pid FROM racing_sched.job_runs r JOIN pg_stat_activity a ON a.pid = r.worker_pid
				WHERE r.job_run_id = $id AND r.status = 'running' AND a.wait_event = 'Extension'");
		}, 30, "worker of run $id waiting on the API");
}

sql("SELECT racing_sched.alter_job('pre_race_t60', retry_delays => '{1 hour}')");
my $pre = sql("SELECT racing_sched.run_now('pre_race_t60', '{\"race_ids\": [$race_ids[0]]}')");
my $morning = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
my $pre_pid = busy_worker($pre);
my $morning_pid = busy_worker($morning);
ok($pre_pid && $morning_pid, 'pre-race and morning-scrape workers wait on the hanging API');
ok(wait_until(sub { $sim->get('stats')->{inflight} >= 2 }, 30), 'their requests hang at the simulator');

# pg_terminate_backend of the busy pre-race worker, from a session already
# connected; watch the process itself, so that the figure is not the time
# psql takes to start or to connect.
my $admin = $node->background_psql('postgres');
my $t0 = time();
$admin->query_safe("SELECT pg_terminate_backend($pre_pid)");
my $gone;
while (time() - $t0 < 30)
{
	if (!-e "/proc/$pre_pid")
	{
		$gone = 1;
		last;
	}
	usleep(5_000);
}
my $took = time() - $t0;
ok($gone && $took < 1.0, sprintf('pg_terminate_backend of a worker in a hanging request took effect in %.3f s', $took));
$admin->quit;
ok(wait_until(sub { sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $pre") eq 'failed' }, 30),
	'its run is failed');
is(sql("SELECT errors[1] || ' / ' || (metadata->>'retry_scheduled') FROM racing_sched.job_runs WHERE job_run_id = $pre"),
	'worker exited unexpectedly / true', 'as a worker that exited, with a retry planned');
is(sql("SELECT retry_count || ' ' || trigger || ' ' || status FROM racing_sched.job_runs WHERE parent_job_run_id = $pre"),
	'1 retry queued', 'the retry is a child run, queued');
is(sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $morning"), 'running',
	'the other worker goes on');

# DROP DATABASE of another database completes while a worker hangs (it has
# to answer the drop's barrier from inside its wait).
sql('CREATE DATABASE scratch');
$t0 = time();
my ($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE scratch', timeout => 30);
$took = time() - $t0;
ok($ret == 0 && $took < 5, sprintf('DROP DATABASE of another database with a busy worker: %.2f s', $took))
  or diag $err;

# A second busy worker, then fast shutdown with both hanging.
$pre = sql("SELECT racing_sched.run_now('pre_race_t60', '{\"race_ids\": [$race_ids[1]]}')");
ok(busy_worker($pre), 'a second pre-race worker hangs too');

# Every slot busy and a run due: the scheduler sleeps until a worker exits,
# it does not spin (CPU time of its process, in clock ticks).
sql("ALTER SYSTEM SET racing_sched.max_workers = 2");
sql('SELECT pg_reload_conf()');
my $waiting = sql("SELECT racing_sched.run_now('pre_race_t60', '{\"race_id\": $race_ids[0]}')");
ok(wait_until(sub { $node->log_contains('all 2 job worker slots busy') }, 30), 'a due run waits for a slot');
my $sched = scheduler_pid($node);
my $ticks = sub { (split ' ', slurp_file("/proc/$sched/stat"))[13, 14] };
my @a = $ticks->();
sleep(3);    # a measuring window, not a wait for a condition
my @b = $ticks->();
my $cpu = ($b[0] + $b[1]) - ($a[0] + $a[1]);
cmp_ok($cpu, '<=', 10, "the scheduler does not spin while the run waits ($cpu ticks of CPU in 3 s)");
is(sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $waiting"), 'queued', 'the run is still queued');

my $pids = sql("SELECT string_agg(worker_pid::text, ',') FROM racing_sched.job_runs WHERE status = 'running'");
$t0 = time();
$node->stop('fast');
$took = time() - $t0;
ok($took < 5, sprintf('pg_ctl stop -m fast with two workers in hanging requests took %.2f s', $took));
ok(!(grep { -e "/proc/$_" } split /,/, $pids), 'the workers are gone');

# After the restart nothing of before stays running, and each run
# interrupted by the shutdown is failed and retried once.
$sim->clear_faults;
$node->start;
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_run_id IN ($morning, $pre) AND status = 'failed'") == 2 }, 30),
	'the runs interrupted by the shutdown are failed');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_run_id IN ($morning, $pre)
		AND errors[1] = 'server restarted while the run was in progress'"), 2, 'as interrupted by a restart');
is(sql("SELECT string_agg(p.job_run_id::text || ':' || (SELECT count(*) FROM racing_sched.job_runs c WHERE c.parent_job_run_id = p.job_run_id), ',' ORDER BY p.job_run_id)
		FROM racing_sched.job_runs p WHERE p.job_run_id IN ($morning, $pre)"),
	join(',', map { "$_:1" } sort { $a <=> $b } ($morning, $pre)), 'each retried once');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE status = 'running' AND job_run_id <= $pre"), 0,
	'no run of before the shutdown stays running');

$node->stop;
done_testing();
