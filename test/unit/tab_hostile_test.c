/*
 * tab_hostile_test.c
 *		tab_parse under hostile and broken input, memory exhaustion at every
 *		allocation, misuse of the API, and a full-size day for speed.
 *		Ordinary shapes are tested in the other test programs.
 */
#include <jansson.h>
#include <time.h>

#include "test_util.h"

/* Parse len bytes from an exact-size heap copy, so over-reads are caught. */
static int
parse_exact(const char *doc, size_t len, bool race, TabParseError *err)
{
	TabAllocator	a = test_allocator();
	char		   *copy = malloc(len > 0 ? len : 1);
	TabRace		   *r = NULL;
	TabMeetingList *m = NULL;
	int				rc;

	memcpy(copy, doc, len);
	if (race)
		rc = tab_parse_race(copy, len, &a, &r, err);
	else
		rc = tab_parse_meetings(copy, len, &a, &m, err);
	tab_race_free(r);
	tab_meeting_list_free(m);
	free(copy);
	return rc;
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f)
			return false;
	return true;
}

static void
rejects(const char *doc, size_t len, TabParseErrorCode code, const char *name)
{
	TabParseError err;
	int			  rc = parse_exact(doc, len, true, &err);

	if (!ok(rc == -1 && err.code == code, "%s: %s error", name,
			tab_parse_error_code_name(code)))
		diag("rc %d, code %s: %s", rc, tab_parse_error_code_name(err.code),
			 err.message);
	else
		diag("%s", err.message);
	ok(printable(err.message), "%s: message is printable ASCII", name);
	check_no_leak(name);
}

static void
test_syntax_level(void)
{
	static const char nul_escape[] = "{\"raceName\": \"a\\u0000b\"}";
	static const char raw_nul[] = "{\"raceName\": \"a\0b\"}";
	static const char bad_utf8[] = "{\"raceName\": \"caf\xc3\x28 \xff\xfe\"}";
	static const char overlong[] = "{\"raceName\": \"\xc0\xaf\"}";
	static const char surrogate[] = "{\"raceName\": \"\xed\xa0\x80\"}";
	char			 *deep;
	size_t			  i;
	size_t			  depth = 3000;

	rejects(nul_escape, sizeof(nul_escape) - 1, TAB_PARSE_SYNTAX,
			"\\u0000 in a string");
	rejects(raw_nul, sizeof(raw_nul) - 1, TAB_PARSE_SYNTAX, "raw NUL byte");
	rejects(bad_utf8, sizeof(bad_utf8) - 1, TAB_PARSE_SYNTAX, "invalid UTF-8");
	rejects(overlong, sizeof(overlong) - 1, TAB_PARSE_SYNTAX,
			"overlong UTF-8");
	rejects(surrogate, sizeof(surrogate) - 1, TAB_PARSE_SYNTAX,
			"UTF-8 surrogate");
	rejects("{\"raceNumber\": NaN}", 19, TAB_PARSE_SYNTAX, "NaN");
	rejects("{\"raceNumber\": Infinity}", 24, TAB_PARSE_SYNTAX, "Infinity");
	rejects("{\"raceNumber\": 1e400}", 21, TAB_PARSE_SYNTAX, "real overflow");
	rejects("{\"raceNumber\": 99999999999999999999}", 36, TAB_PARSE_SYNTAX,
			"integer overflow");
	rejects("{\"a\": 1, \"a\": 2}", 16, TAB_PARSE_SYNTAX, "duplicate key");
	rejects("\xef\xbb\xbf{}", 5, TAB_PARSE_SYNTAX, "byte order mark");
	rejects("{\"raceNumber\": 1", 16, TAB_PARSE_SYNTAX, "truncated");
	rejects("", 0, TAB_PARSE_SYNTAX, "empty");

	deep = malloc(2 * depth + 32);
	strcpy(deep, "{\"runners\": ");
	for (i = 0; i < depth; i++)
		strcat(deep + 12 + i, "[");
	for (i = 0; i < depth; i++)
		deep[12 + depth + i] = ']';
	deep[12 + 2 * depth] = '}';
	deep[12 + 2 * depth + 1] = '\0';
	rejects(deep, strlen(deep), TAB_PARSE_SYNTAX, "3000-deep nesting");
	free(deep);
}

/* A race document with n runners (numbers 1..n) and extra fields. */
static char *
race_with_runners(int n, const char *runner_extra)
{
	size_t size = 512 + (size_t) n * (256 + strlen(runner_extra));
	char  *doc = malloc(size);
	size_t o;
	int	   i;

	o = (size_t) snprintf(
		doc, size,
		"{\"raceNumber\": 3, \"raceStartTime\": \"2026-11-28T04:25:00.000Z\","
		" \"raceStatus\": \"Normal\", \"meeting\": {\"meetingName\": \"X\","
		" \"raceType\": \"R\", \"meetingDate\": \"2026-11-28\", "
		"\"venueMnemonic\": \"XXX\"},"
		" \"runners\": [");
	for (i = 1; i <= n; i++)
		o += (size_t) snprintf(
			doc + o, size - o,
			"%s{\"runnerNumber\": %d, \"runnerName\": \"R%d\", "
			"\"barrierNumber\": %d,"
			" \"fixedOdds\": {\"returnWin\": %d.5, \"returnPlace\": 1.9}%s}",
			i > 1 ? "," : "", i, i, i, i + 1, runner_extra);
	snprintf(doc + o, size - o, "]}");
	return doc;
}

static void
test_limits(void)
{
	char		 *doc = race_with_runners(10000, "");
	TabParseError err;
	char		 *longname;

	rejects(doc, strlen(doc), TAB_PARSE_RANGE, "10,000 runners");
	free(doc);
	doc = race_with_runners(999, "");
	ok(parse_exact(doc, strlen(doc), true, &err) == 0, "999 runners accepted");
	free(doc);

	longname = malloc(TAB_STRING_MAX + 64);
	strcpy(longname, "{\"raceNumber\": 1, \"raceName\": \"");
	memset(longname + 31, 'A', TAB_STRING_MAX + 1);
	strcpy(longname + 31 + TAB_STRING_MAX + 1, "\"}");
	rejects(longname, strlen(longname), TAB_PARSE_RANGE,
			"string over the limit");
	free(longname);

	/* an unknown field may be long, up to jansson's token cap */
	longname = malloc(70000 + 64);
	strcpy(longname, "{\"meetings\": [], \"notes\": \"");
	memset(longname + 27, 'A', 60000);
	strcpy(longname + 27 + 60000, "\"}");
	ok(parse_exact(longname, strlen(longname), false, &err) == 0,
	   "60000-byte unknown string accepted");
	memset(longname + 27, 'A', 70000);
	strcpy(longname + 27 + 70000, "\"}");
	if (!ok(parse_exact(longname, strlen(longname), false, &err) == -1 &&
				err.code == TAB_PARSE_SYNTAX && err.column == 27,
			"70000-byte token rejected before jansson"))
		diag("%s", err.message);
	check_no_leak("long tokens");
	free(longname);
}

static void
test_misuse(void)
{
	TabAllocator  a = test_allocator();
	TabAllocator  no_alloc = {NULL, NULL, NULL};
	TabParseError err;
	TabRace		 *race = NULL;
	json_malloc_t m;
	json_free_t	  f;

	ok(tab_parse_race("{}", 2, &a, NULL, &err) == -1 &&
		   err.code == TAB_PARSE_USAGE,
	   "NULL result pointer is a usage error");
	ok(tab_parse_race("{}", 2, NULL, &race, &err) == -1 &&
		   err.code == TAB_PARSE_USAGE && race == NULL,
	   "NULL allocator is a usage error");
	ok(tab_parse_race("{}", 2, &no_alloc, &race, &err) == -1 &&
		   err.code == TAB_PARSE_USAGE,
	   "allocator without alloc is a usage error");
	ok(tab_parse_race(NULL, 5, &a, &race, &err) == -1 &&
		   err.code == TAB_PARSE_USAGE,
	   "NULL buffer with a length is a usage error");
	ok(tab_parse_race(NULL, 0, &a, &race, &err) == -1 &&
		   err.code == TAB_PARSE_SYNTAX,
	   "NULL empty buffer is an empty document");
	ok(tab_parse_race("[]", 2, &a, &race, NULL) == -1,
	   "NULL error pointer tolerated");
	json_get_alloc_funcs(&m, &f);
	ok(m == malloc && f == free, "jansson allocator restored after the calls");
	check_no_leak("misuse");
}

/* An allocator that calls the parser from inside: the inner call must refuse. */
static int				 inner_rc = 0;
static TabParseErrorCode inner_code = TAB_PARSE_OK;

static void *
reentrant_alloc(void *ctx, size_t size)
{
	if (inner_rc == 0 && ((CountingAlloc *) ctx)->total == 2)
	{
		TabAllocator  a = {counting_alloc, counting_free, ctx};
		TabParseError err;
		TabRace		 *race = NULL;

		inner_rc = tab_parse_race("{}", 2, &a, &race, &err);
		inner_code = err.code;
	}
	return counting_alloc(ctx, size);
}

static void
test_reentry(void)
{
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRace		 *race = NULL;

	a.alloc = reentrant_alloc;
	tab_parse_race("{}", 2, &a, &race, &err);
	ok(inner_rc == -1 && inner_code == TAB_PARSE_USAGE, "nested call refused");
	check_no_leak("reentry");
}

/*
 * Fail the k-th allocation for every k below what the document needs: each
 * failure is a memory error of the whole document (never a crash, never a
 * partial list), and nothing is left allocated.
 */
static int
parse_counted(const char *doc, size_t len, bool race, long fail_after,
			  TabParseError *err)
{
	TabAllocator	a = test_allocator();
	TabRace		   *r = NULL;
	TabMeetingList *m = NULL;
	int				rc;

	test_ca.fail_after = fail_after;
	if (race)
		rc = tab_parse_race(doc, len, &a, &r, err);
	else
		rc = tab_parse_meetings(doc, len, &a, &m, err);
	tab_race_free(r);
	tab_meeting_list_free(m);
	return rc;
}

static void
oom_sweep(const char *doc, size_t len, bool race, const char *name)
{
	TabParseError err;
	long		  needed;
	long		  k;
	int			  bad = 0;
	int			  leaks = 0;

	parse_counted(doc, len, race, -1, &err);
	needed = test_ca.total;
	for (k = 0; k < needed; k++)
	{
		if (parse_counted(doc, len, race, k, &err) != -1 ||
			err.code != TAB_PARSE_MEMORY)
			bad++;
		if (test_ca.live != 0)
			leaks++;
	}
	ok(needed > 1, "%s: needs %ld allocations", name, needed);
	is_int(bad, 0,
		   "every allocation failure is a memory error of the whole document");
	is_int(leaks, 0, "no failure leaks");
}

/*
 * The same through a region allocator with no free, as inside the server,
 * where jansson's blocks are cut from chunks of the region: each failure is
 * still a memory error of the whole document.
 */
static void
oom_sweep_region(const char *doc, size_t len, bool race, const char *name)
{
	Region			region;
	TabAllocator	a = region_allocator(&region);
	TabParseError	err;
	TabRace		   *r = NULL;
	TabMeetingList *m = NULL;
	long			needed;
	long			k;
	int				bad = 0;

	if (race)
		tab_parse_race(doc, len, &a, &r, &err);
	else
		tab_parse_meetings(doc, len, &a, &m, &err);
	needed = region.count;
	region_release(&region);
	for (k = 0; k < needed; k++)
	{
		a = region_allocator(&region);
		region.fail_after = k;
		if ((race ? tab_parse_race(doc, len, &a, &r, &err)
				  : tab_parse_meetings(doc, len, &a, &m, &err)) != -1 ||
			err.code != TAB_PARSE_MEMORY)
			bad++;
		region_release(&region);
	}
	ok(needed >= 1, "%s, region: needs %ld blocks", name, needed);
	is_int(bad, 0,
		   "every block refused is a memory error of the whole document");
}

static void
test_out_of_memory(void)
{
	char *doc = race_with_runners(12, ", \"parimutuel\": {\"returnWin\": 3}");
	char *list =
		J("{'meetings': [{'meetingName': 'A', 'raceType': 'R', 'meetingDate': "
		  "'2026-11-28',"
		  " 'venueMnemonic': 'AAA', 'prizeMoney': '$5.00', 'races': "
		  "[{'raceNumber': 1,"
		  " 'raceStartTime': '2026-11-28T04:25:00Z', 'results': [[1],[2,3]],"
		  " 'scratchings': [{'runnerNumber': 4, 'runnerName': 'S'}]}, "
		  "{'raceNumber': 2,"
		  " 'raceStartTime': '2026-11-28T04:55:00Z'}]},"
		  " {'meetingName': 'B', 'raceType': 'G', 'meetingDate': "
		  "'2026-11-28', 'fixedOddsOnly': true,"
		  " 'races': [{'raceNumber': 1, 'matchName': 'X', 'raceStartTime': "
		  "'2026-11-28T04:25:00Z'}]}]}");

	/* a bare word longer than any token before it grows jansson's token buffer */
	static const char bare_word[] =
		"{\"meetings\": [{\"meetingName\": \"A\", "
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz}]}";
	static const char long_number[] =
		"{\"raceNumber\": 123456789012345678901234567890123456789e1x}";

	oom_sweep(doc, strlen(doc), true, "race document");
	oom_sweep(list, strlen(list), false, "meetings list");
	oom_sweep(bare_word, sizeof(bare_word) - 1, false,
			  "bare word (jansson lexer)");
	oom_sweep(long_number, sizeof(long_number) - 1, true,
			  "long number (jansson lexer)");
	oom_sweep_region(doc, strlen(doc), true, "race document");
	oom_sweep_region(list, strlen(list), false, "meetings list");
	oom_sweep_region(bare_word, sizeof(bare_word) - 1, false,
					 "bare word (jansson lexer)");
	free(doc);
	free(list);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double) (t1.tv_sec - t0->tv_sec) +
		   (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* About 0.6 MB: 110 meetings of 10 races with results and scratchings. */
static char *
big_meetings_list(void)
{
	size_t size = 2 * 1024 * 1024;
	char  *doc = malloc(size);
	size_t o = 0;
	int	   m;
	int	   r;

	o += (size_t) snprintf(doc + o, size - o, "{\"meetings\": [");
	for (m = 0; m < 110; m++)
	{
		o += (size_t) snprintf(
			doc + o, size - o,
			"%s{\"meetingName\": \"MEETING %d\", \"location\": \"NSW\", "
			"\"raceType\": \"%c\","
			" \"meetingDate\": \"2026-11-28\", \"venueMnemonic\": \"V%d\", "
			"\"prizeMoney\": \"$280000.00\","
			" \"weatherCondition\": \"FINE\", \"trackCondition\": \"GOOD4\", "
			"\"railPosition\": null,"
			" \"sellCode\": {\"meetingCode\": \"S\", \"scheduledType\": "
			"\"R\"}, \"races\": [",
			m > 0 ? "," : "", m, "RHG"[m % 3], m);
		for (r = 1; r <= 10; r++)
			o += (size_t) snprintf(
				doc + o, size - o,
				"%s{\"raceNumber\": %d, \"raceName\": \"THE RACE NUMBER %d "
				"HANDICAP OF THE DAY\","
				" \"raceClassConditions\": \"BM72\", \"raceStartTime\": "
				"\"2026-11-28T%02d:%02d:00.000Z\","
				" \"raceStatus\": \"Paying\", \"raceDistance\": 1200, "
				"\"hasFixedOdds\": true,"
				" \"hasParimutuel\": true, \"broadcastChannel\": \"Sky Racing "
				"1\","
				" \"results\": [[4], [1, 9], [], [8]], \"scratchings\": "
				"[{\"runnerNumber\": 6,"
				" \"runnerName\": \"SHADOW RUN\", \"bettingStatus\": "
				"\"LateScratched\"}],"
				" \"skyRacing\": {\"audio\": "
				"\"http://example.invalid/audio/%d/%d.mp3\","
				" \"video\": \"http://example.invalid/video/%d/%d.mp4\"}}",
				r > 1 ? "," : "", r, r, r, m % 60, m, r, m, r);
		o += (size_t) snprintf(doc + o, size - o, "]}");
	}
	snprintf(doc + o, size - o, "]}");
	return doc;
}

static void
test_full_day(void)
{
	char *list = big_meetings_list();
	char *race = race_with_runners(
		12,
		", \"trainerName\": \"A Trainer\", \"riderDriverName\": \"A Rider\","
		" \"handicapWeight\": 58.5, \"last5Starts\": \"1x234\","
		" \"parimutuel\": {\"returnWin\": 3.4, \"returnPlace\": 1.4, "
		"\"bettingStatus\": \"Open\"}");
	struct timespec t0;
	TabParseError	err;
	int				failures = 0;
	int				i;
	double			secs;

	diag("meetings list %zu bytes, race document %zu bytes", strlen(list),
		 strlen(race));
	ok(strlen(list) > 600000, "meetings list is full size");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	failures += parse_exact(list, strlen(list), false, &err) != 0;
	for (i = 0; i < 300; i++)
		failures += parse_exact(race, strlen(race), true, &err) != 0;
	secs = seconds_since(&t0);
	is_int(failures, 0, "a full day parses");
	diag("a day (one list, 300 races) in %.3f s", secs);
	ok(secs < 10.0, "a full day parses in under 10 s even instrumented");
	check_no_leak("full day");
	free(list);
	free(race);
}

/* 1000 fixed-odds-only races in one meeting: sorting keeps key checks fast. */
static void
test_many_races(void)
{
	size_t			size = 200000;
	char		   *doc = malloc(size);
	size_t			o;
	int				i;
	struct timespec t0;
	TabParseError	err;

	o = (size_t) snprintf(
		doc, size,
		"{\"meetings\": [{\"meetingName\": \"S (GBR)\", \"raceType\": \"G\","
		" \"meetingDate\": \"2026-11-28\", \"fixedOddsOnly\": true, "
		"\"races\": [");
	for (i = 0; i < 1000; i++)
		o += (size_t) snprintf(doc + o, size - o,
							   "%s{\"raceNumber\": 7, \"matchName\": \"M%d\", "
							   "\"raceStartTime\": \"2026-11-28T04:25:00Z\"}",
							   i > 0 ? "," : "", i);
	snprintf(doc + o, size - o, "]}]}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok(parse_exact(doc, strlen(doc), false, &err) == 0,
	   "1000 races of one number, distinct match names");
	ok(seconds_since(&t0) < 2.0, "in under 2 s");
	check_no_leak("many races");
	free(doc);
}

int
main(void)
{
	test_syntax_level();
	test_limits();
	test_misuse();
	test_reentry();
	test_out_of_memory();
	test_full_day();
	test_many_races();
	return done_testing();
}
