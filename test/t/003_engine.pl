# The job engine with a live scheduler: run_now starts within a second;
# cron fires become one run each; cancel, timeout, errors, retries; a killed
# worker and a crashed server leave no run running; SQL jobs run as their
# owner and cannot take another role.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use RacingSched::Test;

my $node = rs_node('engine', conf => ['racing_sched.max_workers = 2', 'racing_sched.timezone = UTC']);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION racing_sched');
sub sql { $node->safe_psql('postgres', $_[0]) }
sub status_of { sql("SELECT status FROM racing_sched.job_runs WHERE job_run_id = $_[0]") }
sub wait_status
{
	my ($id, $want, $timeout) = @_;
	return wait_until(sub { status_of($id) eq $want }, $timeout // 30, "run $id $want");
}

# Custom SQL jobs with schedules that never fire during the test.
sql("SELECT racing_sched.schedule('sleepy', '0 0 1 1 *', 'SELECT pg_sleep(60)')");
sql("SELECT racing_sched.schedule('quick', '0 0 1 1 *', 'SELECT g FROM generate_series(1, 7) g')");
sql("SELECT racing_sched.schedule('broken', '0 0 1 1 *', 'SELECT 1/0')");

# run_now starts within a second, well before the 60 s heartbeat.
my $id = sql("SELECT racing_sched.run_now('quick')");
is(sql("SELECT racing_sched.wait_for($id, '10s')"), 'success', 'quick job succeeded');
cmp_ok(sql("SELECT extract(epoch FROM started_at - due_at) FROM racing_sched.job_runs WHERE job_run_id = $id"),
	'<', 1, 'run_now started within 1 s');
is(sql("SELECT items_processed || ' ' || (metadata->>'run_as') FROM racing_sched.job_runs WHERE job_run_id = $id"),
	'7 postgres', 'rows counted, run as its owner');

# An ERROR in the job: message and SQLSTATE recorded, the worker gone, the
# scheduler fine.
$id = sql("SELECT racing_sched.run_now('broken')");
is(sql("SELECT racing_sched.wait_for($id, '10s')"), 'failed', 'broken job failed');
like(sql("SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $id"),
	qr/division by zero \(SQLSTATE 22012\)/, 'error message and SQLSTATE recorded');
is(sql("SELECT metadata->>'retry_skipped' FROM racing_sched.job_runs WHERE job_run_id = $id"),
	'no retries left (0 allowed)', 'no retry without retry delays');

# Retries follow the job's delays, linked to their parent.
sql("SELECT racing_sched.alter_job('broken', retry_delays => '{1 second, 1 second}')");
$id = sql("SELECT racing_sched.run_now('broken')");
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'broken' AND status = 'failed'") == 4 }, 30),
	'a run and two retries failed');
is(sql("WITH RECURSIVE chain AS (SELECT job_run_id, retry_count, parent_job_run_id, 0 AS depth FROM racing_sched.job_runs WHERE job_run_id = $id
		UNION ALL SELECT r.job_run_id, r.retry_count, r.parent_job_run_id, c.depth + 1 FROM racing_sched.job_runs r JOIN chain c ON r.parent_job_run_id = c.job_run_id)
		SELECT string_agg(retry_count::text || ':' || depth, ',' ORDER BY depth) FROM chain"),
	'0:0,1:1,2:2', 'retry chain of parent links');
cmp_ok(sql("SELECT min(c.started_at - p.completed_at) FROM racing_sched.job_runs c JOIN racing_sched.job_runs p ON c.parent_job_run_id = p.job_run_id WHERE c.job_name = 'broken'"),
	'ge', '00:00:01', 'retries wait their delay');

# Slots: with both busy, a new run waits queued; cancel it there.
my $s1 = sql("SELECT racing_sched.run_now('sleepy')");
ok(wait_status($s1, 'running'), 'sleepy running');
sql("SELECT racing_sched.schedule('sleepy2', '0 0 1 1 *', 'SELECT pg_sleep(60)')");
my $s2 = sql("SELECT racing_sched.run_now('sleepy2')");
ok(wait_status($s2, 'running'), 'sleepy2 running');
my $queued = sql("SELECT racing_sched.run_now('quick')");
ok($node->poll_query_until('postgres', "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'racing_sched scheduler' AND state = 'idle'"),
	'scheduler idle');
is(status_of($queued), 'queued', 'no slot: the run waits');
ok(wait_until(sub { $node->log_contains('all 2 job worker slots busy') }, 10), 'full slots logged');
is(sql("SELECT racing_sched.run_now('sleepy')"), $s1, 'run_now of running work returns the running run');
is(sql("SELECT racing_sched.cancel($queued)"), 't', 'cancel a queued run');
is(status_of($queued), 'cancelled', 'cancelled');

# Cancel a running run: the worker is stopped, the run failed with who.
my $pid = sql("SELECT worker_pid FROM racing_sched.job_runs WHERE job_run_id = $s1");
is(sql("SELECT racing_sched.cancel($s1)"), 't', 'cancel a running run');
ok(wait_status($s1, 'failed', 10), 'cancelled running run failed');
is(sql("SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $s1"), 'cancelled by postgres', 'with who cancelled');
ok(wait_until(sub { sql("SELECT count(*) FROM pg_stat_activity WHERE pid = $pid") == 0 }, 10), 'its worker is gone');

# Timeout: stopped and failed after the job's timeout, then retried.  The
# retry waits an hour, so that it cannot start (and time out in turn) before
# the job's timeout is raised; then it is made due at once.
sql("SELECT racing_sched.alter_job('sleepy', timeout => '1 second', retry_delays => '{1 hour}')");
$id = sql("SELECT racing_sched.run_now('sleepy')");
ok(wait_status($id, 'failed', 15), 'timed out');
is(sql("SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $id"), 'timed out after 00:00:01', 'says so');
ok(sql("SELECT (metadata->>'retry_scheduled')::boolean FROM racing_sched.job_runs WHERE job_run_id = $id"), 'and is retried');
my $retry = sql("SELECT job_run_id FROM racing_sched.job_runs WHERE parent_job_run_id = $id");
is(sql("SELECT c.status || ' ' || (c.due_at - p.completed_at) FROM racing_sched.job_runs c"
	  . " JOIN racing_sched.job_runs p ON p.job_run_id = c.parent_job_run_id WHERE c.job_run_id = $retry"),
	'queued 01:00:00', 'the retry waits its delay');
sql("SELECT racing_sched.alter_job('sleepy', timeout => '1 hour', retry_delays => '{1 second}')");
sql("UPDATE racing_sched.job_runs SET due_at = now() WHERE job_run_id = $retry");
sql("SELECT racing_sched.wake_scheduler()");
ok(wait_status($retry, 'running'), 'the retry runs');

# pg_terminate_backend of a worker: the run fails as "worker exited
# unexpectedly" and is retried.
$pid = sql("SELECT worker_pid FROM racing_sched.job_runs WHERE job_run_id = $retry");
sql("SELECT pg_terminate_backend($pid)");
ok(wait_status($retry, 'failed'), 'terminated worker: run failed');
is(sql("SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $retry"), 'worker exited unexpectedly', 'says why');
sql("SELECT racing_sched.cancel(job_run_id) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')");
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')") == 0 }, 15),
	'all quiet');

# kill -9 of a worker mid-run: the server restarts; the run fails once as
# restarted and is retried exactly once.
sql("SELECT racing_sched.alter_job('sleepy', retry_delays => '{1 second}')");
$id = sql("SELECT racing_sched.run_now('sleepy')");
ok(wait_status($id, 'running'), 'sleepy running again');
$pid = sql("SELECT worker_pid FROM racing_sched.job_runs WHERE job_run_id = $id");
kill 'KILL', $pid;
ok(wait_until(sub {
			my ($ret, $out) = $node->psql('postgres', "SELECT status FROM racing_sched.job_runs WHERE job_run_id = $id");
			$ret == 0 && $out eq 'failed';
		}, 60), 'after the crash restart the run is failed');
like(sql("SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $id"), qr/server restarted/, 'as a restart');
$retry = sql("SELECT job_run_id FROM racing_sched.job_runs WHERE parent_job_run_id = $id");
ok($retry, 'one retry planned');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE parent_job_run_id = $id"), 1, 'exactly one');
ok(wait_status($retry, 'running'), 'the retry runs');

# pg_ctl restart -m immediate mid-run: the same.
$node->stop('immediate');
$node->start;
ok(wait_status($retry, 'failed'), 'after an immediate restart the run is failed');
like(sql("SELECT errors[1] FROM racing_sched.job_runs WHERE job_run_id = $retry"), qr/server restarted/, 'as a restart');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE status = 'running' AND job_run_id <= $retry"), 0,
	'no run of before the restart stays running');
sql("SELECT racing_sched.cancel(job_run_id) FROM racing_sched.job_runs WHERE status IN ('queued', 'running')");

# Cron: missed fires make one run; every fire once.  Keep clear of a minute
# boundary so that the fires counted are the ones set up.
ok(wait_until(sub { sql("SELECT extract(second FROM now()) < 40") }, 70), 'early in a minute');
my $t0 = sql("SELECT date_trunc('minute', now())");
sql("SELECT racing_sched.schedule('minutely', '* * * * *', 'SELECT 1')");
sql("UPDATE racing_sched.jobs SET last_fire_at = '$t0'::timestamptz - interval '10 minutes' WHERE job_name = 'minutely'");
sql("SELECT racing_sched.wake_scheduler()");
ok(wait_until(sub { sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'minutely' AND status = 'success'") >= 1 }, 30),
	'a missed cron fire ran');
is(sql("SELECT count(*) FROM racing_sched.job_runs WHERE job_name = 'minutely' AND due_at < '$t0'"),
	'0', 'the older missed fires did not run on their own');
is(sql("SELECT metadata->>'missed_fires' FROM racing_sched.job_runs WHERE job_name = 'minutely' AND due_at = '$t0'"),
	'9', 'the latest one ran, counting the nine before it');
is(sql("SELECT count(*) - count(DISTINCT due_at) FROM racing_sched.job_runs WHERE job_name = 'minutely'"), '0',
	'no fire twice');
sql("SELECT racing_sched.unschedule('minutely')");

# SQL jobs run as the role that scheduled them, and cannot become another.
sql("CREATE ROLE alice LOGIN; CREATE TABLE public.seen (who text, sess text);
   GRANT INSERT ON public.seen TO alice;
   GRANT USAGE ON SCHEMA racing_sched TO alice;
   GRANT EXECUTE ON FUNCTION racing_sched.schedule(text, text, text), racing_sched.run_now(text, jsonb),
     racing_sched.wait_for(bigint, interval), racing_sched.unschedule(text) TO alice");
my $as_alice = sub { $node->safe_psql('postgres', $_[0], extra_params => ['-U', 'alice']) };
$as_alice->("SELECT racing_sched.schedule('alice_job', '0 0 1 1 *', 'INSERT INTO public.seen SELECT current_user, session_user')");
$id = $as_alice->("SELECT racing_sched.run_now('alice_job')");
is($as_alice->("SELECT racing_sched.wait_for($id, '10s')"), 'success', 'alice\'s job ran');
is(sql("SELECT who FROM public.seen"), 'alice', 'as alice');
$as_alice->("SELECT racing_sched.schedule('alice_escape', '0 0 1 1 *', 'SET SESSION AUTHORIZATION postgres; INSERT INTO public.seen VALUES (current_user)')");
$id = $as_alice->("SELECT racing_sched.run_now('alice_escape')");
is($as_alice->("SELECT racing_sched.wait_for($id, '10s')"), 'failed',
	'a job cannot change its session authorization');
is(sql("SELECT count(*) FROM public.seen"), '1', 'nothing written by the escape attempt');
is(sql("SELECT owner FROM racing_sched.jobs WHERE job_name = 'alice_job'"), 'alice', 'owner recorded');
my ($ret, $out, $err) = $node->psql('postgres', "SELECT racing_sched.unschedule('quick')", extra_params => ['-U', 'alice']);
like($err, qr/job "quick" belongs to role "postgres"/, 'alice cannot unschedule another role\'s job');

# The scheduler never stopped through all of this but for the restarts;
# health() is degraded by the jobs that failed again and again, and by
# nothing else.
is(sql("SELECT racing_sched.health()->'scheduler'->>'state'"), 'running', 'scheduler running at the end');
is(sql("SELECT racing_sched.health()->>'status'"), 'degraded', 'health degraded at the end');
my @reasons = split /\n/, sql("SELECT jsonb_array_elements_text(racing_sched.health()->'reasons')");
ok(grep({ /^job broken failed \d+ times in a row$/ } @reasons), 'by the broken job');
is(join("\n", grep { !/^job (broken|sleepy) failed \d+ times in a row$/ } @reasons), '',
	'and by no other reason than repeatedly failing jobs');
$node->stop;
done_testing();
