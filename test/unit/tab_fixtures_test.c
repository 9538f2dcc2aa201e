/*
 * tab_fixtures_test.c
 *		tab_parse against the real TAB responses in the shared fixtures
 *		directory ($RACING_SCHED_FIXTURES, by default ../shared/fixtures/tab
 *		beside the repository): each parses whole, with the values the
 *		captured documents hold.
 */
#include "test_util.h"

#ifndef FIXTURES_DEFAULT
#define FIXTURES_DEFAULT "../../../shared/fixtures/tab"
#endif

#define MEETINGS_FIXTURE                                                      \
	"meetings_VIC_2020-02-04_extract_paying-interim-closed.json"
#define RACE_FIXTURE "race_open_R-TRS-2018-01-21-R1_runners-odds-pools.json"
#define NEXT_TO_GO_FIXTURE "next-to-go_NSW_2018-05-28.json"

static char *
load_fixture(const char *name, size_t *len)
{
	const char *dir = getenv("RACING_SCHED_FIXTURES");
	char		path[4096];
	char	   *buf;

	if (dir == NULL || dir[0] == '\0')
		dir = FIXTURES_DEFAULT;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf = read_file(path, len);
	if (!ok(buf != NULL, "fixture %s readable", name))
		diag("cannot read %s: set RACING_SCHED_FIXTURES to the fixtures "
			 "directory",
			 path);
	return buf;
}

static const TabRaceStub *
find_race(const TabMeeting *m, int number)
{
	int i;

	for (i = 0; i < m->n_races; i++)
		if (m->races[i].race_number == number)
			return &m->races[i];
	return NULL;
}

static void
test_meetings_fixture(void)
{
	size_t			   len;
	char			  *buf = load_fixture(MEETINGS_FIXTURE, &len);
	TabAllocator	   a = test_allocator();
	TabParseError	   err;
	TabMeetingList	  *list = NULL;
	const TabRaceStub *r;
	const TabMeeting  *m;

	if (buf == NULL)
		return;
	if (!ok(tab_parse_meetings(buf, len, &a, &list, &err) == 0,
			"meetings fixture parses"))
	{
		diag("%s", err.message);
		free(buf);
		return;
	}
	is_int(list->n_meetings, 3, "three meetings");
	is_int(list->n_failures, 0, "no failures");
	if (list->n_meetings == 3)
	{
		m = &list->meetings[0];
		ok(strcmp(m->meeting_name, "GAWLER") == 0 && m->race_type == 'G' &&
			   strcmp(m->venue_mnemonic, "GAW") == 0 &&
			   strcmp(m->location, "SA") == 0,
		   "GAWLER greyhounds in SA");
		ok(m->prize_money_cents == 1107500 && m->rail_position == NULL,
		   "prize money, null rail");
		is_int(m->n_races, 12, "GAWLER has 12 races");
		r = find_race(m, 1);
		ok(r != NULL && r->status == TAB_RACE_PAYING && r->n_results == 4 &&
			   r->results[0].runner_number == 4 && r->n_scratchings == 3 &&
			   !r->scratchings[0].late,
		   "GAWLER R1 paying with results and scratchings");
		r = find_race(m, 3);
		ok(r != NULL && r->status == TAB_RACE_INTERIM && r->n_results == 4,
		   "GAWLER R3 interim");
		ok(r != NULL && r->start_time == 1580780700LL,
		   "GAWLER R3 starts 01:45Z");
		m = &list->meetings[1];
		ok(strcmp(m->meeting_name, "TOKYO CITY KEIBA") == 0 &&
			   strcmp(m->location, "JPN") == 0 && m->race_type == 'R',
		   "TOKYO CITY KEIBA thoroughbreds in JPN");
		r = find_race(m, 11);
		ok(r != NULL && r->n_scratchings == 1 && r->scratchings[0].late &&
			   r->scratchings[0].runner_number == 16,
		   "late scratching in TCY R11");
		m = &list->meetings[2];
		ok(strcmp(m->meeting_name, "MOHAWK") == 0 && m->race_type == 'H',
		   "MOHAWK harness");
		r = find_race(m, 1);
		ok(r != NULL && r->n_results == 3 && r->results[2].position == 3,
		   "MOHAWK R1 with an empty trailing group");
		r = find_race(m, 5);
		ok(r != NULL && r->status == TAB_RACE_CLOSED && r->has_results &&
			   r->n_results == 0,
		   "MOHAWK R5 closed, no results");
		ok(r != NULL && r->has_distance && r->distance_m == 1609,
		   "harness distance");
	}
	tab_meeting_list_free(list);
	check_no_leak("meetings fixture");
	free(buf);
}

static void
test_race_fixture(void)
{
	size_t		  len;
	char		 *buf = load_fixture(RACE_FIXTURE, &len);
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRace		 *race = NULL;
	int			  i;
	int			  late = 0;

	if (buf == NULL)
		return;
	if (!ok(tab_parse_race(buf, len, &a, &race, &err) == 0,
			"race fixture parses"))
	{
		diag("%s", err.message);
		free(buf);
		return;
	}
	ok(race->stub.race_number == 1 && race->stub.status == TAB_RACE_NORMAL &&
		   race->stub.distance_m == 3200,
	   "race 1, Normal, 3200 m");
	is_int(race->stub.start_time, 1516540800LL, "start 2018-01-21T13:20Z");
	ok(strcmp(race->meeting.meeting_name, "THURLES") == 0 &&
		   strcmp(race->meeting.venue_mnemonic, "TRS") == 0 &&
		   strcmp(race->meeting.location, "IRL") == 0 &&
		   race->meeting.race_type == 'R',
	   "meeting THURLES (TRS, IRL)");
	ok(race->has_prize_money && race->prize_money_cents == 1776000,
	   "prize money $17760.00");
	ok(race->has_odds_update_time && race->has_fixed_odds_update_time,
	   "odds update times");
	is_int(race->n_runners, 21, "21 runners");
	for (i = 0; i < race->n_runners; i++)
		late += race->runners[i].scratched;
	is_int(late, 4, "four late scratchings");
	if (race->n_runners == 21)
	{
		ok(race->runners[0].fixed.win == 101.0 &&
			   race->runners[0].tote.win == 0,
		   "runner 1: integer fixed price, tote 0");
		ok(race->runners[5].fixed.win == 2.25 &&
			   race->runners[5].tote.win == 22.2,
		   "runner 6: real prices");
		ok(race->runners[0].handicap_weight == 75.5 &&
			   race->runners[0].barrier == 1,
		   "runner 1 weight and barrier");
		ok(race->runners[7].fixed.has_scratched_time &&
			   race->runners[7].scratched,
		   "runner 8 late scratched with a time");
	}
	ok(race->stub.has_results && race->stub.n_results == 0 &&
		   race->n_dividends == 0,
	   "no results or dividends yet");
	tab_race_free(race);
	check_no_leak("race fixture");
	free(buf);
}

static void
test_next_to_go_fixture(void)
{
	size_t		  len;
	char		 *buf = load_fixture(NEXT_TO_GO_FIXTURE, &len);
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRaceList	 *list = NULL;

	if (buf == NULL)
		return;
	if (!ok(tab_parse_next_to_go(buf, len, &a, &list, &err) == 0,
			"next-to-go fixture parses"))
	{
		diag("%s", err.message);
		free(buf);
		return;
	}
	is_int(list->n_races, 36, "36 races");
	is_int(list->n_failures, 0, "no failures");
	if (list->n_races > 0)
	{
		const TabRace *r = &list->races[0];

		ok(r->stub.race_number == 10 &&
			   strcmp(r->meeting.venue_mnemonic, "NFP") == 0 &&
			   strcmp(r->meeting.location, "USA") == 0 &&
			   r->meeting.race_type == 'H' &&
			   r->stub.status == TAB_RACE_UNKNOWN &&
			   r->stub.status_text == NULL,
		   "first race: NORTHFIELD PARK R10, no status given");
	}
	tab_race_list_free(list);
	check_no_leak("next-to-go fixture");
	free(buf);
}

/* Through a region allocator with no free, as inside the server. */
static void
test_region_allocator(void)
{
	size_t			len;
	char		   *buf = load_fixture(MEETINGS_FIXTURE, &len);
	Region			region;
	TabAllocator	a = region_allocator(&region);
	TabParseError	err;
	TabMeetingList *list = NULL;

	if (buf == NULL)
		return;
	ok(tab_parse_meetings(buf, len, &a, &list, &err) == 0 &&
		   list->n_meetings == 3,
	   "meetings fixture through a region allocator");
	tab_meeting_list_free(list); /* a no-op without free */
	ok(region.count > 0, "region served the parse (%ld blocks)", region.count);
	region_release(&region);
	free(buf);
}

/*
 * A race document through a region allocator (jansson's blocks cut from
 * chunks, its tree never freed) reads the same as through malloc and free.
 */
static void
test_region_race(void)
{
	size_t		  len;
	char		 *buf = load_fixture(RACE_FIXTURE, &len);
	Region		  region;
	TabAllocator  ra = region_allocator(&region);
	TabAllocator  ca = test_allocator();
	TabParseError err;
	TabRace		 *a = NULL;
	TabRace		 *b = NULL;
	int			  same = 0;

	if (buf == NULL)
		return;
	if (ok(tab_parse_race(buf, len, &ca, &a, &err) == 0 &&
			   tab_parse_race(buf, len, &ra, &b, &err) == 0,
		   "race fixture through malloc and through a region"))
	{
		same = a->n_runners == b->n_runners &&
			   a->stub.start_time == b->stub.start_time &&
			   strcmp(a->meeting.meeting_name, b->meeting.meeting_name) == 0;
		for (int i = 0; same && i < a->n_runners; i++)
			same = a->runners[i].runner_number == b->runners[i].runner_number &&
				   a->runners[i].fixed.win == b->runners[i].fixed.win &&
				   a->runners[i].tote.win == b->runners[i].tote.win &&
				   a->runners[i].scratched == b->runners[i].scratched &&
				   strcmp(a->runners[i].runner_name, b->runners[i].runner_name) == 0;
	}
	ok(same, "both read the same race, runners and prices");
	ok(region.count > 0 && region.count < test_ca.total,
	   "the region served it in fewer blocks (%ld, against %ld)", region.count,
	   test_ca.total);
	tab_race_free(a);
	check_no_leak("race fixture, malloc");
	region_release(&region);
	free(buf);
}

int
main(void)
{
	test_meetings_fixture();
	test_race_fixture();
	test_next_to_go_fixture();
	test_region_allocator();
	test_region_race();
	return done_testing();
}
