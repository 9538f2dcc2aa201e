/*-------------------------------------------------------------------------
 *
 * cron.c
 *	  Cron expressions: parse the five fields, find the next fire time.
 *
 * This room is pure.  It never touches a table, never calls SPI, never
 * raises an error and never reads the clock: the caller passes the time to
 * start from and the time zone, and gets back a result or a CronError that
 * it may turn into an ereport (sql_api.c) or a log line (the scheduler).
 * Turning job rows into fires lives in scheduler.c, not here.
 *
 * Syntax: minute hour day-of-month month day-of-week, each a comma list of
 * '*', 'n', 'a-b', each optionally followed by '/step' ('n/step' means n to
 * the end of the field).  Months and weekdays also take three-letter English
 * names, case-insensitively; 0 and 7 are both Sunday.  When both day fields
 * are restricted (do not start with '*'), a day matches if either does
 * (crontab(5)).  The macros @yearly, @annually, @monthly, @weekly, @daily,
 * @midnight and @hourly stand for their usual expressions.
 *
 * Fire times are evaluated in local wall-clock time of the given zone.  A
 * local time that does not exist (spring forward) fires at the first instant
 * after the gap, once however many matching times fell into the gap; a
 * local time that happens twice (fall back) fires at its first occurrence
 * only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "port/pg_bitutils.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "cron.h"

/* One of the five fields: its name, its range and its names if any. */
typedef struct CronField
{
	const char		  *name;			 /* as shown in error messages */
	int				   min;				 /* lowest value */
	int				   max;				 /* highest value that '*' covers */
	int				   max_value;		 /* highest value one may write */
	const char *const *names;			 /* three-letter names, or NULL */
	int				   first_name_value; /* value of names[0] */
} CronField;

/* clang-format off */
static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};

static const char *const weekday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};
/* clang-format on */

enum
{
	FIELD_MINUTE,
	FIELD_HOUR,
	FIELD_DAY_OF_MONTH,
	FIELD_MONTH,
	FIELD_DAY_OF_WEEK,
	NUM_FIELDS
};

static const CronField cron_fields[NUM_FIELDS] = {
	{"minute", 0, 59, 59, NULL, 0},
	{"hour", 0, 23, 23, NULL, 0},
	{"day-of-month", 1, 31, 31, NULL, 0},
	{"month", 1, 12, 12, month_names, 1},
	/* 7 is Sunday too; it is folded onto 0 once the field is parsed */
	{"day-of-week", 0, 6, 7, weekday_names, 0},
};

/* The macros and the expressions they stand for. */
typedef struct CronMacro
{
	const char *name; /* without the '@' */
	const char *expansion;
} CronMacro;

/* clang-format off */
static const CronMacro cron_macros[] = {
	{"yearly", "0 0 1 1 *"},
	{"annually", "0 0 1 1 *"},
	{"monthly", "0 0 1 * *"},
	{"weekly", "0 0 * * 0"},
	{"daily", "0 0 * * *"},
	{"midnight", "0 0 * * *"},
	{"hourly", "0 * * * *"},
};
/* clang-format on */

/* Numbers are read with saturation: anything this big is out of range. */
#define CRON_NUMBER_CAP 1000000

/* How much of an offending token an error message quotes. */
#define CRON_TOKEN_QUOTE 20

typedef struct CronParser
{
	const char *expr; /* the whole expression */
	const char *p;	  /* the next character to read */
	CronError  *err;
} CronParser;

static bool parse_error(CronParser *ps, const char *at, const char *fmt, ...)
	pg_attribute_printf(3, 4);

/* Record an error at the character 'at' and return false. */
static bool
parse_error(CronParser *ps, const char *at, const char *fmt, ...)
{
	va_list args;

	ps->err->position = (int) (at - ps->expr);
	va_start(args, fmt);
	vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, args);
	va_end(args);
	return false;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		   c == '\v';
}

/* Printable ASCII: safe to quote in a message whatever the encoding. */
static bool
is_printable(char c)
{
	return (unsigned char) c >= 0x20 && (unsigned char) c < 0x7f;
}

static bool
is_field_end(char c)
{
	return c == '\0' || is_space(c);
}

static void
skip_spaces(CronParser *ps)
{
	while (is_space(*ps->p))
		ps->p++;
}

/*
 * Complain about the character where a value, a step or a separator should
 * have been.  Only printable ASCII is quoted, so the message stays valid in
 * any encoding.
 */
static bool
unexpected_character(CronParser *ps, const CronField *field)
{
	unsigned char c = (unsigned char) *ps->p;

	if (is_field_end((char) c))
		return parse_error(ps, ps->p, "missing value in %s field",
						   field->name);
	if (is_printable((char) c))
		return parse_error(ps, ps->p,
						   "unexpected character \"%c\" in %s field", c,
						   field->name);
	return parse_error(ps, ps->p, "unexpected character in %s field",
					   field->name);
}

/* Read a run of digits, saturating at CRON_NUMBER_CAP. */
static int
read_number(CronParser *ps)
{
	int value = 0;

	while (isdigit((unsigned char) *ps->p))
	{
		value = value * 10 + (*ps->p - '0');
		if (value > CRON_NUMBER_CAP)
			value = CRON_NUMBER_CAP;
		ps->p++;
	}
	return value;
}

/* Read one value of a field: a number or, where allowed, a name. */
static bool
parse_value(CronParser *ps, const CronField *field, int *value)
{
	const char *start = ps->p;

	if (isdigit((unsigned char) *ps->p))
	{
		*value = read_number(ps);
		if (*value < field->min || *value > field->max_value)
			return parse_error(
				ps, start, "value %.*s out of range %d-%d in %s field",
				(int) Min(ps->p - start, CRON_TOKEN_QUOTE), start, field->min,
				field->max_value, field->name);
		return true;
	}

	if (field->names != NULL && isalpha((unsigned char) *ps->p))
	{
		int	 len;
		bool ascii = true;

		/* take non-ASCII bytes along, so as not to split a character */
		while (isalpha((unsigned char) *ps->p) || IS_HIGHBIT_SET(*ps->p))
		{
			ascii = ascii && !IS_HIGHBIT_SET(*ps->p);
			ps->p++;
		}
		len = (int) (ps->p - start);
		for (int i = 0; len == 3 && field->names[i] != NULL; i++)
		{
			if (pg_strncasecmp(start, field->names[i], 3) == 0)
			{
				*value = field->first_name_value + i;
				return true;
			}
		}
		if (!ascii)
			return parse_error(ps, start, "unknown name in %s field",
							   field->name);
		return parse_error(ps, start, "unknown name \"%.*s\" in %s field",
						   Min(len, CRON_TOKEN_QUOTE), start, field->name);
	}

	return unexpected_character(ps, field);
}

/* Read the '/step' that may follow a value or range; 1 if there is none. */
static bool
parse_step(CronParser *ps, const CronField *field, int *step, bool *has_step)
{
	const char *start;
	int			span = field->max - field->min + 1;

	*step = 1;
	*has_step = (*ps->p == '/');
	if (!*has_step)
		return true;
	ps->p++;
	start = ps->p;
	if (!isdigit((unsigned char) *ps->p))
		return unexpected_character(ps, field);
	*step = read_number(ps);
	if (*step < 1 || *step > span)
		return parse_error(ps, start,
						   "step %.*s out of range 1-%d in %s field",
						   (int) Min(ps->p - start, CRON_TOKEN_QUOTE), start,
						   span, field->name);
	return true;
}

/* Read one list item ('*', 'n', 'a-b', each with an optional step). */
static bool
parse_item(CronParser *ps, const CronField *field, uint64 *bits)
{
	const char *start = ps->p;
	int			lo;
	int			hi;
	int			step;
	bool		has_step;
	bool		single = false;

	if (*ps->p == '*')
	{
		ps->p++;
		lo = field->min;
		hi = field->max;
	}
	else
	{
		if (!parse_value(ps, field, &lo))
			return false;
		hi = lo;
		single = true;
		if (*ps->p == '-')
		{
			ps->p++;
			if (!parse_value(ps, field, &hi))
				return false;
			single = false;
			if (lo > hi)
				return parse_error(ps, start,
								   "range \"%.*s\" runs backwards in %s field",
								   (int) Min(ps->p - start, CRON_TOKEN_QUOTE),
								   start, field->name);
		}
	}

	if (!parse_step(ps, field, &step, &has_step))
		return false;
	/* "n/step" runs from n to the end of the field */
	if (single && has_step)
		hi = Max(lo, field->max);

	for (int v = lo; v <= hi; v += step)
		*bits |= UINT64CONST(1) << v;
	return true;
}

/* Read one whitespace-delimited field into its bit set. */
static bool
parse_field(CronParser *ps, const CronField *field, uint64 *bits)
{
	*bits = 0;
	for (;;)
	{
		if (!parse_item(ps, field, bits))
			return false;
		if (*ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (is_field_end(*ps->p))
			return true;
		return unexpected_character(ps, field);
	}
}

/* Expand "@name" into the expression it stands for. */
static bool
parse_macro(CronParser *ps, CronSchedule *out)
{
	const char *start = ps->p;
	const char *name = ps->p + 1;
	int			len;
	bool		printable = true;

	while (!is_field_end(*ps->p))
	{
		printable = printable && is_printable(*ps->p);
		ps->p++;
	}
	len = (int) (ps->p - name);

	for (int i = 0; i < (int) lengthof(cron_macros); i++)
	{
		const CronMacro *macro = &cron_macros[i];

		if ((int) strlen(macro->name) == len &&
			pg_strncasecmp(name, macro->name, len) == 0)
		{
			skip_spaces(ps);
			if (*ps->p != '\0')
				return parse_error(ps, ps->p,
								   "unexpected text after macro \"@%s\"",
								   macro->name);
			return cron_parse(macro->expansion, out, ps->err);
		}
	}

	if (len == 6 && pg_strncasecmp(name, "reboot", 6) == 0)
		return parse_error(ps, start, "macro \"@reboot\" is not supported");
	if (!printable)
		return parse_error(ps, start, "unknown macro");
	return parse_error(ps, start, "unknown macro \"@%.*s\"",
					   Min(len, CRON_TOKEN_QUOTE), name);
}

/*
 * Parse a cron expression.  On success fill *out and return true; on
 * failure fill *err (message and byte offset of the offending character)
 * and return false.  Never raises an error.
 */
bool
cron_parse(const char *expr, CronSchedule *out, CronError *err)
{
	CronParser ps;
	uint64	   bits[NUM_FIELDS];

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	ps.expr = expr;
	ps.p = expr;
	ps.err = err;

	skip_spaces(&ps);
	err->wrong_field_count = true;
	if (*ps.p == '\0')
		return parse_error(&ps, ps.p, "the expression is empty");
	err->wrong_field_count = false;
	if (*ps.p == '@')
		return parse_macro(&ps, out);

	for (int f = 0; f < NUM_FIELDS; f++)
	{
		skip_spaces(&ps);
		if (*ps.p == '\0')
		{
			err->wrong_field_count = true;
			return parse_error(&ps, ps.p, "missing %s field",
							   cron_fields[f].name);
		}
		if (f == FIELD_DAY_OF_MONTH)
			out->dom_restricted = (*ps.p != '*');
		if (f == FIELD_DAY_OF_WEEK)
			out->dow_restricted = (*ps.p != '*');
		if (!parse_field(&ps, &cron_fields[f], &bits[f]))
			return false;
	}
	skip_spaces(&ps);
	err->wrong_field_count = (*ps.p != '\0');
	if (*ps.p != '\0')
		return parse_error(&ps, ps.p, "too many fields");

	out->minutes = bits[FIELD_MINUTE];
	out->hours = (uint32) bits[FIELD_HOUR];
	out->days_of_month = (uint32) bits[FIELD_DAY_OF_MONTH];
	out->months = (uint16) bits[FIELD_MONTH];
	/* Sunday may be written 7; fold it onto 0 */
	out->days_of_week =
		(uint8) ((bits[FIELD_DAY_OF_WEEK] | (bits[FIELD_DAY_OF_WEEK] >> 7)) &
				 0x7F);
	return true;
}

/* ---------------------------------------------------------------------
 * Next fire time
 * ---------------------------------------------------------------------
 */

/* A local wall-clock minute. */
typedef struct CronLocalTime
{
	int year;
	int month; /* 1-12 */
	int day;   /* 1-31 */
	int hour;
	int minute;
} CronLocalTime;

/* The last year a timestamp can hold (see datatype/timestamp.h). */
#define CRON_LAST_YEAR 294276

/* The lowest bit of 'bits' at or above 'from', or -1 if there is none. */
static int
next_bit(uint64 bits, int from)
{
	uint64 rest;

	if (from > 63)
		return -1;
	rest = bits & (~UINT64CONST(0) << from);
	if (rest == 0)
		return -1;
	return pg_rightmost_one_pos64(rest);
}

static bool
day_matches(const CronSchedule *s, int year, int month, int day)
{
	bool dom = (s->days_of_month >> day) & 1;
	bool dow = (s->days_of_week >> j2day(date2j(year, month, day))) & 1;

	if (s->dom_restricted && s->dow_restricted)
		return dom || dow;
	return dom && dow;
}

/* Move to midnight of the next day. */
static void
next_day(CronLocalTime *t)
{
	t->hour = 0;
	t->minute = 0;
	t->day++;
	if (t->day > day_tab[isleap(t->year)][t->month - 1])
	{
		t->day = 1;
		t->month++;
		if (t->month > 12)
		{
			t->month = 1;
			t->year++;
		}
	}
}

/* Move to the next minute. */
static void
next_minute(CronLocalTime *t)
{
	t->minute++;
	if (t->minute < 60)
		return;
	t->minute = 0;
	t->hour++;
	if (t->hour < 24)
		return;
	next_day(t);
}

/*
 * Move *t forward to the first local minute at or after it that the schedule
 * matches, skipping whole months, days and hours that cannot match.  Return
 * false if that lies beyond last_year.
 */
static bool
advance_to_match(const CronSchedule *s, CronLocalTime *t, int last_year)
{
	for (;;)
	{
		int month;
		int hour;
		int minute;

		if (t->year > last_year)
			return false;

		month = next_bit(s->months, t->month);
		if (month < 0)
		{
			t->year++;
			t->month = next_bit(s->months, 1);
			t->day = 1;
			t->hour = 0;
			t->minute = 0;
			continue;
		}
		if (month != t->month)
		{
			t->month = month;
			t->day = 1;
			t->hour = 0;
			t->minute = 0;
		}

		if (!day_matches(s, t->year, t->month, t->day))
		{
			next_day(t);
			continue;
		}

		hour = next_bit(s->hours, t->hour);
		if (hour < 0)
		{
			next_day(t);
			continue;
		}
		if (hour != t->hour)
		{
			t->hour = hour;
			t->minute = 0;
		}

		minute = next_bit(s->minutes, t->minute);
		if (minute < 0)
		{
			/* no minute left in this hour: the top of the next one */
			t->minute = 59;
			next_minute(t);
			continue;
		}
		t->minute = minute;
		return true;
	}
}

/* Seconds from 1970-01-01 00:00 to *t, both read as local wall-clock time. */
static pg_time_t
local_seconds(const CronLocalTime *t)
{
	pg_time_t days = date2j(t->year, t->month, t->day) - UNIX_EPOCH_JDATE;

	return days * SECS_PER_DAY + t->hour * SECS_PER_HOUR +
		   t->minute * SECS_PER_MINUTE;
}

/*
 * The instant at which the local wall-clock time 'local' (seconds since
 * 1970-01-01 00:00 local) fires in zone tz: its first occurrence, or for a
 * time inside a spring-forward gap the instant the gap ends.
 *
 * Walk the zone's offset periods forward from two days before (no offset is
 * that large): the first period whose span contains local - offset holds the
 * first occurrence; if local - offset falls before the start of a period
 * that the walk has reached, the local time was skipped by the transition
 * that started that period.
 */
static bool
local_to_utc(pg_time_t local, const pg_tz *tz, pg_time_t *result)
{
	pg_time_t probe = local - 2 * SECS_PER_DAY;
	pg_time_t period_start = probe;

	/* a handful of transitions at most can lie within those days */
	for (int i = 0; i < 16; i++)
	{
		long int  offset;
		int		  isdst;
		pg_time_t boundary;
		long int  after_offset;
		int		  after_isdst;
		int		  found;
		pg_time_t candidate;

		found = pg_next_dst_boundary(&probe, &offset, &isdst, &boundary,
									 &after_offset, &after_isdst, tz);
		if (found < 0)
			return false;
		candidate = local - offset;
		if (candidate < period_start)
		{
			/* skipped: fire when the gap ends */
			*result = period_start;
			return true;
		}
		if (found == 0 || candidate < boundary)
		{
			*result = candidate;
			return true;
		}
		period_start = boundary;
		probe = boundary;
	}
	return false;
}

/*
 * The first fire of *schedule strictly after 'after', evaluated in the local
 * time of tz.  Return false if there is none within CRON_SEARCH_YEARS (as
 * for "0 0 30 2 *") or before the end of the timestamp range, or if 'after'
 * is not finite.
 *
 * Candidates are local minutes in increasing order.  Since the fire instant
 * of a local time never decreases as the local time increases, the first
 * candidate whose instant lies after 'after' is the answer; candidates whose
 * instant does not (the tail of a fall-back hour, when 'after' lies in its
 * second occurrence) are stepped over one minute at a time.
 */
bool
cron_next_fire(const CronSchedule *schedule, TimestampTz after,
			   const pg_tz *tz, TimestampTz *next)
{
	pg_time_t	  after_secs;
	struct pg_tm *tm;
	CronLocalTime t;
	int			  last_year;

	if (TIMESTAMP_NOT_FINITE(after))
		return false;

	/* whole seconds, rounded down */
	after_secs = after / USECS_PER_SEC;
	if (after % USECS_PER_SEC < 0)
		after_secs--;
	after_secs += (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;

	tm = pg_localtime(&after_secs, tz);
	if (tm == NULL)
		return false;
	t.year = tm->tm_year + 1900;
	t.month = tm->tm_mon + 1;
	t.day = tm->tm_mday;
	t.hour = tm->tm_hour;
	t.minute = tm->tm_min;
	last_year = Min(t.year + CRON_SEARCH_YEARS, CRON_LAST_YEAR);

	for (;;)
	{
		pg_time_t	local;
		pg_time_t	fire_secs;
		TimestampTz fire;

		if (!advance_to_match(schedule, &t, last_year))
			return false;

		local = local_seconds(&t);
		if (!local_to_utc(local, tz, &fire_secs))
			return false;
		fire = time_t_to_timestamptz(fire_secs);
		if (!IS_VALID_TIMESTAMP(fire))
			return false;
		if (fire > after)
		{
			*next = fire;
			return true;
		}
		next_minute(&t);
	}
}
