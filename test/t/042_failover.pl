# Failover in the middle of a racing day: a primary with a streaming
# standby runs the first races of a compressed day; the standby runs
# nothing.  The primary is then cut off (its scheduler takes no more work,
# its last job worker still runs) and the standby is promoted.  The new
# primary ends the run that was running on the old one at once, without
# judging or signalling the process of that pid, and retries it; it runs
# the work queued on the old primary exactly once; it carries on with the
# pending race phases of the later races; and the simulator saw one
# request per race per pre-race phase over the whole day, so no run was
# executed on both servers.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use POSIX qw(strftime);
use Time::HiRes qw(time);
use RacingSched::Test;
use RacingSched::Sim;

my $primary = rs_node('primary', init => { allows_streaming => 1 }, conf => [
	'racing_sched.max_workers = 4',
	'racing_sched.http_max_retries = 0',
	'racing_sched.http_rate_limit = 0']);
$primary->start;
sub on { my ($node, $q) = @_; return $node->safe_psql('postgres', $q); }
on($primary, 'CREATE EXTENSION racing_sched');
on($primary, "SELECT racing_sched.alter_job('morning_scrape', retry_delays => '{1 second}')");
on($primary, "SELECT racing_sched.alter_job('pre_race_t60', race_offset => '-25 seconds', tolerance => '5 seconds', retry_delays => '{1 second,1 second}')");
on($primary, "SELECT racing_sched.alter_job('pre_race_t15', race_offset => '-12 seconds', tolerance => '5 seconds', retry_delays => '{1 second,1 second}')");
on($primary, "SELECT racing_sched.alter_job('post_race', race_offset => '4 seconds', tolerance => '5 seconds', retry_delays => '{2 seconds,2 seconds,2 seconds,2 seconds}')");
# Work that shows each execution: a SQL job records the run executing it.
on($primary, 'CREATE TABLE public.ran (job_run_id bigint, job_name text, at timestamptz DEFAULT clock_timestamp())');
for my $n (1 .. 3)
{
	on($primary, "SELECT racing_sched.schedule('mark$n', '0 0 1 1 *',
		'INSERT INTO public.ran (job_run_id, job_name) SELECT job_run_id, job_name FROM racing_sched.job_runs WHERE status = ''running'' AND job_name = ''mark$n''')");
}
on($primary, "SELECT racing_sched.schedule('sleepy', '0 0 1 1 *', 'SELECT pg_sleep(600)')");
on($primary, "SELECT racing_sched.alter_job('sleepy', retry_delays => '{1 second}')");

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay');
is(scheduler_pid($standby), '', 'no scheduler on the standby');

# The day starts now: six races 3-4 s apart, 60 s ahead; the last three are
# moved 60 s later, so that the failover falls between the two groups.
my $anchor = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time()));
my ($base, $port) = rs_tabsim('--meetings', '2', '--races-per-meeting', '3', '--anchor', $anchor,
	'--first-jump', '60', '--jump-interval', '3,4', '--interim-delay', '2', '--paying-delay', '4',
	'--abandoned', '0', '--late-scratchings', '0');
my $sim = sim_new($port);
my @plan = $sim->races;
$sim->post('move', { race => $_->{id}, delta => 60 }) for @plan[3 .. 5];
my @day = $sim->races;
my %late = map { $_->{id} => 1 } @plan[3 .. 5];
my $date = $sim->get('day')->{date};
for my $node ($primary, $standby)
{
	$node->append_conf('postgresql.conf', "racing_sched.tab_api_url = '$base'\n");
	$node->reload;
}

my $m0 = on($primary, "SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
is(on($primary, "SELECT racing_sched.wait_for($m0, '30s')"), 'success', 'morning scrape on the primary');
my $key = race_key_sql();
my %race_id = map { (split /\|/, $_, 2)[1] => (split /\|/, $_, 2)[0] } split /\n/,
  on($primary, "SELECT r.race_id || '|' || $key FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)");
my @early = map { $race_id{ $_->{key} } } grep { !$late{ $_->{id} } } @day;
my @later = map { $race_id{ $_->{key} } } grep { $late{ $_->{id} } } @day;
is(scalar(@early) . '+' . scalar(@later), '3+3', 'three early and three later races stored');

# The early races run on the primary: both snapshots and official results.
ok(wait_until(sub {
			on($primary, "SELECT count(*) FROM racing_sched.races r WHERE race_id IN (" . join(',', @early) . ")
				AND official_at IS NOT NULL
				AND (SELECT count(*) FROM racing_sched.scrapes s WHERE s.race_id = r.race_id
					 AND s.scrape_type IN ('pre_race_t60', 'pre_race_t15')) = 2") == 3
		}, 180), 'the early races are done on the primary');
is(on($primary, "SELECT count(*) FROM racing_sched.scrapes WHERE race_id IN (" . join(',', @later) . ") AND scrape_type <> 'morning_scrape'"),
	0, 'the later races are still pending');

# A run in progress at the failover, and work queued behind it.
my $sleepy = on($primary, "SELECT racing_sched.run_now('sleepy')");
ok(wait_until(sub { on($primary, "SELECT status FROM racing_sched.job_runs WHERE job_run_id = $sleepy") eq 'running' }, 30),
	'a run is running on the primary');
my $old_pid = on($primary, "SELECT worker_pid FROM racing_sched.job_runs WHERE job_run_id = $sleepy");

# The primary is cut off: its scheduler takes no more work; its worker runs on.
$primary->append_conf('postgresql.conf', "racing_sched.enabled = off\n");
$primary->reload;
ok(wait_until(sub { on($primary, "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'disabled' }, 30),
	'the old primary takes no more work');
my @marks = map { on($primary, "SELECT racing_sched.run_now('mark$_')") } 1 .. 3;
is(on($primary, "SELECT count(*) FROM racing_sched.job_runs WHERE job_run_id IN (" . join(',', @marks) . ") AND status = 'queued'"),
	3, 'three runs queued on the old primary');
$primary->wait_for_catchup($standby, 'replay');
is(on($standby, "SELECT status FROM racing_sched.job_runs WHERE job_run_id = $sleepy"), 'running',
	'the standby sees the run running');

my $t_promote = time();
$standby->promote;
ok(wait_until(sub { scheduler_pid($standby) }, 30), 'the promoted standby starts its scheduler');

# The run that was running on the old primary: ended at once, as a run of
# another server, and retried; the process of that pid is not touched.
ok(wait_until(sub { on($standby, "SELECT status FROM racing_sched.job_runs WHERE job_run_id = $sleepy") eq 'failed' }, 30),
	sprintf('the run of the old primary is failed on the new one (%.1f s after the promotion)', time() - $t_promote));
is(on($standby, "SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $sleepy"),
	'server promoted while the run was in progress', 'as interrupted by the promotion');
is(on($standby, "SELECT count(*) FROM racing_sched.job_runs WHERE parent_job_run_id = $sleepy AND retry_count = 1"),
	1, 'and retried once');
ok(-e "/proc/$old_pid", "the old primary's worker (PID $old_pid) was not signalled by the new primary");
$primary->stop('immediate');

# Queued work: each run once, on the new primary.
ok(wait_until(sub { on($standby, "SELECT count(*) FROM public.ran") >= 3 }, 30), 'the queued runs ran');
is(on($standby, "SELECT count(*) || ' ' || count(DISTINCT job_run_id) || ' ' || bool_and(job_run_id IN (" . join(',', @marks) . ")) FROM public.ran"),
	'3 3 true', 'each queued run executed exactly once');
is(on($standby, "SELECT string_agg(status, ',') FROM racing_sched.job_runs WHERE job_run_id IN (" . join(',', @marks) . ")"),
	'success,success,success', 'and succeeded');

# The later races: their phases run on the new primary.
my $n = scalar(@day);
ok(wait_until(sub {
			on($standby, "SELECT count(*) FROM racing_sched.races WHERE official_at IS NOT NULL OR abandoned_at IS NOT NULL") == $n
		}, 150), 'every race of the day official on the new primary');
for my $job ('pre_race_t60', 'pre_race_t15')
{
	is(on($standby, "SELECT count(*) FROM racing_sched.races r WHERE
			(SELECT count(*) FROM racing_sched.scrapes s WHERE s.race_id = r.race_id AND s.scrape_type = '$job') = 1"),
		$n, "$job: one snapshot for every race");
}
is(on($standby, "SELECT count(DISTINCT s.race_id) FROM racing_sched.scrapes s JOIN racing_sched.job_runs r USING (job_run_id)
		WHERE s.race_id IN (" . join(',', @later) . ") AND s.scrape_type IN ('pre_race_t60', 'pre_race_t15', 'post_race')
		  AND r.started_at > to_timestamp($t_promote)"),
	3, 'the later races were fetched by runs of the new primary');
is(on($standby, "SELECT coalesce(sum((metadata->>'phase_duplicates')::int), 0) FROM racing_sched.job_runs"), 0,
	'no run found its snapshot taken by another');
my @problems = racing_problems($standby, 'postgres', \@day);
is(scalar(@problems), 0, 'racing tables consistent with the simulator') or diag join("\n", @problems);

# The simulator's side: per race, one request per pre-race phase and one
# per post-race fetch recorded, across both servers.
my $stats = $sim->get('stats');
my $bp = $sim->get('day')->{basePath};
my $bad = 0;
for my $r (@day)
{
	(my $p = $r->{path}) =~ s/\?.*//;
	my $served = $stats->{by_path}{"$bp$p"}{count} // 0;
	my $post = on($standby, "SELECT count(*) FROM racing_sched.scrapes WHERE race_id = $race_id{$r->{key}} AND scrape_type = 'post_race'");
	if ($served != 2 + $post)
	{
		diag "race $r->{id}: served $served requests, stored 2 pre-race snapshots and $post post-race fetches";
		$bad++;
	}
}
is($bad, 0, 'every race request of the day is a stored snapshot: no run executed twice');

on($standby, "SELECT racing_sched.cancel(job_run_id) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')");
$standby->stop;
done_testing();
