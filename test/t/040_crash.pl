# Crashes and restarts in the middle of racing jobs: kill -9 of a job
# worker while it writes a race (held inside its store transaction by a
# lock on the odds table), kill -9 of the scheduler while a worker receives
# race documents, and pg_ctl restart -m immediate during a morning scrape.
# Each time the server recovers, the interrupted run is failed as a
# restart and retried once (a child run linked to it), nothing stays
# running, and the racing tables match the simulator's documents: no race,
# runner or snapshot twice, no snapshot without all its odds.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;
use RacingSched::Sim;

# A day far enough ahead that no race phase falls due on its own.
my ($base, $port) = rs_tabsim('--meetings', '3', '--races-per-meeting', '4', '--first-jump', '7200');
my $sim = sim_new($port);
my $date = $sim->get('day')->{date};
my @day = $sim->races;

my $node = rs_node('crash', conf => [
	"racing_sched.tab_api_url = '$base'",
	'racing_sched.max_workers = 4',
	'racing_sched.http_max_retries = 0',
	'racing_sched.http_rate_limit = 0',
	"racing_sched.http_timeout = '300s'",
	'racing_sched.http_low_speed_limit = 0']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }

# A query that may meet the server while it restarts: undef until it answers.
sub try_sql
{
	my ($ret, $out) = $node->psql('postgres', $_[0]);
	return $ret == 0 ? $out : undef;
}

sub consistent
{
	my ($what) = @_;
	my @problems = racing_problems($node, 'postgres', \@day);
	is(scalar(@problems), 0, "racing tables consistent with the simulator $what") or diag join("\n", @problems);
}

# The run failed as interrupted by a restart, has exactly one retry, a child
# linked to it, which ends as wanted.
sub failed_and_retried_once
{
	my ($id, $what, $want) = @_;
	ok(wait_until(sub { (try_sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $id") // '') eq 'failed' }, 90),
		"$what: the interrupted run is failed");
	is(sql("SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $id"),
		'server restarted while the run was in progress', "$what: as interrupted by a restart");
	my $child = sql("SELECT string_agg(job_run_id::text, ',') FROM racing_sched.job_runs WHERE parent_job_run_id = $id");
	like($child, qr/^\d+$/, "$what: exactly one retry");
	is(sql("SELECT c.retry_count || ' ' || c.trigger || ' ' || ((p.metadata->>'retry_job_run_id')::bigint = c.job_run_id)
			FROM racing_sched.job_runs c JOIN racing_sched.job_runs p ON p.job_run_id = c.parent_job_run_id
			WHERE c.job_run_id = $child"), '1 retry true', "$what: the retry is the parent's child, named in its metadata");
	is(sql("SELECT racing_sched.wait_for($child, '60s')"), $want, "$what: the retry ends $want");
	is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE parent_job_run_id = $child"), 0,
		"$what: and is not retried again");
	is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE status = 'running'"), 0, "$what: nothing stays running");
	return $child;
}

sql('CREATE EXTENSION racing_sched');
sql("SELECT racing_sched.alter_job('morning_scrape', retry_delays => '{1 second}')");
sql("SELECT racing_sched.alter_job('pre_race_t60', retry_delays => '{1 second}')");

my $m0 = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
is(sql("SELECT racing_sched.wait_for($m0, '60s')"), 'success', 'morning scrape');
is(sql('SELECT count(*) FROM racing_sched.races'), scalar(@day), 'every race of the day stored');
my @ids = split /\n/, sql("SELECT race_id FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
		WHERE m.venue_mnemonic IS NOT NULL ORDER BY start_time, race_id LIMIT 5");
is(scalar(@ids), 5, 'five ordinary races to fetch');

# -- kill -9 of a worker in the middle of writing a race --------------------
# The test holds the odds table: the worker writes a race's runners and its
# scrape row, then waits for the lock inside its transaction.
my $locker = $node->background_psql('postgres', on_error_stop => 0);
$locker->query_safe('BEGIN; LOCK TABLE racing_sched.odds IN EXCLUSIVE MODE');
my $run = sql("SELECT racing_sched.run_now('pre_race_t60', '{\"race_ids\": [$ids[0], $ids[1], $ids[2]]}')");
my $pid = wait_until(sub {
		sql("SELECT r.worker_pid FROM racing_sched.job_runs r JOIN pg_stat_activity a ON a.pid = r.worker_pid
			WHERE r.job_run_id = $run AND a.wait_event_type = 'Lock'");
	}, 60, 'worker waiting for the odds table');
ok($pid, 'the worker is inside its store transaction, waiting for the odds table');
is(sql("SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE l.pid = $pid AND l.granted AND l.mode = 'RowExclusiveLock' AND c.relname IN ('runners', 'scrapes')"),
	'runners,scrapes', 'having written runners and a scrape row it has not committed');
kill 'KILL', $pid;
eval { $locker->quit };
failed_and_retried_once($run, 'worker killed mid-write', 'success');
is(sql("SELECT count(*) FROM racing_sched.scrapes WHERE scrape_type = 'pre_race_t60' AND race_id IN ($ids[0], $ids[1], $ids[2])"),
	3, 'one T-60 snapshot for each of the three races');
is(sql("SELECT count(*) FROM racing_sched.scrapes s JOIN racing_sched.job_runs r USING (job_run_id) WHERE r.job_run_id = $run"),
	0, 'nothing of the killed run survived');
consistent('after a worker was killed mid-write');

# -- kill -9 of the scheduler while a worker receives race documents --------
$sim->fault({ path => '/races/\d+\?', fault => 'trickle', params => { chunk => 64, interval => 0.2 } });
$run = sql("SELECT racing_sched.run_now('pre_race_t60', '{\"race_ids\": [$ids[3], $ids[4]]}')");
ok(wait_until(sub { $sim->get('stats')->{inflight} >= 2 }, 60), 'a worker is receiving two race documents, slowly');
my $sched = scheduler_pid($node);
ok($sched, "scheduler PID $sched");
$sim->clear_faults;    # the transfers under way keep trickling
kill 'KILL', $sched;
ok(wait_until(sub { my $p = try_sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'racing_sched scheduler'"); $p && $p ne $sched }, 90),
	'the server recovers with a new scheduler');
failed_and_retried_once($run, 'scheduler killed', 'success');
is(sql("SELECT count(*) FROM racing_sched.scrapes WHERE scrape_type = 'pre_race_t60' AND race_id IN ($ids[3], $ids[4])"),
	2, 'one T-60 snapshot for each of the two races');
consistent('after the scheduler was killed');

# -- pg_ctl restart -m immediate during a morning scrape ---------------------
# The VIC list hangs: the NSW part is done, the run is not.
$sim->fault({ path => 'meetings\?jurisdiction=VIC', fault => 'delay', params => { seconds => 120 } });
$run = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
ok(wait_until(sub { $sim->get('stats')->{inflight} >= 1 }, 60), 'the morning scrape waits for the VIC list');
is(sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $run"), 'running', 'the morning scrape is running');
$node->stop('immediate');
$sim->clear_faults;
$node->start;
my $child = failed_and_retried_once($run, 'immediate restart', 'success');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'morning_scrape'"), 3,
	'three morning scrapes of the day: the first, the interrupted one and its retry');
is(sql('SELECT count(*) FROM racing_sched.meetings'), scalar(@{ $sim->get('day')->{meetings} }),
	'every meeting stored once');
is(sql('SELECT count(*) FROM racing_sched.races'), scalar(@day), 'every race stored once');
consistent('after an immediate restart');

$node->stop;
done_testing();
