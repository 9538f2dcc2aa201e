# After the last post-race retry: the simulator keeps two races in Interim
# past every retry (delays compressed through alter_job), so the last run
# ends partial and both races show in racing_sched.pending_results with
# provisional results, and nothing plans them again.  Once they are Paying,
# run_now('post_race', '{"race_id": ...}') finishes one, and the next
# morning scrape queues a post_race run that finishes the other: official
# results and dividends in place, no duplicate rows, nothing pending.
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

my $anchor = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time() + 5));
# Two races a second apart, Interim 1 s after the jump, Paying only an
# hour later (the test moves the simulator's clock instead of waiting).
my ($base, $port) = rs_tabsim(
	'--meetings', '1', '--races-per-meeting', '2', '--anchor', $anchor,
	'--first-jump', '15', '--jump-interval', '1',
	'--interim-delay', '1', '--paying-delay', '3600',
	'--abandoned', '0', '--dead-heats', '0', '--late-scratchings', '0', '--hide', '0');
my $http = HTTP::Tiny->new(timeout => 10);
my $ctl = "http://127.0.0.1:$port/_control";

sub ctl
{
	my ($method, $what, $body) = @_;
	my $r = $http->request($method, "$ctl/$what", defined $body
		? { content => encode_json($body), headers => { 'Content-Type' => 'application/json' } }
		: {});
	die "$method $what: $r->{status}" unless $r->{success};
	return decode_json($r->{content});
}

my $day = ctl('GET', 'day');
my $date = $day->{date};
my @races = sort { $a->{start} <=> $b->{start} } map { @{ $_->{races} } } @{ $day->{meetings} };
is(scalar(@races), 2, 'a day of two races');

my $node = rs_node('post_race_pending', conf => [
	"racing_sched.tab_api_url = '$base'",
	"racing_sched.jurisdictions = 'NSW'",
	'racing_sched.http_max_retries = 0',
	'racing_sched.http_rate_limit = 0']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }
sql('CREATE EXTENSION racing_sched');
sql("SELECT racing_sched.alter_job('pre_race_t60', enabled => false)");
sql("SELECT racing_sched.alter_job('pre_race_t15', enabled => false)");
sql("SELECT racing_sched.alter_job('post_race', race_offset => '2 seconds', tolerance => '5 seconds', retry_delays => '{1 second,1 second,2 seconds}')");

my $m0 = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
is(sql("SELECT racing_sched.wait_for($m0, '30s')"), 'success', 'morning scrape stored the day');
my ($r1, $r2) = split /\n/, sql("SELECT race_id FROM racing_sched.races ORDER BY start_time, race_id");
ok($r1 && $r2, 'both races stored');

# The post-race run and its three retries all see Interim: the chain ends
# partial with no retry left.
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'post_race'
		AND status NOT IN ('queued', 'running') AND retry_count = 3") == 1 }, 90),
	'the last post-race retry ran');
is(sql("WITH RECURSIVE c AS (
			SELECT job_run_id, status, retry_count FROM racing_sched.job_runs
			WHERE job_name = 'post_race' AND parent_job_run_id IS NULL
			UNION ALL SELECT r.job_run_id, r.status, r.retry_count FROM racing_sched.job_runs r
			JOIN c ON r.parent_job_run_id = c.job_run_id)
		SELECT string_agg(retry_count || ':' || status, ',' ORDER BY retry_count) FROM c"),
	'0:partial,1:partial,2:partial,3:partial', 'post-race chain: the run and three retries, each partial');
my $last = sql("SELECT job_run_id FROM racing_sched.job_runs WHERE job_name = 'post_race' AND retry_count = 3");
is(sql("SELECT metadata->>'retry_scheduled' || ' / ' || (metadata->>'retry_skipped')
		FROM racing_sched.job_runs WHERE job_run_id = $last"),
	'false / no retries left (3 allowed)', 'the last run schedules no retry');
is(sql("SELECT metadata->'race_ids_provisional' FROM racing_sched.job_runs WHERE job_run_id = $last"),
	"[$r1, $r2]", 'the last run stored provisional results of both races');
is(sql("SELECT string_agg(race_id || ':' || has_provisional_results || ':' || (interim_at IS NOT NULL), ','
		ORDER BY race_id) FROM racing_sched.pending_results"),
	"$r1:true:true,$r2:true:true", 'both races pending, with provisional results');
is(sql("SELECT count(*) FROM racing_sched.results WHERE race_id IN ($r1, $r2) AND official"), 0,
	'no result official yet');
is(sql("SELECT count(*) FROM racing_sched.dividends WHERE race_id IN ($r1, $r2)"), 0, 'no dividends yet');
my %provisional = map { split /\|/ } split /\n/,
	sql("SELECT race_id, count(*) FROM racing_sched.results WHERE race_id IN ($r1, $r2) GROUP BY race_id");
ok($provisional{$r1} > 0 && $provisional{$r2} > 0, 'provisional placings stored for both');
my $post_runs = sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'post_race'");
my $served_before = ctl('GET', 'stats')->{total}{requests};

# Planning again (what the scheduler does on each loop) queues nothing for
# them: pending stays pending until someone asks.
sql("SELECT racing_sched._plan_all_race_phases(now())");
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'post_race'"), $post_runs,
	'no post-race run is planned again for a pending race');
is(ctl('GET', 'stats')->{total}{requests}, $served_before, 'and no request made for it');

# The simulator's day moves on an hour: both races are Paying.
ctl('POST', 'clock', { advance => 3600 });

# run_now for the first race finishes it.
my $p1 = sql("SELECT racing_sched.run_now('post_race', '{\"race_id\": $r1}')");
is(sql("SELECT racing_sched.wait_for($p1, '30s')"), 'success', 'run_now(post_race, race_id) succeeded');
is(sql("SELECT metadata->'race_ids_official' FROM racing_sched.job_runs WHERE job_run_id = $p1"),
	"[$r1]", 'the race turned official');
is(sql("SELECT status || ':' || (interim_at < official_at) FROM racing_sched.races WHERE race_id = $r1"),
	'Paying:true', 'status Paying; interim_at before official_at');
is(sql("SELECT count(*) || ':' || count(DISTINCT runner_number) || ':' || bool_and(official)
		FROM racing_sched.results WHERE race_id = $r1"),
	"$provisional{$r1}:$provisional{$r1}:true", 'results official in place, no duplicate rows');
cmp_ok(sql("SELECT count(*) FROM racing_sched.dividends WHERE race_id = $r1"), '>', 0, 'dividends stored');
is(sql("SELECT string_agg(race_id::text, ',') FROM racing_sched.pending_results"), $r2,
	'only the other race is still pending');

# The next morning scrape (the next racing day, which has no meetings)
# queues one post_race run for what is pending, which finishes the second.
my $next = strftime('%Y-%m-%d', gmtime(time() + 86400));
$next = strftime('%Y-%m-%d', gmtime(time() + 2 * 86400)) if $next eq $date;
my $m1 = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$next\"}')");
is(sql("SELECT racing_sched.wait_for($m1, '30s')"), 'success', 'next morning scrape succeeded');
is(sql("SELECT metadata->'pending_race_ids' FROM racing_sched.job_runs WHERE job_run_id = $m1"), "[$r2]",
	'it found the pending race');
my $p2 = sql("SELECT metadata->>'post_race_job_run_id' FROM racing_sched.job_runs WHERE job_run_id = $m1");
is(sql("SELECT job_name || ' ' || (args->'race_ids')::text FROM racing_sched.job_runs WHERE job_run_id = $p2"),
	"post_race [$r2]", 'and queued a post_race run for it');
is(sql("SELECT racing_sched.wait_for($p2, '30s')"), 'success', 'that run succeeded');
is(sql("SELECT status || ':' || (interim_at < official_at) FROM racing_sched.races WHERE race_id = $r2"),
	'Paying:true', 'second race official');
is(sql("SELECT count(*) || ':' || count(DISTINCT runner_number) || ':' || bool_and(official)
		FROM racing_sched.results WHERE race_id = $r2"),
	"$provisional{$r2}:$provisional{$r2}:true", 'its results official in place, no duplicate rows');
cmp_ok(sql("SELECT count(*) FROM racing_sched.dividends WHERE race_id = $r2"), '>', 0, 'its dividends stored');
is(sql("SELECT count(*) FROM racing_sched.pending_results"), 0, 'nothing pending');
is(sql("SELECT count(*) FROM racing_sched.results WHERE race_id = $r1 AND official"), $provisional{$r1},
	'the first race is unchanged');

# A morning scrape with nothing pending queues nothing; one of the racing
# day itself finds every race official and stores no second row.
my $m2 = sql("SELECT racing_sched.run_now('morning_scrape', '{\"date\": \"$date\"}')");
is(sql("SELECT racing_sched.wait_for($m2, '30s')"), 'success', 'morning scrape of the day succeeded');
is(sql("SELECT metadata ? 'pending_race_ids' FROM racing_sched.job_runs WHERE job_run_id = $m2"), 'f',
	'nothing pending, nothing queued');
is(sql("SELECT count(*) || ':' || count(DISTINCT (race_id, runner_number)) || ':' || bool_and(official)
		FROM racing_sched.results WHERE race_id IN ($r1, $r2)"),
	($provisional{$r1} + $provisional{$r2}) . ':' . ($provisional{$r1} + $provisional{$r2}) . ':true',
	'results unchanged: official, one row per runner');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')"), 0,
	'nothing left queued or running');

$node->stop;
done_testing();
