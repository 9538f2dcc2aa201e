/*
 * tab_text_test.c
 *		Unit tests of tab_parse's pure text helpers: timestamps, dates,
 *		money and race status names.  Documents are tested elsewhere.
 */
#include "test_util.h"

static void
ts_ok(const char *s, long long want)
{
	int64_t got = -1;
	int		rc = tab_parse_timestamp(s, strlen(s), &got);

	if (!ok(rc == 0 && got == want, "timestamp %s is %lld", s, want))
		diag("rc %d, got %lld", rc, (long long) got);
}

static void
ts_bad(const char *s)
{
	int64_t got = 0;

	ok(tab_parse_timestamp(s, strlen(s), &got) == -1,
	   "timestamp \"%s\" rejected", s);
}

static void
date_ok(const char *s, int y, int m, int d)
{
	TabDate date;
	int		rc = tab_parse_date(s, strlen(s), &date);

	ok(rc == 0 && date.year == y && date.month == m && date.day == d &&
		   strcmp(date.text, s) == 0,
	   "date %s", s);
}

static void
date_bad(const char *s)
{
	TabDate date;

	ok(tab_parse_date(s, strlen(s), &date) == -1, "date \"%s\" rejected", s);
}

static void
money_ok(const char *s, long long cents)
{
	int64_t got = -1;
	int		rc = tab_parse_money(s, strlen(s), &got);

	if (!ok(rc == 0 && got == cents, "money %s is %lld cents", s, cents))
		diag("rc %d, got %lld", rc, (long long) got);
}

static void
money_bad(const char *s)
{
	int64_t got = 0;

	ok(tab_parse_money(s, strlen(s), &got) == -1, "money \"%s\" rejected", s);
}

static void
test_timestamps(void)
{
	/* 2026-11-28T04:25:00Z = 1795839900 */
	ts_ok("2026-11-28T04:25:00.000Z", 1795839900LL);
	ts_ok("2026-11-28T04:25:00Z", 1795839900LL);
	ts_ok("2026-11-28T04:25:00.123456789Z", 1795839900LL);
	ts_ok("2026-11-28T04:25:00+00:00", 1795839900LL);
	ts_ok("2026-11-28T14:25:00.000+10:00", 1795839900LL);
	ts_ok("2026-11-28T15:25:00+1100", 1795839900LL);
	ts_ok("2026-11-27T23:25:00-05:00", 1795839900LL);
	ts_ok("1970-01-01T00:00:00Z", 0);
	ts_ok("1969-12-31T23:59:59Z", -1);
	ts_ok("2024-02-29T00:00:00Z", 1709164800LL);
	ts_ok("1900-01-01T00:00:00Z", -2208988800LL);
	ts_ok("9999-12-31T23:59:59Z", 253402300799LL);
	ts_bad("2026-11-28T04:25:00"); /* no zone */
	ts_bad("2026-11-28T04:25:00.000");
	ts_bad("2026-11-28 04:25:00Z");
	ts_bad("2026-11-28T04:25Z");
	ts_bad("2026-11-28T04:25:00.Z");
	ts_bad("2026-11-28T04:25:00.0000000000Z");
	ts_bad("2026-11-28T04:25:00+10");
	ts_bad("2026-11-28T04:25:00+10:00x");
	ts_bad("2026-11-28T04:25:00ZZ");
	ts_bad("2026-13-28T04:25:00Z");
	ts_bad("2026-02-29T04:25:00Z");
	ts_bad("2026-11-31T04:25:00Z");
	ts_bad("2026-11-28T24:00:00Z");
	ts_bad("2026-11-28T23:60:00Z");
	ts_bad("2026-11-28T23:59:60Z");
	ts_bad("2026-11-28T04:25:00+24:00");
	ts_bad("1899-12-31T23:59:59Z");
	ts_bad("99999-01-01T00:00:00Z");
	ts_bad("");
	ts_bad("2026");
	ts_bad("-026-11-28T04:25:00Z");
	ts_bad("2026-11-28T04:25:00\xc3\xa9");
}

static void
test_dates(void)
{
	date_ok("2026-11-28", 2026, 11, 28);
	date_ok("2024-02-29", 2024, 2, 29);
	date_ok("2000-02-29", 2000, 2, 29);
	date_bad("1900-02-29");
	date_bad("2026-13-01");
	date_bad("2026-00-01");
	date_bad("2026-01-00");
	date_bad("2026-04-31");
	date_bad("99999-01-01");
	date_bad("0999-01-01");
	date_bad("2026-1-01");
	date_bad("2026-01-01T00:00:00Z");
	date_bad("2026/01/01");
	date_bad("");
}

static void
test_money(void)
{
	money_ok("$280000.00", 28000000LL);
	money_ok("$11075.00", 1107500LL);
	money_ok("$1,250,000.50", 125000050LL);
	money_ok("17760", 1776000LL);
	money_ok("$0.5", 50);
	money_ok("$0", 0);
	money_ok("$10000000000.00", 1000000000000LL);
	money_bad("$10000000001.00");
	money_bad("$99999999999999999999999.00");
	money_bad("");
	money_bad("$");
	money_bad("$.50");
	money_bad("-$5.00");
	money_bad("$-5.00");
	money_bad("$5.");
	money_bad("$5.001");
	money_bad("$5.00 ");
	money_bad("five dollars");
}

static void
test_status(void)
{
	static const struct
	{
		const char	 *text;
		TabRaceStatus want;
	} cases[] = {
		{"Normal", TAB_RACE_NORMAL},   {"Open", TAB_RACE_NORMAL},
		{"Closed", TAB_RACE_CLOSED},   {"Interim", TAB_RACE_INTERIM},
		{"Paying", TAB_RACE_PAYING},   {"Final", TAB_RACE_PAYING},
		{"Resulted", TAB_RACE_PAYING}, {"Abandoned", TAB_RACE_ABANDONED},
		{"PAYING", TAB_RACE_PAYING},   {"Delayed", TAB_RACE_UNKNOWN},
		{"", TAB_RACE_UNKNOWN},		   {"Pay", TAB_RACE_UNKNOWN},
		{"Payingx", TAB_RACE_UNKNOWN},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ok(tab_race_status_from_text(cases[i].text) == cases[i].want,
		   "status \"%s\" is %s", cases[i].text,
		   tab_race_status_name(cases[i].want));
	ok(tab_race_status_from_text(NULL) == TAB_RACE_UNKNOWN,
	   "absent status is unknown");
	is_str(tab_parse_error_code_name(TAB_PARSE_SHAPE), "shape",
		   "error code names");
}

int
main(void)
{
	test_timestamps();
	test_dates();
	test_money();
	test_status();
	return done_testing();
}
