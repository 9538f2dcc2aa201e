/*
 * http_policy_test.c
 *	  Plain C tests of src/http_policy.c: backoff and Retry-After, failure
 *	  phases, retryable outcomes, request spacing, header list syntax.
 *	  Time is always an argument; nothing here waits.
 *
 * Prints TAP.  Built by test/unit/Makefile into test/unit/bin/; make test
 * runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http_policy.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                           \
	do                                                                        \
	{                                                                         \
		checks++;                                                             \
		if (!(cond))                                                          \
		{                                                                     \
			failures++;                                                       \
			printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                     \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do                                                                        \
	{                                                                         \
		long long _a = (long long) (a);                                       \
		long long _b = (long long) (b);                                       \
		checks++;                                                             \
		if (_a != _b)                                                         \
		{                                                                     \
			failures++;                                                       \
			printf("# %s:%d: %s == %lld, expected %lld\n", __FILE__,          \
				   __LINE__, #a, _a, _b);                                     \
		}                                                                     \
	} while (0)

/* 2026-11-28 10:00:00 UTC */
#define NOW ((time_t) 1795860000)

static void
test_retry_after(void)
{
	int64_t d;

	CHECK(!http_parse_retry_after(NULL, NOW, &d));
	CHECK(!http_parse_retry_after("", NOW, &d));
	CHECK(!http_parse_retry_after("  ", NOW, &d));
	CHECK(!http_parse_retry_after("soon", NOW, &d));
	CHECK(!http_parse_retry_after("12abc", NOW, &d));
	CHECK(!http_parse_retry_after("-5", NOW, &d));

	CHECK(http_parse_retry_after("0", NOW, &d));
	CHECK_EQ(d, 0);
	CHECK(http_parse_retry_after(" 7\r\n", NOW, &d));
	CHECK_EQ(d, 7000);
	CHECK(http_parse_retry_after("120", NOW, &d));
	CHECK_EQ(d, 120000);
	/* absurdly large values saturate instead of overflowing */
	CHECK(http_parse_retry_after("99999999999999999999999", NOW, &d));
	CHECK(d > 0);

	/* IMF-fixdate, 90 s ahead */
	CHECK(http_parse_retry_after("Sat, 28 Nov 2026 10:01:30 GMT", NOW, &d));
	CHECK_EQ(d, 90000);
	/* RFC 850 and asctime forms */
	CHECK(http_parse_retry_after("Saturday, 28-Nov-26 10:00:05 GMT", NOW, &d));
	CHECK_EQ(d, 5000);
	CHECK(http_parse_retry_after("Sat Nov 28 10:00:10 2026", NOW, &d));
	CHECK_EQ(d, 10000);
	/* in the past: no wait */
	CHECK(http_parse_retry_after("Sat, 28 Nov 2026 09:00:00 GMT", NOW, &d));
	CHECK_EQ(d, 0);
}

static void
test_backoff(void)
{
	int attempt;

	/* no Retry-After: equal jitter within [half, full] of base * 2^(n-1) */
	CHECK_EQ(http_retry_delay_ms(1, NULL, NOW, 500, 30000, 0), 250);
	CHECK_EQ(http_retry_delay_ms(1, NULL, NOW, 500, 30000, 250), 500);
	CHECK_EQ(http_retry_delay_ms(1, NULL, NOW, 500, 30000, 251), 250);
	CHECK_EQ(http_retry_delay_ms(2, NULL, NOW, 500, 30000, 0), 500);
	CHECK_EQ(http_retry_delay_ms(3, NULL, NOW, 500, 30000, 0), 1000);
	CHECK_EQ(http_retry_delay_ms(3, NULL, NOW, 500, 30000, 1000), 2000);
	for (attempt = 1; attempt <= 10; attempt++)
	{
		uint32_t j;

		for (j = 0; j < 5000; j += 37)
		{
			int64_t full = 500LL << (attempt - 1);
			int64_t d;

			if (full > 30000)
				full = 30000;
			d = http_retry_delay_ms(attempt, NULL, NOW, 500, 30000,
									j * 2654435761u);
			CHECK(d >= full / 2 && d <= full);
		}
	}
	/* huge attempt numbers do not overflow: clamped */
	CHECK(http_retry_delay_ms(1000, NULL, NOW, 500, 30000, 12345) <= 30000);
	CHECK(http_retry_delay_ms(1000, NULL, NOW, 500, 30000, 12345) >= 15000);

	/* Retry-After seconds honoured exactly, then clamped */
	CHECK_EQ(http_retry_delay_ms(1, "3", NOW, 500, 30000, 999), 3000);
	CHECK_EQ(http_retry_delay_ms(1, "3600", NOW, 500, 30000, 999), 30000);
	CHECK_EQ(http_retry_delay_ms(1, "0", NOW, 500, 30000, 999), 0);
	/* HTTP-date, relative to the given now */
	CHECK_EQ(http_retry_delay_ms(1, "Sat, 28 Nov 2026 10:00:04 GMT", NOW, 500,
								 30000, 7),
			 4000);
	CHECK_EQ(http_retry_delay_ms(1, "Sat, 28 Nov 2026 11:00:00 GMT", NOW, 500,
								 30000, 7),
			 30000);
	CHECK_EQ(http_retry_delay_ms(1, "Sat, 28 Nov 2026 10:00:04 GMT", NOW + 2,
								 500, 30000, 7),
			 2000);
	/* unreadable Retry-After falls back to backoff */
	CHECK_EQ(http_retry_delay_ms(2, "later", NOW, 500, 30000, 0), 500);
	/* max 0 disables waiting */
	CHECK_EQ(http_retry_delay_ms(4, "10", NOW, 500, 0, 77), 0);
}

static HttpAttemptFacts
facts(int code, long status)
{
	HttpAttemptFacts f;

	memset(&f, 0, sizeof(f));
	f.curl_code = code;
	f.status = status;
	f.namelookup_us = 10;
	f.connect_us = 100;
	f.pretransfer_us = 120;
	f.headers_seen = status != 0;
	return f;
}

static void
test_classify(void)
{
	HttpAttemptFacts f;

	f = facts(CURLE_OK, 200);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_NONE);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_OK, 204);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_NONE);

	f = facts(CURLE_OK, 404);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_HTTP_STATUS);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_OK, 403);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_OK, 429);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_HTTP_STATUS);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_OK, 500);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_OK, 503);
	CHECK(http_is_retryable(&f));

	f = facts(CURLE_COULDNT_RESOLVE_HOST, 0);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_RESOLVE);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_COULDNT_CONNECT, 0);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_CONNECT);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_PEER_FAILED_VERIFICATION, 0);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_TLS);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_SEND_ERROR, 0);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_SEND);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_GOT_NOTHING, 0);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_WAIT_HEADERS);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_RECV_ERROR, 0);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_WAIT_HEADERS);
	f = facts(CURLE_RECV_ERROR, 200);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_RECEIVE);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_PARTIAL_FILE, 200);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_RECEIVE);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_BAD_CONTENT_ENCODING, 200);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_DECODE);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_TOO_MANY_REDIRECTS, 302);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_REDIRECT);
	f = facts(CURLE_UNSUPPORTED_PROTOCOL, 302);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_REDIRECT);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_UNSUPPORTED_PROTOCOL, 0);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_SETUP);

	/* a redirect to another host, cut in the header callback, is final */
	f = facts(CURLE_WRITE_ERROR, 302);
	f.redirect_refused = true;
	CHECK_EQ(http_classify(&f), HTTP_PHASE_REDIRECT);
	CHECK(!http_is_retryable(&f));

	/* the size cap wins over whatever curl reports, and is final */
	f = facts(CURLE_WRITE_ERROR, 200);
	f.size_capped = true;
	CHECK_EQ(http_classify(&f), HTTP_PHASE_SIZE_CAP);
	CHECK(!http_is_retryable(&f));
	f = facts(CURLE_FILESIZE_EXCEEDED, 200);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_SIZE_CAP);

	/* timeouts: the first step that did not finish */
	f = facts(CURLE_OPERATION_TIMEDOUT, 0);
	f.namelookup_us = 0;
	f.connect_us = 0;
	CHECK_EQ(http_classify(&f), HTTP_PHASE_RESOLVE);
	f = facts(CURLE_OPERATION_TIMEDOUT, 0);
	f.connect_us = 0;
	CHECK_EQ(http_classify(&f), HTTP_PHASE_CONNECT);
	f = facts(CURLE_OPERATION_TIMEDOUT, 0);
	f.https = true;
	CHECK_EQ(http_classify(&f), HTTP_PHASE_TLS);
	f.appconnect_us = 110;
	CHECK_EQ(http_classify(&f), HTTP_PHASE_WAIT_HEADERS);
	CHECK(http_is_retryable(&f));
	f = facts(CURLE_OPERATION_TIMEDOUT, 200);
	CHECK_EQ(http_classify(&f), HTTP_PHASE_RECEIVE);

	CHECK(strcmp(http_phase_name(HTTP_PHASE_WAIT_HEADERS), "wait-headers") ==
		  0);
	CHECK(strcmp(http_phase_name(HTTP_PHASE_SIZE_CAP), "size-cap") == 0);
	CHECK(strcmp(http_phase_name(HTTP_PHASE_HTTP_STATUS), "http-status") == 0);
}

static void
test_bucket(void)
{
	HttpTokenBucket b;

	memset(&b, 0, sizeof(b));
	/* unlimited */
	CHECK_EQ(http_bucket_take(&b, 0, 1000), 0);
	CHECK_EQ(http_bucket_take(&b, 0, 1000), 0);

	/* 2 per second: the first is free, then one every 500 ms */
	memset(&b, 0, sizeof(b));
	CHECK_EQ(http_bucket_take(&b, 2.0, 10000), 0);
	CHECK(http_bucket_take(&b, 2.0, 10000) > 0);
	CHECK(http_bucket_take(&b, 2.0, 10000) <= 501);
	CHECK(http_bucket_take(&b, 2.0, 10000) >= 499);
	CHECK(http_bucket_take(&b, 2.0, 10250) > 0);
	CHECK(http_bucket_take(&b, 2.0, 10250) <= 251);
	CHECK_EQ(http_bucket_take(&b, 2.0, 10500), 0);
	/* no burst after a long idle period */
	CHECK_EQ(http_bucket_take(&b, 2.0, 20000), 0);
	CHECK(http_bucket_take(&b, 2.0, 20000) > 0);
	/* slow rates */
	memset(&b, 0, sizeof(b));
	CHECK_EQ(http_bucket_take(&b, 0.5, 0), 0);
	CHECK(http_bucket_take(&b, 0.5, 1000) > 900);
	CHECK_EQ(http_bucket_take(&b, 0.5, 2000), 0);
}

static int
count_items(const char *spec)
{
	const char *cursor = spec;
	const char *item;
	size_t		len;
	int			n = 0;

	while (http_headers_next(&cursor, &item, &len))
		n++;
	return n;
}

static void
test_headers(void)
{
	int			bad = -1;
	const char *cursor;
	const char *item;
	size_t		len;

	CHECK(http_headers_check("", &bad) == NULL);
	CHECK(http_headers_check(NULL, &bad) == NULL);
	CHECK(
		http_headers_check("User-Agent: x/1.0 (y; z)|Accept: application/json",
						   &bad) == NULL);
	CHECK(http_headers_check(" X-A: 1 | | X-B: 2 |", &bad) == NULL);
	CHECK(http_headers_check("X-Empty:", &bad) == NULL);
	CHECK_EQ(count_items(" X-A: 1 | | X-B: 2 |"), 2);
	CHECK_EQ(count_items(""), 0);

	cursor = "  Accept: a/b  |Referer: https://x/ ";
	CHECK(http_headers_next(&cursor, &item, &len));
	CHECK(len == 11 && strncmp(item, "Accept: a/b", len) == 0);
	CHECK(http_headers_next(&cursor, &item, &len));
	CHECK(len == 19 && strncmp(item, "Referer: https://x/", len) == 0);
	CHECK(!http_headers_next(&cursor, &item, &len));

	CHECK(http_headers_check("Accept application/json", &bad) != NULL);
	CHECK_EQ(bad, 1);
	CHECK(http_headers_check("Accept: a|: nameless", &bad) != NULL);
	CHECK_EQ(bad, 2);
	CHECK(http_headers_check("Bad Name: x", &bad) != NULL);
	CHECK(http_headers_check("X-A: 1|X-B: two\rInjected: yes", &bad) != NULL);
	CHECK_EQ(bad, 2);
	CHECK(http_headers_check("X-A: \x01", &bad) != NULL);
	CHECK(http_headers_check("cookie: a=b", &bad) != NULL);
	CHECK(http_headers_check("Accept-Encoding: identity", &bad) != NULL);
}

/* TAP: one test point per group of checks */
static int test_number = 0;

static void
run(const char *name, void (*fn)(void))
{
	int before = failures;

	fn();
	test_number++;
	printf("%s %d - %s\n", failures == before ? "ok" : "not ok", test_number,
		   name);
}

int
main(void)
{
	printf("1..5\n");
	run("Retry-After: seconds and HTTP-date", test_retry_after);
	run("backoff: exponential, jittered, clamped", test_backoff);
	run("failure phases and retryable outcomes", test_classify);
	run("token bucket spacing", test_bucket);
	run("extra header list syntax", test_headers);
	printf("# %d checks, %d failed\n", checks, failures);
	return failures == 0 ? 0 : 1;
}
