# RacingSched::Test: clusters with racing_sched preloaded, the TAB simulator,
# and waiting for conditions, for the TAP suites in test/t/.
package RacingSched::Test;

use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More ();
use Time::HiRes qw(time usleep);

our @EXPORT = qw(rs_node rs_tabsim wait_until scheduler_pid);

my $src = $ENV{RACING_SCHED_SRC} // '.';
my @tabsims;

# A cluster with the extension preloaded; conf lines are appended.
sub rs_node
{
	my ($name, %opt) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%{ $opt{init} // {} });
	$node->append_conf('postgresql.conf', join("\n",
		"shared_preload_libraries = 'racing_sched'",
		"racing_sched.database = 'postgres'",
		"max_worker_processes = 32",
		"restart_after_crash = on",
		"log_line_prefix = '%m [%p] %b '",
		@{ $opt{conf} // [] }) . "\n");
	return $node;
}

# Start the TAB simulator with the given arguments; returns its base URL.
# It is stopped when the test ends.
sub rs_tabsim
{
	my (@args) = @_;
	my $dir = tempdir(CLEANUP => 1);
	my $pid = fork() // die "fork: $!";
	if ($pid == 0)
	{
		open STDOUT, '>', "$dir/out" or die;
		open STDERR, '>&', \*STDOUT or die;
		exec 'python3', "$src/test/tabsim/tabsim.py", '--port', '0',
		  '--port-file', "$dir/port", '--pid-file', "$dir/pid", @args;
		die "exec: $!";
	}
	push @tabsims, $pid;
	wait_until(sub { -s "$dir/port" && -s "$dir/pid" }, 30, 'simulator listening')
	  or die "simulator did not start: " . slurp_file("$dir/out");
	my $port = slurp_file("$dir/port");
	chomp $port;
	# An interpreter wrapper may run it under another process id.
	$pid = slurp_file("$dir/pid");
	chomp $pid;
	push @tabsims, $pid;
	return wantarray
	  ? ("http://127.0.0.1:$port/v1/tab-info-service/racing", $port, $pid)
	  : "http://127.0.0.1:$port/v1/tab-info-service/racing";
}

END
{
	kill 'TERM', @tabsims if @tabsims;
}

# Poll a condition until it holds or the timeout (seconds) passes.
sub wait_until
{
	my ($cond, $timeout, $what) = @_;
	my $deadline = time() + ($timeout // 30);
	while (time() < $deadline)
	{
		my $v = $cond->();
		return $v if $v;
		usleep(50_000);
	}
	Test::More::note "timed out waiting for " . ($what // 'condition');
	return undef;
}

# The pid of the running scheduler, or '' when there is none.
sub scheduler_pid
{
	my ($node, $db) = @_;
	return $node->safe_psql($db // 'postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'racing_sched scheduler'");
}

1;
