#!/usr/bin/perl
# Runs TAP test files (Perl .pl, pgTAP .sql, executables) with TAP::Harness
# and appends "passed failed" to the counts file.  A file that dies, exits
# non-zero or runs fewer tests than it planned counts as one more failure
# when none of its assertions failed.
#
# usage: harness.pl COUNTS_FILE [--pgtap dbname=D,port=P,host=H,username=U] [--timer] FILE...
use strict;
use warnings;
use TAP::Harness;

my $counts_file = shift @ARGV or die "usage: harness.pl COUNTS_FILE [--pgtap opts] FILE...\n";
my %pgtap;
my @files;
while (@ARGV)
{
	my $arg = shift @ARGV;
	if ($arg eq '--pgtap')
	{
		%pgtap = map { split /=/, $_, 2 } split /,/, shift @ARGV;
	}
	else
	{
		push @files, $arg;
	}
}
exit 0 unless @files;

my %sources = (Perl => {}, Executable => {});
$sources{pgTAP} = { %pgtap, suffix => '.sql' } if %pgtap;
my $harness = TAP::Harness->new({
	verbosity => $ENV{TEST_VERBOSE} ? 1 : 0,
	timer => 1,
	color => 0,
	sources => \%sources,
	exec => sub {
		my ($h, $file) = @_;
		return undef if $file =~ /\.(pl|sql)$/;
		return [$file];
	},
});
my $agg = $harness->runtests(@files);

my $failed = scalar($agg->failed);
my $passed = scalar($agg->passed);
for my $desc ($agg->descriptions)
{
	my ($parser) = $agg->parsers($desc);
	next if $parser->failed;
	$failed++ if $parser->has_problems || $parser->tests_run != ($parser->tests_planned // 0)
	  || $parser->exit || $parser->wait;
}
open my $fh, '>>', $counts_file or die "cannot write $counts_file: $!\n";
print $fh "$passed $failed\n";
close $fh;
exit($failed ? 1 : 0);
