# RacingSched::Sim: the TAB simulator's control API and the checks that
# compare the racing tables with the day it serves, for the TAP suites that
# crash, stop, fail over or upgrade a server in the middle of its work.
# Starting the simulator and clusters lives in RacingSched::Test.
package RacingSched::Sim;

use strict;
use warnings;
use Exporter 'import';
use HTTP::Tiny;
use JSON::PP;

our @EXPORT = qw(sim_new race_key_sql racing_problems);

my $http = HTTP::Tiny->new(timeout => 10);

# A handle on the simulator listening on $port.
sub sim_new
{
	my ($port) = @_;
	return bless { ctl => "http://127.0.0.1:$port/_control" }, __PACKAGE__;
}

sub get
{
	my ($self, $what) = @_;
	my $r = $http->get("$self->{ctl}/$what");
	die "GET $what: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content});
}

sub post
{
	my ($self, $what, $body) = @_;
	my $r = $http->post("$self->{ctl}/$what",
		{ content => encode_json($body), headers => { 'Content-Type' => 'application/json' } });
	die "POST $what: $r->{status} $r->{content}" unless $r->{success};
	return decode_json($r->{content});
}

sub fault { my ($self, @rules) = @_; return $self->post('faults', [@rules]); }

sub clear_faults
{
	my ($self) = @_;
	my $r = $http->request('DELETE', "$self->{ctl}/faults");
	die "DELETE faults: $r->{status}" unless $r->{success};
}

# The day's races, each with its meeting and its key (see race_key_sql).
sub races
{
	my ($self) = @_;
	my $day = $self->get('day');
	my @races;
	for my $m (@{ $day->{meetings} })
	{
		for my $r (@{ $m->{races} })
		{
			$r->{meeting} = $m;
			$r->{key} = $m->{fixedOddsOnly}
			  ? "$m->{raceType}|$m->{meetingName}|$r->{matchName}"
			  : "$m->{raceType}|$m->{venueMnemonic}|$r->{raceNumber}";
			push @races, $r;
		}
	}
	return sort { $a->{start} <=> $b->{start} || $a->{id} cmp $b->{id} } @races;
}

# SQL naming a stored race the way the simulator's races are keyed: race
# type, venue (or meeting name) and number (or match name).  Needs races r
# joined to meetings m.
sub race_key_sql
{
	return "m.race_type || '|' || CASE WHEN m.venue_mnemonic IS NULL"
	  . " THEN m.meeting_name || '|' || r.match_name"
	  . " ELSE m.venue_mnemonic || '|' || r.race_number END";
}

# What is wrong with the racing tables against the simulator's day: natural
# keys stored twice, races unknown to the day, runners of a fetched race or
# odds of a snapshot that are not exactly the document's runners (a
# snapshot without its odds among them), a race not yet fetched holding
# more than the scratchings of the meetings list, a race with two snapshots
# of one pre-race phase.  An empty list is a consistent database.
sub racing_problems
{
	my ($node, $db, $sim_races) = @_;
	my %runners = map { $_->{key} => $_->{runners} } @$sim_races;
	my @problems;
	my $q = sub { $node->safe_psql($db, $_[0]) };
	my $key = race_key_sql();

	for my $dup (
		[ 'meeting', "SELECT meeting_date || ' ' || race_type || ' ' || coalesce(venue_mnemonic, meeting_name)
			FROM racing_sched.meetings GROUP BY meeting_date, race_type, coalesce(venue_mnemonic, meeting_name)
			HAVING count(*) > 1" ],
		[ 'race', "SELECT $key FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)
			GROUP BY 1 HAVING count(*) > 1" ],
		[ 'runner', "SELECT race_id || '/' || runner_number FROM racing_sched.runners
			GROUP BY race_id, runner_number HAVING count(*) > 1" ],
		[ 'odds row', "SELECT scrape_id || '/' || runner_number FROM racing_sched.odds
			GROUP BY scrape_id, runner_number HAVING count(*) > 1" ],
		[ 'phase snapshot', "SELECT race_id || ' ' || scrape_type FROM racing_sched.scrapes
			WHERE scrape_type IN ('pre_race_t60', 'pre_race_t15') GROUP BY race_id, scrape_type HAVING count(*) > 1" ])
	{
		my ($what, $sql) = @$dup;
		push @problems, map { "$what stored twice: $_" } grep { $_ ne '' } split /\n/, $q->($sql);
	}

	# per race: runners stored, and rows of each odds snapshot
	my $rows = $q->("SELECT $key, r.race_id,
			(SELECT count(*) FROM racing_sched.runners u WHERE u.race_id = r.race_id),
			(SELECT count(*) FROM racing_sched.runners u WHERE u.race_id = r.race_id AND u.scratched),
			coalesce((SELECT string_agg(s.scrape_type || '=' ||
					(SELECT count(*) FROM racing_sched.odds o WHERE o.scrape_id = s.scrape_id), ','
					ORDER BY s.scrape_id)
				FROM racing_sched.scrapes s WHERE s.race_id = r.race_id AND s.scrape_type <> 'morning_scrape'), '')
		FROM racing_sched.races r JOIN racing_sched.meetings m USING (meeting_id)");
	for my $line (split /\n/, $rows)
	{
		# the key itself holds two bars
		my ($k, $id, $nrunners, $scratched, $snaps) =
		  ($line =~ /^(.*?\|.*?\|.*?)\|(\d+)\|(\d+)\|(\d+)\|(.*)$/);
		if (!exists $runners{$k})
		{
			push @problems, "race $id ($k) is not a race of the day";
			next;
		}
		my $want = $runners{$k};
		# before its document is fetched a race holds only the scratchings
		# of the meetings list
		if ($snaps ne '')
		{
			push @problems, "race $id ($k): $nrunners runners stored, the document has $want"
			  if $nrunners != $want;
		}
		elsif ($nrunners > 0 && $nrunners != $scratched)
		{
			push @problems, "race $id ($k): runners other than scratchings stored without its document";
		}
		for my $snap (grep { $_ ne '' } split /,/, $snaps)
		{
			my ($type, $n) = split /=/, $snap;
			push @problems, "race $id ($k): a $type snapshot holds $n odds rows, the document has $want runners"
			  if $n != $want;
		}
	}
	return @problems;
}

1;
