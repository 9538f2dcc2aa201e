# A compressed racing day against the TAB simulator, the jobs scaled to
# seconds through alter_job: a morning scrape whose VIC list fails twice
# (partial, then retries of VIC alone until it works, meetings merged), two
# pre-race snapshots per race within tolerance of their edges, post-race
# results from Interim (provisional) to Paying (official, dividends), an
# abandoned race marked, injected 503s retried on the scaled delays with
# parent/child links, and the simulator's counts: one request per race per
# pre-race phase, post-race requests until Paying only.
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

my $tol = 5;			# seconds, tolerance of every race-driven job
my $anchor = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time() + 10));
# The first T-60 edge comes 30 s after the anchor: time to start the
# cluster and store the day (the VIC list after two failed tries) on a busy
# machine; a race stored after its window closed would be a backfill and
# get no T-60 snapshot at all.
my ($base, $port) = rs_tabsim(
	'--meetings', '3', '--races-per-meeting', '6', '--anchor', $anchor,
	'--first-jump', '90', '--jump-interval', '5,7',
	'--interim-delay', '4', '--paying-delay', '12',
	'--abandoned', '1', '--dead-heats', '1', '--late-scratchings', '1');
my $http = HTTP::Tiny->new(timeout => 10);
my $ctl = "http://127.0.0.1:$port/_control";

sub ctl_get
{
	my $r = $http->get("$ctl/$_[0]");
	die "GET $_[0]: $r->{status}" unless $r->{success};
	return decode_json($r->{content});
}

sub ctl_post
{
	my ($what, $body) = @_;
	my $r = $http->post("$ctl/$what",
		{ content => encode_json($body), headers => { 'Content-Type' => 'application/json' } });
	die "POST $what: $r->{status}" unless $r->{success};
	return decode_json($r->{content});
}

my $day = ctl_get('day');
my $date = $day->{date};
my $bp = $day->{basePath};
my @races = sort { $a->{start} <=> $b->{start} } map { @{ $_->{races} } } @{ $day->{meetings} };
my %meeting_of;
for my $m (@{ $day->{meetings} })
{
	$meeting_of{ $_->{id} } = $m for @{ $m->{races} };
}
cmp_ok(scalar(@races), '>=', 18, 'a day of at least 3 meetings x 6 races');

my $node = rs_node('racing_day', conf => [
	"racing_sched.tab_api_url = '$base'",
	"racing_sched.jurisdictions = 'NSW,VIC'",
	'racing_sched.max_workers = 8',
	'racing_sched.http_max_retries = 0',
	'racing_sched.http_rate_limit = 0']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }
sql('CREATE EXTENSION racing_sched');
sql("SELECT racing_sched.alter_job('morning_scrape', retry_delays => '{2 seconds,2 seconds,2 seconds}')");
sql("SELECT racing_sched.alter_job('pre_race_t60', race_offset => '-60 seconds', tolerance => '$tol seconds', retry_delays => '{2 seconds,2 seconds}')");
sql("SELECT racing_sched.alter_job('pre_race_t15', race_offset => '-15 seconds', tolerance => '$tol seconds', retry_delays => '{2 seconds,2 seconds}')");
sql("SELECT racing_sched.alter_job('post_race', race_offset => '5 seconds', tolerance => '$tol seconds', retry_delays => '{4 seconds,4 seconds,4 seconds}')");

# Faults: VIC's meetings list fails twice; an ordinary race's first request
# (its T-60 fetch) answers 503 once.
sub race_rx
{
	my ($r) = @_;
	(my $p = $r->{path}) =~ s/\?.*//;
	return quotemeta("$bp$p") . '\?';
}
my ($pre_faulted) = grep { !$meeting_of{ $_->{id} }{fixedOddsOnly} } @races[2 .. $#races];
ctl_post('faults', [
	{ path => 'meetings\?jurisdiction=VIC', fault => 'status', count => 2, params => { status => 500 } },
	{ path => race_rx($pre_faulted), fault => 'status', count => 1, params => { status => 503 } }]);

# The morning scrape: NSW stored, VIC failed -> partial; its retries fetch
# VIC alone until it works.
my $m0 = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
is(sql("SELECT racing_sched.wait_for($m0, '30s')"), 'partial', 'morning scrape with one list failing is partial');
is(sql("SELECT items_processed || '/' || items_failed FROM racing_sched.job_runs WHERE job_run_id = $m0"),
	scalar(@{ $day->{meetings} }) . '/1', 'meetings stored / requests failed');
is_deeply(decode_json(sql("SELECT metadata->'failed_combinations' FROM racing_sched.job_runs WHERE job_run_id = $m0")),
	[ { date => $date, jurisdiction => 'VIC', race_type => undef, location => undef } ],
	'failed combination names the whole VIC list');
is_deeply(decode_json(sql("SELECT metadata->'retry_args'->'only' FROM racing_sched.job_runs WHERE job_run_id = $m0")),
	[ { date => $date, jurisdiction => 'VIC', race_type => undef, location => undef } ],
	'retry args ask for the failed part only');
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'morning_scrape' AND status = 'success'") == 1 }, 30),
	'a retry of the morning scrape succeeded');
is(sql("WITH RECURSIVE c AS (SELECT job_run_id, status, retry_count FROM racing_sched.job_runs WHERE job_run_id = $m0
		UNION ALL SELECT r.job_run_id, r.status, r.retry_count FROM racing_sched.job_runs r JOIN c ON r.parent_job_run_id = c.job_run_id)
		SELECT string_agg(retry_count || ':' || status, ',' ORDER BY retry_count) FROM c"),
	'0:partial,1:failed,2:success', 'morning chain: partial, failed retry, successful retry');
cmp_ok(sql("SELECT min(extract(epoch FROM c.started_at - p.completed_at)) FROM racing_sched.job_runs c
		JOIN racing_sched.job_runs p ON c.parent_job_run_id = p.job_run_id WHERE c.job_name = 'morning_scrape'"),
	'>=', 2, 'morning retries wait their delay');
my $stats = ctl_get('stats');
is($stats->{by_jurisdiction}{VIC}, 3, 'VIC list requested three times (run and two retries)');
is($stats->{by_template}{meetings}{count}, 4, 'NSW list requested once: the retries fetched VIC only');
is(sql("SELECT count(*) || ' ' || bool_and(jurisdictions @> '{NSW,VIC}') FROM racing_sched.meetings"),
	scalar(@{ $day->{meetings} }) . ' true', 'meetings seen in both lists are merged, one row each');

# A post-race fault: a later ordinary race's first post-race request
# answers 503 once (its pre-race snapshots come first).
my ($post_faulted) = grep { !$_->{abandoned} && !$meeting_of{ $_->{id} }{fixedOddsOnly} && $_ != $pre_faulted } @races[5 .. $#races];
my $post_race_id = sql("SELECT r.race_id FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
		WHERE m.venue_mnemonic = '$meeting_of{$post_faulted->{id}}{venueMnemonic}'
		  AND m.race_type = '$meeting_of{$post_faulted->{id}}{raceType}' AND r.race_number = $post_faulted->{raceNumber}");
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.scrapes WHERE race_id = $post_race_id AND scrape_type = 'pre_race_t15'") == 1 }, 200),
	'post-fault race has its T-15 snapshot');
ctl_post('faults', { path => race_rx($post_faulted), fault => 'status', count => 1, params => { status => 503 } });

# The day runs: wait until every race is official or abandoned.
my $n = scalar(@races);
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.races WHERE official_at IS NOT NULL OR abandoned_at IS NOT NULL") == $n }, 240),
	'every race official or abandoned');
is(sql("SELECT count(*) FROM racing_sched.races"), $n, 'every race of the day stored once');

for my $phase (['pre_race_t60', 60], ['pre_race_t15', 15])
{
	my ($job, $off) = @$phase;
	is(sql("SELECT count(*) FROM racing_sched.races r WHERE
			(SELECT count(*) FROM racing_sched.scrapes s WHERE s.race_id = r.race_id AND s.scrape_type = '$job') = 1
			AND (SELECT bool_and(s.scraped_at BETWEEN r.start_time - interval '$off seconds'
											  AND r.start_time - interval '$off seconds' + interval '$tol seconds')
				 FROM racing_sched.scrapes s WHERE s.race_id = r.race_id AND s.scrape_type = '$job')"),
		$n, "$job: exactly one snapshot per race, within tolerance of its edge");
	is(sql("SELECT count(*) FROM racing_sched.scrapes s WHERE scrape_type = '$job'
			AND NOT EXISTS (SELECT FROM racing_sched.odds o WHERE o.scrape_id = s.scrape_id)"),
		0, "$job: every snapshot holds odds");
}

my @abandoned = grep { $_->{abandoned} } @races;
my @paying = grep { !$_->{abandoned} } @races;
is(sql("SELECT count(*) FROM racing_sched.races WHERE status = 'Abandoned' AND abandoned_at IS NOT NULL AND official_at IS NULL"),
	scalar(@abandoned), 'abandoned races marked');
is(sql("SELECT count(*) FROM racing_sched.races r WHERE status = 'Paying' AND official_at IS NOT NULL
		AND EXISTS (SELECT FROM racing_sched.results x WHERE x.race_id = r.race_id)
		AND NOT EXISTS (SELECT FROM racing_sched.results x WHERE x.race_id = r.race_id AND NOT x.official)
		AND EXISTS (SELECT FROM racing_sched.dividends d WHERE d.race_id = r.race_id)"),
	scalar(@paying), 'official results and dividends for every Paying race');
is(sql("SELECT count(*) FROM racing_sched.races WHERE status = 'Paying' AND interim_at < official_at"),
	scalar(@paying), 'provisional -> official transitions recorded (interim_at, then official_at)');
is(sql("SELECT count(*) FROM racing_sched.pending_results"), 0, 'nothing pending');

# Results as the simulator declared them (dead heats share a position).
my $mismatch = 0;
for my $r (@paying)
{
	my $m = $meeting_of{ $r->{id} };
	my $where = $m->{fixedOddsOnly}
	  ? "m.meeting_name = '$m->{meetingName}' AND r.match_name = '$r->{matchName}'"
	  : "m.venue_mnemonic = '$m->{venueMnemonic}' AND r.race_number = $r->{raceNumber}";
	my $got = sql("SELECT string_agg(x.runner_number || '\@' || x.position, ',' ORDER BY x.position, x.runner_number)
			FROM racing_sched.results x JOIN racing_sched.races r USING (race_id) JOIN racing_sched.meetings m USING (meeting_id)
			WHERE m.race_type = '$m->{raceType}' AND $where");
	my @want;
	for my $g (0 .. $#{ $r->{results} })
	{
		push @want, map { "$_\@" . ($g + 1) } sort { $a <=> $b } @{ $r->{results}[$g] };
	}
	$mismatch++ unless $got eq join(',', @want);
}
is($mismatch, 0, 'stored placings match the simulator for every Paying race');

# The simulator's counts: per race, two pre-race requests plus one per
# post-race fetch plus the injected faults; no post-race fetch after Paying.
$stats = ctl_get('stats');
my %faults = ($pre_faulted->{id} => 1, $post_faulted->{id} => 1);
my $bad = 0;
for my $r (@races)
{
	my $m = $meeting_of{ $r->{id} };
	my $where = $m->{fixedOddsOnly}
	  ? "m.meeting_name = '$m->{meetingName}' AND r.match_name = '$r->{matchName}'"
	  : "m.venue_mnemonic = '$m->{venueMnemonic}' AND r.race_number = $r->{raceNumber}";
	my ($id, $post, $after_paying) = split /\|/, sql("SELECT r.race_id,
			(SELECT count(*) FROM racing_sched.scrapes s WHERE s.race_id = r.race_id AND s.scrape_type = 'post_race'),
			(SELECT count(*) FROM racing_sched.scrapes s WHERE s.race_id = r.race_id AND s.scrape_type = 'post_race'
			   AND s.scraped_at >= " . ($r->{payingAt} ? "'$r->{payingAt}'" : "r.start_time") . ")
			FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
			WHERE m.race_type = '$m->{raceType}' AND $where");
	(my $p = $r->{path}) =~ s/\?.*//;
	my $served = $stats->{by_path}{"$bp$p"}{count} // 0;
	my $want = 2 + $post + ($faults{ $r->{id} } // 0);
	if ($served != $want || $after_paying != 1)
	{
		diag("race $r->{id}: served $served, expected $want; post-race fetches at or after Paying: $after_paying");
		$bad++;
	}
}
is($bad, 0, 'one request per race per pre-race phase, post-race requests until Paying only');
is(sql("SELECT sum(requests) FROM racing_sched.http_stats WHERE endpoint = 'race'"),
	$stats->{by_template}{race}{count} + ($stats->{by_template}{race_fixed}{count} // 0),
	'http_stats counted every race request');
is(sql("SELECT sum(requests) FROM racing_sched.http_stats WHERE endpoint = 'meetings'"), 4,
	'http_stats counted every meetings request');

# Injected faults were retried on the scaled delays, with parent links.
my $pre_id = sql("SELECT r.race_id FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
		WHERE m.venue_mnemonic = '$meeting_of{$pre_faulted->{id}}{venueMnemonic}'
		  AND m.race_type = '$meeting_of{$pre_faulted->{id}}{raceType}' AND r.race_number = $pre_faulted->{raceNumber}");
is(sql("SELECT p.status IN ('failed', 'partial') AND c.status = 'success' AND c.trigger = 'retry'
			AND c.retry_count = 1 AND c.args->'race_ids' = '[$pre_id]'
			AND (c.args->>'deadline')::timestamptz = r.start_time
			AND c.started_at - p.completed_at >= interval '2 seconds'
			AND (p.metadata->>'retry_job_run_id')::bigint = c.job_run_id
		FROM racing_sched.job_runs c JOIN racing_sched.job_runs p ON c.parent_job_run_id = p.job_run_id
		JOIN racing_sched.races r ON r.race_id = $pre_id
		WHERE c.job_name = 'pre_race_t60' AND c.args->'race_ids' @> '[$pre_id]'"),
	't', 'T-60 fault: a retry of that race alone, after 2 s, before its jump');
is(sql("SELECT count(*) FROM racing_sched.job_runs c JOIN racing_sched.job_runs p ON c.parent_job_run_id = p.job_run_id
		WHERE c.job_name = 'post_race' AND p.args->'race_ids' @> '[$post_race_id]'
		  AND c.args->'race_ids' @> '[$post_race_id]' AND c.retry_count = 1
		  AND p.metadata->'race_ids_pending' @> '[$post_race_id]'
		  AND c.started_at - p.completed_at >= interval '4 seconds'"),
	1, 'post-race fault: the race retried after 4 s');
is(sql("SELECT coalesce(sum(missed_phases), 0) FROM racing_sched.job_stats"), 0, 'no phase missed');
is(sql("SELECT string_agg(l.job_name || ':' || (l.count = (SELECT count(*) FROM racing_sched.scrapes s
			WHERE s.scrape_type = l.job_name)), ',' ORDER BY l.job_name) FROM racing_sched.phase_lateness l"),
	'pre_race_t15:true,pre_race_t60:true', 'the lateness histogram counts every pre-race snapshot');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')"), 0,
	'nothing left queued or running');

$node->stop;
done_testing();
