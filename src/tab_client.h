/*
 * tab_client.h
 *		Fetch a TAB document, parse it and store it: the one path shared by
 *		the racing jobs (src/jobs/) and the SQL functions fetch_meetings and
 *		fetch_race.
 *
 * URLs are built here from racing_sched.tab_api_url and the keys given,
 * never taken from a response.  HTTP lives in http.c, JSON in tab_parse.c,
 * SQL writes in store.c.
 *
 * Memory: every document is parsed in its own memory context, deleted on
 * every path (ERROR included); the summary is allocated in the memory
 * context current at the call, which must outlive any transaction the
 * store commits (a job worker's own context, not a transaction's).
 *
 * Transactions: as store.h.  Call these outside a transaction (a job
 * worker) or inside one (a SQL function); the network wait itself never
 * holds a snapshot the store took.
 */
#ifndef RACING_SCHED_TAB_CLIENT_H
#define RACING_SCHED_TAB_CLIENT_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "store.h"

/* Endpoint kinds, the label of per-endpoint request counters. */
#define TAB_ENDPOINT_MEETINGS "meetings"
#define TAB_ENDPOINT_RACE "race"

/* One HTTP request and what came of it (metrics: endpoint x status). */
typedef struct TabRequestOutcome
{
	const char *endpoint;		/* TAB_ENDPOINT_* */
	long		http_status;	/* 0 when no response */
	bool		ok;				/* 2xx, whole body */
	int64		bytes;
	int64		elapsed_ms;
	int			attempts;
	char	   *error;			/* NULL when ok */
} TabRequestOutcome;

/* What one fetch_* call did.  Lists are palloc'd in the caller's context. */
typedef struct TabFetchSummary
{
	int			requests;		/* HTTP requests made (not attempts) */
	int			stored;			/* units stored */
	int			failed;			/* units (or whole documents) failed */
	int			phase_duplicates;	/* races whose phase was already taken */
	List	   *errors;			/* char *, one per failure, self-explaining */
	List	   *outcomes;		/* TabRequestOutcome *, one per request */
} TabFetchSummary;

/*
 * The key of one race document.  An ordinary race: venue and race_number.
 * A fixed-odds-only race: venue NULL, meeting_name and match_name (the
 * request then carries fixedOdds=true).
 */
typedef struct TabRaceKey
{
	const char *date;			/* YYYY-MM-DD */
	char		race_type;		/* 'R', 'H' or 'G' */
	const char *venue;			/* venue mnemonic, or NULL */
	int			race_number;	/* ordinary races */
	const char *meeting_name;	/* fixed-odds-only races */
	const char *match_name;
	const char *jurisdiction;	/* NSW, VIC, QLD, ACT, SA, TAS, NT */
	/* filled by tab_fetch_races for each key */
	bool		stored;
	bool		phase_duplicate;
	int64		race_id;		/* 0 when not stored */
	const char *status_text;	/* raceStatus as received, NULL if none */
} TabRaceKey;

/*
 * A meetings list's hooks (the morning scrape's filter and failure
 * accounting): keep_meeting chooses the meetings to store (NULL: all);
 * meeting_done hears of each meeting kept, stored or not.
 */
typedef bool (*TabKeepMeeting) (const TabMeeting *m, void *arg);
typedef void (*TabMeetingDone) (const TabMeeting *m, bool stored, void *arg);

/* Where the fetch goes in scrapes: job run (0 = none) and scrape_type. */
typedef struct TabFetchContext
{
	int64		job_run_id;
	const char *scrape_type;	/* NULL = manual */
	TabKeepMeeting keep_meeting;	/* NULL: store every meeting */
	TabMeetingDone meeting_done;	/* NULL: nobody listens */
	void	   *hook_arg;
} TabFetchContext;

extern void tab_summary_init(TabFetchSummary *s);

/* The meetings list of one date for one jurisdiction; every meeting a unit. */
extern void tab_fetch_meetings(const char *date, const char *jurisdiction,
							   const TabFetchContext *ctx, TabFetchSummary *s);

/*
 * Several race documents, fetched concurrently in one batch (within
 * http_max_inflight and the rate limit), then stored one unit each.
 * keys[i].stored, race_id, phase_duplicate and status_text report per race.
 */
extern void tab_fetch_races(TabRaceKey *keys, int n,
							const TabFetchContext *ctx, TabFetchSummary *s);

/* Parse and store documents given as text, no HTTP (tests, bench/ingest). */
extern void tab_ingest_meetings_text(const char *buf, size_t len,
									 const char *jurisdiction,
									 const TabFetchContext *ctx,
									 TabFetchSummary *s);
/* date: the racing date it was requested under, or NULL (see ScrapeInfo) */
extern void tab_ingest_race_text(const char *buf, size_t len,
								 const char *jurisdiction, const char *date,
								 const TabFetchContext *ctx,
								 TabFetchSummary *s);

/*
 * The URL of a document (palloc'd); NULL when a key cannot make one.
 * Exposed for tests and logging.
 */
extern char *tab_meetings_url(const char *date, const char *jurisdiction);
extern char *tab_race_url(const TabRaceKey *key);

/* Argument checks shared with the SQL functions; true when valid. */
extern bool tab_valid_jurisdiction(const char *j);
extern const char *tab_jurisdictions_text(void); /* "NSW, VIC, ..." */

/*
 * The summary as jsonb: {"requests", "stored", "failed", "errors": [...],
 * "http_status", "bytes", "elapsed_ms" (of the last request, totals for
 * bytes and elapsed), "phase_duplicates", "requests_detail": [...]}.
 */
extern Jsonb *tab_summary_jsonb(const TabFetchSummary *s);

#endif							/* RACING_SCHED_TAB_CLIENT_H */
