/*
 * store.h
 *		Parsed TAB documents (tab_parse.h structs) into the racing tables
 *		through SPI: idempotent upserts, one unit at a time.
 *
 * A unit is a meeting of a meetings list (with its race stubs) or a race
 * document.  Each store_* call stores exactly one unit, all or nothing.
 *
 * Transactions: the store works in whatever state it finds.
 *	- Outside a transaction (a job worker between units), it starts a
 *	  transaction, stores the unit and commits it before returning.
 *	- Inside a transaction (a SQL function such as fetch_meetings), it stores
 *	  the unit in an internal subtransaction of the caller's transaction;
 *	  the unit becomes durable when the caller commits.
 * Either way a failed unit is rolled back alone: the call returns false
 * with *error set, and the caller's transaction (if any) stays usable.
 * Query cancel and termination are not swallowed: the unit is rolled back
 * and the interrupt is re-thrown.
 *
 * Never call it with a snapshot or SPI connection the caller still needs
 * to hold across a network wait: fetch first, then store.
 *
 * Nothing here does HTTP or JSON; see tab_client.h for fetch+parse+store.
 */
#ifndef RACING_SCHED_STORE_H
#define RACING_SCHED_STORE_H

#include "postgres.h"

#include "tab_parse.h"

/* What one fetch was: recorded as a row of racing_sched.scrapes. */
typedef struct ScrapeInfo
{
	int64		job_run_id;		/* 0 = none (a manual fetch) */
	const char *scrape_type;	/* morning_scrape, pre_race_t60, pre_race_t15,
								 * post_race, manual; NULL = manual */
	const char *jurisdiction;	/* NULL = not recorded */
	int			http_status;	/* 0 = none (ingested from text) */
	int64		bytes;
	int			elapsed_ms;

	/*
	 * The racing date (YYYY-MM-DD) a race document was requested under;
	 * NULL = unknown.  It keys the meeting of a fixed-odds-only race, whose
	 * document gives the race's own local date as the meeting's date (the
	 * meetings list files such a race under the list's date).  Ordinary
	 * meetings are keyed by the document's meetingDate.
	 */
	const char *meeting_date;
} ScrapeInfo;

/*
 * What a stored unit became.  ids are 0 when not applicable; counts are rows
 * written (inserted or updated) by this call.
 */
typedef struct StoreResult
{
	int64		meeting_id;
	int64		race_id;		/* store_race only */
	int64		scrape_id;		/* 0 when no scrapes row was written */
	bool		phase_duplicate;	/* see store_race */
	int			races;
	int			runners;
	int			odds;
	int			results;
	int			dividends;
	bool		unknown_status; /* a raceStatus we do not know, stored as is */
} StoreResult;

/*
 * A meeting of a meetings list: upsert the meeting (natural key
 * (meeting_date, race_type, venue_mnemonic), or (meeting_date, race_type,
 * meeting_name) when fixed-odds-only), add info->jurisdiction to its
 * jurisdictions, upsert every race stub (start time, status and status
 * timestamps, scratchings as runner rows, results when present: provisional
 * at Interim, official at Paying), and record one scrapes row (race_id
 * NULL).  out may be NULL.  On failure *error (palloc'd in the caller's
 * memory context) says why and nothing of the unit is left.
 */
extern bool store_meeting(const TabMeeting *m, const ScrapeInfo *info,
						  StoreResult *out, char **error);

/*
 * A race document: upsert its meeting (from the document's meeting block)
 * and race, its runners (one batched statement), a new odds snapshot
 * referencing a new scrapes row (never overwriting an older snapshot), its
 * results (provisional -> official in place; placings no longer present
 * deleted) and, at Paying, its dividends (replaced).
 *
 * Pre-race phases: scrapes_phase_once allows one pre_race_t60 and one
 * pre_race_t15 scrape per race.  A second store for a phase already taken
 * is a clean no-op for the snapshot: the race and runners are still
 * refreshed, but no scrapes row and no odds are written; the call returns
 * true with out->phase_duplicate set and out->scrape_id 0.  A job should
 * count that race as done, not failed.
 */
extern bool store_race(const TabRace *r, const ScrapeInfo *info,
					   StoreResult *out, char **error);

/* Failed fetches write no scrapes row: they live in the caller's summary
 * and in job_runs.errors. */

#endif							/* RACING_SCHED_STORE_H */
