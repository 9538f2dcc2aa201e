# fetch_meetings, fetch_race and fetch_fixed_odds_race against the TAB
# simulator: what a day's documents become in the tables (meetings, races,
# scratchings, runners, odds snapshots, results provisional then official in
# place, dividends, abandoned races, fixed-odds-only meetings), idempotence,
# every document fault failing its unit alone with a clear error, and a soak
# of about 1,000 requests with mixed faults after which the backend's memory
# is flat.
use strict;
use warnings;
use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $date = '2026-11-28';
my ($base, $port) = rs_tabsim('--date', $date, '--anchor', 'now', '--seed', '3');
my $control = "http://127.0.0.1:$port/_control";
my $json = JSON::PP->new->canonical;
my $ua = HTTP::Tiny->new(timeout => 10);

my $node = rs_node('fetch', conf => [
	'racing_sched.enabled = off',
	"racing_sched.tab_api_url = '$base'",
	'racing_sched.http_rate_limit = 0',
	"racing_sched.http_retry_base_delay = '10ms'",
	'racing_sched.http_max_retries = 2',
	'log_min_messages = warning',
]);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION racing_sched');

sub control
{
	my ($method, $path, $body) = @_;
	my $r = $ua->request($method, "$control/$path",
		defined $body
		? { content => $json->encode($body), headers => { 'Content-Type' => 'application/json' } }
		: {});
	die "control $method $path: $r->{status} $r->{content}" unless $r->{success};
	return $json->decode($r->{content});
}

sub sql { return $node->safe_psql('postgres', $_[0]); }
sub sqljson { return $json->decode(sql($_[0])); }

sub counts
{
	return sql(
		"SELECT (SELECT count(*) FROM racing_sched.meetings) || ' ' || (SELECT count(*) FROM racing_sched.races)
		 || ' ' || (SELECT count(*) FROM racing_sched.runners) || ' ' || (SELECT count(*) FROM racing_sched.odds)
		 || ' ' || (SELECT count(*) FROM racing_sched.results) || ' ' || (SELECT count(*) FROM racing_sched.dividends)
		 || ' ' || (SELECT count(*) FROM racing_sched.scrapes)");
}

sub fetch_race_sql
{
	my ($race) = @_;
	my $q = sub { my $s = shift; $s =~ s/'/''/g; "'$s'" };
	if (defined $race->{venue})
	{
		return "SELECT racing_sched.fetch_race('$date', '$race->{type}', "
		  . $q->($race->{venue}) . ", $race->{raceNumber}, 'NSW')";
	}
	return "SELECT racing_sched.fetch_fixed_odds_race('$date', '$race->{type}', "
	  . $q->($race->{meetingName}) . ", " . $q->($race->{matchName}) . ", 'NSW')";
}

sub fetch_race { return sqljson(fetch_race_sql($_[0])); }

# The simulator's plan of the day.
my $day = control('GET', 'day');
my (@races, %by_id);
for my $m (@{ $day->{meetings} })
{
	for my $r (@{ $m->{races} })
	{
		my %race = (%$r, type => $m->{raceType}, venue => $m->{venueMnemonic},
			meetingName => $m->{meetingName}, fixed => $m->{fixedOddsOnly} ? 1 : 0);
		push @races, \%race;
		$by_id{ $r->{id} } = \%race;
	}
}
my $n_meetings = scalar @{ $day->{meetings} };

# -- the meetings list ---------------------------------------------------------
my $s = sqljson("SELECT racing_sched.fetch_meetings('$date', 'NSW')");
is_deeply([ @$s{qw(requests stored failed)} ], [ 1, $n_meetings, 0 ], "meetings list: $n_meetings meetings stored")
  or diag explain $s;
is($s->{http_status}, 200, 'summary: HTTP status');
ok($s->{bytes} > 10000 && defined $s->{elapsed_ms}, "summary: bytes ($s->{bytes}) and elapsed time");
is(sql('SELECT count(*) FROM racing_sched.meetings'), $n_meetings, 'meetings in the table');
is(sql('SELECT count(*) FROM racing_sched.races'), scalar(@races), 'every race stub in the table');
my $n_scratched = 0;
$n_scratched += scalar @{ $_->{scratched} } for @races;
is(sql('SELECT count(*) FROM racing_sched.runners WHERE scratched'), $n_scratched,
	"scratchings as scratched runner rows ($n_scratched)");
is(sql("SELECT count(*) FROM racing_sched.races WHERE status = 'Normal'"), scalar(@races),
	'every race Normal before the first jump');
my $n_fixed_meetings = grep { $_->{fixedOddsOnly} } @{ $day->{meetings} };
is(sql('SELECT count(*) FROM racing_sched.meetings WHERE fixed_odds_only AND venue_mnemonic IS NULL'),
	$n_fixed_meetings, "fixed-odds-only meetings keyed by name ($n_fixed_meetings)");

my $before = counts();
$s = sqljson("SELECT racing_sched.fetch_meetings('$date', 'NSW')");
is($s->{stored}, $n_meetings, 'meetings list again: stored');
my @b = split / /, $before;
my @a = split / /, counts();
is_deeply([ @a[0 .. 2, 4] ], [ @b[0 .. 2, 4] ], 'no duplicate meetings, races, runners or results');
is($a[6], $b[6] + $n_meetings, 'one scrapes row per meeting and fetch');

# -- one race from Normal to Paying -------------------------------------------
my ($race) = grep { defined $_->{venue} && !$_->{abandoned} && @{ $_->{results} } >= 3 } @races;
my $race_sql = "SELECT race_id FROM racing_sched.races JOIN racing_sched.meetings USING (meeting_id)
	WHERE venue_mnemonic = '$race->{venue}' AND race_type = '$race->{type}' AND race_number = $race->{raceNumber}";
my $race_id = sql($race_sql);
$s = fetch_race($race);
is_deeply([ @$s{qw(requests stored failed)} ], [ 1, 1, 0 ], "race $race->{id}: stored") or diag explain $s;
is(sql("SELECT count(*) FROM racing_sched.runners WHERE race_id = $race_id"), $race->{runners}, 'its runners');
is(sql("SELECT count(*) FROM racing_sched.odds WHERE race_id = $race_id"), $race->{runners}, 'one odds snapshot');
$s = fetch_race($race);
is(sql("SELECT count(DISTINCT scrape_id) || ' ' || count(*) FROM racing_sched.odds WHERE race_id = $race_id"),
	'2 ' . 2 * $race->{runners}, 'fetched again: a second snapshot');
is(sql("SELECT count(*) FROM racing_sched.runners WHERE race_id = $race_id"), $race->{runners}, 'no duplicate runners');

my $n_placed = 0;
$n_placed += scalar @$_ for @{ $race->{results} };
my %statuses = (closedAt => 'Closed', interimAt => 'Interim', payingAt => 'Paying');
for my $at (qw(closedAt interimAt payingAt))
{
	control('POST', 'clock', { now => $race->{$at} =~ s/\.000Z$/Z/r });
	control('POST', 'clock', { advance => 2 });
	$s = fetch_race($race);
	is(sql("SELECT status FROM racing_sched.races WHERE race_id = $race_id"), $statuses{$at},
		"at $at: status $statuses{$at}") or diag explain $s;
}
is(sql("SELECT count(*) || ' ' || bool_and(official) FROM racing_sched.results WHERE race_id = $race_id"),
	"$n_placed true", "Paying: $n_placed official results, no duplicates");
is(sql("SELECT closed_at < interim_at AND interim_at < official_at AND status_changed_at = official_at
	FROM racing_sched.races WHERE race_id = $race_id"), 't', 'status timestamps in order');
ok(sql("SELECT count(*) FROM racing_sched.dividends WHERE race_id = $race_id") >= 5, 'dividends stored');
my $divs = sql("SELECT count(*) FROM racing_sched.dividends WHERE race_id = $race_id");
fetch_race($race);
is(sql("SELECT count(*) FROM racing_sched.dividends WHERE race_id = $race_id"), $divs, 'dividends not duplicated');
is(sql("SELECT count(*) FROM racing_sched.results WHERE race_id = $race_id"), $n_placed, 'results not duplicated');

# Interim results were provisional: check on another race.
my ($race2) = grep { defined $_->{venue} && !$_->{abandoned} && $_->{id} ne $race->{id}
	  && $_->{start} > $by_id{ $race->{id} }{start} + 120 } @races;
control('POST', 'clock', { now => $race2->{interimAt} =~ s/\.000Z$/Z/r });
control('POST', 'clock', { advance => 2 });
fetch_race($race2);
my $race2_id = sql("SELECT race_id FROM racing_sched.races JOIN racing_sched.meetings USING (meeting_id)
	WHERE venue_mnemonic = '$race2->{venue}' AND race_type = '$race2->{type}' AND race_number = $race2->{raceNumber}");
my $n2 = 0;
$n2 += scalar @$_ for @{ $race2->{results} };
is(sql("SELECT count(*) FILTER (WHERE NOT official) || ' ' || count(*) FROM racing_sched.results WHERE race_id = $race2_id"),
	"$n2 $n2", "Interim: $n2 provisional results");

# Move to the end of the day: every race resulted.
my ($last) = sort { $b->{start} <=> $a->{start} } @races;
control('POST', 'clock', { now => $last->{payingAt} =~ s/\.000Z$/Z/r });
control('POST', 'clock', { advance => 5 });
fetch_race($race2);
is(sql("SELECT count(*) FILTER (WHERE official) = count(*) AND count(*) > 0 FROM racing_sched.results WHERE race_id = $race2_id"),
	't', 'then Paying: the same rows official in place');

my ($abandoned) = grep { $_->{abandoned} } @races;
SKIP:
{
	skip 'no abandoned ordinary race in the day', 2 unless $abandoned;
	$s = fetch_race($abandoned);
	is($s->{stored}, 1, 'abandoned race stored');
	is(sql("SELECT string_agg(DISTINCT status || ' ' || (abandoned_at IS NOT NULL), ',') FROM racing_sched.races
		JOIN racing_sched.meetings USING (meeting_id) WHERE race_type = '$abandoned->{type}'
		AND (venue_mnemonic, race_number) IS NOT DISTINCT FROM ("
		  . (defined $abandoned->{venue} ? "'$abandoned->{venue}'" : 'NULL') . ", $abandoned->{raceNumber})
		AND match_name IS NOT DISTINCT FROM " . (defined $abandoned->{matchName} ? "'" . ($abandoned->{matchName} =~ s/'/''/gr) . "'" : 'NULL')),
		'Abandoned true', 'marked Abandoned with abandoned_at');
}

# A fixed-odds-only race: its document names the race's own day as the
# meeting's date; it is filed under the meeting of the list all the same.
my ($fixed) = grep { $_->{fixed} } @races;
my $meetings_before = sql('SELECT count(*) FROM racing_sched.meetings');
$s = fetch_race($fixed);
is($s->{stored}, 1, "fixed-odds-only race $fixed->{matchName} stored") or diag explain $s;
is(sql('SELECT count(*) FROM racing_sched.meetings'), $meetings_before, 'under the existing meeting');
my $fixed_q = $fixed->{matchName} =~ s/'/''/gr;
is(sql("SELECT count(*) FROM racing_sched.runners JOIN racing_sched.races USING (race_id) WHERE match_name = '$fixed_q'"),
	$fixed->{runners}, 'its runners');
is(sql("SELECT status FROM racing_sched.races WHERE match_name = '$fixed_q'"), 'Paying', 'its status');

# -- faults: each fails its unit alone, with a clear error ---------------------
my %fault_error = (
	truncate       => qr/^race .*: (syntax|.*line \d+)/,
	wrong_types    => qr/^race .*: .*(\$\.|type)/,
	missing_fields => qr/^race .*: .*raceStartTime/,
	invalid_utf8   => qr/^race .*: invalid JSON: unable to decode byte 0xff/,
	html           => qr/^race .*: http-status: HTTP 403/,
	empty200       => qr/^race .*: empty body/,
	status         => qr/^race .*: http-status: HTTP 500/,
);
for my $kind (sort keys %fault_error)
{
	control('DELETE', 'faults');
	control('POST', 'faults', { path => '/races/', fault => $kind });
	my $c0 = counts();
	$s = fetch_race($race);
	is_deeply([ @$s{qw(requests stored failed)} ], [ 1, 0, 1 ], "fault $kind: the race failed")
	  or diag explain $s;
	like($s->{errors}[0] // '', $fault_error{$kind}, "fault $kind: error says why") or diag explain $s;
	is(counts(), $c0, "fault $kind: nothing stored");
}
control('DELETE', 'faults');
control('POST', 'faults', { path => '/races/', fault => 'status', count => 1, params => { status => 500 } });
$s = fetch_race($race);
is_deeply([ @$s{qw(stored failed)} ], [ 1, 0 ], '500 then success: stored') or diag explain $s;
is($s->{requests_detail}[0]{attempts}, 2, 'after a retry');
control('DELETE', 'faults');
control('POST', 'faults', { path => 'meetings\?', fault => 'truncate' });
$before = counts();
$s = sqljson("SELECT racing_sched.fetch_meetings('$date', 'NSW')");
is_deeply([ @$s{qw(stored failed)} ], [ 0, 1 ], 'truncated meetings list: failed') or diag explain $s;
like($s->{errors}[0], qr/^meetings list NSW: /, 'error names the list');
is(counts(), $before, 'nothing stored');
control('DELETE', 'faults');
is(sql('SELECT 1'), '1', 'the server keeps working');

# -- soak: ~1,000 requests with mixed faults, memory flat ------------------------
control('POST', 'faults', [
	{ path => '/races/', fault => 'truncate', every => 7 },
	{ path => '/races/', fault => 'status', every => 11, params => { status => 503 } },
	{ path => '/races/', fault => 'invalid_utf8', every => 13 },
	{ path => '/races/', fault => 'empty200', every => 17 },
	{ path => '/races/', fault => 'html', every => 19 },
	{ path => '/races/', fault => 'wrong_types', every => 23 },
	{ path => 'meetings\?', fault => 'truncate', every => 5 },
]);
my @soak = grep { defined $_->{venue} } @races;
my $calls = join ",\n", map {
	"(\$\$" . fetch_race_sql($_) . "\$\$)"
} @soak;
sql(<<"EOF");
CREATE TABLE soak_calls (k serial, q text);
INSERT INTO soak_calls (q) VALUES $calls;
CREATE TABLE soak_mem (i int, rss_anon bigint, vm_rss bigint, contexts bigint, ours bigint);
CREATE TABLE soak_out (i int, stored int, failed int);
CREATE FUNCTION status_kb(field text) RETURNS bigint LANGUAGE sql AS \$\$
	SELECT (regexp_match(pg_read_file('/proc/self/status'), field || ':\\s+(\\d+) kB'))[1]::bigint \$\$;
CREATE PROCEDURE soak(total int) LANGUAGE plpgsql AS \$\$
DECLARE
	n int := (SELECT count(*) FROM soak_calls);
	s jsonb;
BEGIN
	FOR i IN 1 .. total LOOP
		IF i % 25 = 0 THEN
			s := racing_sched.fetch_meetings('$date', 'NSW');
		ELSE
			EXECUTE (SELECT q FROM soak_calls WHERE k = 1 + i % n) INTO s;
		END IF;
		INSERT INTO soak_out VALUES (i, (s->>'stored')::int, (s->>'failed')::int);
		IF i IN (200, total) THEN
			INSERT INTO soak_mem SELECT i, status_kb('RssAnon'), status_kb('VmRSS'),
				(SELECT sum(total_bytes) FROM pg_backend_memory_contexts),
				(SELECT count(*) FROM pg_backend_memory_contexts WHERE name LIKE 'racing_sched%');
		END IF;
		COMMIT;
	END LOOP;
END \$\$;
EOF
my $t0 = time();
sql('CALL soak(1000)');
my $secs = time() - $t0;
my ($stored, $failed) = split /\|/, sql('SELECT sum(stored), sum(failed) FROM soak_out');
note "soak: 1000 calls in ${secs}s, $stored units stored, $failed failed";
ok($failed > 100 && $stored > 500, "soak: faults failed units ($failed) and the rest stored ($stored)");
is(sql('SELECT count(*) FROM soak_out WHERE stored + failed = 0'), 0, 'every call accounted for');
my ($r200, $v200, $c200) = split /\|/, sql('SELECT rss_anon, vm_rss, contexts FROM soak_mem WHERE i = 200');
my ($r1000, $v1000, $c1000) = split /\|/, sql('SELECT rss_anon, vm_rss, contexts FROM soak_mem WHERE i = 1000');
note "after 200: RssAnon $r200 kB, VmRSS $v200 kB, contexts $c200 B; after 1000: RssAnon $r1000 kB, VmRSS $v1000 kB, contexts $c1000 B";
# 800 more requests of ~20 KB each (16 MB of bodies, 800 documents): a leak
# of a body or a document per request would add megabytes.  Allow 2 MB of
# anonymous memory (allocator noise, catalog caches) and 256 kB of contexts.
# VmRSS also counts shared buffers this backend touches as the tables grow,
# which is no leak, so its bound is shared_buffers plus the same 2 MB.
ok($r1000 - $r200 < 2048, 'RssAnon flat: +' . ($r1000 - $r200) . ' kB');
ok($c1000 - $c200 < 262144, 'memory contexts flat: +' . ($c1000 - $c200) . ' B');
my $sb_kb = sql("SELECT setting::bigint * 8 FROM pg_settings WHERE name = 'shared_buffers'");
ok($v1000 - $v200 < $sb_kb + 2048, 'VmRSS within shared_buffers + 2 MB: +' . ($v1000 - $v200) . ' kB');
is(sql('SELECT ours FROM soak_mem WHERE i = 1000'), 0, 'no document or response context left behind');

done_testing();
