/*
 * tab_parse.h
 *		TAB racing JSON documents to plain C structs.
 *
 * The parser is pure: no PostgreSQL headers, no SPI, no ereport, no global
 * state that outlives a call.  Every byte it allocates, its own structs and
 * jansson's nodes alike, comes from the caller's TabAllocator (but for an
 * emergency reserve, see TabAllocator below).  jansson's
 * global allocator is redirected at the start of each call below and
 * restored before that call returns, on every path.
 *
 * Ownership: a successful call hands back one result object whose memory is
 * a chain of chunks taken from the allocator.  Release it with the matching
 * *_free function, or simply drop the whole memory context behind the
 * allocator.  A failed call has already given back everything it took.
 *
 * Validation (each rule is an error for the unit that breaks it):
 *	- unknown keys are ignored; optional fields may be absent or null;
 *	- required fields: meeting meetingName, raceType, meetingDate,
 *	  venueMnemonic (unless fixedOddsOnly is true); race raceNumber,
 *	  raceStartTime, matchName in a fixed-odds-only meeting; runner
 *	  runnerNumber; scratching runnerNumber; dividend wageringProduct;
 *	  pool dividend amount; race document meeting {meetingName, raceType,
 *	  meetingDate};
 *	- a value of the wrong JSON type is an error at any level; integer
 *	  fields take JSON integers only, prices and weights integers or reals;
 *	- bounds: race number 1..100, runner number 1..999, barrier 0..999,
 *	  distance 0..10000 m, prices and dividend amounts 0..1e6, handicap
 *	  weight 0..500 kg, prize money 0..1e10 dollars, result groups at most
 *	  999, dates and timestamps in years 1900..9999, strings at most
 *	  TAB_STRING_MAX bytes;
 *	- array lengths: at most 2000 meetings, 1000 races in a meeting or a
 *	  next-to-go list, 999 runners, scratchings or selections, 200
 *	  dividends of 1000 pool dividends each; any JSON string or bare token
 *	  (in unknown fields too) at most 64 KiB, checked before jansson runs;
 *	- raceType is exactly "R", "H" or "G";
 *	- timestamps are RFC 3339 with a zone ("Z" or "+hh:mm"), converted to
 *	  UTC; a timestamp without a zone is an error;
 *	- duplicates: a runner number twice in a race's runners, a runner twice
 *	  in a race's results, a (raceNumber, matchName) pair twice in a meeting;
 *	- jansson rejects: invalid UTF-8, \u0000 in strings, duplicate object
 *	  keys, nesting deeper than 2048, numbers that overflow, trailing data.
 *	  These are syntax errors and fail the whole document.
 *
 * Granularity: a meetings list (and a next-to-go list) keeps its good items
 * and reports each bad one in failures[]; a bad race inside a meeting fails
 * that meeting.  A race document is one unit: any error fails it whole.
 */
#ifndef TAB_PARSE_H
#define TAB_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Memory comes from here.  alloc returns NULL on failure (the parser then
 * fails with TAB_PARSE_MEMORY) and must never longjmp: inside the server
 * use MemoryContextAllocExtended with MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE,
 * since a request over MaxAllocSize would otherwise raise an ERROR while
 * jansson's allocator is redirected.  free may be NULL when memory is
 * released wholesale with ctx, such as a per-document memory context.
 *
 * jansson's allocator is process-global, so the parser is not thread-safe
 * and refuses a call made from inside its own allocator (TAB_PARSE_USAGE).
 * The one exception to "all memory from the allocator" is a static 512 KiB
 * emergency reserve that jansson gets after an allocation failed, because
 * jansson 2.14 can abort() on a failed allocation inside its lexer.
 */
typedef struct TabAllocator
{
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	void *ctx;
} TabAllocator;

typedef enum TabParseErrorCode
{
	TAB_PARSE_OK = 0,
	TAB_PARSE_SYNTAX,	 /* not acceptable JSON (see above) */
	TAB_PARSE_SHAPE,	 /* required field missing or wrong JSON type */
	TAB_PARSE_RANGE,	 /* number, date or string length out of bounds */
	TAB_PARSE_FORMAT,	 /* bad timestamp, date, money or race type text */
	TAB_PARSE_DUPLICATE, /* duplicate runner or race key */
	TAB_PARSE_MEMORY,	 /* the allocator returned NULL */
	TAB_PARSE_USAGE		 /* NULL arguments, or a nested call */
} TabParseErrorCode;

#define TAB_PARSE_PATH_MAX 160
#define TAB_PARSE_MESSAGE_MAX 400
#define TAB_STRING_MAX 4096

typedef struct TabParseError
{
	TabParseErrorCode code;
	int	   line;	 /* 1-based line of the offending value, 0 if unknown */
	int	   column;	 /* 1-based column, 0 if unknown */
	size_t position; /* byte offset, valid when line > 0 */
	char path[TAB_PARSE_PATH_MAX]; /* "$.meetings[3].races[2].raceStartTime" */
	char message[TAB_PARSE_MESSAGE_MAX]; /* path, detail, line and column */
} TabParseError;

/* Short lower-case name of a code: "syntax", "shape", "range", ... */
extern const char *tab_parse_error_code_name(TabParseErrorCode code);

typedef struct TabDate
{
	int	 year;
	int	 month;
	int	 day;
	char text[11]; /* "YYYY-MM-DD" */
} TabDate;

typedef enum TabRaceStatus
{
	TAB_RACE_UNKNOWN = 0, /* absent or not recognised: see status_text */
	TAB_RACE_NORMAL,	  /* "Normal", "Open" */
	TAB_RACE_CLOSED,	  /* "Closed" */
	TAB_RACE_INTERIM,	  /* "Interim" */
	TAB_RACE_PAYING,	  /* "Paying", "Final", "Resulted" */
	TAB_RACE_ABANDONED	  /* "Abandoned" */
} TabRaceStatus;

/* Lower-case name of a status enum: "normal", "closed", ..., "unknown" */
extern const char *tab_race_status_name(TabRaceStatus status);

/* One finisher.  Dead heats share a position; position = group index + 1. */
typedef struct TabResult
{
	int runner_number;
	int position;
} TabResult;

typedef struct TabScratching
{
	int			runner_number;
	const char *runner_name;	/* NULL when absent */
	const char *betting_status; /* verbatim, NULL when absent */
	bool		late;			/* bettingStatus "LateScratched" */
} TabScratching;

/* A race as the meetings list gives it; also the core of a race document. */
typedef struct TabRaceStub
{
	int			  race_number;
	const char	 *race_name; /* NULL when absent */
	const char	 *race_class_conditions;
	const char	 *match_name;  /* fixed-odds-only races, else usually NULL */
	int64_t		  start_time;  /* UTC, seconds since 1970-01-01 */
	const char	 *status_text; /* raceStatus verbatim, NULL when absent */
	TabRaceStatus status;
	bool		  has_distance;
	int			  distance_m;
	bool		  has_fixed_odds;
	bool		  has_parimutuel;
	bool		  has_meeting_date; /* the race's own meetingDate */
	TabDate		  meeting_date;
	bool	   has_results; /* "results" present and not null (may be empty) */
	int		   n_results;
	TabResult *results; /* in group order */
	int		   n_scratchings;
	TabScratching *scratchings;
} TabRaceStub;

typedef struct TabMeeting
{
	const char	*meeting_name;
	const char	*display_meeting_name; /* NULL when absent */
	const char	*location;	/* AU state or 3-letter country, may be NULL */
	char		 race_type; /* 'R', 'H' or 'G' */
	TabDate		 meeting_date;
	const char	*venue_mnemonic; /* NULL for fixed-odds-only meetings */
	bool		 fixed_odds_only;
	bool		 has_prize_money;
	int64_t		 prize_money_cents;
	const char	*weather_condition; /* each NULL when absent or null */
	const char	*track_condition;
	const char	*rail_position;
	int			 n_races; /* always 0 inside a TabRace */
	TabRaceStub *races;
} TabMeeting;

typedef struct TabFixedOdds
{
	bool		present; /* "fixedOdds" was an object */
	bool		has_win;
	double		win;
	bool		has_place;
	double		place;
	const char *betting_status; /* verbatim, NULL when absent */
	bool		has_scratched_time;
	int64_t		scratched_time; /* UTC epoch seconds */
} TabFixedOdds;

typedef struct TabTote
{
	bool		present; /* "parimutuel" was an object */
	bool		has_win;
	double		win; /* 0 when no money */
	bool		has_place;
	double		place;
	const char *betting_status;
} TabTote;

typedef struct TabRunner
{
	int			 runner_number;
	const char	*runner_name;
	bool		 has_barrier;
	int			 barrier;
	const char	*trainer;
	const char	*rider; /* NULL when null; "NOT NOTIFIED" kept as text */
	bool		 has_handicap_weight;
	double		 handicap_weight; /* kg, 0 for greyhounds */
	bool		 emergency;
	bool		 vacant_box;
	const char	*last5;
	bool		 scratched; /* fixed or tote status Scratched/LateScratched */
	TabFixedOdds fixed;
	TabTote		 tote;
} TabRunner;

typedef struct TabPoolDividend
{
	int			n_selections;
	int		   *selections;		 /* runner numbers in finishing order */
	const char *selections_text; /* set instead when selections is a string */
	double		amount;			 /* return per 1 unit */
} TabPoolDividend;

typedef struct TabDividend
{
	const char		*product; /* wageringProduct: Win, Place, Quinella, ... */
	const char		*pool_status; /* poolStatusCode, NULL when absent */
	int				 n_pool_dividends;
	TabPoolDividend *pool_dividends;
} TabDividend;

typedef struct TabChunk TabChunk; /* private */

/* Private bookkeeping of a result object; callers leave it alone. */
typedef struct TabOwner
{
	TabAllocator allocator;
	TabChunk	*chunks;
} TabOwner;

/* A race document (/races/{n}), or one race of a next-to-go list. */
typedef struct TabRace
{
	TabRaceStub	 stub;
	TabMeeting	 meeting; /* from "meeting"; n_races is 0 */
	bool		 has_prize_money;
	int64_t		 prize_money_cents;
	int			 n_runners;
	TabRunner	*runners;
	int			 n_dividends;
	TabDividend *dividends;
	bool		 has_odds_update_time;
	int64_t		 odds_update_time;
	bool		 has_fixed_odds_update_time;
	int64_t		 fixed_odds_update_time;
	TabOwner	 owner;
} TabRace;

/* A unit of a list that failed validation; the good ones are kept. */
typedef struct TabItemFailure
{
	int			  index; /* position in the JSON array */
	const char	 *name;	 /* meetingName / raceName if readable, or NULL */
	TabParseError error;
} TabItemFailure;

typedef struct TabMeetingList
{
	int				n_meetings;
	TabMeeting	   *meetings; /* valid meetings, in document order */
	int				n_failures;
	TabItemFailure *failures;
	TabOwner		owner;
} TabMeetingList;

typedef struct TabRaceList
{
	int				n_races;
	TabRace		   *races; /* owner fields of these are unused */
	int				n_failures;
	TabItemFailure *failures;
	TabOwner		owner;
} TabRaceList;

/*
 * Each returns 0 and sets *out, or returns -1, sets *out to NULL and fills
 * *err.  Item failures inside a list do not make the call fail; they are
 * in (*out)->failures.  buf need not be NUL-terminated.
 */
extern int tab_parse_meetings(const char *buf, size_t len,
							  const TabAllocator *a, TabMeetingList **out,
							  TabParseError *err);
extern int tab_parse_race(const char *buf, size_t len, const TabAllocator *a,
						  TabRace **out, TabParseError *err);
extern int tab_parse_next_to_go(const char *buf, size_t len,
								const TabAllocator *a, TabRaceList **out,
								TabParseError *err);

/* Release a result through its allocator; NULL is a no-op. */
extern void tab_meeting_list_free(TabMeetingList *list);
extern void tab_race_free(TabRace *race);
extern void tab_race_list_free(TabRaceList *list);

/*
 * Pure helpers, exported for the store and for tests.  Each returns 0 on
 * success, -1 on bad text.
 */
extern int tab_parse_timestamp(const char *s, size_t len, int64_t *epoch);
extern int tab_parse_date(const char *s, size_t len, TabDate *date);
extern int tab_parse_money(const char *s, size_t len, int64_t *cents);
extern TabRaceStatus tab_race_status_from_text(const char *s);

/*
 * The JSON text as jansson's tree (JSON_REJECT_DUPLICATES), read directly
 * when the text is in the common case, else NULL: the parser then has
 * jansson read it.  Exposed so that tests can hold it to jansson's reading.
 */
struct json_t;
extern struct json_t *tab_json_fast_load(const char *buf, size_t len);

#endif /* TAB_PARSE_H */
