/*
 * fuzz_tab_parse.c
 *		libFuzzer entry point for tab_parse: every input goes through the
 *		meetings, race and next-to-go parsers and the text helpers, once
 *		with plenty of memory and once with allocations failing part way.
 *
 * It aborts when a result breaks an invariant of tab_parse.h, when an
 * error message is not printable text, or when anything stays allocated.
 * The bounded run and its TAP line are in this directory's Makefile.
 */
#include <stdint.h>

#include "test_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
require(int cond)
{
	if (!cond)
		abort();
}

static void
check_text(const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] != '\0'; i++)
		require((unsigned char) s[i] >= 0x20 && (unsigned char) s[i] < 0x7f);
	require(i < max);
}

static void
check_parse_error(const TabParseError *err)
{
	require(err->code != TAB_PARSE_OK);
	check_text(err->message, sizeof(err->message));
	check_text(err->path, sizeof(err->path));
	require(err->path[0] == '$');
}

static void
check_stub(const TabRaceStub *r)
{
	int i;

	require(r->race_number >= 1 && r->race_number <= 100);
	require(r->n_results >= 0 && r->n_results <= 999);
	for (i = 0; i < r->n_results; i++)
		require(r->results[i].runner_number >= 1 &&
				r->results[i].runner_number <= 999 &&
				r->results[i].position >= 1 && r->results[i].position <= 999);
	for (i = 0; i < r->n_scratchings; i++)
		require(r->scratchings[i].runner_number >= 1);
	require(!r->has_distance ||
			(r->distance_m >= 0 && r->distance_m <= 10000));
}

static void
check_meeting(const TabMeeting *m, bool in_list)
{
	int i;

	require(m->meeting_name != NULL && strchr("RHG", m->race_type) != NULL &&
			m->race_type != '\0');
	require(m->meeting_date.month >= 1 && m->meeting_date.month <= 12);
	require(!in_list || m->fixed_odds_only || m->venue_mnemonic != NULL);
	for (i = 0; i < m->n_races; i++)
	{
		check_stub(&m->races[i]);
		require(!m->fixed_odds_only || m->races[i].match_name != NULL);
	}
}

static void
check_race(const TabRace *r)
{
	int i;

	check_stub(&r->stub);
	check_meeting(&r->meeting, false);
	for (i = 0; i < r->n_runners; i++)
		require(r->runners[i].runner_number >= 1 &&
				r->runners[i].runner_number <= 999 &&
				(!r->runners[i].fixed.has_win ||
				 (r->runners[i].fixed.win >= 0 &&
				  r->runners[i].fixed.win <= 1e6)));
	for (i = 0; i < r->n_dividends; i++)
		require(r->dividends[i].product != NULL);
}

static void
run_meetings(const uint8_t *data, size_t size, long fail_after)
{
	CountingAlloc	ca;
	TabAllocator	a = counting_allocator(&ca);
	TabMeetingList *list = NULL;
	TabParseError	err;
	int				i;

	ca.fail_after = fail_after;
	if (tab_parse_meetings((const char *) data, size, &a, &list, &err) == 0)
	{
		for (i = 0; i < list->n_meetings; i++)
			check_meeting(&list->meetings[i], true);
		for (i = 0; i < list->n_failures; i++)
			check_parse_error(&list->failures[i].error);
		tab_meeting_list_free(list);
	}
	else
		check_parse_error(&err);
	require(ca.live == 0);
}

static void
run_race(const uint8_t *data, size_t size, long fail_after)
{
	CountingAlloc ca;
	TabAllocator  a = counting_allocator(&ca);
	TabRace		 *race = NULL;
	TabParseError err;

	ca.fail_after = fail_after;
	if (tab_parse_race((const char *) data, size, &a, &race, &err) == 0)
	{
		check_race(race);
		tab_race_free(race);
	}
	else
		check_parse_error(&err);
	require(ca.live == 0);
}

static void
run_next_to_go(const uint8_t *data, size_t size, long fail_after)
{
	CountingAlloc ca;
	TabAllocator  a = counting_allocator(&ca);
	TabRaceList	 *list = NULL;
	TabParseError err;
	int			  i;

	ca.fail_after = fail_after;
	if (tab_parse_next_to_go((const char *) data, size, &a, &list, &err) == 0)
	{
		for (i = 0; i < list->n_races; i++)
			check_race(&list->races[i]);
		tab_race_list_free(list);
	}
	else
		check_parse_error(&err);
	require(ca.live == 0);
}

static void
run_text(const uint8_t *data, size_t size)
{
	int64_t v;
	TabDate d;

	if (tab_parse_timestamp((const char *) data, size, &v) == 0)
		require(v >= -2208988800LL - 86400 && v <= 253402300799LL + 86400);
	if (tab_parse_date((const char *) data, size, &d) == 0)
		require(d.day >= 1 && d.day <= 31 && strlen(d.text) == 10);
	if (tab_parse_money((const char *) data, size, &v) == 0)
		require(v >= 0 && v <= 1000000000000LL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a cheap hash picks where allocation fails in the second pass */
	unsigned h = 2166136261u;
	size_t	 i;
	long	 fail_after;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	fail_after = (long) (h % 512);

	run_meetings(data, size, -1);
	run_race(data, size, -1);
	run_next_to_go(data, size, -1);
	run_text(data, size);
	run_meetings(data, size, fail_after);
	run_race(data, size, fail_after);
	run_next_to_go(data, size, fail_after);
	return 0;
}
