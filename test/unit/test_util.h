/*
 * test_util.h
 *		TAP output, a counting malloc allocator and small JSON helpers for
 *		the standalone tab_parse test programs (and the fuzz harness).
 *
 * Header-only on purpose: each test program is one translation unit plus
 * src/tab_parse.c.  Nothing here is linked into the extension.
 */
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tab_parse.h"

/* ------------------------------------------------------------- TAP */

static int tap_count = 0;
static int tap_failed = 0;

static inline int ok(int cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static inline int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static inline void diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static inline void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed == 0 ? 0 : 1;
}

#define is_int(got, want, name)                                               \
	do                                                                        \
	{                                                                         \
		long long g_ = (long long) (got), w_ = (long long) (want);            \
		if (!ok(g_ == w_, "%s", name))                                        \
			diag("got %lld, want %lld", g_, w_);                              \
	} while (0)

#define is_str(got, want, name)                                                  \
	do                                                                           \
	{                                                                            \
		const char *g_ = (got), *w_ = (want);                                    \
		int			same_ =                                                      \
			(g_ == NULL || w_ == NULL) ? g_ == w_ : strcmp(g_, w_) == 0; \
		if (!ok(same_, "%s", name))                                              \
			diag("got \"%s\", want \"%s\"", g_ ? g_ : "(null)",                  \
				 w_ ? w_ : "(null)");                                            \
	} while (0)

/* ------------------------------------------------------ allocators */

/*
 * Counts live blocks so a test can prove that every path gives back what it
 * took; fail_after >= 0 makes the (fail_after+1)-th allocation fail.
 */
typedef struct CountingAlloc
{
	long live;
	long total;
	long fail_after;
} CountingAlloc;

static inline void *
counting_alloc(void *ctx, size_t size)
{
	CountingAlloc *ca = ctx;
	void		  *p;

	if (ca->fail_after >= 0 && ca->total >= ca->fail_after)
		return NULL;
	ca->total++;
	p = malloc(size > 0 ? size : 1);
	if (p != NULL)
		ca->live++;
	return p;
}

static inline void
counting_free(void *ctx, void *p)
{
	CountingAlloc *ca = ctx;

	ca->live--;
	free(p);
}

static inline TabAllocator
counting_allocator(CountingAlloc *ca)
{
	TabAllocator a;

	ca->live = 0;
	ca->total = 0;
	ca->fail_after = -1;
	a.alloc = counting_alloc;
	a.free = counting_free;
	a.ctx = ca;
	return a;
}

/*
 * A region allocator with no per-block free, as a memory context is used
 * by the extension: everything goes at once with region_release.
 */
typedef struct RegionBlock
{
	struct RegionBlock *next;
	size_t				pad;
} RegionBlock;

typedef struct Region
{
	RegionBlock *blocks;
	long		 count;
	long		 fail_after; /* >= 0: the (fail_after+1)-th block fails */
} Region;

static inline void *
region_alloc(void *ctx, size_t size)
{
	Region		*r = ctx;
	RegionBlock *b;

	if (r->fail_after >= 0 && r->count >= r->fail_after)
		return NULL;
	b = malloc(sizeof(RegionBlock) + size);
	if (b == NULL)
		return NULL;
	b->next = r->blocks;
	r->blocks = b;
	r->count++;
	return b + 1;
}

static inline TabAllocator
region_allocator(Region *r)
{
	TabAllocator a;

	r->blocks = NULL;
	r->count = 0;
	r->fail_after = -1;
	a.alloc = region_alloc;
	a.free = NULL;
	a.ctx = r;
	return a;
}

static inline void
region_release(Region *r)
{
	while (r->blocks != NULL)
	{
		RegionBlock *next = r->blocks->next;

		free(r->blocks);
		r->blocks = next;
	}
}

/* ------------------------------------------------------------ JSON */

/*
 * Test documents are written with single quotes to keep them readable in
 * C; J() turns them into double quotes.  Returns a malloc'd copy.
 */
static inline char *
J(const char *sq)
{
	size_t n = strlen(sq);
	char  *s = malloc(n + 1);
	size_t i;

	if (s == NULL)
		abort();
	for (i = 0; i <= n; i++)
		s[i] = sq[i] == '\'' ? '"' : sq[i];
	return s;
}

static inline char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long  size;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t) size + 1);
	if (buf == NULL || fread(buf, 1, (size_t) size, f) != (size_t) size)
	{
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[size] = '\0';
	*len = (size_t) size;
	return buf;
}

/* ------------------------------------------------ parse expectations */

/* Every test allocates through this, so leaks show as live != 0. */
static CountingAlloc test_ca;

static inline TabAllocator
test_allocator(void)
{
	return counting_allocator(&test_ca);
}

static inline void
check_no_leak(const char *name)
{
	if (!ok(test_ca.live == 0, "%s: nothing left allocated", name))
		diag("%ld blocks still live", test_ca.live);
}

static inline void
check_error(const TabParseError *err, TabParseErrorCode code, const char *path,
			const char *name)
{
	if (!ok(err->code == code && strcmp(err->path, path) == 0,
			"%s: %s error at %s", name, tab_parse_error_code_name(code), path))
		diag("got %s error at %s: %s", tab_parse_error_code_name(err->code),
			 err->path, err->message);
	else
		diag("%s", err->message);
}

/* A race document in single-quote notation must fail with code at path. */
static inline void
race_fails(const char *sq, TabParseErrorCode code, const char *path,
		   const char *name)
{
	TabAllocator  a = test_allocator();
	TabParseError err;
	TabRace		  sentinel;
	TabRace		 *race = &sentinel; /* must be reset to NULL */
	char		 *doc = J(sq);
	int			  rc = tab_parse_race(doc, strlen(doc), &a, &race, &err);

	ok(rc == -1 && race == NULL, "%s: race document rejected", name);
	check_error(&err, code, path, name);
	if (rc == 0)
		tab_race_free(race);
	check_no_leak(name);
	free(doc);
}

/* A meetings list that must fail as a whole. */
static inline void
meetings_fail(const char *sq, TabParseErrorCode code, const char *path,
			  const char *name)
{
	TabAllocator	a = test_allocator();
	TabParseError	err;
	TabMeetingList *list = NULL;
	char		   *doc = J(sq);
	int				rc = tab_parse_meetings(doc, strlen(doc), &a, &list, &err);

	ok(rc == -1 && list == NULL, "%s: meetings list rejected", name);
	check_error(&err, code, path, name);
	if (rc == 0)
		tab_meeting_list_free(list);
	check_no_leak(name);
	free(doc);
}

/*
 * A meetings list whose single meeting must fail alone: the call succeeds
 * with zero meetings and one failure at path.
 */
static inline void
meeting_fails(const char *sq, TabParseErrorCode code, const char *path,
			  const char *name)
{
	TabAllocator	a = test_allocator();
	TabParseError	err;
	TabMeetingList *list = NULL;
	char		   *doc = J(sq);
	int				rc = tab_parse_meetings(doc, strlen(doc), &a, &list, &err);

	if (!ok(rc == 0 && list != NULL && list->n_failures == 1 &&
				list->n_meetings == 0,
			"%s: list parsed, meeting failed alone", name))
		diag("rc %d: %s", rc, rc == 0 ? "" : err.message);
	if (rc == 0 && list->n_failures == 1)
		check_error(&list->failures[0].error, code, path, name);
	tab_meeting_list_free(rc == 0 ? list : NULL);
	check_no_leak(name);
	free(doc);
}

#endif /* TEST_UTIL_H */
