/*-------------------------------------------------------------------------
 *
 * http_policy.c
 *	  Pure decisions of the HTTP client: which failures are retried and
 *	  after how long, what phase a failure belongs to, request spacing and
 *	  the extra-header list syntax.
 *
 * No backend state, no ereport, no palloc: test/unit/http_policy_test.c
 * links this file alone.  The libcurl loop lives in http.c.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http_policy.h"

static const char *const phase_names[] = {
	[HTTP_PHASE_NONE] = "none",
	[HTTP_PHASE_SETUP] = "setup",
	[HTTP_PHASE_RESOLVE] = "resolve",
	[HTTP_PHASE_CONNECT] = "connect",
	[HTTP_PHASE_TLS] = "tls",
	[HTTP_PHASE_SEND] = "send",
	[HTTP_PHASE_WAIT_HEADERS] = "wait-headers",
	[HTTP_PHASE_RECEIVE] = "receive",
	[HTTP_PHASE_DECODE] = "decode",
	[HTTP_PHASE_SIZE_CAP] = "size-cap",
	[HTTP_PHASE_REDIRECT] = "redirect",
	[HTTP_PHASE_HTTP_STATUS] = "http-status",
};

const char *
http_phase_name(HttpPhase phase)
{
	if ((int) phase < 0 || phase > HTTP_PHASE_HTTP_STATUS)
		return "unknown";
	return phase_names[phase];
}

/* A timeout or an unexpected error: the first step that never completed. */
static HttpPhase
phase_by_progress(const HttpAttemptFacts *f)
{
	if (f->namelookup_us <= 0 && f->connect_us <= 0)
		return HTTP_PHASE_RESOLVE;
	if (f->connect_us <= 0)
		return HTTP_PHASE_CONNECT;
	if (f->https && f->appconnect_us <= 0)
		return HTTP_PHASE_TLS;
	if (f->pretransfer_us <= 0)
		return HTTP_PHASE_SEND;
	if (!f->headers_seen)
		return HTTP_PHASE_WAIT_HEADERS;
	return HTTP_PHASE_RECEIVE;
}

HttpPhase
http_classify(const HttpAttemptFacts *f)
{
	if (f->size_capped)
		return HTTP_PHASE_SIZE_CAP;
	if (f->redirect_refused)
		return HTTP_PHASE_REDIRECT;

	switch ((CURLcode) f->curl_code)
	{
		case CURLE_OK:
			if (f->status >= 200 && f->status < 300)
				return HTTP_PHASE_NONE;
			return HTTP_PHASE_HTTP_STATUS;
		case CURLE_FILESIZE_EXCEEDED:
			return HTTP_PHASE_SIZE_CAP;
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
			return HTTP_PHASE_RESOLVE;
		case CURLE_COULDNT_CONNECT:
			return HTTP_PHASE_CONNECT;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_USE_SSL_FAILED:
			return HTTP_PHASE_TLS;
		case CURLE_TOO_MANY_REDIRECTS:
			return HTTP_PHASE_REDIRECT;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			/* after a 3xx this is a Location we refused to follow */
			if (f->status >= 300 && f->status < 400)
				return HTTP_PHASE_REDIRECT;
			return HTTP_PHASE_SETUP;
		case CURLE_OUT_OF_MEMORY:
		case CURLE_FAILED_INIT:
		case CURLE_BAD_FUNCTION_ARGUMENT:
		case CURLE_UNKNOWN_OPTION:
		case CURLE_NOT_BUILT_IN:
			return HTTP_PHASE_SETUP;
		case CURLE_SEND_ERROR:
			return HTTP_PHASE_SEND;
		case CURLE_GOT_NOTHING:
			return HTTP_PHASE_WAIT_HEADERS;
		case CURLE_RECV_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
			return f->headers_seen ? HTTP_PHASE_RECEIVE
								   : HTTP_PHASE_WAIT_HEADERS;
		case CURLE_PARTIAL_FILE:
		case CURLE_WRITE_ERROR:
			return HTTP_PHASE_RECEIVE;
		case CURLE_BAD_CONTENT_ENCODING:
			return HTTP_PHASE_DECODE;
		case CURLE_OPERATION_TIMEDOUT:
		default:
			return phase_by_progress(f);
	}
}

bool
http_is_retryable(const HttpAttemptFacts *f)
{
	if (f->size_capped || f->redirect_refused)
		return false;
	switch ((CURLcode) f->curl_code)
	{
		case CURLE_OK:
			return f->status == 429 || (f->status >= 500 && f->status <= 599);
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_RECV_ERROR:
		case CURLE_SEND_ERROR:
		case CURLE_PARTIAL_FILE:
		case CURLE_GOT_NOTHING:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			return true;
		default:
			return false;
	}
}

bool
http_parse_retry_after(const char *value, time_t now, int64_t *delay_ms)
{
	const char *p;
	const char *end;
	time_t		when;
	char		buf[64];
	size_t		len;

	if (value == NULL)
		return false;
	while (*value == ' ' || *value == '\t')
		value++;
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t' ||
						   end[-1] == '\r' || end[-1] == '\n'))
		end--;
	len = end - value;
	if (len == 0 || len >= sizeof(buf))
		return false;

	/* delta-seconds */
	if (isdigit((unsigned char) value[0]))
	{
		int64_t secs = 0;

		for (p = value; p < end; p++)
		{
			if (!isdigit((unsigned char) *p))
				break;
			/* saturate: anything this large is clamped later anyway */
			if (secs < INT64_C(1000000000))
				secs = secs * 10 + (*p - '0');
		}
		if (p == end)
		{
			*delay_ms = secs * 1000;
			return true;
		}
	}

	/* HTTP-date: IMF-fixdate, RFC 850 or asctime, parsed by libcurl */
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (!isalpha((unsigned char) buf[0]))
		return false;
	when = curl_getdate(buf, NULL);
	if (when == (time_t) -1)
		return false;
	*delay_ms = (when > now) ? (int64_t) (when - now) * 1000 : 0;
	return true;
}

int64_t
http_retry_delay_ms(int attempt, const char *retry_after, time_t now,
					int64_t base_ms, int64_t max_ms, uint32_t jitter)
{
	int64_t delay;

	if (max_ms < 0)
		max_ms = 0;

	if (!http_parse_retry_after(retry_after, now, &delay))
	{
		int		shift = attempt > 1 ? attempt - 1 : 0;
		int64_t half;

		if (base_ms < 0)
			base_ms = 0;
		/* stop doubling once past the clamp so nothing overflows */
		delay = base_ms;
		while (shift-- > 0 && delay <= max_ms)
			delay *= 2;
		if (delay > max_ms)
			delay = max_ms;
		half = delay / 2;
		delay =
			half + (half > 0 ? (int64_t) (jitter % (uint64_t) (half + 1)) : 0);
	}

	if (delay > max_ms)
		delay = max_ms;
	if (delay < 0)
		delay = 0;
	return delay;
}

int64_t
http_bucket_take(HttpTokenBucket *b, double rate, int64_t now_ms)
{
	double wait;

	if (rate <= 0)
		return 0;

	if (!b->primed)
	{
		b->tokens = 1.0;
		b->last_ms = now_ms;
		b->primed = true;
	}
	else if (now_ms > b->last_ms)
	{
		b->tokens += (double) (now_ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > 1.0)
			b->tokens = 1.0;
		b->last_ms = now_ms;
	}

	if (b->tokens >= 1.0 - 1e-9)
	{
		b->tokens -= 1.0;
		if (b->tokens < 0)
			b->tokens = 0;
		return 0;
	}

	wait = (1.0 - b->tokens) * 1000.0 / rate;
	return (int64_t) wait + 1;
}

bool
http_headers_next(const char **cursor, const char **item, size_t *len)
{
	const char *p = *cursor;

	for (;;)
	{
		const char *start;
		const char *end;

		if (*p == '\0')
		{
			*cursor = p;
			return false;
		}
		start = p;
		while (*p != '\0' && *p != '|')
			p++;
		end = p;
		if (*p == '|')
			p++;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > start)
		{
			*item = start;
			*len = end - start;
			*cursor = p;
			return true;
		}
	}
}

static bool
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

const char *
http_headers_check(const char *spec, int *bad_item)
{
	const char *cursor = spec ? spec : "";
	const char *item;
	size_t		len;
	int			n = 0;

	while (http_headers_next(&cursor, &item, &len))
	{
		size_t i;
		size_t namelen;

		n++;
		*bad_item = n;
		for (i = 0; i < len && item[i] != ':'; i++)
		{
			if (!is_tchar((unsigned char) item[i]))
				return "A header name may hold only letters, digits and "
					   "!#$%&'*+-.^_`~.";
		}
		if (i == len)
			return "Each header must be written as \"Name: value\".";
		namelen = i;
		if (namelen == 0)
			return "A header name must not be empty.";
		for (i = namelen + 1; i < len; i++)
		{
			unsigned char c = (unsigned char) item[i];

			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return "A header value must not hold control characters.";
		}
		if ((namelen == 6 && strncasecmp(item, "Cookie", 6) == 0))
			return "Cookies are never sent.";
		if ((namelen == 15 && strncasecmp(item, "Accept-Encoding", 15) == 0))
			return "Accept-Encoding is set by the client itself, so that the "
				   "size cap applies to decoded bytes.";
	}
	*bad_item = 0;
	return NULL;
}
