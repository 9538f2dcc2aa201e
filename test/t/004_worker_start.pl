# Starting job workers under CPU load: many short runs, started a few at a
# time while busy loops compete for the CPUs, each run by its own worker;
# none may end "worker exited unexpectedly", and no worker may leave without
# running the run it was started for.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $jobs = 24;
my $rounds = 6;

my $node = rs_node('worker_start', conf => ['racing_sched.max_workers = 6', 'racing_sched.timezone = UTC']);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION racing_sched');
sub sql { $node->safe_psql('postgres', $_[0]) }

sql("SELECT racing_sched.schedule('short_' || i, '0 0 1 1 *', 'SELECT count(*) FROM generate_series(1, 1000)')"
	  . " FROM generate_series(1, $jobs) i");

# Busy loops: more runnable processes than CPUs, so that the scheduler is
# preempted between starting a worker and committing its run.
my @hogs;
for (1 .. 4)
{
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		my $x = 0;
		$x++ while 1;
		exit 0;
	}
	push @hogs, $pid;
}
END { kill 'KILL', @hogs if @hogs; }

# Odd rounds queue the runs from a session (run_now commits them before the
# scheduler claims them); even rounds let the scheduler queue them itself, as
# it does cron fires, race phases and retries: a missed yearly fire of each
# job becomes a run in the scheduler's own transaction.
my $all_done = 1;
for my $round (1 .. $rounds)
{
	if ($round % 2)
	{
		sql("SELECT racing_sched.run_now('short_' || i) FROM generate_series(1, $jobs) i");
	}
	else
	{
		sql("UPDATE racing_sched.jobs SET last_fire_at = now() - interval '13 months'"
			  . " WHERE job_name LIKE 'short\\_%'");
		sql("SELECT racing_sched.wake_scheduler()");
	}
	$all_done &&= wait_until(sub {
		sql("SELECT count(*) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')") == 0
	}, 120, "round $round");
}
kill 'KILL', @hogs;
waitpid($_, 0) for @hogs;
@hogs = ();

ok($all_done, 'every round finished');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE trigger <> 'retry'"), $jobs * $rounds,
	'one run per run_now and per missed fire');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE trigger = 'schedule'"), $jobs * $rounds / 2,
	'half of them cron fires');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE 'worker exited unexpectedly' = ANY (errors)"), '0',
	'no run ended "worker exited unexpectedly"');
is(sql("SELECT string_agg(DISTINCT status, ',') FROM racing_sched.job_runs"), 'success',
	'every run succeeded the first time');
ok(!$node->log_contains('exits without running it'), 'no worker left without running its run');

$node->stop;
done_testing();
