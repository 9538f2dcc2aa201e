/*-------------------------------------------------------------------------
 *
 * cron.h
 *	  Cron expressions: parsing and next fire time (see cron.c).
 *
 * cron.c is pure: no SPI, no table access, no ereport, and the current
 * time is always an argument.  Two wrappers for SQL callers, which raise
 * errors instead, live in sql_api.c and are declared at the end.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RACING_SCHED_CRON_H
#define RACING_SCHED_CRON_H

#include "pgtime.h"
#include "datatype/timestamp.h"

/*
 * How far ahead cron_next_fire looks before it gives up: eight years, the
 * longest distance between two February 29ths (2096 to 2104, since 2100 is
 * not a leap year).
 */
#define CRON_SEARCH_YEARS 8

/* A parsed five-field cron expression, one bit per allowed value. */
typedef struct CronSchedule
{
	uint64 minutes;		  /* bit m: minute m, 0-59 */
	uint32 hours;		  /* bit h: hour h, 0-23 */
	uint32 days_of_month; /* bit d: day d, 1-31 */
	uint16 months;		  /* bit m: month m, 1-12 */
	uint8  days_of_week;  /* bit d: weekday d, 0 (Sunday) to 6 */

	/*
	 * Whether the day-of-month and day-of-week fields are restricted, that
	 * is, do not start with '*' (crontab(5)).  When both are, a day matches
	 * if either field matches; otherwise both must match.
	 */
	bool dom_restricted;
	bool dow_restricted;
} CronSchedule;

/* Why cron_parse refused an expression. */
typedef struct CronError
{
	int	 position;			/* byte offset of the offending character */
	bool wrong_field_count; /* empty, a field missing, or too many */
	char message[160];		/* printable ASCII, e.g. "value 61 out of
							 * range 0-59 in minute field" */
} CronError;

/* cron.c: pure, never raises an error */
extern bool cron_parse(const char *expr, CronSchedule *out, CronError *err);
extern bool cron_next_fire(const CronSchedule *schedule, TimestampTz after,
						   const pg_tz *tz, TimestampTz *next);

/* sql_api.c: the same for SQL callers, raising errors with SQLSTATE 22023 */
extern void	  cron_parse_or_error(const char *expr, CronSchedule *schedule);
extern pg_tz *cron_timezone(const char *name);

#endif /* RACING_SCHED_CRON_H */
