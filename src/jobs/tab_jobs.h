/*
 * tab_jobs.h
 *		What the racing jobs (morning_scrape.c, pre_race.c, post_race.c)
 *		share: short transactions around SPI, counting requests for the
 *		metrics, reading settings' code lists, and the keys of stored races.
 *
 * Fetching, parsing and storing live in tab_client.h; the job engine in
 * job_runs.h.
 */
#ifndef RACING_SCHED_TAB_JOBS_H
#define RACING_SCHED_TAB_JOBS_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "jobs/jobs.h"
#include "tab_client.h"

/*
 * A short transaction with SPI connected and a snapshot.  job_xact_begin
 * returns the memory context current before it (SPI then switches to its
 * own, freed at job_xact_end): allocate there what must survive the
 * commit.  job_xact_end commits and switches back to it.
 */
extern MemoryContext job_xact_begin(void);
extern void job_xact_end(MemoryContext job_cxt);

/* Count every request of a summary in http_stats, in its own transaction. */
extern void job_count_requests(const TabFetchSummary *s);

/* Fetch and store races for a run; count requests; record failures. */
extern void job_fetch_races(const JobRun *run, TabRaceKey *keys, int nkeys,
							TabFetchSummary *summary, JobOutcome *outcome);

/* true when code is an element of a comma-separated list (spaces ignored) */
extern bool code_list_contains(const char *list, const char *code);

/* The first jurisdiction of racing_sched.jurisdictions (palloc'd). */
extern char *first_jurisdiction(void);

/*
 * A stored race and what the race jobs need of it: its TAB key, its times
 * in milliseconds from its edge, and its state.
 */
typedef struct JobRace
{
	int64		race_id;
	TabRaceKey	key;
	TimestampTz start_time;
	int64		lateness_ms;	/* run start - edge (start + job's race_offset) */
	bool		jumped;			/* start_time <= now */
	bool		finished;		/* official or abandoned */
	bool		phase_taken;	/* a scrape of this job type exists */
	bool		done;			/* outcome: stored as the job wanted */
} JobRace;

/*
 * The races of args race_ids (or race_id) that still exist, allocated in
 * cxt (which must outlive the transaction); *n gets their number.  Call in
 * a transaction with SPI connected.
 */
extern JobRace *job_load_races(const JobRun *run, MemoryContext cxt, int *n);

/* A JSON array of the race_ids of races[] whose done flag equals done. */
extern char *race_ids_json(const JobRace *races, int n, bool done);

#endif							/* RACING_SCHED_TAB_JOBS_H */
