# A pre-race run that starts after some of its races jumped skips them and
# counts each as a missed phase, as a window that passed while the scheduler
# was down is counted: job_stats.missed_phases, metrics_phases.missed_total,
# the run's metadata.missed_race_ids and race_phases.state.  A race that is
# finished but has not jumped (abandoned early) is skipped, not missed; a
# race is counted once however many runs skip it.  The same with the
# schema at 1.0 and after ALTER EXTENSION UPDATE: the library needs nothing
# that only 1.1 has.  The run is made late by planning it while the
# scheduler is disabled and enabling the scheduler after the jump; no
# request is made, so the API URL points nowhere.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RacingSched::Test;

my $node = rs_node('pre_race_missed', conf => [
	"racing_sched.tab_api_url = 'http://127.0.0.1:9/v1/tab-info-service/racing'",
	'racing_sched.enabled = off']);
$node->start;
sub sql { $node->safe_psql('postgres', $_[0]) }

sql("CREATE EXTENSION racing_sched VERSION '1.0'");
is(sql("SELECT extversion FROM pg_extension WHERE extname = 'racing_sched'"), '1.0', 'schema at 1.0');
sql("SELECT racing_sched.alter_job('pre_race_t60', enabled => false)");
sql("SELECT racing_sched.alter_job('post_race', enabled => false)");
# Tolerance 5 minutes: two races 40 s apart share one run.
sql("SELECT racing_sched.alter_job('pre_race_t15', tolerance => '5 minutes')");
sql("INSERT INTO racing_sched.meetings (meeting_date, race_type, venue_mnemonic, meeting_name, location)
	VALUES (current_date, 'R', 'RHL', 'ROSEHILL', 'NSW')");

sub scheduler_enabled
{
	my ($on) = @_;
	sql("ALTER SYSTEM SET racing_sched.enabled = " . ($on ? 'on' : 'off'));
	sql('SELECT pg_reload_conf()');
	my $want = $on ? 'running' : 'disabled';
	ok(wait_until(sub { sql('SELECT state FROM racing_sched.scheduler_status()') eq $want }, 30),
		"scheduler $want");
}

# Two races planned together while the scheduler is disabled: A jumps 4 s
# from now, B 40 s from now and is then abandoned.  Returns (A, B, run).
sub plan_late_run
{
	my ($n) = @_;
	my ($a, $b) = split /\n/, sql("INSERT INTO racing_sched.races (meeting_id, race_number, start_time, created_at)
		SELECT meeting_id, v.n, now() + v.d, now() - interval '1 hour'
		FROM racing_sched.meetings, (VALUES ($n, interval '4 seconds'), ($n + 1, interval '40 seconds')) AS v(n, d)
		RETURNING race_id");
	sql("SELECT racing_sched._plan_race_phases('pre_race_t15',
		(SELECT start_time FROM racing_sched.races WHERE race_id = $b) - interval '15 minutes')");
	my $run = sql("SELECT job_run_id FROM racing_sched.race_phases WHERE race_id = $a AND state = 'planned'");
	is(sql("SELECT status || ' ' || (args->'race_ids')::text FROM racing_sched.job_runs WHERE job_run_id = $run"),
		"queued [$a, $b]", 'both races planned in one queued run');
	sql("UPDATE racing_sched.races SET abandoned_at = now() WHERE race_id = $b");
	ok(wait_until(sub { sql("SELECT now() > start_time FROM racing_sched.races WHERE race_id = $a") eq 't' }, 30),
		'race A jumped before its run started');
	return ($a, $b, $run);
}

sub check_late_run
{
	my ($a, $b, $run, $missed_before, $label) = @_;
	ok(wait_until(sub { sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $run") eq 'success' }, 60),
		"$label: the late run ended");
	is(sql("SELECT metadata->'race_ids_skipped' FROM racing_sched.job_runs WHERE job_run_id = $run"),
		"[$a, $b]", "$label: it skipped both races");
	is(sql("SELECT metadata->>'race_ids_done' || ' ' || (metadata->>'race_ids_failed') || ' ' || (metadata->>'requests')
			FROM racing_sched.job_runs WHERE job_run_id = $run"),
		"[] [] 0", "$label: done none, failed none, no request");
	is(sql("SELECT metadata->'missed_race_ids' FROM racing_sched.job_runs WHERE job_run_id = $run"),
		"[$a]", "$label: the jumped race is in the run's missed_race_ids, the abandoned one is not");
	is(sql("SELECT string_agg(race_id || ':' || state || ':' || (job_run_id = $run), ',' ORDER BY race_id)
			FROM racing_sched.race_phases WHERE race_id IN ($a, $b)"),
		"$a:missed:true,$b:planned:true", "$label: race_phases: A missed, B still as planned");
	is(sql("SELECT missed_phases FROM racing_sched.job_stats WHERE job_name = 'pre_race_t15'"),
		$missed_before + 1, "$label: job_stats.missed_phases counts it once");
	is(sql("SELECT missed_total FROM racing_sched.metrics_phases WHERE phase = 'pre_race_t15'"),
		$missed_before + 1, "$label: metrics_phases.missed_total too");
	is(sql("SELECT count(*) FROM racing_sched.scrapes WHERE race_id IN ($a, $b)"), 0,
		"$label: nothing fetched late");
}

my ($a, $b, $run) = plan_late_run(1);
scheduler_enabled(1);
check_late_run($a, $b, $run, 0, '1.0');

# Another run over the same race counts nothing more.
my $again = sql("SELECT racing_sched.run_now('pre_race_t15', '{\"race_id\": $a}')");
is(sql("SELECT racing_sched.wait_for($again, '30s')"), 'success', 'run_now for the missed race ended');
is(sql("SELECT (metadata->'race_ids_skipped')::text || ' ' || (metadata ? 'missed_race_ids')::text
		FROM racing_sched.job_runs WHERE job_run_id = $again"),
	"[$a] false", 'it skipped the race without counting it again');
is(sql("SELECT missed_phases FROM racing_sched.job_stats WHERE job_name = 'pre_race_t15'"), 1,
	'still one missed phase');

# The same after the update to 1.1.
scheduler_enabled(0);
sql("ALTER EXTENSION racing_sched UPDATE TO '1.1'");
is(sql("SELECT extversion FROM pg_extension WHERE extname = 'racing_sched'"), '1.1', 'schema at 1.1');
($a, $b, $run) = plan_late_run(3);
scheduler_enabled(1);
check_late_run($a, $b, $run, 1, '1.1');
is(sql("SELECT sum(requests) FROM racing_sched.http_stats"), '', 'no request made');

$node->stop;
done_testing();
