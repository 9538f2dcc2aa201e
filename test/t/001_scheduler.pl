# The scheduler worker: started with the server, visible in pg_stat_activity,
# restarted after termination, waiting for the extension and following its
# creation and removal, refusing invalid settings on reload.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $node = rs_node('main', conf => ['racing_sched.heartbeat_interval = 60s']);
$node->start;

ok(wait_until(sub { scheduler_pid($node) }, 30, 'scheduler'),
	'scheduler shows in pg_stat_activity');
is($node->safe_psql('postgres',
		"SELECT backend_type || '|' || datname FROM pg_stat_activity WHERE backend_type LIKE 'racing_sched%'"),
	'racing_sched scheduler|postgres', 'backend_type and database');

# Not created yet: the scheduler waits and says so once.
ok(wait_until(sub { $node->log_contains('extension "racing_sched" is not installed in database "postgres"') }, 30),
	'scheduler logs that it waits for the extension');

# CREATE EXTENSION wakes it at commit: it runs without a restart and without
# waiting for its 60 s heartbeat.
$node->safe_psql('postgres', 'CREATE EXTENSION racing_sched');
ok(wait_until(sub {
			$node->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running'
		}, 10), 'scheduler running once the extension exists');
is($node->safe_psql('postgres', "SELECT racing_sched.health()->>'status'"), 'ok', 'health ok');
is($node->safe_psql('postgres', "SELECT (racing_sched.health()->'scheduler'->>'pid')::int"),
	scheduler_pid($node), 'health names the scheduler pid');
my $count = () = slurp_file($node->logfile) =~ /is not installed in database/g;
is($count, 1, 'the wait was logged once');

# pg_terminate_backend: it exits and the postmaster starts it again.
my $old = scheduler_pid($node);
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old)");
my $new = wait_until(sub { my $p = scheduler_pid($node); $p && $p ne $old ? $p : undef }, 30,
	'scheduler restart');
ok($new, "scheduler came back under a new pid ($old -> " . ($new // 'none') . ')');
ok(wait_until(sub {
			$node->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running'
		}, 30), 'restarted scheduler running');

# DROP EXTENSION: it goes back to waiting, and comes back with the extension.
$node->safe_psql('postgres', 'DROP EXTENSION racing_sched');
$node->safe_psql('postgres', "ALTER SYSTEM SET racing_sched.heartbeat_interval = '200ms'");
$node->reload;
ok(wait_until(sub { (() = slurp_file($node->logfile) =~ /is not installed in database/g) >= 2 }, 30),
	'scheduler waits again after DROP EXTENSION');
$node->safe_psql('postgres', 'CREATE EXTENSION racing_sched');
ok(wait_until(sub {
			$node->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'running'
		}, 10), 'and runs again after CREATE EXTENSION');
is(scheduler_pid($node), $new, 'without a restart');

# A reload with an invalid value keeps the old value and says what is allowed.
$node->append_conf('postgresql.conf', "racing_sched.jurisdictions = 'NSW,XX'\n");
my $offset = -s $node->logfile;
$node->reload;
ok(wait_until(sub { $node->log_contains(qr/invalid value for parameter "racing_sched.jurisdictions": "NSW,XX"/, $offset) }, 30),
	'invalid value refused on reload');
ok($node->log_contains(qr/"XX" is not allowed; use NSW, VIC, QLD, ACT, SA, TAS or NT/, $offset),
	'the message says what is allowed');
is($node->safe_psql('postgres', 'SHOW racing_sched.jurisdictions'), 'NSW,VIC', 'old value kept');
is(scheduler_pid($node), $new, 'scheduler still running');

# Disabled: it keeps its heartbeat and reports it.
$node->append_conf('postgresql.conf', "racing_sched.jurisdictions = 'NSW,VIC'\nracing_sched.enabled = off\n");
$node->reload;
ok(wait_until(sub {
			$node->safe_psql('postgres', "SELECT racing_sched.health()->'scheduler'->>'state'") eq 'disabled'
		}, 30), 'disabled scheduler says so');
is($node->safe_psql('postgres', "SELECT racing_sched.health()->>'status'"), 'degraded',
	'health is degraded while disabled');

$node->stop;

# Without shared_preload_libraries the library refuses to load, clearly.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
my ($ret, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION racing_sched');
isnt($ret, 0, 'CREATE EXTENSION fails when not preloaded');
like($err, qr/racing_sched must be loaded via shared_preload_libraries/, 'with a clear error');
$plain->stop;

done_testing();
