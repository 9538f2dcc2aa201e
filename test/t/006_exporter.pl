# The real prometheus-postgres-exporter with exporter/queries.yaml, logged in
# as a monitoring role that reads the metrics views only: every family
# served with its TYPE and HELP, counters that never drop across a cleanup
# of job_runs nor a server restart, promtool's lint clean, and every
# dashboard expression parsing as PromQL over metrics the exporter serves.
use strict;
use warnings;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $exporter_bin = '/usr/bin/prometheus-postgres-exporter';
plan skip_all => "$exporter_bin is not installed" unless -x $exporter_bin;
my $src = $ENV{RACING_SCHED_SRC} // '.';

# Families by name: [TYPE, label names].
my %families = (
	racing_sched_job_runs_total => ['counter', 'job_name job_type status'],
	racing_sched_job_retries_total => ['counter', 'job_name job_type retry'],
	racing_sched_job_enabled => ['gauge', 'job_name job_type'],
	racing_sched_job_active_runs => ['gauge', 'job_name job_type'],
	racing_sched_job_queued_runs => ['gauge', 'job_name job_type'],
	racing_sched_job_due_runs => ['gauge', 'job_name job_type'],
	racing_sched_job_oldest_due_run_age_seconds => ['gauge', 'job_name job_type'],
	racing_sched_job_items_processed_total => ['counter', 'job_name job_type'],
	racing_sched_job_items_failed_total => ['counter', 'job_name job_type'],
	racing_sched_job_last_success_timestamp_seconds => ['gauge', 'job_name job_type'],
	racing_sched_job_last_failure_timestamp_seconds => ['gauge', 'job_name job_type'],
	racing_sched_job_next_run_timestamp_seconds => ['gauge', 'job_name job_type'],
	racing_sched_job_consecutive_failures => ['gauge', 'job_name job_type'],
	racing_sched_job_duration_seconds => ['histogram', 'job_name job_type'],
	racing_sched_http_requests_total => ['counter', 'endpoint http_status'],
	racing_sched_http_request_failures_total => ['counter', 'endpoint http_status'],
	racing_sched_http_response_bytes_total => ['counter', 'endpoint http_status'],
	racing_sched_http_request_duration_seconds => ['histogram', 'endpoint http_status'],
	racing_sched_phase_lateness_seconds => ['histogram', 'phase'],
	racing_sched_phase_missed_total => ['counter', 'phase'],
	racing_sched_scheduler_up => ['gauge', ''],
	racing_sched_scheduler_heartbeat_timestamp_seconds => ['gauge', ''],
	racing_sched_scheduler_start_time_seconds => ['gauge', ''],
	racing_sched_table_rows => ['gauge', 'table_name'],
	racing_sched_table_bytes => ['gauge', 'table_name']);

my $node = rs_node('exporter', conf => ['racing_sched.max_workers = 2', 'racing_sched.timezone = UTC']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }
sql('CREATE EXTENSION racing_sched');
# The monitoring role of the README.
sql(q{CREATE ROLE racing_monitor LOGIN;
	GRANT USAGE ON SCHEMA racing_sched TO racing_monitor;
	GRANT SELECT ON racing_sched.metrics_job_runs, racing_sched.metrics_job_retries,
		racing_sched.metrics_jobs, racing_sched.metrics_http, racing_sched.metrics_phases,
		racing_sched.metrics_scheduler, racing_sched.metrics_tables, racing_sched.recent_failures
		TO racing_monitor;
	GRANT EXECUTE ON FUNCTION racing_sched.health() TO racing_monitor;});

# A compressed day: custom SQL jobs that succeed and fail with retries; the
# workers' HTTP and lateness counters as the racing jobs record them.
sql("SELECT racing_sched.schedule('quick', '0 0 1 1 *', 'SELECT g FROM generate_series(1, 7) g')");
sql("SELECT racing_sched.schedule('broken', '0 0 1 1 *', 'SELECT 1/0')");
sql("SELECT racing_sched.alter_job('broken', retry_delays => '{1 second}')");
for (1 .. 3)
{
	my $id = sql("SELECT racing_sched.run_now('quick')");
	is(sql("SELECT racing_sched.wait_for($id, '20s')"), 'success', "quick run $_ succeeded");
}
my $broken = sql("SELECT racing_sched.run_now('broken')");
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'broken' AND status = 'failed'") == 2 }, 30),
	'a failed run and its failed retry');
sql(q{SELECT racing_sched._record_http('race', 200, true, 40000, 120),
		racing_sched._record_http('race', 503, false, 0, 7000),
		racing_sched._record_http('meetings', 200, true, 90000, 800),
		racing_sched._record_lateness('pre_race_t15', 4.2),
		racing_sched._record_lateness('pre_race_t60', 0.8)});

# The exporter, on a free loopback port, logged in as racing_monitor.
my $port = do
{
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
	  or die "no free port: $!";
	my $p = $s->sockport;
	close $s;
	$p;
};
my $dir = tempdir(CLEANUP => 1);
my $exporter_pid;
sub start_exporter
{
	$exporter_pid = fork() // die "fork: $!";
	if ($exporter_pid == 0)
	{
		$ENV{DATA_SOURCE_NAME} = sprintf('host=%s port=%d user=racing_monitor dbname=postgres sslmode=disable',
			$node->host, $node->port);
		open STDOUT, '>>', "$dir/exporter.log" or die;
		open STDERR, '>&', \*STDOUT or die;
		exec $exporter_bin, "--extend.query-path=$src/exporter/queries.yaml",
		  "--web.listen-address=127.0.0.1:$port", '--disable-default-metrics',
		  '--disable-settings-metrics', '--no-collector.database', '--no-collector.bgwriter';
		die "exec: $!";
	}
}
END { kill 'TERM', $exporter_pid if $exporter_pid; }
start_exporter();

my $http = HTTP::Tiny->new(timeout => 10);
my $last_response;
sub scrape
{
	$last_response = $http->get("http://127.0.0.1:$port/metrics");
	return $last_response->{status} == 200 ? $last_response->{content} : undef;
}
# Parse the text format: TYPE and HELP by family, samples by name{labels}.
sub parse
{
	my ($text) = @_;
	my (%type, %help, %sample);
	for (split /\n/, $text)
	{
		if (/^# TYPE (\S+) (\S+)/) { $type{$1} = $2; }
		elsif (/^# HELP (\S+) (.*)/) { $help{$1} = $2; }
		elsif (/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/)
		{
			# the exporter's own server label is left out of the key
			my ($name, $labels, $value) = ($1, $3 // '', $4);
			$labels = join ',', grep { !/^server=/ } sort split /,(?=[a-z_]+=")/, $labels;
			$sample{"$name\{$labels\}"} = $value;
		}
	}
	return { type => \%type, help => \%help, sample => \%sample };
}
sub counters
{
	my ($m) = @_;
	my %c;
	while (my ($k, $v) = each %{ $m->{sample} })
	{
		my ($name) = $k =~ /^([^{]+)/;
		next unless $name =~ /^racing_sched_/;
		my $family = $name;
		$family =~ s/_(bucket|sum|count)$// unless $m->{type}{$name};
		my $t = $m->{type}{$family} // '';
		$c{$k} = $v if $t eq 'counter' || $t eq 'histogram';
	}
	return \%c;
}
# Every counter of $before is in $after and not lower.
sub no_drop
{
	my ($before, $after, $what) = @_;
	my @dropped = grep { !defined $after->{$_} || $after->{$_} < $before->{$_} } sort keys %$before;
	ok(!@dropped, "no counter dropped across $what")
	  or diag join "\n", map { "$_: $before->{$_} -> " . ($after->{$_} // 'missing') } @dropped[0 .. ($#dropped < 9 ? $#dropped : 9)];
}
sub ready_scrape
{
	my $text;
	wait_until(sub { $text = scrape(); $text && $text =~ /^pg_up 1$/m && $text =~ /^racing_sched_scheduler_up\{[^}]*\} 1$/m }, 60,
		'exporter serving racing_sched metrics');
	return $text;
}

my $text = ready_scrape();
ok(defined $text, 'GET /metrics: HTTP 200') or diag explain $last_response;
my $m = parse($text // '');
is($m->{sample}{'pg_exporter_last_scrape_error{}'}, '0', 'every query ran as racing_monitor without error')
  or diag slurp_file("$dir/exporter.log");
for my $f (sort keys %families)
{
	my ($type, $labels) = @{ $families{$f} };
	is($m->{type}{$f}, $type, "$f is a $type");
	ok(length($m->{help}{$f} // '') > 10, "$f has a HELP text");
	my $suffix = $type eq 'histogram' ? '_bucket' : '';
	my ($one) = grep { /^\Q$f$suffix\E\{/ } sort keys %{ $m->{sample} };
	my @names = map { /^([a-z_]+)=/ ? $1 : () } split /,(?=[a-z_]+=")/, (($one // '') =~ /\{(.*)\}/)[0] // '';
	is(join(' ', grep { $_ ne 'le' } sort @names), $labels, "$f labels: " . ($labels || 'none'));
}
ok(!grep({ /^racing_sched_.*\{.*\b(job|instance)="/ } keys %{ $m->{sample} }), 'no label named job or instance');

# Values as the runs left them.
is($m->{sample}{'racing_sched_job_runs_total{job_name="quick",job_type="sql",status="success"}'}, 3, 'three successes of quick');
is($m->{sample}{'racing_sched_job_runs_total{job_name="broken",job_type="sql",status="failed"}'}, 2, 'two failures of broken');
is($m->{sample}{'racing_sched_job_retries_total{job_name="broken",job_type="sql",retry="1"}'}, 1, 'one retry of broken');
is($m->{sample}{'racing_sched_job_items_processed_total{job_name="quick",job_type="sql"}'}, 21, 'seven rows a run');
is($m->{sample}{'racing_sched_job_consecutive_failures{job_name="broken",job_type="sql"}'}, 2, 'consecutive failures');
is($m->{sample}{'racing_sched_job_duration_seconds_count{job_name="quick",job_type="sql"}'}, 3, 'duration count');
is($m->{sample}{'racing_sched_job_duration_seconds_bucket{job_name="quick",job_type="sql",le="+Inf"}'}, 3, 'duration +Inf bucket');
is($m->{sample}{'racing_sched_http_requests_total{endpoint="race",http_status="503"}'}, 1, 'requests by endpoint and status');
is($m->{sample}{'racing_sched_http_request_duration_seconds_bucket{endpoint="race",http_status="200",le="0.25"}'}, 1, 'request duration bucket');
is($m->{sample}{'racing_sched_phase_lateness_seconds_bucket{le="5",phase="pre_race_t15"}'}, 1, 'lateness bucket');
is($m->{sample}{'racing_sched_phase_lateness_seconds_bucket{le="1",phase="pre_race_t15"}'}, 0, 'lateness below it');
cmp_ok($m->{sample}{'racing_sched_table_bytes{table_name="job_runs"}'}, '>', 0, 'job_runs bytes');
cmp_ok($m->{sample}{'racing_sched_scheduler_heartbeat_timestamp_seconds{}'}, '>', time() - 120, 'heartbeat timestamp');

# promtool's lint, when promtool can be had.
my $promtool = `$src/test/lib/promtool 2>/dev/null`;
chomp $promtool;
SKIP:
{
	skip 'promtool not obtainable', 2 unless $promtool && -x $promtool;
	open my $fh, '>', "$dir/scrape.prom" or die;
	print $fh $text;
	close $fh;
	my $out = `'$promtool' check metrics < '$dir/scrape.prom' 2>&1`;
	is($?, 0, 'promtool check metrics: exit 0');
	is($out, '', 'promtool check metrics: no finding') or diag $out;
}

# A cleanup deletes the history: counters hold.
my $before = counters($m);
sql("DELETE FROM racing_sched.job_runs WHERE status NOT IN ('queued', 'running')");
is(sql('SELECT count(*) FROM racing_sched.job_runs'), 0, 'history deleted');
my $after = counters(parse(scrape() // ''));
no_drop($before, $after, 'a cleanup of job_runs');
is($after->{'racing_sched_job_runs_total{job_name="quick",job_type="sql",status="success"}'}, 3, 'quick still counts 3');

# A restart, fast and immediate: counters hold, the exporter reconnects.
$node->restart;
$text = ready_scrape();
ok($text, 'exporter serves again after a restart');
no_drop($before, counters(parse($text // '')), 'a server restart');
$node->stop('immediate');
$node->start;
$text = ready_scrape();
no_drop($before, counters(parse($text // '')), 'a crash restart');
my $served = parse($text // '');

# The dashboard: every Prometheus expression names only served metrics and
# parses as PromQL; the PostgreSQL panel's query runs as racing_monitor.
my $dash = decode_json(slurp_file("$src/grafana/dashboards/racing_sched.json"));
my (@exprs, @sqls);
for my $p (@{ $dash->{panels} })
{
	for my $t (@{ $p->{targets} // [] })
	{
		push @exprs, [$p->{title}, $t->{expr}] if defined $t->{expr};
		push @sqls, [$p->{title}, $t->{rawSql}] if defined $t->{rawSql};
	}
}
for my $v (@{ $dash->{templating}{list} })
{
	is($v->{type}, 'datasource', "variable $v->{name} is a data source variable")
	  if $v->{name} =~ /datasource/;
	push @exprs, ["variable $v->{name}", $1]
	  if $v->{type} eq 'query' && ($v->{definition} // '') =~ /^label_values\((\w+)/;
}
cmp_ok(scalar @exprs, '>=', 15, 'dashboard expressions found: ' . scalar @exprs);
my @fixed = map { $_->{title} } grep {
	$_->{type} ne 'row' && ($_->{datasource}{uid} // '') !~ /^\$\{(datasource|pgdatasource)\}$/
} @{ $dash->{panels} };
ok(!@fixed, 'every panel takes its data source from a variable') or diag join ', ', @fixed;
my %servable;
for my $name (keys %{ $served->{type} })
{
	$servable{$name} = 1;
	if ($served->{type}{$name} eq 'histogram') { $servable{"${name}_$_"} = 1 for qw(bucket sum count); }
}
my %promql_words = map { $_ => 1 } qw(by without on ignoring group_left group_right and or unless bool offset);
my @unknown;
for my $e (@exprs)
{
	my $x = $e->[1];
	$x =~ s/"(?:[^"\\]|\\.)*"//g;                  # strings
	$x =~ s/\{[^}]*\}//g;                          # label matchers
	$x =~ s/\[[^\]]*\]//g;                         # ranges
	$x =~ s/\b(by|without|on|ignoring)\s*\([^)]*\)//g;    # label lists
	for my $word ($x =~ /([a-zA-Z_:][a-zA-Z0-9_:]*+)(?!\s*\()/g)
	{
		next if $promql_words{$word} || $word =~ /^(inf|nan)$/i;
		push @unknown, "$e->[0]: $word" unless $servable{$word};
	}
}
ok(!@unknown, 'dashboard expressions use only metrics the exporter serves') or diag join "\n", @unknown;
SKIP:
{
	skip 'promtool not obtainable', 1 unless $promtool && -x $promtool;
	# Grafana's variables become what Grafana would put in their place.
	open my $fh, '>', "$dir/dashboard.rules.yml" or die;
	print $fh "groups:\n  - name: dashboard\n    rules:\n";
	my $i = 0;
	for my $e (@exprs)
	{
		(my $x = $e->[1]) =~ s/\$__rate_interval|\$__interval|\$__range/5m/g;
		$x =~ s/\$job_name/.*/g;
		$x =~ s/'/''/g;
		$i++;
		print $fh "      - record: dashboard:expr_$i\n        expr: '$x'\n";
	}
	close $fh;
	my $out = `'$promtool' check rules '$dir/dashboard.rules.yml' 2>&1`;
	is($?, 0, "every dashboard expression parses as PromQL ($i)") or diag $out;
}
for my $s (@sqls)
{
	my ($ret, $out, $err) = $node->psql('postgres', $s->[1], extra_params => ['-U', 'racing_monitor']);
	is($ret, 0, "panel \"$s->[0]\": its SQL runs as racing_monitor") or diag $err;
}

kill 'TERM', $exporter_pid;
waitpid $exporter_pid, 0;
$exporter_pid = undef;
$node->stop;
done_testing();
