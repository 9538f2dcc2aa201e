/*
 * tab_race_test.c
 *		Unit tests of tab_parse_race (runners, fixed and tote odds,
 *		dividends, update times) and tab_parse_next_to_go, with each error
 *		and the path it names.  Fixtures are tested elsewhere.
 */
#include "test_util.h"

#define RACE_DOC(extra)                                                       \
	"{'raceNumber': 4, 'raceName': 'PACE', 'raceStartTime': "                 \
	"'2026-11-28T04:25:00.000Z',"                                             \
	" 'raceStatus': 'Paying', 'raceDistance': 2138, 'prizeMoney': "           \
	"'$30000.00',"                                                            \
	" 'meeting': {'meetingName': 'MENANGLE', 'venueMnemonic': 'MEN', "        \
	"'meetingDate': '2026-11-28',"                                            \
	"             'location': 'NSW', 'raceType': 'H', 'weatherCondition': "   \
	"'FINE', 'trackCondition': 'GOOD'}," extra "}"

static const char *full_race = RACE_DOC(
	" 'oddsUpdateTime': '2026-11-28T04:20:00.000Z', 'fixedOddsUpdateTime': "
	"'2026-11-28T14:21:00+10:00',"
	" 'results': [[2], [1, 5], []],"
	" 'runners': ["
	"  {'runnerNumber': 1, 'runnerName': 'ALPHA', 'barrierNumber': 3, "
	"'trainerName': 'T One',"
	"   'riderDriverName': 'NOT NOTIFIED', 'handicapWeight': 0, 'emergency': "
	"false, 'vacantBox': false,"
	"   'last5Starts': '1x23', 'fixedOdds': {'returnWin': 101, 'returnPlace': "
	"12.5, 'bettingStatus': 'Placing'},"
	"   'parimutuel': {'returnWin': 0, 'returnPlace': 2.4, 'bettingStatus': "
	"'Open'}},"
	"  {'runnerNumber': 2, 'runnerName': 'BETA', 'riderDriverName': null,"
	"   'fixedOdds': {'returnWin': 2.25, 'bettingStatus': 'Winner'}},"
	"  {'runnerNumber': 3, 'runnerName': 'GAMMA', 'handicapWeight': 57.5,"
	"   'fixedOdds': {'bettingStatus': 'LateScratched', 'scratchedTime': "
	"'2026-11-28T04:00:00.000Z',"
	"                 'winDeduction': 6, 'placeDeduction': 0}},"
	"  {'runnerNumber': 5, 'runnerName': 'VACANT', 'vacantBox': true, "
	"'emergency': true,"
	"   'fixedOdds': null, 'parimutuel': null}],"
	" 'dividends': ["
	"  {'wageringProduct': 'Win', 'poolStatusCode': 'Paying',"
	"   'poolDividends': [{'selections': [2], 'amount': 3.2}]},"
	"  {'wageringProduct': 'Quinella', 'poolDividends': [{'selections': [2, "
	"1], 'amount': 14}, "
	"   {'selections': [2, 5], 'amount': 9.7}]},"
	"  {'wageringProduct': 'FirstFour', 'poolDividends': [{'selections': "
	"'SPLIT', 'amount': 0}]},"
	"  {'wageringProduct': 'Duet'}]");

static TabRace *
race_ok(const char *sq, const char *name)
{
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRace		 *race = NULL;
	char		 *doc = J(sq);
	int			  rc = tab_parse_race(doc, strlen(doc), &a, &race, &err);

	if (!ok(rc == 0 && race != NULL, "%s: parsed", name))
		diag("%s", err.message);
	free(doc);
	return rc == 0 ? race : NULL;
}

static void
test_full_race(void)
{
	TabRace		*r = race_ok(full_race, "full race");
	TabRunner	*run;
	TabDividend *d;

	if (r == NULL)
		return;
	is_int(r->stub.race_number, 4, "race number");
	is_int(r->stub.status, TAB_RACE_PAYING, "status paying");
	is_int(r->stub.start_time, 1795839900LL, "start time");
	is_str(r->meeting.meeting_name, "MENANGLE", "meeting name");
	is_str(r->meeting.venue_mnemonic, "MEN", "venue");
	is_int(r->meeting.race_type, 'H', "race type");
	is_str(r->meeting.meeting_date.text, "2026-11-28", "meeting date");
	is_str(r->meeting.track_condition, "GOOD", "track condition");
	is_int(r->meeting.n_races, 0, "meeting carries no races");
	ok(r->has_prize_money && r->prize_money_cents == 3000000,
	   "race prize money");
	ok(r->has_odds_update_time && r->odds_update_time == 1795839600LL,
	   "odds update time");
	ok(r->has_fixed_odds_update_time &&
		   r->fixed_odds_update_time == 1795839660LL,
	   "fixed odds update time with +10:00");
	is_int(r->stub.n_results, 3, "three finishers");
	if (r->stub.n_results == 3)
		ok(r->stub.results[0].position == 1 &&
			   r->stub.results[1].position == 2 &&
			   r->stub.results[2].position == 2 &&
			   r->stub.results[2].runner_number == 5,
		   "dead heat for second");
	is_int(r->n_runners, 4, "four runners");
	if (r->n_runners == 4)
	{
		run = &r->runners[0];
		is_str(run->runner_name, "ALPHA", "runner name");
		ok(run->has_barrier && run->barrier == 3, "barrier");
		is_str(run->trainer, "T One", "trainer");
		is_str(run->rider, "NOT NOTIFIED", "NOT NOTIFIED rider kept as text");
		ok(run->has_handicap_weight && run->handicap_weight == 0, "weight 0");
		is_str(run->last5, "1x23", "last five");
		ok(run->fixed.present && run->fixed.has_win && run->fixed.win == 101.0,
		   "integer fixed win price");
		ok(run->fixed.has_place && run->fixed.place == 12.5,
		   "real fixed place price");
		is_str(run->fixed.betting_status, "Placing", "fixed betting status");
		ok(run->tote.present && run->tote.has_win && run->tote.win == 0 &&
			   run->tote.place == 2.4,
		   "tote prices, 0 when no money");
		ok(!run->scratched, "runner 1 not scratched");
		run = &r->runners[1];
		is_str(run->rider, NULL, "null rider");
		ok(!run->has_barrier && !run->has_handicap_weight,
		   "absent barrier and weight");
		ok(run->fixed.present && !run->fixed.has_place,
		   "fixed odds without place");
		ok(!run->tote.present && !run->tote.has_win, "absent tote block");
		run = &r->runners[2];
		ok(run->scratched && run->fixed.has_scratched_time &&
			   run->fixed.scratched_time == 1795838400LL,
		   "late scratching with time");
		ok(run->handicap_weight == 57.5, "real weight");
		run = &r->runners[3];
		ok(run->vacant_box && run->emergency, "vacant box and emergency");
		ok(!run->fixed.present && !run->tote.present,
		   "null odds blocks read as absent");
	}
	is_int(r->n_dividends, 4, "four dividends");
	if (r->n_dividends == 4)
	{
		d = &r->dividends[0];
		is_str(d->product, "Win", "product");
		is_str(d->pool_status, "Paying", "pool status");
		ok(d->n_pool_dividends == 1 &&
			   d->pool_dividends[0].n_selections == 1 &&
			   d->pool_dividends[0].selections[0] == 2 &&
			   d->pool_dividends[0].amount == 3.2,
		   "win dividend");
		d = &r->dividends[1];
		ok(d->n_pool_dividends == 2 &&
			   d->pool_dividends[0].n_selections == 2 &&
			   d->pool_dividends[0].selections[1] == 1 &&
			   d->pool_dividends[0].amount == 14 &&
			   d->pool_dividends[1].selections[1] == 5,
		   "quinella dividends, integer amount");
		d = &r->dividends[2];
		ok(d->n_pool_dividends == 1 &&
			   d->pool_dividends[0].n_selections == 0 &&
			   d->pool_dividends[0].selections_text != NULL &&
			   strcmp(d->pool_dividends[0].selections_text, "SPLIT") == 0,
		   "selections as a string");
		d = &r->dividends[3];
		ok(d->pool_status == NULL && d->n_pool_dividends == 0,
		   "dividend without pool dividends");
	}
	tab_race_free(r);
	check_no_leak("full race");
}

static void
test_race_errors(void)
{
	race_fails("[]", TAB_PARSE_SHAPE, "$", "root array");
	race_fails(RACE_DOC("'runners': []") "x", TAB_PARSE_SYNTAX, "$",
			   "trailing text");
	race_fails("{'raceNumber': 1, 'raceStartTime': '2026-11-28T04:25:00Z'}",
			   TAB_PARSE_SHAPE, "$.meeting", "missing meeting");
	race_fails("{'raceNumber': 1, 'raceStartTime': '2026-11-28T04:25:00Z', "
			   "'meeting': 'X'}",
			   TAB_PARSE_SHAPE, "$.meeting", "meeting as string");
	race_fails("{'raceNumber': 1, 'raceStartTime': '2026-11-28T04:25:00Z', "
			   "'meeting': {'meetingName': 'X', 'raceType': 'R'}}",
			   TAB_PARSE_SHAPE, "$.meeting.meetingDate",
			   "meeting without date");
	race_fails("{'raceNumber': '1', 'raceStartTime': '2026-11-28T04:25:00Z'}",
			   TAB_PARSE_SHAPE, "$.raceNumber", "race number as string");
	race_fails(RACE_DOC("'runners': {}"), TAB_PARSE_SHAPE, "$.runners",
			   "runners as object");
	race_fails(RACE_DOC("'runners': [1]"), TAB_PARSE_SHAPE, "$.runners[0]",
			   "runner as number");
	race_fails(RACE_DOC("'runners': [{'runnerName': 'A'}]"), TAB_PARSE_SHAPE,
			   "$.runners[0].runnerNumber", "runner without number");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1000}]"),
			   TAB_PARSE_RANGE, "$.runners[0].runnerNumber",
			   "runner number 1000");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1}, {'runnerNumber': "
						"2}, {'runnerNumber': 1}]"),
			   TAB_PARSE_DUPLICATE, "$.runners[2].runnerNumber",
			   "runner number twice");
	race_fails(
		RACE_DOC("'runners': [{'runnerNumber': 1, 'barrierNumber': -1}]"),
		TAB_PARSE_RANGE, "$.runners[0].barrierNumber", "negative barrier");
	race_fails(
		RACE_DOC(
			"'runners': [{'runnerNumber': 1, 'handicapWeight': 'heavy'}]"),
		TAB_PARSE_SHAPE, "$.runners[0].handicapWeight", "weight as string");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'fixedOdds': []}]"),
			   TAB_PARSE_SHAPE, "$.runners[0].fixedOdds",
			   "fixed odds as array");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'fixedOdds': "
						"{'returnWin': '2.5'}}]"),
			   TAB_PARSE_SHAPE, "$.runners[0].fixedOdds.returnWin",
			   "price as string");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'fixedOdds': "
						"{'returnWin': 1e7}}]"),
			   TAB_PARSE_RANGE, "$.runners[0].fixedOdds.returnWin",
			   "absurd price");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'fixedOdds': "
						"{'returnWin': -1.5}}]"),
			   TAB_PARSE_RANGE, "$.runners[0].fixedOdds.returnWin",
			   "negative price");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'parimutuel': "
						"{'returnPlace': true}}]"),
			   TAB_PARSE_SHAPE, "$.runners[0].parimutuel.returnPlace",
			   "tote price as boolean");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'fixedOdds': "
						"{'scratchedTime': '2026-11-28 04:00'}}]"),
			   TAB_PARSE_FORMAT, "$.runners[0].fixedOdds.scratchedTime",
			   "bad scratched time");
	race_fails(RACE_DOC("'dividends': {}"), TAB_PARSE_SHAPE, "$.dividends",
			   "dividends as object");
	race_fails(RACE_DOC("'dividends': [{'poolDividends': []}]"),
			   TAB_PARSE_SHAPE, "$.dividends[0].wageringProduct",
			   "dividend without product");
	race_fails(RACE_DOC("'dividends': [{'wageringProduct': 'Win', "
						"'poolDividends': [{'selections': [1]}]}]"),
			   TAB_PARSE_SHAPE, "$.dividends[0].poolDividends[0].amount",
			   "dividend without amount");
	race_fails(
		RACE_DOC("'dividends': [{'wageringProduct': 'Win', 'poolDividends': "
				 "[{'selections': {}, 'amount': 1}]}]"),
		TAB_PARSE_SHAPE, "$.dividends[0].poolDividends[0].selections",
		"selections as object");
	race_fails(
		RACE_DOC("'dividends': [{'wageringProduct': 'Win', 'poolDividends': "
				 "[{'selections': [1, 0], 'amount': 1}]}]"),
		TAB_PARSE_RANGE, "$.dividends[0].poolDividends[0].selections[1]",
		"selection 0");
	race_fails(
		RACE_DOC("'dividends': [{'wageringProduct': 'Win', 'poolDividends': "
				 "[{'selections': [1], 'amount': 'x'}]}]"),
		TAB_PARSE_SHAPE, "$.dividends[0].poolDividends[0].amount",
		"amount as string");
	race_fails(RACE_DOC("'results': [[1], [1]]"), TAB_PARSE_DUPLICATE,
			   "$.results[1][0]", "finisher twice");
	race_fails(RACE_DOC("'oddsUpdateTime': '2026-11-28T04:20:00.000'"),
			   TAB_PARSE_FORMAT, "$.oddsUpdateTime",
			   "update time without zone");
	race_fails("{'raceNumber': 1, 'raceStartTime': '2026-11-28T04:25:00Z', "
			   "'prizeMoney': '$1e5',"
			   " 'meeting': {'meetingName': 'X', 'raceType': 'R', "
			   "'meetingDate': '2026-11-28'}}",
			   TAB_PARSE_FORMAT, "$.prizeMoney", "prize money with exponent");
}

/* Line and column of a shape error point at the offending value. */
static void
test_location(void)
{
	const char *sq =
		"{\n 'raceNumber': 1,\n 'raceStartTime': '2026-11-28T04:25:00Z',\n"
		" 'meeting': {'meetingName': 'X', 'raceType': 'R', 'meetingDate': "
		"'2026-11-28'},\n"
		" 'runners': [\n  {'runnerNumber': 1},\n  {'runnerNumber': 2, "
		"'fixedOdds': {'ret\\u0075rnWin': 'x'}}\n ]\n}";
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRace		 *race = NULL;
	char		 *doc = J(sq);

	ok(tab_parse_race(doc, strlen(doc), &a, &race, &err) == -1,
	   "location: rejected");
	check_error(&err, TAB_PARSE_SHAPE, "$.runners[1].fixedOdds.returnWin",
				"location");
	is_int(err.line, 7, "error on line 7");
	is_int(err.column, 55, "error at column 55 (escaped key matched)");
	ok(strstr(err.message, "(line 7, column 55)") != NULL,
	   "message has line and column");
	free(doc);

	doc = J("{'meetings': [\n{'meetingName': 'A',\n  'raceType': 'R', "
			"'meetingDate': '2026-11-28', 'venueMnemonic': 'A', 'races': "
			"[{'raceNumber': 1, 'raceStartTime': '2026-11-28T04:25:00Z', "
			"'results': [[1,\n2], [2]]}]}]}");
	{
		TabMeetingList *list = NULL;

		ok(tab_parse_meetings(doc, strlen(doc), &a, &list, &err) == 0 &&
			   list->n_failures == 1,
		   "location in list: one failure");
		if (list != NULL && list->n_failures == 1)
		{
			check_error(&list->failures[0].error, TAB_PARSE_DUPLICATE,
						"$.meetings[0].races[0].results[1][0]",
						"location in list");
			ok(list->failures[0].error.line == 4 &&
				   list->failures[0].error.column == 6,
			   "duplicate finisher located at line 4, column 6");
		}
		tab_meeting_list_free(list);
	}
	free(doc);
	check_no_leak("location");
}

static void
test_next_to_go(void)
{
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRaceList	 *list = NULL;
	char		 *doc = J("{'races': [" RACE_DOC(
				"'runners': []") ", {'raceNumber': 2, 'raceName': 'BAD'}]}");

	ok(tab_parse_next_to_go(doc, strlen(doc), &a, &list, &err) == 0,
	   "next to go: parsed");
	if (list != NULL)
	{
		ok(list->n_races == 1 && list->races[0].stub.race_number == 4 &&
			   strcmp(list->races[0].meeting.venue_mnemonic, "MEN") == 0,
		   "good race kept");
		ok(list->n_failures == 1 && list->failures[0].index == 1 &&
			   strcmp(list->failures[0].name, "BAD") == 0,
		   "bad race reported by name");
		if (list->n_failures == 1)
			check_error(&list->failures[0].error, TAB_PARSE_SHAPE,
						"$.races[1].raceStartTime", "next to go failure");
	}
	tab_race_list_free(list);
	free(doc);
	check_no_leak("next to go");
}

/* The remaining levels of both documents, each given a value of the wrong type. */
static void
test_wrong_type_every_level(void)
{
	race_fails(RACE_DOC("'scratchings': {}"), TAB_PARSE_SHAPE, "$.scratchings",
			   "scratchings as object");
	race_fails(
		RACE_DOC("'scratchings': [{'runnerNumber': 2, 'runnerName': 5}]"),
		TAB_PARSE_SHAPE, "$.scratchings[0].runnerName",
		"scratched runner name as number");
	race_fails(RACE_DOC("'dividends': ['Win']"), TAB_PARSE_SHAPE,
			   "$.dividends[0]", "dividend as string");
	race_fails(RACE_DOC("'dividends': [{'wageringProduct': 1}]"),
			   TAB_PARSE_SHAPE, "$.dividends[0].wageringProduct",
			   "product as number");
	race_fails(
		RACE_DOC(
			"'dividends': [{'wageringProduct': 'Win', 'poolDividends': {}}]"),
		TAB_PARSE_SHAPE, "$.dividends[0].poolDividends",
		"pool dividends as object");
	race_fails(RACE_DOC("'dividends': [{'wageringProduct': 'Win', "
						"'poolDividends': [3.2]}]"),
			   TAB_PARSE_SHAPE, "$.dividends[0].poolDividends[0]",
			   "pool dividend as number");
	race_fails(
		RACE_DOC(
			"'dividends': [{'wageringProduct': 'Win', 'poolStatusCode': []}]"),
		TAB_PARSE_SHAPE, "$.dividends[0].poolStatusCode",
		"pool status as array");
	race_fails(
		"{'raceNumber': 1, 'raceStartTime': '2026-11-28T04:25:00Z', "
		"'meeting': "
		"{'meetingName': 'X', 'raceType': 82, 'meetingDate': '2026-11-28'}}",
		TAB_PARSE_SHAPE, "$.meeting.raceType", "race type as number");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'emergency': 'no'}]"),
			   TAB_PARSE_SHAPE, "$.runners[0].emergency",
			   "emergency as string");
	race_fails(
		RACE_DOC("'runners': [{'runnerNumber': 1, 'last5Starts': 12345}]"),
		TAB_PARSE_SHAPE, "$.runners[0].last5Starts", "last five as number");
	race_fails(
		RACE_DOC("'runners': [{'runnerNumber': 1, 'parimutuel': 'open'}]"),
		TAB_PARSE_SHAPE, "$.runners[0].parimutuel", "tote block as string");
	race_fails(RACE_DOC("'runners': [{'runnerNumber': 1, 'fixedOdds': "
						"{'bettingStatus': false}}]"),
			   TAB_PARSE_SHAPE, "$.runners[0].fixedOdds.bettingStatus",
			   "betting status as boolean");
	race_fails(RACE_DOC("'fixedOddsUpdateTime': 1795839900"), TAB_PARSE_SHAPE,
			   "$.fixedOddsUpdateTime", "update time as number");
}

static void
test_next_to_go_shapes(void)
{
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRaceList	 *list = NULL;
	char		 *doc = J("{'races': {}}");

	ok(tab_parse_next_to_go(doc, strlen(doc), &a, &list, &err) == -1 &&
		   list == NULL,
	   "next to go: races as object rejected");
	check_error(&err, TAB_PARSE_SHAPE, "$.races",
				"next to go races as object");
	free(doc);
	doc = J("{'races': [[]]}");
	ok(tab_parse_next_to_go(doc, strlen(doc), &a, &list, &err) == 0 &&
		   list->n_failures == 1,
	   "next to go: race as array fails alone");
	if (list != NULL && list->n_failures == 1)
		check_error(&list->failures[0].error, TAB_PARSE_SHAPE, "$.races[0]",
					"next to go race as array");
	tab_race_list_free(list);
	free(doc);
	check_no_leak("next to go shapes");
}

int
main(void)
{
	test_full_race();
	test_race_errors();
	test_location();
	test_next_to_go();
	test_wrong_type_every_level();
	test_next_to_go_shapes();
	return done_testing();
}
