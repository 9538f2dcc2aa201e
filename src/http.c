/*-------------------------------------------------------------------------
 *
 * http.c
 *	  The outbound HTTP client: libcurl's multi interface driven from a
 *	  PostgreSQL WaitEventSet, so a backend or job worker waits on curl's
 *	  sockets and its latch together and services interrupts within a
 *	  second even while every request hangs.
 *
 * Lives here: the racing_sched.http_* settings, admission control
 * (http_max_inflight), request spacing shared by the server's processes
 * (http_rate_limit, a token bucket in shared memory), per-request limits, the retry loop, and the release of every curl handle when a
 * batch ends, an ERROR included.  Pure decisions (backoff, Retry-After,
 * failure phases, header syntax) live in http_policy.c; URLs and JSON are
 * other rooms' business.
 *
 * The curl callbacks never ereport or palloc: they append into malloc'd
 * buffers and record problems in the transfer, and the loop turns those
 * into outcomes or errors once curl has returned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include <curl/curl.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "http.h"

#define HTTP_MAX_REDIRECTS 3
#define HTTP_MAX_WAIT_MS 1000 /* wake at least this often regardless */

#define HTTP_DEFAULT_HEADERS                                                  \
	"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) "                  \
	"AppleWebKit/537.36 "                                                     \
	"(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"                      \
	"|Accept: application/json, text/plain, */*"                              \
	"|Accept-Language: en-AU,en;q=0.9"                                        \
	"|Origin: https://www.tab.com.au"                                         \
	"|Referer: https://www.tab.com.au/"

/* settings */
static int	  http_max_inflight = 4;
static double http_rate_limit = 2.0;
static int	  http_connect_timeout = 10000;				 /* ms */
static int	  http_timeout = 30000;						 /* ms */
static int	  http_low_speed_limit = 1024;				 /* bytes per second */
static int	  http_low_speed_time = 10;					 /* s */
static int	  http_max_response_size = 16 * 1024 * 1024; /* bytes */
static char	 *http_ca_file = NULL;
static char	 *http_headers = NULL;
static int	  http_max_retries = 2;
static int	  http_retry_base_delay = 500;	/* ms */
static int	  http_retry_max_delay = 30000; /* ms */

HttpAttemptHook http_attempt_hook = NULL;
HttpCounters	http_counters;

static bool curl_ready = false;

/*
 * The request-rate bucket is shared by every process of the server, so
 * http_rate_limit bounds what the whole server sends, however many job
 * workers run.  local_bucket serves only if shared memory is missing.
 */
typedef struct HttpShared
{
	slock_t			mutex;
	HttpTokenBucket bucket;
} HttpShared;

static HttpShared			  *http_shared = NULL;
static HttpTokenBucket		   local_bucket;
static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

typedef enum TransferState
{
	XFER_PENDING, /* waiting for admission (or a retry delay) */
	XFER_RUNNING, /* in the multi handle */
	XFER_DONE
} TransferState;

struct Batch;

typedef struct Transfer
{
	HttpRequest	 *req;
	struct Batch *batch;
	CURL		 *easy;
	TransferState state;
	int64		  not_before_ms; /* monotonic; no admission before this */
	int64		  first_start_ms;

	/* written by curl callbacks: malloc only, never ereport */
	char  *buf;
	size_t len;
	size_t cap;
	bool   size_capped;
	bool   oom;
	bool   headers_seen;
	long   header_status;	 /* status of the response whose headers arrive */
	bool   redirect_refused; /* a 3xx pointed at another host or port */
	char   redirect_error[200];
	char   retry_after[64];
	char   errbuf[CURL_ERROR_SIZE];
} Transfer;

typedef struct SocketWatch
{
	curl_socket_t fd;
	int			  what; /* CURL_POLL_IN / OUT / INOUT */
} SocketWatch;

typedef struct Batch
{
	MemoryContext		  cxt; /* owns this struct; reset releases curl */
	MemoryContext		  callercxt; /* bodies and URLs are copied here */
	MemoryContextCallback release_cb;

	CURLM			  *multi;
	struct curl_slist *headers;
	Transfer		  *xfers;
	int				   n;
	int				   inflight;
	int				   remaining;

	/* settings, fixed for the whole batch */
	int	   max_inflight;
	double rate_limit;
	size_t max_size;
	int	   max_retries;

	/* written by curl callbacks: malloc only, never ereport */
	SocketWatch *socks;
	int			 nsocks;
	int			 socks_cap;
	bool		 socks_dirty;
	bool		 socks_oom;
	int64		 timer_deadline_ms; /* monotonic; -1 when curl wants none */

	WaitEventSet *wes;
	WaitEvent	 *events;
	int			  nevents;

	/* for the DEBUG1 line at the end of a batch */
	int64 started_ms;
	int	  attempts;
	int	  waits;
	int	  rebuilds;
} Batch;

static int64
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------------
 * settings
 * ---------------------------------------------------------------------
 */

static bool
check_http_headers(char **newval, void **extra, GucSource source)
{
	int			bad_item;
	const char *why = http_headers_check(*newval, &bad_item);

	if (why != NULL)
	{
		GUC_check_errmsg("invalid item %d in racing_sched.http_headers",
						 bad_item);
		GUC_check_errdetail("%s", why);
		GUC_check_errhint("Write the headers as \"Name: value|Name: value\".");
		return false;
	}
	return true;
}

static bool
check_http_ca_file(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!is_absolute_path(*newval))
	{
		GUC_check_errmsg("racing_sched.http_ca_file must be an absolute path");
		GUC_check_errdetail("The value \"%s\" is relative.", *newval);
		return false;
	}
	return true;
}

static void
check_curl_features(void)
{
	curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);

	if (!(vi->features & CURL_VERSION_ASYNCHDNS))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						errmsg("libcurl %s has no asynchronous resolver",
							   vi->version),
						errdetail("Without one, a DNS lookup blocks the "
								  "process and cannot be interrupted."),
						errhint("Use a libcurl built with the threaded "
								"resolver or c-ares.")));
	if (vi->version_num < 0x075500)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("libcurl %s is too old", vi->version),
				 errdetail("racing_sched needs libcurl 7.85.0 or later.")));
}

void
http_define_settings(void)
{
	check_curl_features();

	DefineCustomIntVariable(
		"racing_sched.http_max_inflight",
		"Maximum number of HTTP transfers running at once in one process.",
		NULL, &http_max_inflight, 4, 1, 64, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable(
		"racing_sched.http_rate_limit",
		"Maximum HTTP requests started per second by the whole server (0 = "
		"unlimited).",
		"Shared by all processes; retries count as requests.",
		&http_rate_limit, 2.0, 0.0, 1000.0, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable(
		"racing_sched.http_connect_timeout",
		"Time allowed to resolve and connect, TLS handshake included.", NULL,
		&http_connect_timeout, 10000, 100, 600000, PGC_SUSET, GUC_UNIT_MS,
		NULL, NULL, NULL);
	DefineCustomIntVariable(
		"racing_sched.http_timeout",
		"Time allowed for one HTTP attempt from start to last byte.", NULL,
		&http_timeout, 30000, 100, 3600000, PGC_SUSET, GUC_UNIT_MS, NULL, NULL,
		NULL);
	DefineCustomIntVariable(
		"racing_sched.http_low_speed_limit",
		"An HTTP attempt slower than this many bytes per second for "
		"http_low_speed_time is abandoned (0 = off).",
		NULL, &http_low_speed_limit, 1024, 0, INT_MAX, PGC_SUSET, 0, NULL,
		NULL, NULL);
	DefineCustomIntVariable(
		"racing_sched.http_low_speed_time",
		"How long an HTTP attempt may stay below http_low_speed_limit.", NULL,
		&http_low_speed_time, 10, 1, 3600, PGC_SUSET, GUC_UNIT_S, NULL, NULL,
		NULL);
	DefineCustomIntVariable(
		"racing_sched.http_max_response_size",
		"Largest HTTP response body accepted, counted after decompression.",
		NULL, &http_max_response_size, 16 * 1024 * 1024, 1024,
		512 * 1024 * 1024, PGC_SUSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomStringVariable("racing_sched.http_ca_file",
							   "File of CA certificates trusted for HTTPS "
							   "instead of the system store.",
							   "Empty means the system store.", &http_ca_file,
							   "", PGC_SUSET, 0, check_http_ca_file, NULL,
							   NULL);
	DefineCustomStringVariable(
		"racing_sched.http_headers",
		"Extra HTTP request headers, written \"Name: value|Name: value\".",
		NULL, &http_headers, HTTP_DEFAULT_HEADERS, PGC_SUSET, 0,
		check_http_headers, NULL, NULL);
	DefineCustomIntVariable("racing_sched.http_max_retries",
							"Retries of an HTTP request after a 429, a 5xx or "
							"a transient network error.",
							NULL, &http_max_retries, 2, 0, 10, PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("racing_sched.http_retry_base_delay",
							"First HTTP retry delay; it doubles for each "
							"further retry, with jitter.",
							NULL, &http_retry_base_delay, 500, 0, 600000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable(
		"racing_sched.http_retry_max_delay",
		"Longest delay before an HTTP retry, Retry-After included.", NULL,
		&http_retry_max_delay, 30000, 0, 3600000, PGC_SUSET, GUC_UNIT_MS, NULL,
		NULL, NULL);
}

/* ---------------------------------------------------------------------
 * shared request-rate bucket
 * ---------------------------------------------------------------------
 */

static void
http_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(HttpShared)));
}

static void
http_shmem_startup(void)
{
	bool found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	http_shared =
		ShmemInitStruct("racing_sched http", sizeof(HttpShared), &found);
	if (!found)
	{
		memset(http_shared, 0, sizeof(HttpShared));
		SpinLockInit(&http_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
http_register_shmem(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = http_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = http_shmem_startup;
}

/* 0 and a token taken, or the milliseconds until the next token */
static int64
take_rate_token(double rate, int64 now)
{
	int64 wait;

	if (rate <= 0)
		return 0;
	if (http_shared == NULL)
		return http_bucket_take(&local_bucket, rate, now);
	SpinLockAcquire(&http_shared->mutex);
	wait = http_bucket_take(&http_shared->bucket, rate, now);
	SpinLockRelease(&http_shared->mutex);
	return wait;
}

/* ---------------------------------------------------------------------
 * curl callbacks: no ereport, no palloc
 * ---------------------------------------------------------------------
 */

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	Transfer *t = (Transfer *) userdata;
	size_t	  n = size * nmemb;

	/* decoded bytes: the cap holds for gzip bombs too */
	if (n > t->batch->max_size - t->len)
	{
		t->size_capped = true;
		return 0;
	}
	if (t->len + n + 1 > t->cap)
	{
		size_t newcap = t->cap ? t->cap : 16384;
		char  *newbuf;

		while (newcap < t->len + n + 1)
			newcap *= 2;
		if (newcap > t->batch->max_size + 1)
			newcap = t->batch->max_size + 1;
		newbuf = realloc(t->buf, newcap);
		if (newbuf == NULL)
		{
			t->oom = true;
			return 0;
		}
		t->buf = newbuf;
		t->cap = newcap;
	}
	memcpy(t->buf + t->len, data, n);
	t->len += n;
	return n;
}

/*
 * Whether a redirect's Location (relative or absolute) keeps to the host and
 * port of the URL asked for: the API's answers are never elsewhere, and a
 * redirect must not turn the server's requests towards another machine.
 * Schemes are limited by CURLOPT_REDIR_PROTOCOLS_STR.  Called from a
 * libcurl callback: no palloc, no ereport.
 */
static bool
redirect_stays_on_host(Transfer *t, const char *value, size_t len)
{
	char		loc[2048];
	char	   *current = NULL;
	CURLU	   *base = curl_url();
	CURLU	   *target = curl_url();
	char	   *host[2] = {NULL, NULL};
	char	   *port[2] = {NULL, NULL};
	bool		same = false;

	while (len > 0 && (*value == ' ' || *value == '\t'))
		value++, len--;
	while (len > 0 && (value[len - 1] == '\r' || value[len - 1] == '\n' ||
					   value[len - 1] == ' ' || value[len - 1] == '\t'))
		len--;
	if (len >= sizeof(loc))
		len = sizeof(loc) - 1;
	memcpy(loc, value, len);
	loc[len] = '\0';
	snprintf(t->redirect_error, sizeof(t->redirect_error),
			 "redirect to another host or port refused (Location: %s)", loc);

	if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &current) != CURLE_OK ||
		current == NULL)
		current = (char *) t->req->url;
	if (base && target &&
		curl_url_set(base, CURLUPART_URL, t->req->url, 0) == CURLUE_OK &&
		curl_url_set(target, CURLUPART_URL, current, 0) == CURLUE_OK &&
		curl_url_set(target, CURLUPART_URL, loc, 0) == CURLUE_OK &&
		curl_url_get(base, CURLUPART_HOST, &host[0], 0) == CURLUE_OK &&
		curl_url_get(target, CURLUPART_HOST, &host[1], 0) == CURLUE_OK &&
		curl_url_get(base, CURLUPART_PORT, &port[0], CURLU_DEFAULT_PORT) == CURLUE_OK &&
		curl_url_get(target, CURLUPART_PORT, &port[1], CURLU_DEFAULT_PORT) == CURLUE_OK)
		same = pg_strcasecmp(host[0], host[1]) == 0 && strcmp(port[0], port[1]) == 0;
	for (int i = 0; i < 2; i++)
	{
		curl_free(host[i]);
		curl_free(port[i]);
	}
	curl_url_cleanup(base);
	curl_url_cleanup(target);
	return same;
}

static size_t
header_cb(char *data, size_t size, size_t nitems, void *userdata)
{
	Transfer *t = (Transfer *) userdata;
	size_t	  n = size * nitems;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
	{
		const char *sp = memchr(data, ' ', n);

		/* a new response (after a redirect or 100): forget the last one */
		t->headers_seen = true;
		t->retry_after[0] = '\0';
		t->header_status = sp ? strtol(sp + 1, NULL, 10) : 0;
	}
	else if (n > 9 && pg_strncasecmp(data, "Location:", 9) == 0 &&
			 t->header_status >= 300 && t->header_status < 400 &&
			 !redirect_stays_on_host(t, data + 9, n - 9))
	{
		/* returning short aborts the transfer before libcurl follows */
		t->redirect_refused = true;
		return 0;
	}
	else if (n > 12 && pg_strncasecmp(data, "Retry-After:", 12) == 0)
	{
		size_t len = n - 12;

		if (len >= sizeof(t->retry_after))
			len = sizeof(t->retry_after) - 1;
		memcpy(t->retry_after, data + 12, len);
		t->retry_after[len] = '\0';
	}
	return n;
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	Batch *b = (Batch *) userp;
	int	   i;

	for (i = 0; i < b->nsocks; i++)
		if (b->socks[i].fd == fd)
			break;

	if (what == CURL_POLL_REMOVE)
	{
		if (i < b->nsocks)
		{
			b->socks[i] = b->socks[--b->nsocks];
			b->socks_dirty = true;
		}
		return 0;
	}

	if (i == b->nsocks)
	{
		if (b->nsocks == b->socks_cap)
		{
			int			 newcap = b->socks_cap ? b->socks_cap * 2 : 8;
			SocketWatch *grown =
				realloc(b->socks, newcap * sizeof(SocketWatch));

			if (grown == NULL)
			{
				b->socks_oom = true;
				return -1;
			}
			b->socks = grown;
			b->socks_cap = newcap;
		}
		b->socks[i].fd = fd;
		b->socks[i].what = 0;
		b->nsocks++;
	}
	if (b->socks[i].what != what)
	{
		b->socks[i].what = what;
		b->socks_dirty = true;
	}
	return 0;
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	Batch *b = (Batch *) userp;

	b->timer_deadline_ms = timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
	return 0;
}

/* ---------------------------------------------------------------------
 * batch lifetime
 * ---------------------------------------------------------------------
 */

/*
 * Reset callback of the batch context: whatever path leaves the batch
 * (completion, ERROR, the caller's context going away), curl and the wait
 * set are released here, exactly once.
 */
static void
batch_release(void *arg)
{
	Batch *b = (Batch *) arg;
	int	   i;

	for (i = 0; i < b->n; i++)
	{
		Transfer *t = &b->xfers[i];

		if (t->easy != NULL)
		{
			if (t->state == XFER_RUNNING && b->multi != NULL)
				curl_multi_remove_handle(b->multi, t->easy);
			curl_easy_cleanup(t->easy);
			t->easy = NULL;
		}
		free(t->buf);
		t->buf = NULL;
	}
	if (b->multi != NULL)
		curl_multi_cleanup(b->multi);
	b->multi = NULL;
	if (b->headers != NULL)
		curl_slist_free_all(b->headers);
	b->headers = NULL;
	free(b->socks);
	b->socks = NULL;
	if (b->wes != NULL)
		FreeWaitEventSet(b->wes);
	b->wes = NULL;
}

static void
http_global_init(void)
{
	CURLcode rc;

	if (curl_ready)
		return;
	check_curl_features();
	rc = curl_global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK)
		ereport(ERROR, (errcode(ERRCODE_SYSTEM_ERROR),
						errmsg("could not initialize libcurl: %s",
							   curl_easy_strerror(rc))));
	curl_ready = true;
}

static struct curl_slist *
build_header_list(void)
{
	struct curl_slist *list = NULL;
	const char		  *cursor = http_headers ? http_headers : "";
	const char		  *item;
	size_t			   len;

	while (http_headers_next(&cursor, &item, &len))
	{
		char			  *line = pnstrdup(item, len);
		struct curl_slist *next = curl_slist_append(list, line);

		pfree(line);
		if (next == NULL)
		{
			curl_slist_free_all(list);
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		}
		list = next;
	}
	return list;
}

#define SETOPT(easy, opt, val)                                                \
	do                                                                        \
	{                                                                         \
		if (curl_easy_setopt((easy), (opt), (val)) != CURLE_OK)               \
			ereport(ERROR,                                                    \
					(errcode(ERRCODE_INTERNAL_ERROR),                         \
					 errmsg("could not set libcurl option %s", #opt)));       \
	} while (0)

static void
transfer_setup(Batch *b, Transfer *t)
{
	CURL *easy = curl_easy_init();

	if (easy == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("could not create a libcurl handle")));
	t->easy = easy;

	SETOPT(easy, CURLOPT_PRIVATE, t);
	SETOPT(easy, CURLOPT_URL, t->req->url);
	SETOPT(easy, CURLOPT_HTTPGET, 1L);
	SETOPT(easy, CURLOPT_NOSIGNAL, 1L);
	SETOPT(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	/* a redirect may never downgrade a verified https request to http */
	SETOPT(easy, CURLOPT_REDIR_PROTOCOLS_STR,
		   pg_strncasecmp(t->req->url, "https:", 6) == 0 ? "https"
														 : "http,https");
	SETOPT(easy, CURLOPT_FOLLOWLOCATION, 1L);
	SETOPT(easy, CURLOPT_MAXREDIRS, (long) HTTP_MAX_REDIRECTS);
	SETOPT(easy, CURLOPT_CONNECTTIMEOUT_MS, (long) http_connect_timeout);
	SETOPT(easy, CURLOPT_TIMEOUT_MS, (long) http_timeout);
	SETOPT(easy, CURLOPT_LOW_SPEED_LIMIT, (long) http_low_speed_limit);
	SETOPT(easy, CURLOPT_LOW_SPEED_TIME, (long) http_low_speed_time);
	/* Content-Length checked up front; decoded bytes in write_cb */
	SETOPT(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) b->max_size);
	SETOPT(easy, CURLOPT_ACCEPT_ENCODING, "");
	SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (http_ca_file != NULL && http_ca_file[0] != '\0')
		SETOPT(easy, CURLOPT_CAINFO, http_ca_file);
	if (b->headers != NULL)
		SETOPT(easy, CURLOPT_HTTPHEADER, b->headers);
	SETOPT(easy, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(easy, CURLOPT_WRITEDATA, t);
	SETOPT(easy, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(easy, CURLOPT_HEADERDATA, t);
	SETOPT(easy, CURLOPT_ERRORBUFFER, t->errbuf);
}

static void
batch_setup(Batch *b, HttpRequest *reqs, int n)
{
	int i;

	b->n = n;
	b->remaining = n;
	b->timer_deadline_ms = -1;
	b->max_inflight = http_max_inflight;
	b->rate_limit = http_rate_limit;
	b->max_size = (size_t) http_max_response_size;
	b->max_retries = http_max_retries;
	b->started_ms = monotonic_ms();
	b->xfers = palloc0(sizeof(Transfer) * n);

	b->multi = curl_multi_init();
	if (b->multi == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY),
						errmsg("could not create a libcurl multi handle")));
	if (curl_multi_setopt(b->multi, CURLMOPT_SOCKETFUNCTION, socket_cb) !=
			CURLM_OK ||
		curl_multi_setopt(b->multi, CURLMOPT_SOCKETDATA, b) != CURLM_OK ||
		curl_multi_setopt(b->multi, CURLMOPT_TIMERFUNCTION, timer_cb) !=
			CURLM_OK ||
		curl_multi_setopt(b->multi, CURLMOPT_TIMERDATA, b) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not configure the libcurl multi handle")));
	b->headers = build_header_list();

	for (i = 0; i < n; i++)
	{
		Transfer	*t = &b->xfers[i];
		HttpRequest *req = &reqs[i];

		req->ok = false;
		req->status = 0;
		req->curl_code = 0;
		req->phase = HTTP_PHASE_NONE;
		req->error[0] = '\0';
		req->body = NULL;
		req->body_len = 0;
		req->elapsed_ms = 0;
		req->attempts = 0;
		req->effective_url = NULL;

		t->req = req;
		t->batch = b;
		t->state = XFER_PENDING;
	}
}

/* ---------------------------------------------------------------------
 * the loop
 * ---------------------------------------------------------------------
 */

static void
check_multi(CURLMcode mc, const char *what)
{
	if (mc != CURLM_OK)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
						errmsg("libcurl %s failed: %s", what,
							   curl_multi_strerror(mc))));
}

static void
start_attempt(Batch *b, Transfer *t, int64 now)
{
	t->len = 0;
	t->size_capped = false;
	t->oom = false;
	t->headers_seen = false;
	t->header_status = 0;
	t->redirect_refused = false;
	t->retry_after[0] = '\0';
	t->errbuf[0] = '\0';
	if (t->req->attempts == 0)
		t->first_start_ms = now;
	/*
	 * Handles are made on admission and freed on completion, so a batch of
	 * hundreds of requests holds only about http_max_inflight of them.
	 */
	if (t->easy == NULL)
		transfer_setup(b, t);
	check_multi(curl_multi_add_handle(b->multi, t->easy), "add handle");
	t->state = XFER_RUNNING;
	t->req->attempts++;
	b->inflight++;
	b->attempts++;
	http_counters.attempts++;
}

/*
 * Starts what admission control allows now; returns how many milliseconds
 * until a waiting request could start (a retry delay or the next rate
 * token), or -1 when nothing is waiting on time.
 */
static int64
admit(Batch *b)
{
	int64 now = monotonic_ms();
	int64 wait = -1;
	int	  i;

	for (i = 0; i < b->n && b->inflight < b->max_inflight; i++)
	{
		Transfer *t = &b->xfers[i];
		int64	  token_wait;

		if (t->state != XFER_PENDING)
			continue;
		if (t->not_before_ms > now)
		{
			if (wait < 0 || t->not_before_ms - now < wait)
				wait = t->not_before_ms - now;
			continue;
		}
		token_wait = take_rate_token(b->rate_limit, now);
		if (token_wait > 0)
		{
			if (wait < 0 || token_wait < wait)
				wait = token_wait;
			break;
		}
		start_attempt(b, t, now);
	}
	return wait;
}

static void
describe_failure(Transfer *t, CURLcode code)
{
	HttpRequest *req = t->req;
	const char	*phase = http_phase_name(req->phase);

	if (req->phase == HTTP_PHASE_SIZE_CAP)
		snprintf(req->error, sizeof(req->error),
				 "%s: response body exceeds "
				 "racing_sched.http_max_response_size (%zu bytes)",
				 phase, t->batch->max_size);
	else if (t->oom)
		snprintf(req->error, sizeof(req->error),
				 "%s: out of memory while receiving the body", phase);
	else if (req->phase == HTTP_PHASE_HTTP_STATUS)
		snprintf(req->error, sizeof(req->error), "%s: HTTP %ld", phase,
				 req->status);
	else if (t->redirect_refused)
		snprintf(req->error, sizeof(req->error), "%s: %s", phase,
				 t->redirect_error);
	else
		snprintf(req->error, sizeof(req->error), "%s: %s", phase,
				 t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
}

static void
finish_transfer(Batch *b, Transfer *t)
{
	HttpRequest *req = t->req;
	char		*url = NULL;

	/* a body cut at the cap is useless to the caller: count it, keep none */
	if (t->len > 0 && !t->size_capped)
	{
		req->body = MemoryContextAllocExtended(b->callercxt, t->len + 1,
											   MCXT_ALLOC_HUGE);
		memcpy(req->body, t->buf, t->len);
		req->body[t->len] = '\0';
	}
	req->body_len = t->len;
	free(t->buf);
	t->buf = NULL;
	t->cap = 0;

	if (curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK &&
		url)
		req->effective_url = MemoryContextStrdup(b->callercxt, url);
	curl_easy_cleanup(t->easy);
	t->easy = NULL;
	req->elapsed_ms = monotonic_ms() - t->first_start_ms;
	t->state = XFER_DONE;
	b->remaining--;

	if (req->ok)
		http_counters.succeeded++;
	else
		http_counters.failed++;
}

static void
complete_attempt(Batch *b, CURL *easy, CURLcode code)
{
	Transfer		*t = NULL;
	HttpRequest		*req;
	HttpAttemptFacts f;
	curl_off_t		 us;
	char			*url = NULL;
	bool			 retry;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &t);
	req = t->req;

	memset(&f, 0, sizeof(f));
	f.curl_code = code;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &f.status);
	f.size_capped = t->size_capped;
	f.headers_seen = t->headers_seen;
	f.redirect_refused = t->redirect_refused;
	if (curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK &&
		url)
		f.https = pg_strncasecmp(url, "https:", 6) == 0;
	if (curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &us) == CURLE_OK)
		f.namelookup_us = us;
	if (curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &us) == CURLE_OK)
		f.connect_us = us;
	if (curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &us) == CURLE_OK)
		f.appconnect_us = us;
	if (curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &us) == CURLE_OK)
		f.pretransfer_us = us;

	check_multi(curl_multi_remove_handle(b->multi, easy), "remove handle");
	t->state = XFER_PENDING;
	b->inflight--;
	http_counters.bytes += t->len;

	req->status = f.status;
	req->curl_code = code;
	req->phase = http_classify(&f);
	req->ok = (req->phase == HTTP_PHASE_NONE);
	if (req->ok)
		req->error[0] = '\0';
	else
		describe_failure(t, code);

	retry =
		!req->ok && http_is_retryable(&f) && req->attempts <= b->max_retries;
	if (retry)
	{
		int64 delay;

		delay = http_retry_delay_ms(
			req->attempts, t->retry_after[0] ? t->retry_after : NULL,
			time(NULL), http_retry_base_delay, http_retry_max_delay,
			pg_prng_uint32(&pg_global_prng_state));
		t->not_before_ms = monotonic_ms() + delay;
		http_counters.retries++;
	}
	else
		finish_transfer(b, t);

	if (http_attempt_hook)
		http_attempt_hook(req, retry);
}

static void
collect_finished(Batch *b)
{
	CURLMsg *msg;
	int		 left;

	while ((msg = curl_multi_info_read(b->multi, &left)) != NULL)
	{
		if (msg->msg == CURLMSG_DONE)
			complete_attempt(b, msg->easy_handle, msg->data.result);
	}
}

static void
rebuild_wait_set(Batch *b)
{
	int i;

	if (b->wes != NULL)
		FreeWaitEventSet(b->wes);
	b->wes = NULL;
	if (b->events != NULL)
		pfree(b->events);
	b->events = NULL;

	b->nevents = b->nsocks + 2;
	b->wes = CreateWaitEventSet(b->cxt, b->nevents);
	b->events = MemoryContextAlloc(b->cxt, sizeof(WaitEvent) * b->nevents);
	AddWaitEventToSet(b->wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(b->wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL,
					  NULL);
	for (i = 0; i < b->nsocks; i++)
	{
		uint32 ev = 0;

		if (b->socks[i].what & CURL_POLL_IN)
			ev |= WL_SOCKET_READABLE;
		if (b->socks[i].what & CURL_POLL_OUT)
			ev |= WL_SOCKET_WRITEABLE;
		if (ev != 0)
			AddWaitEventToSet(b->wes, ev, b->socks[i].fd, NULL, NULL);
	}
	b->socks_dirty = false;
	b->rebuilds++;
}

static void
wait_and_drive(Batch *b, int64 timeout)
{
	int nready;
	int i;
	int running;

	if (b->wes == NULL || b->socks_dirty)
		rebuild_wait_set(b);

	b->waits++;
	nready = WaitEventSetWait(b->wes, (long) timeout, b->events, b->nevents,
							  PG_WAIT_EXTENSION);
	for (i = 0; i < nready; i++)
	{
		WaitEvent *ev = &b->events[i];
		int		   flags = 0;

		if (ev->events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			continue;
		}
		if (ev->events & WL_SOCKET_READABLE)
			flags |= CURL_CSELECT_IN;
		if (ev->events & WL_SOCKET_WRITEABLE)
			flags |= CURL_CSELECT_OUT;
		if (flags != 0)
			check_multi(
				curl_multi_socket_action(b->multi, ev->fd, flags, &running),
				"socket action");
	}
}

static void
batch_run(Batch *b)
{
	for (;;)
	{
		int64 now;
		int64 timeout;
		int64 admit_wait;
		int	  running;

		CHECK_FOR_INTERRUPTS();
		if (b->socks_oom)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

		now = monotonic_ms();
		if (b->timer_deadline_ms >= 0 && b->timer_deadline_ms <= now)
		{
			b->timer_deadline_ms = -1;
			check_multi(curl_multi_socket_action(b->multi, CURL_SOCKET_TIMEOUT,
												 0, &running),
						"timeout action");
		}
		collect_finished(b);
		if (b->remaining == 0)
			break;

		admit_wait = admit(b);

		/* sleep until curl's timer, an admission, or HTTP_MAX_WAIT_MS */
		now = monotonic_ms();
		timeout = HTTP_MAX_WAIT_MS;
		if (b->timer_deadline_ms >= 0)
			timeout = Min(timeout, Max(b->timer_deadline_ms - now, 0));
		if (admit_wait >= 0)
			timeout = Min(timeout, admit_wait);
		wait_and_drive(b, timeout);
	}

	elog(DEBUG1,
		 "racing_sched http batch: %d requests, %d attempts in " INT64_FORMAT
		 " ms, %d waits, %d wait set rebuilds",
		 b->n, b->attempts, monotonic_ms() - b->started_ms, b->waits,
		 b->rebuilds);
}

void
http_fetch_all(HttpRequest *reqs, int n)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext cxt;
	Batch		 *b;

	if (n <= 0)
		return;
	http_global_init();

	/*
	 * The batch context owns curl: deleting it (below, or with the caller's
	 * context) runs batch_release.
	 */
	cxt = AllocSetContextCreate(callercxt, "racing_sched http batch",
								ALLOCSET_DEFAULT_SIZES);
	b = MemoryContextAllocZero(cxt, sizeof(Batch));
	b->cxt = cxt;
	b->callercxt = callercxt;
	b->release_cb.func = batch_release;
	b->release_cb.arg = b;
	MemoryContextRegisterResetCallback(cxt, &b->release_cb);

	PG_TRY();
	{
		MemoryContextSwitchTo(cxt);
		batch_setup(b, reqs, n);
		batch_run(b);
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(callercxt);
		MemoryContextDelete(cxt);
	}
	PG_END_TRY();
}

bool
http_fetch(HttpRequest *req)
{
	http_fetch_all(req, 1);
	return req->ok;
}
