/*
 * tab_meetings_test.c
 *		Unit tests of tab_parse_meetings: every meetings-list shape of
 *		TAB-API.md, fixed-odds-only meetings, results and scratchings, and
 *		each error with the path it names.  Fixtures are tested elsewhere.
 */
#include "test_util.h"

/* The example of TAB-API.md */
static const char *example =
	"{'meetings': [{"
	"  'meetingName': 'ROSEHILL', 'location': 'NSW', 'raceType': 'R',"
	"  'meetingDate': '2026-11-28', 'venueMnemonic': 'RHL', 'prizeMoney': "
	"'$1250000.00',"
	"  'weatherCondition': 'FINE', 'trackCondition': 'GOOD4', 'railPosition': "
	"null,"
	"  'sellCode': {'meetingCode': 'S', 'scheduledType': 'R'},"
	"  'races': ["
	"    {'raceNumber': 1, 'raceName': 'MAIDEN PLATE', 'raceClassConditions': "
	"'MDN',"
	"     'raceStartTime': '2026-11-28T01:35:00.000Z', 'raceStatus': 'Paying',"
	"     'raceDistance': 1100, 'hasFixedOdds': false, 'hasParimutuel': true,"
	"     'results': [[4], [1], [2], [8]],"
	"     'scratchings': [{'runnerNumber': 6, 'runnerName': 'SHADOW RUN', "
	"'bettingStatus': 'LateScratched'}]},"
	"    {'raceNumber': 2, 'raceName': 'BENCHMARK 72 HANDICAP', "
	"'raceClassConditions': 'BM72',"
	"     'raceStartTime': '2026-11-28T02:10:00.000Z', 'raceStatus': 'Normal',"
	"     'raceDistance': 1400, 'hasFixedOdds': true, 'hasParimutuel': true,"
	"     'results': [], 'scratchings': []}]}]}";

static TabMeetingList *
parse_ok(const char *sq, const char *name)
{
	TabAllocator	a = test_allocator();
	TabParseError	err;
	TabMeetingList *list = NULL;
	char		   *doc = J(sq);
	int				rc = tab_parse_meetings(doc, strlen(doc), &a, &list, &err);

	if (!ok(rc == 0 && list != NULL, "%s: parsed", name))
		diag("%s", err.message);
	free(doc);
	return rc == 0 ? list : NULL;
}

static void
test_example(void)
{
	TabMeetingList *list = parse_ok(example, "TAB-API example");
	TabMeeting	   *m;
	TabRaceStub	   *r;

	if (list == NULL)
		return;
	is_int(list->n_meetings, 1, "one meeting");
	is_int(list->n_failures, 0, "no failures");
	m = &list->meetings[0];
	is_str(m->meeting_name, "ROSEHILL", "meeting name");
	is_str(m->display_meeting_name, NULL, "no display name");
	is_str(m->location, "NSW", "location");
	is_int(m->race_type, 'R', "race type");
	is_str(m->meeting_date.text, "2026-11-28", "meeting date text");
	ok(m->meeting_date.year == 2026 && m->meeting_date.month == 11 &&
		   m->meeting_date.day == 28,
	   "meeting date fields");
	is_str(m->venue_mnemonic, "RHL", "venue");
	ok(!m->fixed_odds_only, "not fixed-odds-only");
	ok(m->has_prize_money, "has prize money");
	is_int(m->prize_money_cents, 125000000LL, "prize money in cents");
	is_str(m->weather_condition, "FINE", "weather");
	is_str(m->track_condition, "GOOD4", "track");
	is_str(m->rail_position, NULL, "null rail position");
	is_int(m->n_races, 2, "two races");

	r = &m->races[0];
	is_int(r->race_number, 1, "race 1 number");
	is_str(r->race_name, "MAIDEN PLATE", "race 1 name");
	is_str(r->race_class_conditions, "MDN", "race 1 class");
	is_str(r->match_name, NULL, "race 1 has no match name");
	is_int(r->start_time, 1795829700LL, "race 1 start (01:35Z)");
	is_str(r->status_text, "Paying", "race 1 status text");
	is_int(r->status, TAB_RACE_PAYING, "race 1 status");
	ok(r->has_distance && r->distance_m == 1100, "race 1 distance");
	ok(!r->has_fixed_odds && r->has_parimutuel, "race 1 odds flags");
	ok(!r->has_meeting_date, "race 1 has no own date");
	ok(r->has_results && r->n_results == 4, "race 1 four finishers");
	if (r->n_results == 4)
		ok(r->results[0].runner_number == 4 && r->results[0].position == 1 &&
			   r->results[1].runner_number == 1 &&
			   r->results[1].position == 2 &&
			   r->results[2].runner_number == 2 &&
			   r->results[2].position == 3 &&
			   r->results[3].runner_number == 8 && r->results[3].position == 4,
		   "race 1 results in order");
	is_int(r->n_scratchings, 1, "race 1 one scratching");
	if (r->n_scratchings == 1)
	{
		is_int(r->scratchings[0].runner_number, 6, "scratched runner number");
		is_str(r->scratchings[0].runner_name, "SHADOW RUN",
			   "scratched runner name");
		ok(r->scratchings[0].late, "late scratching");
	}
	r = &m->races[1];
	is_int(r->status, TAB_RACE_NORMAL, "race 2 status");
	ok(r->has_results && r->n_results == 0 && r->results == NULL,
	   "race 2 empty results");
	is_int(r->n_scratchings, 0, "race 2 no scratchings");
	ok(r->has_fixed_odds, "race 2 has fixed odds");
	tab_meeting_list_free(list);
	check_no_leak("TAB-API example");
}

#define MEETING_HEAD                                                          \
	"{'meetings': [{'meetingName': 'M', 'raceType': 'G', 'meetingDate': "     \
	"'2026-11-28', "                                                          \
	"'venueMnemonic': 'MMM', 'races': ["
#define RACE_HEAD(n)                                                          \
	"{'raceNumber': " #n ", 'raceStartTime': '2026-11-28T04:25:00.000Z', "
#define TAIL "]}]}"

static void
test_results(void)
{
	TabMeetingList *list;
	TabRaceStub	   *r;

	list =
		parse_ok(MEETING_HEAD RACE_HEAD(1) "'results': [[3,7],[],[5]]}" TAIL,
				 "dead heat");
	if (list == NULL)
		return;
	r = &list->meetings[0].races[0];
	is_int(r->n_results, 3, "dead heat: three finishers");
	if (r->n_results == 3)
	{
		ok(r->results[0].runner_number == 3 && r->results[0].position == 1,
		   "3 first");
		ok(r->results[1].runner_number == 7 && r->results[1].position == 1,
		   "7 first too");
		ok(r->results[2].runner_number == 5 && r->results[2].position == 3,
		   "5 third");
	}
	tab_meeting_list_free(list);

	list =
		parse_ok(MEETING_HEAD RACE_HEAD(1) "'results': [[5],[6],[1],[]]}" TAIL,
				 "trailing empty group");
	if (list != NULL)
	{
		r = &list->meetings[0].races[0];
		ok(r->n_results == 3 && r->results[2].position == 3,
		   "trailing empty group ignored");
		tab_meeting_list_free(list);
	}
	list = parse_ok(
		MEETING_HEAD RACE_HEAD(1) "'results': null, 'scratchings': null}" TAIL,
		"null results");
	if (list != NULL)
	{
		r = &list->meetings[0].races[0];
		ok(!r->has_results && r->n_results == 0 && r->n_scratchings == 0,
		   "null results and scratchings read as absent");
		tab_meeting_list_free(list);
	}
	check_no_leak("results");

	meeting_fails(MEETING_HEAD RACE_HEAD(1) "'results': [[3],[3]]}" TAIL,
				  TAB_PARSE_DUPLICATE, "$.meetings[0].races[0].results[1][0]",
				  "runner twice in results");
	meeting_fails(MEETING_HEAD RACE_HEAD(1) "'results': [3, 7]}" TAIL,
				  TAB_PARSE_SHAPE, "$.meetings[0].races[0].results[0]",
				  "flat results list");
	meeting_fails(MEETING_HEAD RACE_HEAD(1) "'results': [[0]]}" TAIL,
				  TAB_PARSE_RANGE, "$.meetings[0].races[0].results[0][0]",
				  "runner 0 in results");
	meeting_fails(MEETING_HEAD RACE_HEAD(1) "'results': [['4']]}" TAIL,
				  TAB_PARSE_SHAPE, "$.meetings[0].races[0].results[0][0]",
				  "runner as string in results");
	meeting_fails(MEETING_HEAD RACE_HEAD(1) "'results': {}}" TAIL,
				  TAB_PARSE_SHAPE, "$.meetings[0].races[0].results",
				  "results as object");
	meeting_fails(
		MEETING_HEAD RACE_HEAD(1) "'scratchings': [{'runnerName': 'X'}]}" TAIL,
		TAB_PARSE_SHAPE, "$.meetings[0].races[0].scratchings[0].runnerNumber",
		"scratching without runner number");
	meeting_fails(MEETING_HEAD RACE_HEAD(1) "'scratchings': [7]}" TAIL,
				  TAB_PARSE_SHAPE, "$.meetings[0].races[0].scratchings[0]",
				  "scratching as number");
}

static void
test_scratchings(void)
{
	TabMeetingList *list =
		parse_ok(MEETING_HEAD RACE_HEAD(
					 1) "'scratchings': [{'runnerNumber': 2, 'runnerName': "
						"'A', 'bettingStatus': 'Scratched'},"
						"{'runnerNumber': 3, 'bettingStatus': "
						"'LateScratched'}, {'runnerNumber': 4}]}" TAIL,
				 "scratchings");
	TabRaceStub *r;

	if (list == NULL)
		return;
	r = &list->meetings[0].races[0];
	is_int(r->n_scratchings, 3, "three scratchings");
	if (r->n_scratchings == 3)
	{
		ok(!r->scratchings[0].late && r->scratchings[1].late &&
			   !r->scratchings[2].late,
		   "late flag from bettingStatus");
		is_str(r->scratchings[0].betting_status, "Scratched",
			   "betting status kept");
		is_str(r->scratchings[1].runner_name, NULL, "absent runner name");
	}
	tab_meeting_list_free(list);
	check_no_leak("scratchings");
}

static const char *fixed_odds_only =
	"{'meetings': [{'meetingName': 'Sunderland (GBR)', 'displayMeetingName': "
	"'Sunderland',"
	" 'location': 'GBR', 'raceType': 'G', 'meetingDate': '2026-09-23', "
	"'fixedOddsOnly': true,"
	" 'races': ["
	"  {'raceNumber': 7, 'matchName': 'SUNDERLAND R07 23/09 PLC 1-2', "
	"'meetingDate': '2026-09-23',"
	"   'raceStartTime': '2026-09-23T18:07:00.000Z', 'raceStatus': 'Paying', "
	"'results': [[2],[1]],"
	"   'hasFixedOdds': true, 'hasParimutuel': false},"
	"  {'raceNumber': 7, 'matchName': 'SUNDERLAND R07 24/09', 'meetingDate': "
	"'2026-09-24',"
	"   'raceStartTime': '2026-09-24T18:07:00+00:00', 'raceStatus': 'Normal',"
	"   'hasFixedOdds': true, 'hasParimutuel': false}]}]}";

static void
test_fixed_odds_only(void)
{
	TabMeetingList *list =
		parse_ok(fixed_odds_only, "fixed-odds-only meeting");
	TabMeeting *m;

	if (list == NULL)
		return;
	is_int(list->n_meetings, 1, "fixed-odds-only: one meeting");
	m = &list->meetings[0];
	ok(m->fixed_odds_only, "fixedOddsOnly flag");
	is_str(m->venue_mnemonic, NULL, "no venue mnemonic");
	is_str(m->display_meeting_name, "Sunderland", "display meeting name");
	ok(!m->has_prize_money && m->weather_condition == NULL,
	   "no prize money, no conditions");
	is_int(m->n_races, 2, "race 7 twice");
	if (m->n_races == 2)
	{
		is_str(m->races[0].match_name, "SUNDERLAND R07 23/09 PLC 1-2",
			   "match name 1");
		is_str(m->races[1].match_name, "SUNDERLAND R07 24/09", "match name 2");
		ok(m->races[1].has_meeting_date &&
			   strcmp(m->races[1].meeting_date.text, "2026-09-24") == 0,
		   "race's own date");
		is_int(m->races[1].start_time - m->races[0].start_time, 86400,
			   "+00:00 offset read");
	}
	tab_meeting_list_free(list);
	check_no_leak("fixed-odds-only");

	meeting_fails(
		"{'meetings': [{'meetingName': 'S (GBR)', 'raceType': 'G', "
		"'meetingDate': '2026-09-23',"
		" 'fixedOddsOnly': true, 'races': [" RACE_HEAD(
			7) "'matchName': 'A'}," RACE_HEAD(7) "'matchName': 'A'}]}]}",
		TAB_PARSE_DUPLICATE, "$.meetings[0].races[1]",
		"fixed-odds-only: same race key twice");
	meeting_fails(
		"{'meetings': [{'meetingName': 'S (GBR)', 'raceType': 'G', "
		"'meetingDate': '2026-09-23',"
		" 'fixedOddsOnly': true, 'races': [" RACE_HEAD(
			7) "'matchName': 'A'}," RACE_HEAD(8) "'matchName': null}]}]}",
		TAB_PARSE_SHAPE, "$.meetings[0].races[1].matchName",
		"fixed-odds-only: race without match name");
	meeting_fails("{'meetings': [{'meetingName': 'S (GBR)', 'raceType': 'G', "
				  "'meetingDate': '2026-09-23',"
				  " 'fixedOddsOnly': true, 'races': [" RACE_HEAD(
					  7) "'matchName': ''}]}]}",
				  TAB_PARSE_FORMAT, "$.meetings[0].races[0].matchName",
				  "fixed-odds-only: empty match name");
	meeting_fails("{'meetings': [{'meetingName': 'S', 'raceType': 'G', "
				  "'meetingDate': '2026-09-23', 'races': []}]}",
				  TAB_PARSE_SHAPE, "$.meetings[0].venueMnemonic",
				  "ordinary meeting without venue");
	meeting_fails("{'meetings': [{'meetingName': 'S', 'raceType': 'G', "
				  "'meetingDate': '2026-09-23',"
				  " 'fixedOddsOnly': 'yes', 'races': []}]}",
				  TAB_PARSE_SHAPE, "$.meetings[0].fixedOddsOnly",
				  "fixedOddsOnly as string");
}

/* One good, one bad, one good: the bad one fails alone. */
static void
test_partial_list(void)
{
	TabMeetingList *list =
		parse_ok("{'meetings': ["
				 "{'meetingName': 'A', 'raceType': 'R', 'meetingDate': "
				 "'2026-11-28', 'venueMnemonic': 'AAA'},"
				 "{'meetingName': 'B', 'raceType': 'R', 'meetingDate': "
				 "'2026-11-28', 'venueMnemonic': 'BBB',"
				 " 'races': [{'raceNumber': 1, 'raceStartTime': 5}]},"
				 "{'meetingName': 'C', 'raceType': 'H', 'meetingDate': "
				 "'2026-11-28', 'venueMnemonic': 'CCC', 'races': []},"
				 "'junk'"
				 "]}",
				 "partial list");
	TabItemFailure *f;

	if (list == NULL)
		return;
	is_int(list->n_meetings, 2, "two good meetings kept");
	is_int(list->n_failures, 2, "two failures");
	if (list->n_meetings == 2)
	{
		is_str(list->meetings[0].meeting_name, "A", "first good meeting");
		is_str(list->meetings[1].meeting_name, "C", "second good meeting");
		ok(list->meetings[0].n_races == 0 && list->meetings[0].races == NULL,
		   "absent races read as none");
	}
	if (list->n_failures == 2)
	{
		f = &list->failures[0];
		is_int(f->index, 1, "failure index");
		is_str(f->name, "B", "failure names the meeting");
		check_error(&f->error, TAB_PARSE_SHAPE,
					"$.meetings[1].races[0].raceStartTime", "failure path");
		ok(strstr(f->error.message, "expected string, found integer") != NULL,
		   "failure message says what was wrong");
		ok(f->error.line == 1 && f->error.column > 1,
		   "failure located on line 1");
		f = &list->failures[1];
		ok(f->index == 3 && f->name == NULL,
		   "non-object meeting fails without a name");
		check_error(&f->error, TAB_PARSE_SHAPE, "$.meetings[3]",
					"non-object meeting");
	}
	tab_meeting_list_free(list);
	check_no_leak("partial list");
}

#define M1(fields)                                                            \
	"{'meetings': [{'meetingName': 'M', 'raceType': 'R', 'meetingDate': "     \
	"'2026-11-28', "                                                          \
	"'venueMnemonic': 'MMM', " fields "}]}"

static void
test_meeting_errors(void)
{
	meeting_fails("{'meetings': [{'raceType': 'R', 'meetingDate': "
				  "'2026-11-28', 'venueMnemonic': 'M'}]}",
				  TAB_PARSE_SHAPE, "$.meetings[0].meetingName",
				  "missing meeting name");
	meeting_fails("{'meetings': [{'meetingName': 7, 'raceType': 'R', "
				  "'meetingDate': '2026-11-28', 'venueMnemonic': 'M'}]}",
				  TAB_PARSE_SHAPE, "$.meetings[0].meetingName",
				  "meeting name as number");
	meeting_fails("{'meetings': [{'meetingName': 'M', 'raceType': 'X', "
				  "'meetingDate': '2026-11-28', 'venueMnemonic': 'M'}]}",
				  TAB_PARSE_FORMAT, "$.meetings[0].raceType", "race type X");
	meeting_fails("{'meetings': [{'meetingName': 'M', 'raceType': 'RR', "
				  "'meetingDate': '2026-11-28', 'venueMnemonic': 'M'}]}",
				  TAB_PARSE_FORMAT, "$.meetings[0].raceType", "race type RR");
	meeting_fails("{'meetings': [{'meetingName': 'M', 'raceType': 'R', "
				  "'meetingDate': '2026-13-28', 'venueMnemonic': 'M'}]}",
				  TAB_PARSE_RANGE, "$.meetings[0].meetingDate", "month 13");
	meeting_fails("{'meetings': [{'meetingName': 'M', 'raceType': 'R', "
				  "'meetingDate': '99999-11-28', 'venueMnemonic': 'M'}]}",
				  TAB_PARSE_FORMAT, "$.meetings[0].meetingDate", "year 99999");
	meeting_fails("{'meetings': [{'meetingName': 'M', 'raceType': 'R', "
				  "'meetingDate': null, 'venueMnemonic': 'M'}]}",
				  TAB_PARSE_SHAPE, "$.meetings[0].meetingDate",
				  "null meeting date");
	meeting_fails(M1("'prizeMoney': 'lots'"), TAB_PARSE_FORMAT,
				  "$.meetings[0].prizeMoney", "prize money text");
	meeting_fails(M1("'prizeMoney': -5"), TAB_PARSE_RANGE,
				  "$.meetings[0].prizeMoney", "negative prize money");
	meeting_fails(M1("'prizeMoney': true"), TAB_PARSE_SHAPE,
				  "$.meetings[0].prizeMoney", "prize money boolean");
	meeting_fails(M1("'trackCondition': ['GOOD']"), TAB_PARSE_SHAPE,
				  "$.meetings[0].trackCondition", "track condition array");
	meeting_fails(M1("'races': {}"), TAB_PARSE_SHAPE, "$.meetings[0].races",
				  "races as object");
	meeting_fails(
		M1("'races': [" RACE_HEAD(1) "'raceStatus': 'Normal'}, " RACE_HEAD(
			1) "'raceStatus': 'Normal'}]"),
		TAB_PARSE_DUPLICATE, "$.meetings[0].races[1]", "race number twice");
	meeting_fails(M1("'races': [" RACE_HEAD(0) "'raceStatus': 'Normal'}]"),
				  TAB_PARSE_RANGE, "$.meetings[0].races[0].raceNumber",
				  "race number 0");
	meeting_fails(M1("'races': [" RACE_HEAD(-1) "'raceStatus': 'Normal'}]"),
				  TAB_PARSE_RANGE, "$.meetings[0].races[0].raceNumber",
				  "negative race number");
	meeting_fails(M1("'races': [" RACE_HEAD(101) "'raceStatus': 'Normal'}]"),
				  TAB_PARSE_RANGE, "$.meetings[0].races[0].raceNumber",
				  "race number 101");
	meeting_fails(M1("'races': [" RACE_HEAD(1.0) "'raceStatus': 'Normal'}]"),
				  TAB_PARSE_SHAPE, "$.meetings[0].races[0].raceNumber",
				  "race number as real");
	meeting_fails(M1("'races': [{'raceNumber': 1}]"), TAB_PARSE_SHAPE,
				  "$.meetings[0].races[0].raceStartTime",
				  "missing start time");
	meeting_fails(M1("'races': [{'raceNumber': 1, 'raceStartTime': "
					 "'2026-11-28T04:25:00'}]"),
				  TAB_PARSE_FORMAT, "$.meetings[0].races[0].raceStartTime",
				  "start time without zone");
	meeting_fails(M1("'races': [{'raceNumber': 1, 'raceStartTime': "
					 "'2026-02-30T04:25:00Z'}]"),
				  TAB_PARSE_RANGE, "$.meetings[0].races[0].raceStartTime",
				  "February 30");
	meeting_fails(M1("'races': [" RACE_HEAD(1) "'raceDistance': 10001}]"),
				  TAB_PARSE_RANGE, "$.meetings[0].races[0].raceDistance",
				  "distance 10001");
	meeting_fails(M1("'races': [" RACE_HEAD(1) "'raceStatus': 3}]"),
				  TAB_PARSE_SHAPE, "$.meetings[0].races[0].raceStatus",
				  "status as number");
	meeting_fails(M1("'races': [" RACE_HEAD(1) "'hasFixedOdds': 'true'}]"),
				  TAB_PARSE_SHAPE, "$.meetings[0].races[0].hasFixedOdds",
				  "flag as string");
	meeting_fails(M1("'races': ['R1']"), TAB_PARSE_SHAPE,
				  "$.meetings[0].races[0]", "race as string");
}

static void
test_optional_and_unknown(void)
{
	TabMeetingList *list = parse_ok(
		M1("'location': null, 'weatherCondition': null, 'prizeMoney': null,"
		   " 'futureField': {'a': [1, {'b': null}]}, 'races': [" RACE_HEAD(
			   3) "'raceStatus': 'Delayed', 'raceName': null, 'hasFixedOdds': "
				  "null, 'raceDistance': null,"
				  " 'meetingDate': null, 'another': 1e300}]"),
		"nulls and unknown keys");
	TabRaceStub *r;

	if (list == NULL)
		return;
	r = &list->meetings[0].races[0];
	ok(list->meetings[0].location == NULL &&
		   !list->meetings[0].has_prize_money,
	   "null meeting fields read as absent");
	ok(r->status == TAB_RACE_UNKNOWN && strcmp(r->status_text, "Delayed") == 0,
	   "unknown status kept verbatim");
	ok(r->race_name == NULL && !r->has_fixed_odds && !r->has_distance &&
		   !r->has_meeting_date,
	   "null race fields read as absent");
	tab_meeting_list_free(list);

	list = parse_ok(M1("'prizeMoney': 17760, 'races': [{'raceNumber': 1, "
					   "'raceStartTime': '2026-11-28T14:25:00.000+10:00'}]"),
					"numeric prize money and +10:00");
	if (list != NULL)
	{
		is_int(list->meetings[0].prize_money_cents, 1776000,
			   "numeric prize money");
		is_int(list->meetings[0].races[0].start_time, 1795839900LL,
			   "+10:00 converted to UTC");
		tab_meeting_list_free(list);
	}
	list = parse_ok("{'meetings': []}", "empty list");
	if (list != NULL)
	{
		ok(list->n_meetings == 0 && list->n_failures == 0,
		   "empty list has nothing");
		tab_meeting_list_free(list);
	}
	check_no_leak("optional and unknown");
}

static void
test_document_errors(void)
{
	meetings_fail("{}", TAB_PARSE_SHAPE, "$.meetings", "no meetings key");
	meetings_fail("{'meetings': null}", TAB_PARSE_SHAPE, "$.meetings",
				  "null meetings");
	meetings_fail("{'meetings': {}}", TAB_PARSE_SHAPE, "$.meetings",
				  "meetings as object");
	meetings_fail("[]", TAB_PARSE_SHAPE, "$", "top-level array");
	meetings_fail("", TAB_PARSE_SYNTAX, "$", "empty body");
	meetings_fail("{'meetings': [", TAB_PARSE_SYNTAX, "$", "truncated");
	meetings_fail("<html>503</html>", TAB_PARSE_SYNTAX, "$",
				  "HTML error page");
	meetings_fail("{'meetings': []} x", TAB_PARSE_SYNTAX, "$",
				  "trailing garbage");
	meetings_fail("{'meetings': [], 'meetings': []}", TAB_PARSE_SYNTAX, "$",
				  "duplicate key");
}

int
main(void)
{
	test_example();
	test_results();
	test_scratchings();
	test_fixed_odds_only();
	test_partial_list();
	test_meeting_errors();
	test_optional_and_unknown();
	test_document_errors();
	return done_testing();
}
