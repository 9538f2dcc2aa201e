/*-------------------------------------------------------------------------
 *
 * http.h
 *	  The outbound HTTP client: a batch of GET requests run by libcurl's
 *	  multi interface inside a backend or job worker, waiting on curl's
 *	  sockets and the process latch together.
 *
 * What the client does for every request: admission control per process
 * (racing_sched.http_max_inflight), request spacing across the whole server
 * (http_rate_limit), timeouts, a size cap on decoded bytes, http/https only, verified TLS,
 * retries with backoff honouring Retry-After.  URL building and JSON
 * parsing live elsewhere.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RACING_SCHED_HTTP_H
#define RACING_SCHED_HTTP_H

#include "http_policy.h"

/*
 * One GET.  The caller fills url (and optionally label and arg); the client
 * fills the rest.  body is palloc'd in the memory context that was current
 * when http_fetch_all was called and NUL-terminated; it is NULL when nothing
 * arrived or the body was cut at the size cap.  A body also comes back with
 * a failed status (an error page): check ok before using it.
 */
typedef struct HttpRequest
{
	/* input */
	const char *url;
	const char *label; /* endpoint kind for counters, e.g. "race" */
	void	   *arg;   /* caller's cookie, untouched */

	/* outcome */
	bool	  ok;		  /* 2xx and the whole body arrived */
	long	  status;	  /* last HTTP status, 0 if none */
	int		  curl_code;  /* CURLcode of the last attempt */
	HttpPhase phase;	  /* where it failed; HTTP_PHASE_NONE if ok */
	char	  error[256]; /* "phase: reason", empty if ok */
	char	 *body;
	size_t	  body_len;	  /* decoded bytes received (<= size cap) */
	int64	  elapsed_ms; /* first admission to completion */
	int		  attempts;
	char	 *effective_url; /* after redirects; palloc'd, may be NULL */
} HttpRequest;

/*
 * Called after every attempt, outside any curl callback (so it may
 * ereport), with the request as it stands and whether a retry follows.
 * Metrics hook in here; NULL by default.
 */
typedef void (*HttpAttemptHook)(const HttpRequest *req, bool will_retry);
extern PGDLLIMPORT HttpAttemptHook http_attempt_hook;

/* Process-lifetime totals, for logging and metrics. */
typedef struct HttpCounters
{
	uint64 attempts;
	uint64 retries;
	uint64 succeeded;
	uint64 failed;
	uint64 bytes;
} HttpCounters;
extern PGDLLIMPORT HttpCounters http_counters;

/* Defines the racing_sched.http_* settings; called from _PG_init. */
extern void http_define_settings(void);

/* Asks for the shared request-rate bucket; called from _PG_init. */
extern void http_register_shmem(void);

/*
 * Runs all n requests and returns when every one has finished (successfully
 * or not).  Interrupts are serviced while waiting, so a cancel or terminate
 * unwinds from here with every curl handle released.
 */
extern void http_fetch_all(HttpRequest *reqs, int n);

/* One request; returns req->ok. */
extern bool http_fetch(HttpRequest *req);

#endif /* RACING_SCHED_HTTP_H */
