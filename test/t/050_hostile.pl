# Hostile API responses at the job level: the real jobs (a morning scrape,
# a pre-race snapshot), run by the scheduler's workers, against the TAB
# simulator serving one fault at a time: headers dripped, a body trickled,
# a stall, a gzip bomb, 100 MB bodies, 3,000-deep nesting, invalid UTF-8,
# \u0000, NaN and huge numbers, a wrong JSON type at every level of both
# documents, 10,000 runners or races, negative and duplicate race numbers,
# impossible dates, timestamps without a zone, duplicate keys, redirects to
# other hosts and schemes.  For each: the run ends failed (or partial, when
# other units of the document are good) with an error that says what was
# wrong; the racing tables hold nothing of the bad unit (compared before and
# after); the scheduler is the same process, and the next clean run of the
# same work succeeds; at the end the scheduler's memory is flat.
# The HTTP client (010_http.pl), the parser (test/unit/tab_hostile_test.c)
# and the fetch functions (020_fetch.pl) are tested on their own.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(time);
use RacingSched::Test;

# Races start in six hours: nothing is due for a phase during the test, and
# every race is open for a pre-race snapshot.
my $anchor = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time() + 6 * 3600));
my ($base, $port) = rs_tabsim('--meetings', '12', '--races-per-meeting', '8',
	'--anchor', $anchor, '--seed', '5', '--late-scratchings', '0', '--abandoned', '0');
my $http = HTTP::Tiny->new(timeout => 30);
my $ctl = "http://127.0.0.1:$port/_control";
my $json = JSON::PP->new->canonical;

sub ctl
{
	my ($method, $what, $body) = @_;
	my $r = $http->request($method, "$ctl/$what",
		defined $body
		? { content => encode_json($body), headers => { 'Content-Type' => 'application/json' } }
		: {});
	die "$method $what: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content});
}

my $day = ctl('GET', 'day');
my $date = $day->{date};

my $node = rs_node('hostile', conf => [
	"racing_sched.tab_api_url = '$base'",
	"racing_sched.jurisdictions = 'NSW'",
	'racing_sched.max_workers = 2',
	'racing_sched.http_rate_limit = 0',
	'racing_sched.http_max_retries = 0',
	"racing_sched.http_timeout = '15s'",
	"racing_sched.http_low_speed_time = '5s'",
]);
$node->start;

sub sql { return $node->safe_psql('postgres', $_[0]); }

sql('CREATE EXTENSION racing_sched');
# Nothing runs but what the test asks for, and a failed run is not retried.
sql(q{SELECT racing_sched.alter_job(job_name, enabled => false, retry_delays => '{}') FROM racing_sched.jobs});
# A digest of a racing table's rows (or those of one race), without the
# times of the writes, which a re-store of the same data changes.
sql(q{
CREATE FUNCTION digest(tbl text, race bigint DEFAULT NULL) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE format('SELECT count(*) || '' '' || coalesce(md5(string_agg(j::text, '','' ORDER BY j::text)), ''-'')
					FROM (SELECT (SELECT jsonb_object_agg(key, value) FROM jsonb_each(to_jsonb(t))
								  WHERE key !~ ''_at$'') AS j
						  FROM racing_sched.%I t %s) s', tbl,
				   CASE WHEN race IS NULL THEN '' ELSE 'WHERE t.race_id = $1' END)
		INTO d USING race;
	RETURN d;
END
$$});

my $sched = wait_until(sub { scheduler_pid($node) }, 30, 'scheduler');
ok($sched, "scheduler running (pid $sched)");

# Run a job now through the scheduler and wait for its end.
sub run_job
{
	my ($job, $args) = @_;
	my $id = sql("SELECT racing_sched.run_now('$job', '" . encode_json($args) . "')");
	my $status = sql("SELECT racing_sched.wait_for($id, '90s')");
	my ($errors, $failed) = split /\|/,
	  sql("SELECT array_to_json(errors), items_failed FROM racing_sched.job_runs WHERE job_run_id = $id");
	return { id => $id, status => $status, errors => decode_json($errors), items_failed => $failed };
}

# scrapes is left out: it logs every fetch stored, so it grows with each good run.
my @meeting_tables = qw(meetings races runners odds results dividends);
my @race_tables = qw(races runners odds results dividends scrapes);

sub meetings_state { return sql('SELECT ' . join(" || ' | ' || ", map { "digest('$_')" } @meeting_tables)); }
sub race_state
{
	my ($race) = @_;
	return sql('SELECT ' . join(" || ' | ' || ", map { "digest('$_', $race)" } @race_tables));
}

# What a snapshot stored of a race, the prices aside (they move with every
# request): the runners, and which prices each has.
sub snapshot_shape
{
	my ($race, $phase) = @_;
	return sql(qq{SELECT digest('runners', $race) || ' ' || coalesce(string_agg(format('%s:%s%s%s', o.runner_number,
			o.fixed_win IS NULL, o.fixed_place IS NULL, o.betting_status), ',' ORDER BY o.runner_number), '-')
		FROM racing_sched.odds o JOIN racing_sched.scrapes s USING (scrape_id)
		WHERE o.race_id = $race AND s.scrape_type = '$phase'});
}

# The scheduler's private memory: RssAnon (VmRSS also counts the shared
# buffers it touches), and the total of its memory contexts, which it logs
# when asked.
sub rss_anon_kb
{
	open my $fh, '<', "/proc/$_[0]/status" or return 0;
	my ($kb) = map { /^RssAnon:\s+(\d+)/ ? $1 : () } <$fh>;
	return $kb // 0;
}

sub context_bytes
{
	my ($pid) = @_;
	my $count = sub { scalar(() = slurp_file($node->logfile) =~ /\[$pid\].*Grand total: \d+ bytes/g) };
	my $n = $count->();
	sql("SELECT pg_log_backend_memory_contexts($pid)");
	wait_until(sub { $count->() > $n }, 30, 'memory contexts logged') or return -1;
	my @totals = slurp_file($node->logfile) =~ /\[$pid\].*Grand total: (\d+) bytes/g;
	return $totals[-1];
}

# -- a clean day first ----------------------------------------------------------
my $r = run_job('morning_scrape', { date => $date });
is($r->{status}, 'success', 'clean morning scrape succeeds') or diag explain $r;
my $clean = meetings_state();
$r = run_job('morning_scrape', { date => $date });
is(meetings_state(), $clean, 'a second clean scrape stores the same (the digest ignores write times only)');

# Races for the race-level cases: ordinary meetings, one race each case.
my @races = split /\n/, sql(q{
	SELECT r.race_id FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
	WHERE m.venue_mnemonic IS NOT NULL ORDER BY r.start_time, r.race_id});
cmp_ok(scalar(@races), '>=', 60, scalar(@races) . ' ordinary races for the race cases');
$r = run_job('pre_race_t60', { race_id => 0 + $races[0] });
is($r->{status}, 'success', 'clean pre-race snapshot succeeds') or diag explain $r;
like(sql("SELECT digest('runners', $races[0])"), qr/^[1-9]/, 'and stores runners');
shift @races;
$clean = meetings_state();

# The simulator makes a gzip bomb once, which takes a while: before the cases.
ctl('POST', 'faults', { path => 'prewarm', fault => 'gzip_bomb', params => { mb => 256 } });
ok(HTTP::Tiny->new(timeout => 300)->get("$base/prewarm")->{success}, 'the simulator has its gzip bomb ready');
ctl('DELETE', 'faults');

my @memory = ([ 'before the cases', rss_anon_kb($sched), context_bytes($sched) ]);

# -- the cases --------------------------------------------------------------------
# [name, fault, params, error pattern]; the same set at both levels, plus a
# wrong type at every level of each document (below).
my $other_host = 'http://127.0.0.2:' . $port;
my @common = (
	[ 'headers dripped', 'header_drip', { seconds => 60, interval => 0.2 }, qr/timeout|timed out|too slow/i ],
	[ 'stall before the headers', 'delay', { seconds => 60 }, qr/timeout|timed out|too slow/i ],
	[ 'body trickled', 'trickle', { chunk => 16, interval => 1 }, qr/timeout|timed out|too slow/i ],
	[ 'gzip bomb', 'gzip_bomb', { mb => 256 }, qr/size|too large|max_response_size/i ],
	[ '100 MB body, Content-Length', 'oversize', { mb => 100 }, qr/size|too large|max_response_size/i ],
	[ '100 MB body, chunked', 'oversize', { mb => 100, framing => 'chunked' }, qr/size|too large|max_response_size/i ],
	[ '3,000-deep nesting', 'deep_nesting', { levels => 3000 }, qr/nest|deep|depth/i ],
	[ '100,000-deep nesting', 'deep_nesting', { levels => 100000 }, qr/nest|deep|depth/i ],
	[ 'invalid UTF-8', 'invalid_utf8', {}, qr/UTF-8|utf8|encoding|decode byte/i ],
	[ '\u0000 in names', 'nul_escape', {}, qr/\\u0000|NUL|null character|zero byte/i ],
	[ 'NaN and huge numbers', 'nan', {}, qr/NaN|number|range|integer/i ],
	[ 'wrong types', 'wrong_types', {}, qr/expected|type|must be/i ],
	[ 'negative and duplicate race numbers', 'bad_race_numbers', {}, qr/number|duplicate|range/i ],
	[ 'impossible dates', 'bad_dates', {}, qr/date|time/i ],
	[ 'timestamps without a zone', 'naive_timestamps', {}, qr/zone|timestamp/i ],
	[ 'duplicate keys', 'duplicate_keys', {}, qr/duplicate/i ],
	[ 'redirect to ftp://', 'redirect', { location => "ftp://127.0.0.1:$port/x" }, qr/redirect/i ],
	[ 'redirect to file://', 'redirect', { location => 'file:///etc/passwd' }, qr/redirect/i ],
	[ 'redirect loop', 'redirect', {}, qr/redirect/i ],
	[ 'redirect to another host', 'redirect', { location => "$other_host/elsewhere" }, qr/redirect to another host or port refused/ ],
);
# The simulator takes seconds to make a document of 10,000 runners or races
# on a busy machine: the low-speed cutoff waits longer for those.
my $slow_sim = [ [ 'racing_sched.http_low_speed_time', '1min' ] ];
my @meeting_cases = (
	@common,
	[ '10,000 races in a meeting', 'runners_10000', { n => 10000 }, qr/races.*exceed|too many/i, 0, $slow_sim ],
);
my @race_cases = (
	@common,
	# over the size cap as served; under a larger cap, up to the parser
	[ '10,000 runners in a race', 'runners_10000', { n => 10000 }, qr/size-cap/, 0, $slow_sim ],
	[ '10,000 runners in a race, 256 MB cap', 'runners_10000', { n => 10000 }, qr/runners.*exceed|too many/i, 0,
	  [ @$slow_sim, [ 'racing_sched.http_max_response_size', '256MB' ] ] ],
);

# A wrong JSON type at every level: for each container of the document
# (array elements collapsed to "*"), every value inside it retyped.
sub levels
{
	my ($doc) = @_;
	my (@out, %seen);
	my @todo = ([ [], $doc ]);
	while (my $t = shift @todo)
	{
		my ($path, $v) = @$t;
		my @kids;
		if (ref $v eq 'HASH') { @kids = map { [ [ @$path, $_ ], $v->{$_} ] } sort keys %$v; }
		elsif (ref $v eq 'ARRAY') { @kids = map { [ [ @$path, '*' ], $_ ] } @$v; }
		else { next; }
		my $key = join '/', @$path, '*';
		push @out, [ @$path, '*' ] unless $seen{$key}++;
		push @todo, @kids;
	}
	return ([], @out);
}

sub fetch_doc
{
	my ($path) = @_;
	my $res = $http->get("$base$path" . ($path =~ /\?/ ? '&' : '?') . 'jurisdiction=NSW');
	die "GET $path: $res->{status}" unless $res->{success};
	return decode_json($res->{content});
}

my $meetings_doc = fetch_doc("/dates/$date/meetings");
push @meeting_cases, map {
	my $p = $_;
	[ 'wrong type at /' . join('/', @$p), 'retype', { path => $p }, qr/expected|type|must be|invalid/i, 1 ]
} levels($meetings_doc);

my @excluded;
sub add_race_levels
{
	my ($race_id) = @_;
	my ($type, $venue, $n) = split /\|/, sql(qq{
		SELECT m.race_type, m.venue_mnemonic, r.race_number FROM racing_sched.races r
		JOIN racing_sched.meetings m USING (meeting_id) WHERE r.race_id = $race_id});
	my $doc = fetch_doc("/dates/$date/meetings/$type/$venue/races/$n");
	return map {
		my $p = $_;
		[ 'wrong type at /' . join('/', @$p), 'retype', { path => $p }, qr/expected|type|must be|invalid/i, 1 ]
	} levels($doc);
}
push @race_cases, add_race_levels($races[0]);
# RACING_SCHED_CASES=regex runs only the cases whose names match (debugging).
if (my $only = $ENV{RACING_SCHED_CASES})
{
	@meeting_cases = grep { $_->[0] =~ /$only/ } @meeting_cases;
	@race_cases = grep { $_->[0] =~ /$only/ } @race_cases;
}
note scalar(@meeting_cases) . ' meeting-level cases, ' . scalar(@race_cases) . ' race-level cases';

# Set a server setting for the workers started from now on (undef: back to
# the configuration file's); wait until new sessions have it.
my %saved_setting;
sub set_setting
{
	my ($name, $value) = @_;
	$saved_setting{$name} //= sql("SELECT current_setting('$name')");
	sql(defined $value ? "ALTER SYSTEM SET $name = '$value'" : "ALTER SYSTEM RESET $name");
	sql('SELECT pg_reload_conf()');
	my $want = $value // $saved_setting{$name};
	wait_until(sub { sql("SELECT current_setting('$name')") eq $want }, 30, "$name = $want")
	  or die "setting $name = $want not applied";
}

sub check_alive
{
	my ($what) = @_;
	is(scheduler_pid($node), $sched, "$what: the scheduler is the same process");
}

# -- the morning scrape: faults on the meetings list ------------------------------
for my $case (@meeting_cases)
{
	my ($name, $fault, $params, $pattern, $unused_ok, $settings) = @$case;
	set_setting(@$_) for @{ $settings // [] };
	ctl('DELETE', 'faults');
	ctl('POST', 'faults', { path => 'meetings\?', fault => $fault, params => $params });
	my $before = meetings_state();
	my $t0 = time();
	$r = run_job('morning_scrape', { date => $date });
	my $secs = time() - $t0;
	ctl('DELETE', 'faults');
	set_setting($_->[0], undef) for @{ $settings // [] };
	my $errs = join("\n", @{ $r->{errors} });
	if ($unused_ok && $r->{status} eq 'success')
	{
		# a value the store does not use: ignored, and nothing stored differs
		pass("meetings, $name: success (a value not used)");
		is(meetings_state(), $clean, "meetings, $name: what is stored is the clean day");
	}
	else
	{
		my $good = ($r->{status} eq 'failed' || $r->{status} eq 'partial') && @{ $r->{errors} }
		  && $errs =~ $pattern && $errs !~ /worker exited|server restarted|timed out after/;
		ok($good, sprintf("meetings, %s: %s in %.1f s, %s", $name, $r->{status}, $secs,
			$r->{errors}[0] // 'no error')) or diag explain $r;
		is(meetings_state(), $before, "meetings, $name: racing tables unchanged");
		is(sql("SELECT count(*) FROM racing_sched.scrapes WHERE job_run_id = $r->{id}"), '0',
			"meetings, $name: no fetch logged by the failed run") if $r->{status} eq 'failed';
	}
	check_alive("meetings, $name");
	my $next = run_job('morning_scrape', { date => $date });
	is($next->{status}, 'success', "meetings, $name: the next run succeeds") or diag explain $next;
}

push @memory, [ 'after the meetings cases', rss_anon_kb($sched), context_bytes($sched) ];

# -- pre-race snapshots: faults on the race document ---------------------------------
for my $case (@race_cases)
{
	my ($name, $fault, $params, $pattern, $unused_ok, $settings) = @$case;
	my $race = shift @races;
	set_setting(@$_) for @{ $settings // [] };
	ctl('DELETE', 'faults');
	ctl('POST', 'faults', { path => '/races/\d+\?', fault => $fault, params => $params });
	my $before = race_state($race);
	my $t0 = time();
	$r = run_job('pre_race_t60', { race_id => 0 + $race });
	my $secs = time() - $t0;
	ctl('DELETE', 'faults');
	set_setting($_->[0], undef) for @{ $settings // [] };
	my $errs = join("\n", @{ $r->{errors} });
	my $succeeded = $unused_ok && $r->{status} eq 'success';
	if ($succeeded)
	{
		pass("race, $name: success (a value not used)");
	}
	else
	{
		my $good = $r->{status} eq 'failed' && @{ $r->{errors} }
		  && $errs =~ $pattern && $errs !~ /worker exited|server restarted|timed out after/;
		ok($good, sprintf("race, %s: %s in %.1f s, %s", $name, $r->{status}, $secs,
			$r->{errors}[0] // 'no error')) or diag explain $r;
		is(race_state($race), $before, "race, $name: nothing stored for the race");
	}
	check_alive("race, $name");
	my $shape = snapshot_shape($race, 'pre_race_t60');
	my $next = run_job('pre_race_t15', { race_id => 0 + $race });
	is($next->{status}, 'success', "race, $name: the next run of the race succeeds") or diag explain $next;
	# a snapshot taken despite the fault holds the same as a clean one
	is($shape =~ s/^\S+ \S+/R/r, snapshot_shape($race, 'pre_race_t15') =~ s/^\S+ \S+/R/r,
		"race, $name: the snapshot taken is the clean one") if $succeeded;
	is(sql("SELECT digest('runners', $race)"), ($shape =~ /^(\S+ \S+)/)[0],
		"race, $name: the runners stored are the clean ones") if $succeeded;
}

# -- post-race results: faults on a resulted race's results and dividends ------------
# The simulator's clock moves past the day: every race is Paying, with
# results and dividends, which the post-race job stores.
ctl('POST', 'clock', { offset => 8 * 3600 });
sub race_doc
{
	my ($race_id) = @_;
	my ($type, $venue, $n) = split /\|/, sql(qq{
		SELECT m.race_type, m.venue_mnemonic, r.race_number FROM racing_sched.races r
		JOIN racing_sched.meetings m USING (meeting_id) WHERE r.race_id = $race_id});
	return fetch_doc("/dates/$date/meetings/$type/$venue/races/$n");
}
# races with results and dividends (those with a tote)
my @post_races = grep { @{ race_doc($_)->{dividends} // [] } } @races;
my $paying = race_doc($post_races[0]);
is($paying->{raceStatus}, 'Paying', 'the simulator has moved past the races');
my @post_cases = grep { !$ENV{RACING_SCHED_CASES} || $_->[0] =~ /$ENV{RACING_SCHED_CASES}/ } map {
	my $p = $_;
	[ 'wrong type at /' . join('/', @$p), 'retype', { path => $p }, qr/expected|type|must be|invalid/i ]
} grep { $_->[0] =~ /^(results|dividends)$/ } levels($paying);
push @post_cases, [ 'wrong types', 'wrong_types', { fields => ['results'] }, qr/expected|type/i ];
note scalar(@post_cases) . ' post-race cases';
for my $case (@post_cases)
{
	my ($name, $fault, $params, $pattern) = @$case;
	my $race = shift @post_races;
	ctl('DELETE', 'faults');
	ctl('POST', 'faults', { path => '/races/\d+\?', fault => $fault, params => $params });
	my $before = sql("SELECT digest('results', $race) || ' | ' || digest('dividends', $race)");
	$r = run_job('post_race', { race_id => 0 + $race });
	ctl('DELETE', 'faults');
	my $errs = join("\n", @{ $r->{errors} });
	ok($r->{status} eq 'failed' && $errs =~ $pattern && $errs !~ /worker exited|server restarted|timed out after/,
		sprintf("post-race, %s: %s, %s", $name, $r->{status}, $r->{errors}[0] // 'no error')) or diag explain $r;
	is(sql("SELECT digest('results', $race) || ' | ' || digest('dividends', $race)"), $before,
		"post-race, $name: no results or dividends stored");
	check_alive("post-race, $name");
	my $next = run_job('post_race', { race_id => 0 + $race });
	is($next->{status}, 'success', "post-race, $name: the next run succeeds") or diag explain $next;
	like(sql("SELECT digest('results', $race) || ' | ' || digest('dividends', $race)"), qr/^[1-9]\d* \S+ \| [1-9]/,
		"post-race, $name: and stores the results and dividends");
}

# -- memory --------------------------------------------------------------------------
push @memory, [ 'after all the cases', rss_anon_kb($sched), context_bytes($sched) ];
note sprintf('scheduler %s: RssAnon %d kB, memory contexts %d bytes', @$_) for @memory;
# From the middle to the end (the first cases warm caches up): within 1 MB of
# anonymous memory (allocator noise) and 64 kB of contexts.
cmp_ok($memory[2][1] - $memory[1][1], '<', 1024,
	'scheduler memory flat: RssAnon +' . ($memory[2][1] - $memory[1][1]) . ' kB over the second half');
cmp_ok($memory[2][2] - $memory[1][2], '<', 65536,
	'scheduler memory contexts flat: +' . ($memory[2][2] - $memory[1][2]) . ' bytes over the second half');
is(sql(q{SELECT count(*) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')}), '0',
	'no run left queued or running');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|was terminated|PANIC/, 'no process crashed');

$node->stop;
done_testing();
