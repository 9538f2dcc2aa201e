# The HTTP client against the TAB simulator: every fault kind gives its
# expected outcome (retried, or failed with the phase named), Retry-After is
# honoured and clamped, the size cap holds for decoded bytes, redirects and
# protocols are restricted, TLS is verified, admission control and request
# spacing hold, a backend stuck in a request is terminated within a second,
# and memory and file descriptors stay flat over a few hundred requests.
use strict;
use warnings;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use Time::Local qw(timegm);
use RacingSched::Test;

my $tlsdir = tempdir(CLEANUP => 1);
my ($base, $port) = rs_tabsim('--tls-port', '0', '--tls-port-file', "$tlsdir/tlsport",
	'--tls-dir', $tlsdir);
ok(wait_until(sub { -s "$tlsdir/tlsport" }, 30, 'TLS listener'), 'simulator TLS listener up');
my $tlsport = slurp_file("$tlsdir/tlsport");
chomp $tlsport;
my $ca = "$tlsdir/ca.pem";
my $control = "http://127.0.0.1:$port/_control";
my $json = JSON::PP->new->canonical;
my $ua = HTTP::Tiny->new(timeout => 10);

my $node = rs_node('http', conf => ['racing_sched.enabled = off']);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION racing_sched');

# Settings that keep the test fast; each check SETs what it needs on top.
my $fast = join '',
  "SET racing_sched.http_rate_limit = 0;",
  "SET racing_sched.http_retry_base_delay = '50ms';",
  "SET racing_sched.http_max_retries = 2;";

sub fault
{
	my (%rule) = @_;
	# a tag matches itself only, never a longer tag it prefixes
	$rule{path} .= '(&|$)' if $rule{path} =~ /^t=/;
	my $r = $ua->post("$control/faults",
		{ content => $json->encode(\%rule), headers => { 'Content-Type' => 'application/json' } });
	die "fault rule refused: $r->{status} $r->{content}" unless $r->{success};
}

sub clear_faults
{
	$ua->request('DELETE', "$control/faults");
}

# A URL of the simulator's API that answers 200, made unique by a tag so a
# fault rule can target it alone.
sub api_url
{
	my ($tag) = @_;
	return "$base/next-to-go/races?jurisdiction=NSW&t=$tag";
}

sub get
{
	my ($url, %opt) = @_;
	my $set = $opt{set} // '';
	my $body = $opt{body} ? 'true' : 'false';
	my $out = $node->safe_psql('postgres',
		"$fast $set SELECT racing_sched.http_get('$url', $body)");
	return $json->decode($out);
}

# The simulator's log of recent requests whose target matches a pattern.
sub requests_matching
{
	my ($pattern) = @_;
	my $log = $json->decode($ua->get("$control/requests")->{content});
	return grep { ($_->{path} // '') =~ /$pattern/ } @{ $log->{requests} };
}

# Request headers of the last request matching a pattern, names in lower case.
sub sent_headers
{
	my ($pattern) = @_;
	my @reqs = requests_matching($pattern);
	my $h = @reqs ? $reqs[-1]{headers} : {};
	return map { lc($_) => $h->{$_} } keys %$h;
}

sub iso_seconds
{
	my ($iso) = @_;
	my ($y, $mo, $d, $h, $mi, $sec) = $iso =~ /^(\d+)-(\d+)-(\d+)T(\d+):(\d+):([\d.]+)Z$/
	  or die "bad time $iso";
	return timegm(0, $mi, $h, $d, $mo - 1, $y) + $sec;
}

sub describe
{
	my ($r) = @_;
	my %copy = %$r;
	delete $copy{body};
	return $json->encode(\%copy);
}

# -- plain success ---------------------------------------------------------
my $r = get(api_url('plain'), body => 1);
ok($r->{ok} && $r->{status} == 200 && $r->{attempts} == 1 && !defined $r->{phase},
	'plain GET succeeds') or diag describe($r);
ok($r->{bytes} > 1000 && length($r->{body}) == $r->{bytes}, 'body and byte count agree');
like($r->{body}, qr/^\{"races":/, 'body is the document');
is($r->{effective_url}, api_url('plain'), 'effective URL reported');
my $plain_bytes = $r->{bytes};

# the configured request headers went out, and no cookie
my %h = sent_headers('t=plain');
like($h{'user-agent'} // '', qr/^Mozilla\/5\.0/, 'browser-like User-Agent sent');
like($h{'accept'} // '', qr/application\/json/, 'Accept sent');
like($h{'accept-encoding'} // '', qr/gzip/, 'gzip accepted');
ok(!exists $h{cookie}, 'no cookie sent');

# -- 5xx and 429 -------------------------------------------------------------
fault(path => 't=flaky500', fault => 'status', count => 1, params => { status => 500 });
$r = get(api_url('flaky500'));
ok($r->{ok} && $r->{attempts} == 2, '500 once, then success on retry') or diag describe($r);

fault(path => 't=flaky503', fault => 'status', count => 2, params => { status => 503 });
$r = get(api_url('flaky503'));
ok($r->{ok} && $r->{attempts} == 3, '503 twice, success on the last allowed retry') or diag describe($r);

fault(path => 't=always500', fault => 'status', params => { status => 500 });
$r = get(api_url('always500'));
ok(!$r->{ok} && $r->{status} == 500 && $r->{phase} eq 'http-status' && $r->{attempts} == 3,
	'persistent 500: gives up after http_max_retries, phase http-status') or diag describe($r);
like($r->{error}, qr/^http-status: HTTP 500/, 'error names the phase and status');

$r = get(api_url('always500'), set => 'SET racing_sched.http_max_retries = 0;');
is($r->{attempts}, 1, 'http_max_retries = 0: no retry');

fault(path => 't=html403', fault => 'html', params => { status => 403 });
$r = get(api_url('html403'));
ok(!$r->{ok} && $r->{status} == 403 && $r->{attempts} == 1 && $r->{phase} eq 'http-status',
	'403 HTML page: not retried') or diag describe($r);

fault(path => 't=ra_secs', fault => '429', count => 1, params => { retry_after => 2 });
$r = get(api_url('ra_secs'));
ok($r->{ok} && $r->{attempts} == 2 && $r->{elapsed_ms} >= 1950 && $r->{elapsed_ms} < 6000,
	"429 with Retry-After: 2 honoured ($r->{elapsed_ms} ms)") or diag describe($r);

fault(path => 't=ra_date', fault => '429', count => 1, params => { retry_after => 3, http_date => JSON::PP::true });
$r = get(api_url('ra_date'));
ok($r->{ok} && $r->{attempts} == 2 && $r->{elapsed_ms} >= 1500 && $r->{elapsed_ms} < 6000,
	"429 with an HTTP-date 3 s ahead honoured ($r->{elapsed_ms} ms)") or diag describe($r);

fault(path => 't=ra_long', fault => '429', count => 1, params => { retry_after => 3600 });
$r = get(api_url('ra_long'), set => "SET racing_sched.http_retry_max_delay = '1s';");
ok($r->{ok} && $r->{attempts} == 2 && $r->{elapsed_ms} >= 950 && $r->{elapsed_ms} < 5000,
	"Retry-After: 3600 clamped to http_retry_max_delay 1 s ($r->{elapsed_ms} ms)") or diag describe($r);

fault(path => 't=ra_clampdate', fault => '429', count => 1,
	params => { retry_after => 3600, http_date => JSON::PP::true });
$r = get(api_url('ra_clampdate'), set => "SET racing_sched.http_retry_max_delay = '1s';");
ok($r->{ok} && $r->{attempts} == 2 && $r->{elapsed_ms} < 5000,
	"HTTP-date an hour ahead clamped too ($r->{elapsed_ms} ms)") or diag describe($r);

# -- broken transfers ----------------------------------------------------------
my $once = 'SET racing_sched.http_max_retries = 0;';
fault(path => 't=rst_always', fault => 'reset');
$r = get(api_url('rst_always'), set => $once);
ok(!$r->{ok} && $r->{phase} eq 'receive' && $r->{curl_code} == 56, 'reset mid-body: phase receive')
  or diag describe($r);
like($r->{error}, qr/^receive: /, 'error text starts with the phase');

fault(path => 't=rst_once', fault => 'reset', count => 1);
$r = get(api_url('rst_once'));
ok($r->{ok} && $r->{attempts} == 2, 'reset once: retried and succeeded') or diag describe($r);

fault(path => 't=fin_close', fault => 'close');
$r = get(api_url('fin_close'), set => $once);
ok(!$r->{ok} && $r->{phase} eq 'wait-headers' && $r->{curl_code} == 52,
	'close without response: phase wait-headers (empty reply)') or diag describe($r);

fault(path => 't=rst_close', fault => 'close', params => { rst => JSON::PP::true });
$r = get(api_url('rst_close'), set => $once);
ok(!$r->{ok} && $r->{phase} eq 'wait-headers', 'RST before any response: phase wait-headers')
  or diag describe($r);

# truncate keeps Content-Length consistent: HTTP cannot tell; the parser will
fault(path => 't=truncate', fault => 'truncate');
$r = get(api_url('truncate'), set => $once);
ok($r->{ok} && $r->{bytes} > 0 && $r->{bytes} < $plain_bytes,
	'truncated body with matching Content-Length arrives short, left to the parser') or diag describe($r);

fault(path => 't=delayed', fault => 'delay', params => { seconds => 120 });
$r = get(api_url('delayed'), set => "$once SET racing_sched.http_timeout = '1s';");
ok(!$r->{ok} && $r->{phase} eq 'wait-headers' && $r->{curl_code} == 28
	  && $r->{elapsed_ms} >= 900 && $r->{elapsed_ms} < 3000,
	"no headers within http_timeout: phase wait-headers ($r->{elapsed_ms} ms)") or diag describe($r);

fault(path => 't=trickle', fault => 'trickle', params => { chunk => 8, interval => 0.5 });
$r = get(api_url('trickle'),
	set => "$once SET racing_sched.http_low_speed_limit = 1000; SET racing_sched.http_low_speed_time = '1s';");
ok(!$r->{ok} && $r->{phase} eq 'receive' && $r->{curl_code} == 28 && $r->{elapsed_ms} < 5000,
	"trickled body below the low-speed limit cut ($r->{elapsed_ms} ms)") or diag describe($r);

$r = get('http://127.0.0.1:1/nothing', set => $once);
ok(!$r->{ok} && $r->{phase} eq 'connect' && $r->{curl_code} == 7, 'refused connection: phase connect')
  or diag describe($r);

$r = get('http://no-such-host.invalid/x', set => $once);
ok(!$r->{ok} && $r->{phase} eq 'resolve', 'unknown host: phase resolve') or diag describe($r);

# -- size cap, gzip ------------------------------------------------------------
fault(path => 't=gzip', fault => 'gzip');
$r = get(api_url('gzip'), body => 1);
ok($r->{ok} && $r->{body} =~ /^\{"races":/, 'gzip body decoded') or diag describe($r);

my $cap = "SET racing_sched.http_max_response_size = '2MB';";
fault(path => 't=over_len', fault => 'oversize', params => { mb => 5, framing => 'length' });
$r = get(api_url('over_len'), set => $cap);
ok(!$r->{ok} && $r->{phase} eq 'size-cap' && $r->{attempts} == 1 && $r->{bytes} <= 2 * 1024 * 1024,
	'oversize with Content-Length: refused, phase size-cap, not retried') or diag describe($r);

fault(path => 't=over_chunked', fault => 'oversize', params => { mb => 5, framing => 'chunked' });
$r = get(api_url('over_chunked'), set => $cap);
ok(!$r->{ok} && $r->{phase} eq 'size-cap' && $r->{bytes} <= 2 * 1024 * 1024,
	'oversize chunked: cut in the write callback at the cap') or diag describe($r);
like($r->{error}, qr/^size-cap: .*2097152 bytes/, 'size-cap error names the cap');

fault(path => 't=over_close', fault => 'oversize', params => { mb => 5, framing => 'close' });
$r = get(api_url('over_close'), set => $cap);
ok(!$r->{ok} && $r->{phase} eq 'size-cap', 'oversize until close: cut at the cap') or diag describe($r);

fault(path => 't=bomb', fault => 'gzip_bomb', params => { mb => 256 });
$r = get(api_url('bomb'));
ok(!$r->{ok} && $r->{phase} eq 'size-cap' && $r->{bytes} <= 16 * 1024 * 1024 && $r->{elapsed_ms} < 10000,
	"gzip bomb (256 MiB decoded) cut at the default 16 MiB cap ($r->{bytes} bytes)") or diag describe($r);

# -- redirects -----------------------------------------------------------------
for my $loc ("ftp://127.0.0.1:$port/x", 'file:///etc/passwd', 'gopher://127.0.0.1/x')
{
	my ($scheme) = $loc =~ /^(\w+)/;
	fault(path => "t=redir_$scheme", fault => 'redirect', params => { location => $loc });
	$r = get(api_url("redir_$scheme"));
	ok(!$r->{ok} && $r->{phase} eq 'redirect' && $r->{attempts} == 1,
		"redirect to $scheme:// refused, phase redirect") or diag describe($r);
}

# Another host or port, absolute or scheme-relative: refused before any
# request leaves for it (localhost is the simulator too, under another name).
for my $loc ("http://localhost:$port/v1/tab-info-service/racing/x?t=redir_host_target",
	"//localhost:$port/x?t=redir_host_target", "http://127.0.0.1:1/x?t=redir_host_target")
{
	fault(path => 't=redir_host', fault => 'redirect', params => { location => $loc });
	$r = get(api_url('redir_host'));
	ok(!$r->{ok} && $r->{phase} eq 'redirect' && $r->{attempts} == 1
		  && $r->{error} =~ /^redirect: redirect to another host or port refused \(Location: \Q$loc\E\)/,
		"redirect to $loc refused, phase redirect") or diag describe($r);
	clear_faults();
}
is(scalar(requests_matching('t=redir_host_target')), 0, 'no request reached a redirect target elsewhere');

fault(path => 't=redir_loop', fault => 'redirect');
$r = get(api_url('redir_loop'));
ok(!$r->{ok} && $r->{phase} eq 'redirect' && $r->{curl_code} == 47, 'redirect loop: stops after 3')
  or diag describe($r);

fault(path => 't=redir_ok', fault => 'redirect', params => { location => api_url('redir_target') });
$r = get(api_url('redir_ok'));
ok($r->{ok} && $r->{effective_url} eq api_url('redir_target'), 'redirect to http on the same API followed')
  or diag describe($r);

ok(!get("ftp://127.0.0.1:$port/x")->{ok}, 'ftp URL refused outright');

# -- TLS -------------------------------------------------------------------------
my $tls_url = "https://127.0.0.1:$tlsport/v1/tab-info-service/racing/next-to-go/races?jurisdiction=NSW";
$r = get($tls_url, set => "SET racing_sched.http_ca_file = '$ca';");
ok($r->{ok} && $r->{status} == 200, 'HTTPS with the test CA in http_ca_file verifies') or diag describe($r);

$r = get($tls_url, set => $once);
ok(!$r->{ok} && $r->{phase} eq 'tls' && $r->{curl_code} == 60 && $r->{attempts} == 1,
	'HTTPS without the CA fails verification, phase tls, not retried') or diag describe($r);

$r = get("https://localhost:$tlsport/v1/tab-info-service/racing/next-to-go/races?jurisdiction=NSW",
	set => "SET racing_sched.http_ca_file = '$ca';");
ok($r->{ok}, 'host name checked against the certificate (localhost is in it)') or diag describe($r);

fault(path => 't=downgrade', fault => 'redirect', params => { location => api_url('plain') });
$r = get("$tls_url&t=downgrade", set => "SET racing_sched.http_ca_file = '$ca';");
ok(!$r->{ok} && $r->{phase} eq 'redirect' && $r->{status} == 302,
	'a redirect from https to http is refused') or diag describe($r);

# -- settings ----------------------------------------------------------------------
my ($ret, $out, $err) = $node->psql('postgres', "SET racing_sched.http_headers = 'Accept application/json'");
like($err, qr/invalid item 1 in racing_sched.http_headers/, 'malformed header list refused');
($ret, $out, $err) = $node->psql('postgres', "SET racing_sched.http_headers = 'X-A: 1|Cookie: a=b'");
like($err, qr/invalid item 2.*\n.*Cookies are never sent/, 'cookie header refused');
($ret, $out, $err) = $node->psql('postgres', "SET racing_sched.http_ca_file = 'ca.pem'");
like($err, qr/must be an absolute path/, 'relative CA file refused');
($ret, $out, $err) = $node->psql('postgres', "SET racing_sched.http_rate_limit = -1");
like($err, qr/outside the valid range/, 'negative rate refused');
$node->safe_psql('postgres', 'CREATE ROLE plain LOGIN');
($ret, $out, $err) = $node->psql('postgres', "SET ROLE plain; SET racing_sched.http_timeout = '1h'");
like($err, qr/permission denied to set parameter "racing_sched.http_timeout"/, 'http settings are superuser-only');
($ret, $out, $err) = $node->psql('postgres', "SET ROLE plain; SELECT racing_sched.http_get('$base')");
like($err, qr/permission denied for (function|schema)/, 'http_get not executable by PUBLIC');

my $hdr_url = api_url('custom_headers');
$r = get($hdr_url, set => "SET racing_sched.http_headers = 'User-Agent: racing-test/1|X-Probe: yes';");
%h = sent_headers('t=custom_headers');
ok($h{'user-agent'} eq 'racing-test/1' && $h{'x-probe'} eq 'yes', 'http_headers are sent as configured');

# -- admission control and request spacing ------------------------------------------
fault(path => 't=slow', fault => 'delay', params => { seconds => 0.5 });
my $eight = 'ARRAY[' . join(',', map { "'" . api_url("slow&n=$_") . "'" } 1 .. 8) . ']';
my $t0 = time();
my $all = $json->decode($node->safe_psql('postgres',
		"$fast SET racing_sched.http_max_inflight = 2; SELECT racing_sched.http_get_all($eight)"));
my $took = time() - $t0;
ok((grep { $_->{ok} } @$all) == 8, 'batch of 8: all succeed');
ok($took >= 1.9, sprintf('max_inflight 2: 8 half-second requests take >= 2 s (%.2f s)', $took));
$t0 = time();
$node->safe_psql('postgres', "$fast SET racing_sched.http_max_inflight = 8; SELECT racing_sched.http_get_all($eight)");
$took = time() - $t0;
ok($took < 1.9, sprintf('max_inflight 8: the same batch runs concurrently (%.2f s)', $took));

my $five = 'ARRAY[' . join(',', map { "'" . api_url("rate&n=$_") . "'" } 1 .. 5) . ']';
$t0 = time();
$all = $json->decode($node->safe_psql('postgres',
		"SET racing_sched.http_rate_limit = 4; SELECT racing_sched.http_get_all($five)"));
$took = time() - $t0;
ok((grep { $_->{ok} } @$all) == 5 && $took >= 0.95,
	sprintf('rate limit 4/s: 5 requests take >= 1 s (%.2f s)', $took));

# the spacing is server-wide: two sessions at 2/s together stay at 2/s
my $la = 'ARRAY[' . join(',', map { "'" . api_url("srate&a=$_") . "'" } 1 .. 3) . ']';
my $lb = 'ARRAY[' . join(',', map { "'" . api_url("srate&b=$_") . "'" } 1 .. 3) . ']';
my $other = $node->background_psql('postgres');
$other->query_until(qr/go/,
	"SET racing_sched.http_rate_limit = 2;\n\\echo go\nSELECT racing_sched.http_get_all($la);\n");
$node->safe_psql('postgres', "SET racing_sched.http_rate_limit = 2; SELECT racing_sched.http_get_all($lb)");
ok(wait_until(sub { requests_matching('t=srate') == 6 }, 20), 'both sessions sent their requests');
my @at = sort { $a <=> $b } map { iso_seconds($_->{time}) } requests_matching('t=srate');
my @gaps = map { $at[$_] - $at[ $_ - 1 ] } 1 .. $#at;
my $min_gap = (sort { $a <=> $b } @gaps)[0];
ok($min_gap >= 0.4, sprintf('two sessions share the 2/s budget: smallest gap %.3f s', $min_gap))
  or diag "gaps: @gaps";
$other->quit;

# -- interrupts ----------------------------------------------------------------------
fault(path => 't=hang', fault => 'delay', params => { seconds => 120 });
my $hang = 'ARRAY[' . join(',', map { "'" . api_url("hang&n=$_") . "'" } 1 .. 4) . ']';
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, "$fast\n\\echo started\nSELECT racing_sched.http_get_all($hang);\n");
my $pid = wait_until(sub {
		$node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE query LIKE '%http_get_all%' AND wait_event = 'Extension' AND pid <> pg_backend_pid()");
	}, 30, 'backend waiting in the request');
ok($pid, 'backend is waiting on the hanging requests (wait_event Extension)');
ok(wait_until(sub { requests_matching('t=hang') == 4 }, 10, 'four hanging requests'),
	'all four requests are hanging at the server');
# the test runs as the server's user on the same host: watch the process
# itself, so the measure is not inflated by starting psql to poll
$t0 = time();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
my $gone;
while (time() - $t0 < 30)
{
	if (!-e "/proc/$pid")
	{
		$gone = 1;
		last;
	}
	usleep(5_000);
}
$took = time() - $t0;
ok($gone && $took < 1.0, sprintf('pg_terminate_backend took effect in %.3f s', $took));
eval { $bg->quit };

# cancel: the session survives, with no descriptor or memory left behind
my $s = $node->background_psql('postgres', on_error_stop => 0);
$s->query_safe("$fast");
my $fds = sub { $s->query_safe("SELECT count(*) FROM pg_ls_dir('/proc/self/fd')") };
my $rss = sub { $s->query_safe("SELECT (regexp_match(pg_read_file('/proc/self/status'), 'VmRSS:\\s+(\\d+)'))[1]") };
my $ctx = sub { $s->query_safe('SELECT sum(total_bytes) FROM pg_backend_memory_contexts') };
$s->query_safe("SELECT racing_sched.http_get('" . api_url('warm') . "')");
my $fd0 = $fds->();
my $cancelled = 0;
for my $i (1 .. 5)
{
	$s->query("SET statement_timeout = '200ms'; SELECT racing_sched.http_get_all($hang); RESET statement_timeout;");
	$cancelled++ if $s->{stderr} =~ /canceling statement due to statement timeout/;
	# this BackgroundPsql keeps stderr across queries: clear the expected error
	$s->{stderr} = '';
}
is($cancelled, 5, 'statement_timeout cancels a hanging batch, five times');
is($fds->(), $fd0, 'no descriptor left after 5 cancelled batches');
is($json->decode($s->query_safe("SELECT racing_sched.http_get('" . api_url('after_cancel') . "')"))->{ok},
	1, 'the session works after cancellation');

# memory: a few hundred requests of mixed outcomes
clear_faults();
fault(path => 'mix=500', fault => 'status', params => { status => 500 });
fault(path => 'mix=reset', fault => 'reset');
fault(path => 'mix=gzip', fault => 'gzip');
fault(path => 'mix=over', fault => 'oversize', params => { mb => 3, framing => 'chunked' });
my @kinds = ('ok', 'ok', '500', 'reset', 'gzip', 'over');
my $batch = sub {
	my ($round) = @_;
	my @urls = map { "'" . api_url("m&mix=$kinds[$_ % @kinds]&r=$round&i=$_") . "'" } 0 .. 23;
	$s->query_safe("SET racing_sched.http_max_response_size = '1MB'; SET racing_sched.http_max_retries = 1;"
		  . " SELECT jsonb_array_length(racing_sched.http_get_all(ARRAY[" . join(',', @urls) . "]))");
};
$batch->($_) for 1 .. 3;    # warm up allocator and libraries
my ($rss0, $ctx0, $fdw) = ($rss->(), $ctx->(), $fds->());
$batch->($_) for 4 .. 16;    # 312 requests
my ($rss1, $ctx1, $fdw1) = ($rss->(), $ctx->(), $fds->());
note "VmRSS $rss0 kB -> $rss1 kB; contexts $ctx0 -> $ctx1 bytes";
ok($rss1 - $rss0 < 3072, "VmRSS flat over 312 requests ($rss0 kB -> $rss1 kB)");
ok($ctx1 - $ctx0 < 65536, "memory contexts flat ($ctx0 -> $ctx1 bytes)");
is($fdw1, $fdw, 'descriptors flat');
$s->quit;

# fast shutdown while a session hangs in a batch: the backend does not hold it up
fault(path => 't=hang2', fault => 'delay', params => { seconds => 120 });
my $hung = $node->background_psql('postgres', on_error_stop => 0);
$hung->query_until(qr/started/,
	"$fast\n\\echo started\nSELECT racing_sched.http_get('" . api_url('hang2') . "');\n");
ok(wait_until(sub { requests_matching('t=hang2') == 1 }, 10), 'a request hangs during shutdown');
$t0 = time();
$node->stop('fast');
$took = time() - $t0;
ok($took < 5, sprintf('fast shutdown with a hanging request took %.2f s', $took));
eval { $hung->quit };

done_testing();
