# Nothing runs on a hot standby; after promotion the scheduler starts there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

# The primary queues work but does not run it (disabled), so that the work
# is still queued when the standby takes over.
my $primary = rs_node('primary', init => { allows_streaming => 1 }, conf => ['racing_sched.enabled = off']);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION racing_sched');
ok(wait_until(sub {
			$primary->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'disabled'
		}, 30), 'primary has a (disabled) scheduler');
$primary->safe_psql('postgres', "CREATE TABLE public.ran (job_run_id bigint, at timestamptz DEFAULT now())");
for my $n (1 .. 3)
{
	$primary->safe_psql('postgres',
		"SELECT racing_sched.schedule('mark$n', '0 0 1 1 *', 'INSERT INTO public.ran (job_run_id) SELECT job_run_id FROM racing_sched.job_runs WHERE status = ''running'' AND job_name = ''mark$n''');"
		  . "SELECT racing_sched.run_now('mark$n')");
}
is($primary->safe_psql('postgres', "SELECT count(*) FROM racing_sched.job_runs WHERE status = 'queued'"),
	'3', 'three runs queued on the primary');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay');

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby in recovery');
is($standby->safe_psql('postgres', "SELECT count(*) FROM pg_extension WHERE extname = 'racing_sched'"),
	'1', 'the extension reached the standby');
is(scheduler_pid($standby), '', 'no scheduler on the standby');
is($standby->safe_psql('postgres', "SELECT racing_sched.health()->>'status'"), 'down',
	'health on the standby: down');
like($standby->safe_psql('postgres', "SELECT racing_sched.health()->>'reasons'"),
	qr/scheduler not running/, 'with the reason');

# The primary goes away; the standby, where the scheduler is enabled, is
# promoted and runs the queued work, each run once.
$primary->stop;
$standby->append_conf('postgresql.conf', "racing_sched.enabled = on\n");
$standby->reload;
$standby->promote;
ok(wait_until(sub { scheduler_pid($standby) }, 30), 'scheduler starts after promotion');
ok(wait_until(sub {
			$standby->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running'
		}, 30), 'and runs');
ok(wait_until(sub {
			$standby->safe_psql('postgres', "SELECT count(*) FROM racing_sched.job_runs WHERE status = 'success'") == 3
		}, 30), 'the queued runs ran after promotion');
is($standby->safe_psql('postgres', "SELECT count(*), count(DISTINCT job_run_id) FROM public.ran"), '3|3',
	'each exactly once');
is($standby->safe_psql('postgres', "SELECT count(*) FROM racing_sched.job_runs"), '3', 'and no other run');

$standby->stop;
done_testing();
