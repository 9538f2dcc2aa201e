/*
 * fuzz_cron.c
 *		libFuzzer entry point for the cron room (src/cron.c): parse any
 *		text, and for what parses, check cron_next_fire in a synthetic zone
 *		against a brute-force walk over UTC minutes.
 *
 * cron.c is built here outside the server, so the few server functions it
 * calls are provided below: civil-date arithmetic, and a zone whose offset
 * alternates between two values at a fixed period, both chosen by the
 * input (gaps and repeated hours of any width from 15 minutes to 3 hours,
 * forwards or backwards).  It aborts when a parse result or error breaks
 * the contract of cron.h, or when the next fire differs from the reference:
 * a local time fires at its first occurrence, a skipped one when its gap
 * ends, once.  The bounded run and its TAP line are in cron.mk.
 */
#include "postgres.h"

#include <stdint.h>

#include "cron.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UNIX_TO_PG_SECS ((pg_time_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

/* ------------------------------------------------ the server's part */

/* A zone whose offset is std_off, then dst_off, alternately, period long. */
struct pg_tz
{
	long		std_off;
	long		dst_off;
	pg_time_t	period;
};

const int	day_tab[2][13] = {
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0}};

/* Days from 1970-01-01 to a proleptic Gregorian date, by counting eras. */
static int64
days_from_civil(int64 y, int m, int d)
{
	int64		era;
	int64		yoe;
	int64		doy;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static void
civil_from_days(int64 z, int *y, int *m, int *d)
{
	int64		era;
	int64		doe;
	int64		yoe;
	int64		doy;
	int64		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = (int) (yoe + era * 400 + (*m <= 2));
}

int
date2j(int year, int month, int day)
{
	return (int) (days_from_civil(year, month, day) + UNIX_EPOCH_JDATE);
}

int
j2day(int jd)
{
	/* 1970-01-01 was a Thursday */
	int64		d = ((int64) jd - UNIX_EPOCH_JDATE + 4) % 7;

	return (int) (d < 0 ? d + 7 : d);
}

TimestampTz
time_t_to_timestamptz(pg_time_t tm)
{
	return (tm - UNIX_TO_PG_SECS) * USECS_PER_SEC;
}

static int64
floor_div(int64 a, int64 b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static long
zone_offset(const pg_tz *tz, pg_time_t t)
{
	return (floor_div(t, tz->period) & 1) ? tz->dst_off : tz->std_off;
}

int
pg_next_dst_boundary(const pg_time_t *timep, long int *before_gmtoff,
					 int *before_isdst, pg_time_t *boundary,
					 long int *after_gmtoff, int *after_isdst,
					 const pg_tz *tz)
{
	*before_gmtoff = zone_offset(tz, *timep);
	*before_isdst = *before_gmtoff == tz->dst_off;
	*boundary = (floor_div(*timep, tz->period) + 1) * tz->period;
	*after_gmtoff = zone_offset(tz, *boundary);
	*after_isdst = *after_gmtoff == tz->dst_off;
	return 1;
}

struct pg_tm *
pg_localtime(const pg_time_t *timep, const pg_tz *tz)
{
	static struct pg_tm tm;
	pg_time_t	local = *timep + zone_offset(tz, *timep);
	int64		days = floor_div(local, SECS_PER_DAY);
	int64		secs = local - days * SECS_PER_DAY;
	int			y;
	int			m;
	int			d;

	civil_from_days(days, &y, &m, &d);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = (int) (secs / 3600);
	tm.tm_min = (int) (secs / 60 % 60);
	tm.tm_sec = (int) (secs % 60);
	tm.tm_gmtoff = zone_offset(tz, *timep);
	return &tm;
}

/* ------------------------------------------------ the checks */

static void
require(bool cond)
{
	if (!cond)
		abort();
}

static void
check_error(const CronError *err, size_t len)
{
	size_t		i;

	require(err->position >= 0 && (size_t) err->position <= len);
	require(err->message[0] != '\0');
	for (i = 0; i < sizeof(err->message) && err->message[i] != '\0'; i++)
		require((unsigned char) err->message[i] >= 0x20 &&
				(unsigned char) err->message[i] < 0x7f);
	require(i < sizeof(err->message));
}

static void
check_schedule(const CronSchedule *s)
{
	require(s->minutes != 0 && (s->minutes >> 60) == 0);
	require(s->hours != 0 && (s->hours >> 24) == 0);
	require(s->days_of_month != 0 && (s->days_of_month & 1) == 0);
	require(s->months != 0 && (s->months & 1) == 0 && (s->months >> 13) == 0);
	require(s->days_of_week != 0 && (s->days_of_week >> 7) == 0);
}

/* Does the local minute 'local' (seconds since 1970 in local time) match? */
static bool
matches(const CronSchedule *s, pg_time_t local)
{
	int64		days = floor_div(local, SECS_PER_DAY);
	int64		secs = local - days * SECS_PER_DAY;
	int			y;
	int			m;
	int			d;
	bool		dom;
	bool		dow;

	civil_from_days(days, &y, &m, &d);
	if (!((s->minutes >> (secs / 60 % 60)) & 1) ||
		!((s->hours >> (secs / 3600)) & 1) || !((s->months >> m) & 1))
		return false;
	dom = (s->days_of_month >> d) & 1;
	dow = (s->days_of_week >> j2day(date2j(y, m, d))) & 1;
	return (s->dom_restricted && s->dow_restricted) ? (dom || dow)
													: (dom && dow);
}

/*
 * The first fire after 'after' (Unix seconds) within 'window' seconds, by
 * walking UTC minutes: fire when local time reaches a value it never had
 * before and a matching local minute lies in (highest so far, now].
 * Offsets in this zone are whole minutes, so minute steps see every change.
 */
static bool
reference_next(const CronSchedule *s, const pg_tz *tz, pg_time_t after,
			   pg_time_t window, pg_time_t *fire)
{
	pg_time_t	t = floor_div(after, 60) * 60 - 2 * SECS_PER_DAY;
	pg_time_t	highest = t + zone_offset(tz, t);

	for (t += 60; t <= after + window; t += 60)
	{
		pg_time_t	local = t + zone_offset(tz, t);
		bool		fires = false;

		if (local <= highest)
			continue;
		for (pg_time_t m = highest + 60; m <= local && !fires; m += 60)
			fires = matches(s, m);
		highest = local;
		if (fires && t > after)
		{
			*fire = t;
			return true;
		}
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long shifts[] = {15, 30, 45, 60, 90, 120, 180, -30, -60, -120};
	char	   *expr;
	CronSchedule schedule;
	CronError	err;
	struct pg_tz tz;
	pg_time_t	after;
	TimestampTz next;
	pg_time_t	expected;
	bool		found;

	if (size < 4)
		return 0;
	/* the zone and the starting time come from the first four bytes */
	tz.std_off = ((long) data[0] % 53 - 26) * 30 * 60;
	tz.dst_off = tz.std_off + shifts[data[1] % lengthof(shifts)] * 60;
	tz.period = (pg_time_t) (1 + data[2] % 40) * 6 * 3600 + (data[2] / 40) * 60;
	after = 1767225600 + (pg_time_t) data[3] * 7 * 3600 + data[3] % 7 * 17;

	expr = malloc(size - 4 + 1);
	memcpy(expr, data + 4, size - 4);
	expr[size - 4] = '\0';

	if (!cron_parse(expr, &schedule, &err))
	{
		check_error(&err, strlen(expr));
		free(expr);
		return 0;
	}
	free(expr);
	check_schedule(&schedule);

	found = cron_next_fire(&schedule, time_t_to_timestamptz(after), &tz, &next);
	/* three days of minutes: enough for most expressions to fire */
	if (reference_next(&schedule, &tz, after, 3 * SECS_PER_DAY, &expected))
	{
		require(found);
		require(next == time_t_to_timestamptz(expected));
	}
	else if (found)
	{
		require(next > time_t_to_timestamptz(after + 3 * SECS_PER_DAY - 60));
		require(next <= time_t_to_timestamptz(after + 10 * 366 * SECS_PER_DAY));
	}
	return 0;
}
