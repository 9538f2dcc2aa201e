/*-------------------------------------------------------------------------
 *
 * http_policy.h
 *	  Pure decisions of the HTTP client: retry and backoff, Retry-After,
 *	  failure phases, the request-rate token bucket and the syntax of the
 *	  extra request header list.
 *
 * Everything here takes its inputs (the current time included) as
 * arguments and touches no backend state, so test/unit can drive it
 * without a server.  The libcurl loop itself lives in http.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef RACING_SCHED_HTTP_POLICY_H
#define RACING_SCHED_HTTP_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Where a request failed; HTTP_PHASE_NONE means it succeeded. */
typedef enum HttpPhase
{
	HTTP_PHASE_NONE = 0,
	HTTP_PHASE_SETUP, /* bad URL, option refused, out of memory */
	HTTP_PHASE_RESOLVE,
	HTTP_PHASE_CONNECT,
	HTTP_PHASE_TLS,
	HTTP_PHASE_SEND,
	HTTP_PHASE_WAIT_HEADERS,
	HTTP_PHASE_RECEIVE,
	HTTP_PHASE_DECODE,
	HTTP_PHASE_SIZE_CAP,
	HTTP_PHASE_REDIRECT,
	HTTP_PHASE_HTTP_STATUS
} HttpPhase;

/*
 * What is known about one finished attempt, gathered from libcurl and the
 * callbacks.  The fields are plain values so that the classification below
 * is pure.
 */
typedef struct HttpAttemptFacts
{
	int		curl_code;	   /* CURLcode */
	long	status;		   /* last HTTP status seen, 0 if none */
	bool	size_capped;   /* the write callback cut the body */
	bool	headers_seen;  /* a status line arrived */
	bool	redirect_refused; /* a 3xx pointed at another host: not followed */
	bool	https;		   /* the last URL tried was https */
	int64_t namelookup_us; /* libcurl timings, 0 if not reached */
	int64_t connect_us;
	int64_t appconnect_us;
	int64_t pretransfer_us;
} HttpAttemptFacts;

extern const char *http_phase_name(HttpPhase phase);
extern HttpPhase   http_classify(const HttpAttemptFacts *facts);
extern bool		   http_is_retryable(const HttpAttemptFacts *facts);

/*
 * Retry-After: delta-seconds or an HTTP-date (all three RFC 9110 forms).
 * Returns false when the value is absent or unreadable.  A date in the past
 * gives 0.
 */
extern bool http_parse_retry_after(const char *value, time_t now,
								   int64_t *delay_ms);

/*
 * Delay before attempt number attempt + 1, after attempt number attempt
 * (1-based) failed.  A readable Retry-After wins; otherwise exponential
 * backoff base_ms * 2^(attempt-1) with "equal jitter" (half fixed, half
 * drawn from jitter, any 32-bit random value).  Always clamped to
 * [0, max_ms].
 */
extern int64_t http_retry_delay_ms(int attempt, const char *retry_after,
								   time_t now, int64_t base_ms, int64_t max_ms,
								   uint32_t jitter);

/*
 * Token bucket holding at most one token: requests are spaced at least
 * 1/rate seconds apart, with no burst.  rate <= 0 means unlimited.
 * http_bucket_take returns 0 and consumes a token when one is available,
 * otherwise the number of milliseconds until one will be (nothing consumed).
 */
typedef struct HttpTokenBucket
{
	double	tokens;
	int64_t last_ms;
	bool	primed;
} HttpTokenBucket;

extern int64_t http_bucket_take(HttpTokenBucket *bucket, double rate,
								int64_t now_ms);

/*
 * Extra request headers: "Name: value|Name: value".  Items are separated by
 * '|', surrounding blanks are ignored, empty items are skipped.  A name is an
 * RFC 9110 token; a value holds no control characters.  Cookie and
 * Accept-Encoding are refused: the client keeps no cookies and decodes the
 * body itself so that the size cap applies to decoded bytes.
 *
 * http_headers_check returns NULL when spec is valid, or a static message
 * (and the 1-based item number in *bad_item) when it is not.
 * http_headers_next returns the next item of spec starting at *cursor, or
 * false at the end.
 */
extern const char *http_headers_check(const char *spec, int *bad_item);
extern bool		   http_headers_next(const char **cursor, const char **item,
									 size_t *len);

#endif /* RACING_SCHED_HTTP_POLICY_H */
