# Nothing runs on a hot standby; after promotion the scheduler starts there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $primary = rs_node('primary', init => { allows_streaming => 1 });
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION racing_sched');
ok(wait_until(sub {
			$primary->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running'
		}, 30), 'primary runs the scheduler');

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

$standby->promote;
ok(wait_until(sub { scheduler_pid($standby) }, 30), 'scheduler starts after promotion');
ok(wait_until(sub {
			$standby->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running'
		}, 30), 'and runs');

$standby->stop;
$primary->stop;
done_testing();
