/*
 * tab_parse.c
 *		TAB racing JSON (meetings list, race document, next to go) to the
 *		plain C structs of tab_parse.h, with validation and error paths.
 *
 * Pure: no PostgreSQL headers, no SPI, no ereport, no direct malloc.  All
 * memory, jansson's included, comes from the caller's TabAllocator; output
 * lives in an arena of chunks so that strings and arrays cost no call to
 * the allocator each.  Storing the structs is store.c's business, fetching
 * the bytes http.c's.
 */
#include "tab_parse.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds documented in tab_parse.h */
#define MAX_RACE_NUMBER 100
#define MAX_RUNNER_NUMBER 999
#define MAX_BARRIER 999
#define MAX_DISTANCE 10000
#define MAX_PRICE 1e6
#define MAX_WEIGHT 500
#define MAX_PRIZE_DOLLARS 10000000000LL
#define MIN_YEAR 1900
#define MAX_YEAR 9999

/* Array length caps: far above real documents, low enough to bound memory */
#define MAX_MEETINGS 2000
#define MAX_RACES 1000
#define MAX_RESULT_GROUPS 999
#define MAX_SELECTIONS 999
#define MAX_DIVIDENDS 200
#define MAX_POOL_DIVIDENDS 1000

/* Errors after this many in one document are not located in the text */
#define MAX_LOCATED_ERRORS 16

#define CHUNK_SIZE ((size_t) 64 * 1024)
#define ARENA_ALIGN ((size_t) 8)
#define PATH_DEPTH_MAX 12
#define EXCERPT_MAX 40
/* room for the detail beside the path and location in a message */
#define DETAIL_MAX (TAB_PARSE_MESSAGE_MAX - TAB_PARSE_PATH_MAX - 48)

/* ---------------------------------------------------------------- arena */

struct TabChunk
{
	TabChunk *next;
	size_t	  pad; /* keeps the payload 16-byte aligned */
};

typedef struct Arena
{
	TabAllocator a;
	TabChunk	*chunks;
	char		*cur;
	size_t		 left;
} Arena;

static void
chunks_release(const TabAllocator *a, TabChunk *chunk)
{
	while (chunk != NULL)
	{
		TabChunk *next = chunk->next;

		if (a->free != NULL)
			a->free(a->ctx, chunk);
		chunk = next;
	}
}

static TabChunk *
chunk_new(Arena *ar, size_t payload)
{
	TabChunk *chunk;

	if (payload > SIZE_MAX - sizeof(TabChunk))
		return NULL;
	chunk = ar->a.alloc(ar->a.ctx, sizeof(TabChunk) + payload);
	if (chunk == NULL)
		return NULL;
	chunk->next = ar->chunks;
	ar->chunks = chunk;
	return chunk;
}

/* Zeroed, 8-byte aligned memory, or NULL when the allocator fails. */
static void *
arena_alloc(Arena *ar, size_t size)
{
	void *p;

	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (size > ar->left)
	{
		TabChunk *chunk;

		if (size > CHUNK_SIZE / 4)
		{
			/* a big block gets its own chunk; the current one stays */
			chunk = chunk_new(ar, size);
			if (chunk == NULL)
				return NULL;
			p = chunk + 1;
			memset(p, 0, size);
			return p;
		}
		chunk = chunk_new(ar, CHUNK_SIZE);
		if (chunk == NULL)
			return NULL;
		ar->cur = (char *) (chunk + 1);
		ar->left = CHUNK_SIZE;
	}
	p = ar->cur;
	ar->cur += size;
	ar->left -= size;
	memset(p, 0, size);
	return p;
}

/* ------------------------------------------- jansson allocator redirect */

/*
 * jansson's allocator is process-global and takes no context, so one
 * session lives here for the duration of one public call only.
 *
 * jansson 2.14 copes with most allocation failures, but not inside its
 * lexer: when growing the buffer of the current token fails, a later
 * assert() aborts the process.  So jansson is never handed NULL: after the
 * first failure it is served from a static emergency reserve (untouched,
 * so costing no memory, until an allocation fails), and the input is cut
 * off (EOF), so it stops within one read (at most 1 KiB of input).
 * Tokens are capped (MAX_TOKEN_BYTES) so that the token buffer's growth
 * always fits in the reserve.  The call then fails with TAB_PARSE_MEMORY.
 */
#define JSON_RESERVE_SIZE ((size_t) 512 * 1024)
#define MAX_TOKEN_BYTES ((size_t) 64 * 1024)
#define JSON_CHUNK_SIZE ((size_t) 32 * 1024)

typedef struct JsonSession
{
	const TabAllocator *a;
	bool				failed; /* an allocation failed: serve the reserve */
	size_t				reserve_used;
	/*
	 * Without a free function (memory released wholesale by the caller),
	 * jansson's many small blocks are cut from chunks of JSON_CHUNK_SIZE
	 * here rather than asked of the allocator one by one, and nothing is
	 * freed: the tree is dropped with the caller's memory.
	 */
	char			   *bump;
	size_t				bump_left;
	const char		   *buf; /* the input, fed to jansson in reads */
	size_t				len;
	size_t				pos;
	json_malloc_t		saved_malloc;
	json_free_t			saved_free;
} JsonSession;

static JsonSession *json_session = NULL;

static union
{
	char		bytes[JSON_RESERVE_SIZE];
	long double align;
} json_reserve;

/* A block of jansson's from the current chunk, or NULL to ask the allocator. */
static void *
json_bump_alloc(JsonSession *s, size_t size)
{
	void *p;

	if (size > JSON_CHUNK_SIZE / 8)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (size > s->bump_left)
	{
		char *chunk = s->a->alloc(s->a->ctx, JSON_CHUNK_SIZE);

		if (chunk == NULL)
			return NULL;
		s->bump = chunk;
		s->bump_left = JSON_CHUNK_SIZE;
	}
	p = s->bump;
	s->bump += size;
	s->bump_left -= size;
	return p;
}

static void *
json_alloc_cb(size_t size)
{
	JsonSession *s = json_session;
	void		*p;

	if (!s->failed)
	{
		p = s->a->free == NULL ? json_bump_alloc(s, size) : NULL;
		if (p == NULL)
			p = s->a->alloc(s->a->ctx, size);
		if (p != NULL)
			return p;
		s->failed = true;
	}
	if (size > JSON_RESERVE_SIZE)
		return NULL;
	size = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (size > JSON_RESERVE_SIZE - s->reserve_used)
		return NULL;
	p = json_reserve.bytes + s->reserve_used;
	s->reserve_used += size;
	return p;
}

static bool
in_reserve(const void *p)
{
	uintptr_t x = (uintptr_t) p;
	uintptr_t base = (uintptr_t) json_reserve.bytes;

	return x >= base && x < base + JSON_RESERVE_SIZE;
}

static void
json_free_cb(void *p)
{
	JsonSession *s = json_session;

	if (p != NULL && !in_reserve(p) && s->a->free != NULL)
		s->a->free(s->a->ctx, p);
}

/* jansson's reader: hands out the input, or EOF once memory ran out. */
static size_t
json_read_cb(void *buffer, size_t buflen, void *data)
{
	JsonSession *s = data;
	size_t		 n = s->len - s->pos;

	if (s->failed)
		return 0;
	if (n > buflen)
		n = buflen;
	memcpy(buffer, s->buf + s->pos, n);
	s->pos += n;
	return n;
}

static void
json_session_begin(JsonSession *s, const TabAllocator *a, const char *buf,
				   size_t len)
{
	memset(s, 0, sizeof(*s));
	s->a = a;
	s->buf = buf;
	s->len = len;
	json_get_alloc_funcs(&s->saved_malloc, &s->saved_free);
	json_session = s;
	json_set_alloc_funcs(json_alloc_cb, json_free_cb);
}

static void
json_session_end(JsonSession *s)
{
	json_set_alloc_funcs(s->saved_malloc, s->saved_free);
	json_session = NULL;
}

/* ----------------------------------------------------- parse context */

typedef struct PathElem
{
	const char *key; /* NULL for an array index */
	size_t		index;
} PathElem;

typedef struct Ctx
{
	Arena		   arena;
	const char	  *buf;
	size_t		   len;
	PathElem	   path[PATH_DEPTH_MAX];
	int			   depth;
	int			   located;
	TabParseError *err; /* where the next error is written */
} Ctx;

static void
push_key(Ctx *c, const char *key)
{
	if (c->depth < PATH_DEPTH_MAX)
	{
		c->path[c->depth].key = key;
		c->path[c->depth].index = 0;
	}
	c->depth++;
}

static void
push_index(Ctx *c, size_t index)
{
	if (c->depth < PATH_DEPTH_MAX)
	{
		c->path[c->depth].key = NULL;
		c->path[c->depth].index = index;
	}
	c->depth++;
}

static void
pop(Ctx *c)
{
	c->depth--;
}

/* ------------------------------------------------------ error helpers */

const char *
tab_parse_error_code_name(TabParseErrorCode code)
{
	switch (code)
	{
		case TAB_PARSE_OK:
			return "ok";
		case TAB_PARSE_SYNTAX:
			return "syntax";
		case TAB_PARSE_SHAPE:
			return "shape";
		case TAB_PARSE_RANGE:
			return "range";
		case TAB_PARSE_FORMAT:
			return "format";
		case TAB_PARSE_DUPLICATE:
			return "duplicate";
		case TAB_PARSE_MEMORY:
			return "memory";
		case TAB_PARSE_USAGE:
			return "usage";
	}
	return "unknown";
}

/*
 * Copy what fits of s into dst for a message, printable ASCII only,
 * so a message is always valid text in any server encoding.
 */
static void
excerpt(char *dst, size_t dstsize, const char *s, size_t len)
{
	size_t i;
	size_t o = 0;

	for (i = 0; i < len && o + 4 < dstsize; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		dst[o++] = (ch >= 0x20 && ch < 0x7f) ? (char) ch : '?';
	}
	if (i < len && o + 3 < dstsize)
	{
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static void
render_path(const Ctx *c, char *dst, size_t size)
{
	size_t o;
	int	   i;
	int	   n = c->depth < PATH_DEPTH_MAX ? c->depth : PATH_DEPTH_MAX;

	o = (size_t) snprintf(dst, size, "$");
	for (i = 0; i < n && o < size; i++)
	{
		int w;

		if (c->path[i].key != NULL)
			w = snprintf(dst + o, size - o, ".%s", c->path[i].key);
		else
			w = snprintf(dst + o, size - o, "[%zu]", c->path[i].index);
		if (w < 0)
			break;
		o += (size_t) w;
	}
}

static size_t locate(const Ctx *c);

static void
set_line_column(TabParseError *err, const char *buf, size_t pos)
{
	size_t i;
	size_t line_start = 0;
	int	   line = 1;

	for (i = 0; i < pos && line < INT_MAX; i++)
	{
		if (buf[i] == '\n')
		{
			line++;
			line_start = i + 1;
		}
	}
	err->line = line;
	err->column =
		pos - line_start < INT_MAX ? (int) (pos - line_start) + 1 : INT_MAX;
	err->position = pos;
}

static void
finish_message(TabParseError *err, const char *detail)
{
	if (err->line > 0)
		snprintf(err->message, sizeof(err->message),
				 "%s: %s (line %d, column %d)", err->path, detail, err->line,
				 err->column);
	else
		snprintf(err->message, sizeof(err->message), "%s: %s", err->path,
				 detail);
}

/* The one way errors are made: fills c->err at the current path; returns -1. */
static int fail(Ctx *c, TabParseErrorCode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(Ctx *c, TabParseErrorCode code, const char *fmt, ...)
{
	TabParseError *err = c->err;
	char		   detail[DETAIL_MAX];
	va_list		   ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);

	memset(err, 0, sizeof(*err));
	err->code = code;
	render_path(c, err->path, sizeof(err->path));
	if (code != TAB_PARSE_MEMORY && c->located < MAX_LOCATED_ERRORS)
	{
		c->located++;
		set_line_column(err, c->buf, locate(c));
	}
	finish_message(err, detail);
	return -1;
}

static int
fail_memory(Ctx *c)
{
	return fail(c, TAB_PARSE_MEMORY, "out of memory");
}

static const char *
json_type_name(const json_t *v)
{
	switch (json_typeof(v))
	{
		case JSON_OBJECT:
			return "object";
		case JSON_ARRAY:
			return "array";
		case JSON_STRING:
			return "string";
		case JSON_INTEGER:
			return "integer";
		case JSON_REAL:
			return "real";
		case JSON_TRUE:
		case JSON_FALSE:
			return "boolean";
		case JSON_NULL:
			return "null";
	}
	return "unknown";
}

static int
fail_type(Ctx *c, const char *expected, const json_t *v)
{
	return fail(c, TAB_PARSE_SHAPE, "expected %s, found %s", expected,
				json_type_name(v));
}

/* --------------------------------------------- locating a path in text */

/*
 * The document already passed jansson, so these scanners may assume valid
 * JSON; they still check every index against the length.
 */
static size_t
skip_ws(const char *b, size_t n, size_t p)
{
	while (p < n &&
		   (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r'))
		p++;
	return p;
}

static size_t
skip_string(const char *b, size_t n, size_t p)
{
	for (p++; p < n; p++)
	{
		if (b[p] == '\\')
			p++;
		else if (b[p] == '"')
			return p + 1;
	}
	return n;
}

static size_t
skip_value(const char *b, size_t n, size_t p)
{
	int depth = 0;

	if (p >= n)
		return n;
	if (b[p] == '"')
		return skip_string(b, n, p);
	if (b[p] != '{' && b[p] != '[')
	{
		while (p < n && strchr(",]} \t\r\n", b[p]) == NULL)
			p++;
		return p;
	}
	while (p < n)
	{
		if (b[p] == '"')
		{
			p = skip_string(b, n, p);
			continue;
		}
		if (b[p] == '{' || b[p] == '[')
			depth++;
		else if ((b[p] == '}' || b[p] == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return n;
}

static int
hex4(const char *b, size_t n, size_t p, unsigned *cp)
{
	unsigned v = 0;
	size_t	 i;

	if (p + 4 > n)
		return -1;
	for (i = p; i < p + 4; i++)
	{
		char ch = b[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (unsigned) (ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (unsigned) (ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (unsigned) (ch - 'A' + 10);
		else
			return -1;
	}
	*cp = v;
	return 0;
}

/* Does the JSON string at b[p] == '"' decode to the ASCII text key? */
static bool
key_equals(const char *b, size_t n, size_t p, const char *key)
{
	size_t k = 0;

	for (p++; p < n; p++)
	{
		unsigned ch = (unsigned char) b[p];

		if (ch == '"')
			return key[k] == '\0';
		if (ch == '\\')
		{
			if (++p >= n)
				return false;
			ch = (unsigned char) b[p];
			if (ch == 'u')
			{
				if (hex4(b, n, p + 1, &ch) != 0)
					return false;
				p += 4;
			}
			else if (ch == 'n')
				ch = '\n';
			else if (ch == 't')
				ch = '\t';
			else if (ch == 'r')
				ch = '\r';
			else if (ch == 'b')
				ch = '\b';
			else if (ch == 'f')
				ch = '\f';
		}
		if (key[k] == '\0' || (unsigned char) key[k] != ch)
			return false;
		k++;
	}
	return false;
}

#define NOT_FOUND SIZE_MAX

static size_t
find_key(const char *b, size_t n, size_t p, const char *key)
{
	if (p >= n || b[p] != '{')
		return NOT_FOUND;
	for (p++;;)
	{
		bool match;

		p = skip_ws(b, n, p);
		if (p >= n || b[p] != '"')
			return NOT_FOUND;
		match = key_equals(b, n, p, key);
		p = skip_ws(b, n, skip_string(b, n, p));
		if (p >= n || b[p] != ':')
			return NOT_FOUND;
		p = skip_ws(b, n, p + 1);
		if (match)
			return p;
		p = skip_ws(b, n, skip_value(b, n, p));
		if (p >= n || b[p] != ',')
			return NOT_FOUND;
		p++;
	}
}

static size_t
find_index(const char *b, size_t n, size_t p, size_t index)
{
	size_t i;

	if (p >= n || b[p] != '[')
		return NOT_FOUND;
	p = skip_ws(b, n, p + 1);
	for (i = 0; p < n && b[p] != ']'; i++)
	{
		if (i == index)
			return p;
		p = skip_ws(b, n, skip_value(b, n, p));
		if (p >= n || b[p] != ',')
			return NOT_FOUND;
		p = skip_ws(b, n, p + 1);
	}
	return NOT_FOUND;
}

/* Byte offset of the value at the current path, or of its deepest parent. */
static size_t
locate(const Ctx *c)
{
	size_t p = skip_ws(c->buf, c->len, 0);
	int	   n = c->depth < PATH_DEPTH_MAX ? c->depth : PATH_DEPTH_MAX;
	int	   i;

	for (i = 0; i < n; i++)
	{
		size_t next;

		if (c->path[i].key != NULL)
			next = find_key(c->buf, c->len, p, c->path[i].key);
		else
			next = find_index(c->buf, c->len, p, c->path[i].index);
		if (next == NOT_FOUND)
			break;
		p = next;
	}
	return p < c->len ? p : c->len;
}

/* ------------------------------------------------- pure text parsers */

static int
read_digits(const char *s, size_t len, size_t pos, int count, int *out)
{
	int v = 0;
	int i;

	if (pos + (size_t) count > len)
		return -1;
	for (i = 0; i < count; i++)
	{
		char ch = s[pos + (size_t) i];

		if (ch < '0' || ch > '9')
			return -1;
		v = v * 10 + (ch - '0');
	}
	*out = v;
	return 0;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
								 31, 31, 30, 31, 30, 31};

	return (m == 2 && is_leap(y)) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t yy = (int64_t) y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t yoe = yy - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static TabParseErrorCode
parse_ymd(const char *s, size_t len, int *y, int *m, int *d)
{
	if (len < 10 || read_digits(s, len, 0, 4, y) != 0 || s[4] != '-' ||
		read_digits(s, len, 5, 2, m) != 0 || s[7] != '-' ||
		read_digits(s, len, 8, 2, d) != 0)
		return TAB_PARSE_FORMAT;
	if (*y < MIN_YEAR || *y > MAX_YEAR || *m < 1 || *m > 12 || *d < 1 ||
		*d > days_in_month(*y, *m))
		return TAB_PARSE_RANGE;
	return TAB_PARSE_OK;
}

static TabParseErrorCode
date_parse(const char *s, size_t len, TabDate *date)
{
	TabParseErrorCode rc;

	if (len != 10)
		return TAB_PARSE_FORMAT;
	rc = parse_ymd(s, len, &date->year, &date->month, &date->day);
	if (rc != TAB_PARSE_OK)
		return rc;
	memcpy(date->text, s, 10);
	date->text[10] = '\0';
	return TAB_PARSE_OK;
}

/* "+hh:mm", "-hhmm" or "Z" at s[p..len); seconds east of UTC. */
static TabParseErrorCode
parse_zone(const char *s, size_t len, size_t p, int *offset)
{
	int sign;
	int hh;
	int mm;

	if (p + 1 == len && (s[p] == 'Z' || s[p] == 'z'))
	{
		*offset = 0;
		return TAB_PARSE_OK;
	}
	if (p >= len || (s[p] != '+' && s[p] != '-'))
		return TAB_PARSE_FORMAT;
	sign = s[p] == '-' ? -1 : 1;
	if (read_digits(s, len, p + 1, 2, &hh) != 0)
		return TAB_PARSE_FORMAT;
	p += 3;
	if (p < len && s[p] == ':')
		p++;
	if (read_digits(s, len, p, 2, &mm) != 0 || p + 2 != len)
		return TAB_PARSE_FORMAT;
	if (hh > 23 || mm > 59)
		return TAB_PARSE_RANGE;
	*offset = sign * (hh * 3600 + mm * 60);
	return TAB_PARSE_OK;
}

static TabParseErrorCode
timestamp_parse(const char *s, size_t len, int64_t *epoch)
{
	int				  y, m, d, hh, mi, ss, offset;
	size_t			  p = 19;
	TabParseErrorCode date_rc;
	TabParseErrorCode zone_rc;

	/* the whole shape first, so that bad text is "format", not "range" */
	date_rc = parse_ymd(s, len, &y, &m, &d);
	if (date_rc == TAB_PARSE_FORMAT || len < 20 ||
		(s[10] != 'T' && s[10] != 't') ||
		read_digits(s, len, 11, 2, &hh) != 0 || s[13] != ':' ||
		read_digits(s, len, 14, 2, &mi) != 0 || s[16] != ':' ||
		read_digits(s, len, 17, 2, &ss) != 0)
		return TAB_PARSE_FORMAT;
	if (p < len && s[p] == '.')
	{
		size_t digits_start = ++p;

		while (p < len && s[p] >= '0' && s[p] <= '9')
			p++;
		if (p == digits_start || p - digits_start > 9)
			return TAB_PARSE_FORMAT;
	}
	zone_rc = parse_zone(s, len, p, &offset);
	if (zone_rc != TAB_PARSE_OK)
		return zone_rc;
	if (date_rc != TAB_PARSE_OK)
		return date_rc;
	if (hh > 23 || mi > 59 || ss > 59)
		return TAB_PARSE_RANGE;
	*epoch =
		days_from_civil(y, m, d) * 86400 + hh * 3600 + mi * 60 + ss - offset;
	return TAB_PARSE_OK;
}

/* "$1,250,000.50", "280000.00", "17760": cents */
static TabParseErrorCode
money_parse(const char *s, size_t len, int64_t *cents)
{
	size_t	p = 0;
	int64_t dollars = 0;
	int		frac = 0;
	int		ndigits = 0;

	if (p < len && s[p] == '$')
		p++;
	for (; p < len && ((s[p] >= '0' && s[p] <= '9') || s[p] == ','); p++)
	{
		if (s[p] == ',')
			continue;
		if (dollars > MAX_PRIZE_DOLLARS)
			return TAB_PARSE_RANGE;
		dollars = dollars * 10 + (s[p] - '0');
		ndigits++;
	}
	if (ndigits == 0)
		return TAB_PARSE_FORMAT;
	if (p < len && s[p] == '.')
	{
		int nfrac = 0;

		for (p++; p < len && s[p] >= '0' && s[p] <= '9' && nfrac < 2;
			 p++, nfrac++)
			frac = frac * 10 + (s[p] - '0');
		if (nfrac == 0)
			return TAB_PARSE_FORMAT;
		if (nfrac == 1)
			frac *= 10;
	}
	if (p != len)
		return TAB_PARSE_FORMAT;
	if (dollars > MAX_PRIZE_DOLLARS)
		return TAB_PARSE_RANGE;
	*cents = dollars * 100 + frac;
	return TAB_PARSE_OK;
}

int
tab_parse_timestamp(const char *s, size_t len, int64_t *epoch)
{
	return (s != NULL && timestamp_parse(s, len, epoch) == TAB_PARSE_OK) ? 0
																		 : -1;
}

int
tab_parse_date(const char *s, size_t len, TabDate *date)
{
	return (s != NULL && date_parse(s, len, date) == TAB_PARSE_OK) ? 0 : -1;
}

int
tab_parse_money(const char *s, size_t len, int64_t *cents)
{
	return (s != NULL && money_parse(s, len, cents) == TAB_PARSE_OK) ? 0 : -1;
}

static bool
ascii_ieq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
	{
		char x = (*a >= 'A' && *a <= 'Z') ? (char) (*a + 32) : *a;
		char y = (*b >= 'A' && *b <= 'Z') ? (char) (*b + 32) : *b;

		if (x != y)
			return false;
	}
	return *a == *b;
}

static const struct
{
	const char	 *text;
	TabRaceStatus status;
} status_names[] = {
	{"Normal", TAB_RACE_NORMAL},   {"Open", TAB_RACE_NORMAL},
	{"Closed", TAB_RACE_CLOSED},   {"Interim", TAB_RACE_INTERIM},
	{"Paying", TAB_RACE_PAYING},   {"Final", TAB_RACE_PAYING},
	{"Resulted", TAB_RACE_PAYING}, {"Abandoned", TAB_RACE_ABANDONED},
};

TabRaceStatus
tab_race_status_from_text(const char *s)
{
	size_t i;

	if (s == NULL)
		return TAB_RACE_UNKNOWN;
	for (i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (ascii_ieq(s, status_names[i].text))
			return status_names[i].status;
	return TAB_RACE_UNKNOWN;
}

const char *
tab_race_status_name(TabRaceStatus status)
{
	switch (status)
	{
		case TAB_RACE_UNKNOWN:
			return "unknown";
		case TAB_RACE_NORMAL:
			return "normal";
		case TAB_RACE_CLOSED:
			return "closed";
		case TAB_RACE_INTERIM:
			return "interim";
		case TAB_RACE_PAYING:
			return "paying";
		case TAB_RACE_ABANDONED:
			return "abandoned";
	}
	return "unknown";
}

/* -------------------------------------------------- table-driven fields */

typedef enum FieldKind
{
	FK_STRING,	  /* const char * */
	FK_INT,		  /* int, JSON integer in [min, max] */
	FK_NUMBER,	  /* double, JSON integer or real in [min, max] */
	FK_BOOL,	  /* bool; null or absent is false */
	FK_DATE,	  /* TabDate */
	FK_TIMESTAMP, /* int64_t epoch seconds */
	FK_MONEY,	  /* int64_t cents, from "$1.00" or a number */
	FK_RACE_TYPE  /* char 'R', 'H' or 'G' */
} FieldKind;

#define F_REQUIRED 0x01
#define F_NONEMPTY 0x02
#define NO_FLAG ((size_t) -1)

typedef struct FieldSpec
{
	const char *key;
	FieldKind	kind;
	int			flags;
	size_t		offset;		/* of the value in the target struct */
	size_t		has_offset; /* of its "has_" bool, or NO_FLAG */
	double		min;
	double		max;
} FieldSpec;

#define NFIELDS(specs) ((int) (sizeof(specs) / sizeof((specs)[0])))

/* json_object_get, with null read as absent */
static json_t *
get(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static char *
arena_strndup(Ctx *c, const char *s, size_t len)
{
	char *p = arena_alloc(&c->arena, len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static void *
arena_array(Ctx *c, size_t n, size_t elem)
{
	if (n == 0)
		return NULL;
	if (n > SIZE_MAX / elem)
		return NULL;
	return arena_alloc(&c->arena, n * elem);
}

/* The JSON string v, bounded, copied into the arena. */
static int
read_string(Ctx *c, const json_t *v, const char **out, int flags)
{
	size_t len;
	char  *s;

	if (!json_is_string(v))
		return fail_type(c, "string", v);
	len = json_string_length(v);
	if (len > TAB_STRING_MAX)
		return fail(c, TAB_PARSE_RANGE, "string of %zu bytes exceeds %d", len,
					TAB_STRING_MAX);
	if ((flags & F_NONEMPTY) && len == 0)
		return fail(c, TAB_PARSE_FORMAT, "empty string");
	s = arena_strndup(c, json_string_value(v), len);
	if (s == NULL)
		return fail_memory(c);
	*out = s;
	return 0;
}

static int
read_int(Ctx *c, const json_t *v, int *out, double min, double max)
{
	json_int_t i;

	if (!json_is_integer(v))
		return fail_type(c, "integer", v);
	i = json_integer_value(v);
	if ((double) i < min || (double) i > max)
		return fail(c, TAB_PARSE_RANGE, "%lld is outside %.0f..%.0f",
					(long long) i, min, max);
	*out = (int) i;
	return 0;
}

static int
read_number(Ctx *c, const json_t *v, double *out, double min, double max)
{
	double d;

	if (!json_is_number(v))
		return fail_type(c, "number", v);
	d = json_number_value(v);
	if (!isfinite(d) || d < min || d > max)
		return fail(c, TAB_PARSE_RANGE, "%g is outside %g..%g", d, min, max);
	*out = d;
	return 0;
}

/* Report a TabParseErrorCode from a text parser on string v. */
static int
fail_text(Ctx *c, TabParseErrorCode rc, const json_t *v, const char *what)
{
	char ex[EXCERPT_MAX + 8];

	excerpt(ex, sizeof(ex), json_string_value(v), json_string_length(v));
	if (rc == TAB_PARSE_RANGE)
		return fail(c, rc, "%s \"%s\" is out of range", what, ex);
	return fail(c, rc, "invalid %s \"%s\"", what, ex);
}

static int
read_date(Ctx *c, const json_t *v, TabDate *out)
{
	TabParseErrorCode rc;

	if (!json_is_string(v))
		return fail_type(c, "string", v);
	rc = date_parse(json_string_value(v), json_string_length(v), out);
	if (rc != TAB_PARSE_OK)
		return fail_text(c, rc, v, "date (YYYY-MM-DD)");
	return 0;
}

static int
read_timestamp(Ctx *c, const json_t *v, int64_t *out)
{
	TabParseErrorCode rc;

	if (!json_is_string(v))
		return fail_type(c, "string", v);
	rc = timestamp_parse(json_string_value(v), json_string_length(v), out);
	if (rc != TAB_PARSE_OK)
		return fail_text(c, rc, v,
						 "timestamp (YYYY-MM-DDThh:mm:ss with a zone)");
	return 0;
}

static int
read_money(Ctx *c, const json_t *v, int64_t *out)
{
	TabParseErrorCode rc;
	double			  d = 0;

	if (json_is_string(v))
	{
		rc = money_parse(json_string_value(v), json_string_length(v), out);
		if (rc != TAB_PARSE_OK)
			return fail_text(c, rc, v, "amount of money");
		return 0;
	}
	if (read_number(c, v, &d, 0, (double) MAX_PRIZE_DOLLARS) != 0)
		return -1;
	*out = (int64_t) llround(d * 100.0);
	return 0;
}

static int
read_race_type(Ctx *c, const json_t *v, char *out)
{
	const char *s;

	if (!json_is_string(v))
		return fail_type(c, "string", v);
	s = json_string_value(v);
	if (json_string_length(v) != 1 || strchr("RHG", s[0]) == NULL)
		return fail_text(c, TAB_PARSE_FORMAT, v, "race type (R, H or G)");
	*out = s[0];
	return 0;
}

static int
read_field(Ctx *c, const json_t *v, const FieldSpec *f, char *base)
{
	void *dst = base + f->offset;

	switch (f->kind)
	{
		case FK_STRING:
			return read_string(c, v, (const char **) dst, f->flags);
		case FK_INT:
			return read_int(c, v, (int *) dst, f->min, f->max);
		case FK_NUMBER:
			return read_number(c, v, (double *) dst, f->min, f->max);
		case FK_BOOL:
			if (!json_is_boolean(v))
				return fail_type(c, "boolean", v);
			*(bool *) dst = json_is_true(v);
			return 0;
		case FK_DATE:
			return read_date(c, v, (TabDate *) dst);
		case FK_TIMESTAMP:
			return read_timestamp(c, v, (int64_t *) dst);
		case FK_MONEY:
			return read_money(c, v, (int64_t *) dst);
		case FK_RACE_TYPE:
			return read_race_type(c, v, (char *) dst);
	}
	return fail(c, TAB_PARSE_USAGE, "unknown field kind");
}

static int
read_fields(Ctx *c, const json_t *obj, void *target, const FieldSpec *specs,
			int n)
{
	char *base = target;
	int	  i;

	for (i = 0; i < n; i++)
	{
		const FieldSpec *f = &specs[i];
		json_t			*v = get(obj, f->key);
		int				 rc = 0;

		push_key(c, f->key);
		if (v == NULL && (f->flags & F_REQUIRED))
			rc = fail(c, TAB_PARSE_SHAPE, "required field is missing or null");
		else if (v != NULL)
		{
			rc = read_field(c, v, f, base);
			if (rc == 0 && f->has_offset != NO_FLAG)
				*(bool *) (base + f->has_offset) = true;
		}
		pop(c);
		if (rc != 0)
			return -1;
	}
	return 0;
}

/* Optional array at obj.key: *arr NULL when absent; error on other types. */
static int
get_array(Ctx *c, const json_t *obj, const char *key, size_t max, json_t **arr)
{
	json_t *v = get(obj, key);
	int		rc = 0;

	*arr = NULL;
	if (v == NULL)
		return 0;
	push_key(c, key);
	if (!json_is_array(v))
		rc = fail_type(c, "array", v);
	else if (json_array_size(v) > max)
		rc = fail(c, TAB_PARSE_RANGE, "%zu elements exceed the limit of %zu",
				  json_array_size(v), max);
	pop(c);
	if (rc == 0)
		*arr = v;
	return rc;
}

static int
expect_object(Ctx *c, const json_t *v)
{
	return json_is_object(v) ? 0 : fail_type(c, "object", v);
}

/* ------------------------------------------------------------ races */

#define STUB(field) offsetof(TabRaceStub, field)

static const FieldSpec stub_fields[] = {
	{"raceNumber", FK_INT, F_REQUIRED, STUB(race_number), NO_FLAG, 1,
	 MAX_RACE_NUMBER},
	{"raceName", FK_STRING, 0, STUB(race_name), NO_FLAG, 0, 0},
	{"raceClassConditions", FK_STRING, 0, STUB(race_class_conditions), NO_FLAG,
	 0, 0},
	{"matchName", FK_STRING, F_NONEMPTY, STUB(match_name), NO_FLAG, 0, 0},
	{"raceStartTime", FK_TIMESTAMP, F_REQUIRED, STUB(start_time), NO_FLAG, 0,
	 0},
	{"raceStatus", FK_STRING, 0, STUB(status_text), NO_FLAG, 0, 0},
	{"raceDistance", FK_INT, 0, STUB(distance_m), STUB(has_distance), 0,
	 MAX_DISTANCE},
	{"hasFixedOdds", FK_BOOL, 0, STUB(has_fixed_odds), NO_FLAG, 0, 0},
	{"hasParimutuel", FK_BOOL, 0, STUB(has_parimutuel), NO_FLAG, 0, 0},
	{"meetingDate", FK_DATE, 0, STUB(meeting_date), STUB(has_meeting_date), 0,
	 0},
};

/* Integer element of an array, as a runner number. */
static int
read_runner_number_at(Ctx *c, const json_t *arr, size_t i, int *out)
{
	int rc;

	push_index(c, i);
	rc = read_int(c, json_array_get(arr, i), out, 1, MAX_RUNNER_NUMBER);
	pop(c);
	return rc;
}

/* Count the finishers of a results array, checking its shape. */
static int
count_results(Ctx *c, const json_t *groups, size_t *count)
{
	size_t g;
	int	   rc = 0;

	*count = 0;
	for (g = 0; g < json_array_size(groups) && rc == 0; g++)
	{
		const json_t *group = json_array_get(groups, g);

		push_index(c, g);
		if (!json_is_array(group))
			rc = fail_type(c, "array", group);
		else if (json_array_size(group) > MAX_RUNNER_NUMBER)
			rc = fail(c, TAB_PARSE_RANGE, "group of %zu runners",
					  json_array_size(group));
		else
			*count += json_array_size(group);
		pop(c);
	}
	if (rc == 0 && *count > MAX_RUNNER_NUMBER)
		rc = fail(c, TAB_PARSE_RANGE, "%zu finishers exceed %d", *count,
				  MAX_RUNNER_NUMBER);
	return rc;
}

/* A finisher placed in group g; each runner may finish once. */
static int
place_finisher(Ctx *c, const json_t *group, size_t i, size_t g, bool *seen,
			   TabResult *r)
{
	if (read_runner_number_at(c, group, i, &r->runner_number) != 0)
		return -1;
	if (seen[r->runner_number])
	{
		int rc;

		push_index(c, i);
		rc = fail(c, TAB_PARSE_DUPLICATE, "runner %d appears twice in results",
				  r->runner_number);
		pop(c);
		return rc;
	}
	seen[r->runner_number] = true;
	r->position = (int) g + 1;
	return 0;
}

/* [[3,7],[],[5]]: 3 and 7 first (dead heat), nobody second, 5 third */
static int
parse_results(Ctx *c, const json_t *groups, TabRaceStub *s)
{
	bool   seen[MAX_RUNNER_NUMBER + 1] = {false};
	size_t count;
	size_t g;
	int	   n = 0;

	if (count_results(c, groups, &count) != 0)
		return -1;
	s->has_results = true;
	s->results = arena_array(c, count, sizeof(TabResult));
	if (count > 0 && s->results == NULL)
		return fail_memory(c);
	for (g = 0; g < json_array_size(groups); g++)
	{
		const json_t *group = json_array_get(groups, g);
		size_t		  i;
		int			  rc = 0;

		push_index(c, g);
		for (i = 0; i < json_array_size(group) && rc == 0; i++)
			rc = place_finisher(c, group, i, g, seen, &s->results[n++]);
		pop(c);
		if (rc != 0)
			return -1;
	}
	s->n_results = n;
	return 0;
}

#define SCR(field) offsetof(TabScratching, field)

static const FieldSpec scratching_fields[] = {
	{"runnerNumber", FK_INT, F_REQUIRED, SCR(runner_number), NO_FLAG, 1,
	 MAX_RUNNER_NUMBER},
	{"runnerName", FK_STRING, 0, SCR(runner_name), NO_FLAG, 0, 0},
	{"bettingStatus", FK_STRING, 0, SCR(betting_status), NO_FLAG, 0, 0},
};

static int
parse_scratching(Ctx *c, const json_t *v, TabScratching *sc)
{
	if (expect_object(c, v) != 0 ||
		read_fields(c, v, sc, scratching_fields, NFIELDS(scratching_fields)) !=
			0)
		return -1;
	sc->late = sc->betting_status != NULL &&
			   ascii_ieq(sc->betting_status, "LateScratched");
	return 0;
}

/*
 * Parse each element of arr with fn into a new array of elem-sized items.
 * The path gets key and the index while fn runs.
 */
typedef int (*ElemFn)(Ctx *c, const json_t *v, void *item);

static int
parse_each(Ctx *c, const json_t *arr, const char *key, size_t elem, ElemFn fn,
		   void **items, int *n_items)
{
	size_t n = json_array_size(arr);
	char  *base;
	size_t i;
	int	   rc = 0;

	*n_items = 0;
	*items = NULL;
	if (n == 0)
		return 0;
	base = arena_array(c, n, elem);
	if (base == NULL)
		return fail_memory(c);
	push_key(c, key);
	for (i = 0; i < n && rc == 0; i++)
	{
		push_index(c, i);
		rc = fn(c, json_array_get(arr, i), base + i * elem);
		pop(c);
	}
	pop(c);
	if (rc != 0)
		return -1;
	*items = base;
	*n_items = (int) n;
	return 0;
}

static int
scratching_elem(Ctx *c, const json_t *v, void *item)
{
	return parse_scratching(c, v, item);
}

static int
parse_stub(Ctx *c, const json_t *obj, TabRaceStub *s)
{
	json_t *arr;
	void   *items = NULL;
	int		rc;

	if (expect_object(c, obj) != 0 ||
		read_fields(c, obj, s, stub_fields, NFIELDS(stub_fields)) != 0)
		return -1;
	s->status = tab_race_status_from_text(s->status_text);
	if (get_array(c, obj, "results", MAX_RESULT_GROUPS, &arr) != 0)
		return -1;
	if (arr != NULL)
	{
		push_key(c, "results");
		rc = parse_results(c, arr, s);
		pop(c);
		if (rc != 0)
			return -1;
	}
	if (get_array(c, obj, "scratchings", MAX_RUNNER_NUMBER, &arr) != 0)
		return -1;
	if (arr != NULL &&
		parse_each(c, arr, "scratchings", sizeof(TabScratching),
				   scratching_elem, &items, &s->n_scratchings) != 0)
		return -1;
	s->scratchings = items;
	return 0;
}

static int
stub_elem(Ctx *c, const json_t *v, void *item)
{
	return parse_stub(c, v, item);
}

/* ---------------------------------------------------------- meetings */

#define MTG(field) offsetof(TabMeeting, field)

static const FieldSpec meeting_fields[] = {
	{"meetingName", FK_STRING, F_REQUIRED | F_NONEMPTY, MTG(meeting_name),
	 NO_FLAG, 0, 0},
	{"displayMeetingName", FK_STRING, 0, MTG(display_meeting_name), NO_FLAG, 0,
	 0},
	{"location", FK_STRING, 0, MTG(location), NO_FLAG, 0, 0},
	{"raceType", FK_RACE_TYPE, F_REQUIRED, MTG(race_type), NO_FLAG, 0, 0},
	{"meetingDate", FK_DATE, F_REQUIRED, MTG(meeting_date), NO_FLAG, 0, 0},
	{"venueMnemonic", FK_STRING, F_NONEMPTY, MTG(venue_mnemonic), NO_FLAG, 0,
	 0},
	{"fixedOddsOnly", FK_BOOL, 0, MTG(fixed_odds_only), NO_FLAG, 0, 0},
	{"prizeMoney", FK_MONEY, 0, MTG(prize_money_cents), MTG(has_prize_money),
	 0, 0},
	{"weatherCondition", FK_STRING, 0, MTG(weather_condition), NO_FLAG, 0, 0},
	{"trackCondition", FK_STRING, 0, MTG(track_condition), NO_FLAG, 0, 0},
	{"railPosition", FK_STRING, 0, MTG(rail_position), NO_FLAG, 0, 0},
};

static int
stub_cmp(const void *a, const void *b)
{
	const TabRaceStub *x = *(const TabRaceStub *const *) a;
	const TabRaceStub *y = *(const TabRaceStub *const *) b;

	if (x->race_number != y->race_number)
		return x->race_number < y->race_number ? -1 : 1;
	if (x->match_name == NULL || y->match_name == NULL)
		return (x->match_name != NULL) - (y->match_name != NULL);
	return strcmp(x->match_name, y->match_name);
}

/* A race is (raceNumber, matchName) within its meeting: no two alike. */
static int
check_race_keys(Ctx *c, TabMeeting *m)
{
	const TabRaceStub **sorted;
	int					i;
	int					rc;

	if (m->n_races < 2)
		return 0;
	sorted = arena_array(c, (size_t) m->n_races, sizeof(*sorted));
	if (sorted == NULL)
		return fail_memory(c);
	for (i = 0; i < m->n_races; i++)
		sorted[i] = &m->races[i];
	qsort(sorted, (size_t) m->n_races, sizeof(*sorted), stub_cmp);
	for (i = 1; i < m->n_races; i++)
	{
		const TabRaceStub *dup =
			sorted[i] > sorted[i - 1] ? sorted[i] : sorted[i - 1];

		if (stub_cmp(&sorted[i - 1], &sorted[i]) != 0)
			continue;
		push_key(c, "races");
		push_index(c, (size_t) (dup - m->races));
		rc = fail(c, TAB_PARSE_DUPLICATE,
				  "race %d%s%s appears twice in the meeting", dup->race_number,
				  dup->match_name ? " " : "",
				  dup->match_name ? "(matchName repeated)" : "");
		pop(c);
		pop(c);
		return rc;
	}
	return 0;
}

/* Fixed-odds-only races are keyed by matchName: each must have one. */
static int
check_match_names(Ctx *c, const TabMeeting *m)
{
	int i;
	int rc;

	for (i = 0; i < m->n_races; i++)
	{
		if (m->races[i].match_name != NULL)
			continue;
		push_key(c, "races");
		push_index(c, (size_t) i);
		push_key(c, "matchName");
		rc = fail(
			c, TAB_PARSE_SHAPE,
			"required field is missing or null in a fixed-odds-only meeting");
		pop(c);
		pop(c);
		pop(c);
		return rc;
	}
	return 0;
}

/*
 * A meeting object.  In a meetings list (in_list) it is keyed by venue
 * mnemonic unless fixedOddsOnly, and carries its races; inside a race
 * document the caller already knows the key and races are not read.
 */
static int
parse_meeting(Ctx *c, const json_t *obj, TabMeeting *m, bool in_list)
{
	json_t *arr;
	void   *items = NULL;
	int		rc;

	if (expect_object(c, obj) != 0 ||
		read_fields(c, obj, m, meeting_fields, NFIELDS(meeting_fields)) != 0)
		return -1;
	if (!in_list)
		return 0;
	if (!m->fixed_odds_only && m->venue_mnemonic == NULL)
	{
		push_key(c, "venueMnemonic");
		rc = fail(
			c, TAB_PARSE_SHAPE,
			"required field is missing or null (fixedOddsOnly is not true)");
		pop(c);
		return rc;
	}
	if (get_array(c, obj, "races", MAX_RACES, &arr) != 0)
		return -1;
	if (arr != NULL && parse_each(c, arr, "races", sizeof(TabRaceStub),
								  stub_elem, &items, &m->n_races) != 0)
		return -1;
	m->races = items;
	if (m->fixed_odds_only && check_match_names(c, m) != 0)
		return -1;
	return check_race_keys(c, m);
}

/* ------------------------------------------------------ race document */

#define FXO(field) offsetof(TabFixedOdds, field)

static const FieldSpec fixed_odds_fields[] = {
	{"returnWin", FK_NUMBER, 0, FXO(win), FXO(has_win), 0, MAX_PRICE},
	{"returnPlace", FK_NUMBER, 0, FXO(place), FXO(has_place), 0, MAX_PRICE},
	{"bettingStatus", FK_STRING, 0, FXO(betting_status), NO_FLAG, 0, 0},
	{"scratchedTime", FK_TIMESTAMP, 0, FXO(scratched_time),
	 FXO(has_scratched_time), 0, 0},
};

#define TOTE(field) offsetof(TabTote, field)

static const FieldSpec tote_fields[] = {
	{"returnWin", FK_NUMBER, 0, TOTE(win), TOTE(has_win), 0, MAX_PRICE},
	{"returnPlace", FK_NUMBER, 0, TOTE(place), TOTE(has_place), 0, MAX_PRICE},
	{"bettingStatus", FK_STRING, 0, TOTE(betting_status), NO_FLAG, 0, 0},
};

#define RUN(field) offsetof(TabRunner, field)

static const FieldSpec runner_fields[] = {
	{"runnerNumber", FK_INT, F_REQUIRED, RUN(runner_number), NO_FLAG, 1,
	 MAX_RUNNER_NUMBER},
	{"runnerName", FK_STRING, 0, RUN(runner_name), NO_FLAG, 0, 0},
	{"barrierNumber", FK_INT, 0, RUN(barrier), RUN(has_barrier), 0,
	 MAX_BARRIER},
	{"trainerName", FK_STRING, 0, RUN(trainer), NO_FLAG, 0, 0},
	{"riderDriverName", FK_STRING, 0, RUN(rider), NO_FLAG, 0, 0},
	{"handicapWeight", FK_NUMBER, 0, RUN(handicap_weight),
	 RUN(has_handicap_weight), 0, MAX_WEIGHT},
	{"emergency", FK_BOOL, 0, RUN(emergency), NO_FLAG, 0, 0},
	{"vacantBox", FK_BOOL, 0, RUN(vacant_box), NO_FLAG, 0, 0},
	{"last5Starts", FK_STRING, 0, RUN(last5), NO_FLAG, 0, 0},
};

/* Optional sub-object obj.key read through a field table; *present set. */
static int
read_sub_object(Ctx *c, const json_t *obj, const char *key, void *target,
				const FieldSpec *specs, int n, bool *present)
{
	json_t *v = get(obj, key);
	int		rc;

	if (v == NULL)
		return 0;
	push_key(c, key);
	rc = expect_object(c, v);
	if (rc == 0)
		rc = read_fields(c, v, target, specs, n);
	pop(c);
	if (rc == 0)
		*present = true;
	return rc;
}

static bool
is_scratched_status(const char *s)
{
	return s != NULL &&
		   (ascii_ieq(s, "Scratched") || ascii_ieq(s, "LateScratched"));
}

static int
parse_runner(Ctx *c, const json_t *obj, TabRunner *r)
{
	if (expect_object(c, obj) != 0 ||
		read_fields(c, obj, r, runner_fields, NFIELDS(runner_fields)) != 0 ||
		read_sub_object(c, obj, "fixedOdds", &r->fixed, fixed_odds_fields,
						NFIELDS(fixed_odds_fields), &r->fixed.present) != 0 ||
		read_sub_object(c, obj, "parimutuel", &r->tote, tote_fields,
						NFIELDS(tote_fields), &r->tote.present) != 0)
		return -1;
	r->scratched = is_scratched_status(r->fixed.betting_status) ||
				   is_scratched_status(r->tote.betting_status);
	return 0;
}

static int
runner_elem(Ctx *c, const json_t *v, void *item)
{
	return parse_runner(c, v, item);
}

static int
check_runner_numbers(Ctx *c, const TabRace *r)
{
	bool seen[MAX_RUNNER_NUMBER + 1] = {false};
	int	 i;
	int	 rc;

	for (i = 0; i < r->n_runners; i++)
	{
		int number = r->runners[i].runner_number;

		if (!seen[number])
		{
			seen[number] = true;
			continue;
		}
		push_key(c, "runners");
		push_index(c, (size_t) i);
		push_key(c, "runnerNumber");
		rc = fail(c, TAB_PARSE_DUPLICATE, "runner %d appears twice", number);
		pop(c);
		pop(c);
		pop(c);
		return rc;
	}
	return 0;
}

/* selections: [int, ...] or a string such as "SPLIT" */
static int
read_selections(Ctx *c, const json_t *v, TabPoolDividend *pd)
{
	size_t i;

	if (json_is_string(v))
		return read_string(c, v, &pd->selections_text, 0);
	if (!json_is_array(v))
		return fail_type(c, "array or string", v);
	if (json_array_size(v) > MAX_SELECTIONS)
		return fail(c, TAB_PARSE_RANGE, "%zu selections exceed %d",
					json_array_size(v), MAX_SELECTIONS);
	pd->selections = arena_array(c, json_array_size(v), sizeof(int));
	if (json_array_size(v) > 0 && pd->selections == NULL)
		return fail_memory(c);
	for (i = 0; i < json_array_size(v); i++)
		if (read_runner_number_at(c, v, i, &pd->selections[i]) != 0)
			return -1;
	pd->n_selections = (int) json_array_size(v);
	return 0;
}

static const FieldSpec pool_dividend_fields[] = {
	{"amount", FK_NUMBER, F_REQUIRED, offsetof(TabPoolDividend, amount),
	 NO_FLAG, 0, MAX_PRICE},
};

static int
pool_dividend_elem(Ctx *c, const json_t *v, void *item)
{
	TabPoolDividend *pd = item;
	json_t			*sel;
	int				 rc = 0;

	if (expect_object(c, v) != 0 ||
		read_fields(c, v, pd, pool_dividend_fields,
					NFIELDS(pool_dividend_fields)) != 0)
		return -1;
	sel = get(v, "selections");
	if (sel != NULL)
	{
		push_key(c, "selections");
		rc = read_selections(c, sel, pd);
		pop(c);
	}
	return rc;
}

static const FieldSpec dividend_fields[] = {
	{"wageringProduct", FK_STRING, F_REQUIRED | F_NONEMPTY,
	 offsetof(TabDividend, product), NO_FLAG, 0, 0},
	{"poolStatusCode", FK_STRING, 0, offsetof(TabDividend, pool_status),
	 NO_FLAG, 0, 0},
};

static int
dividend_elem(Ctx *c, const json_t *v, void *item)
{
	TabDividend *d = item;
	json_t		*arr;
	void		*items;

	if (expect_object(c, v) != 0 ||
		read_fields(c, v, d, dividend_fields, NFIELDS(dividend_fields)) != 0 ||
		get_array(c, v, "poolDividends", MAX_POOL_DIVIDENDS, &arr) != 0)
		return -1;
	if (arr == NULL)
		return 0;
	if (parse_each(c, arr, "poolDividends", sizeof(TabPoolDividend),
				   pool_dividend_elem, &items, &d->n_pool_dividends) != 0)
		return -1;
	d->pool_dividends = items;
	return 0;
}

#define RACE(field) offsetof(TabRace, field)

static const FieldSpec race_fields[] = {
	{"prizeMoney", FK_MONEY, 0, RACE(prize_money_cents), RACE(has_prize_money),
	 0, 0},
	{"oddsUpdateTime", FK_TIMESTAMP, 0, RACE(odds_update_time),
	 RACE(has_odds_update_time), 0, 0},
	{"fixedOddsUpdateTime", FK_TIMESTAMP, 0, RACE(fixed_odds_update_time),
	 RACE(has_fixed_odds_update_time), 0, 0},
};

static int
parse_race_meeting(Ctx *c, const json_t *obj, TabMeeting *m)
{
	json_t *v = json_object_get(obj, "meeting");
	int		rc;

	push_key(c, "meeting");
	if (v == NULL || json_is_null(v))
		rc = fail(c, TAB_PARSE_SHAPE, "required field is missing or null");
	else
		rc = parse_meeting(c, v, m, false);
	pop(c);
	return rc;
}

/* A race object: a race document's root, or an element of next to go. */
static int
parse_race_object(Ctx *c, const json_t *obj, TabRace *r)
{
	json_t *arr;
	void   *items = NULL;

	if (parse_stub(c, obj, &r->stub) != 0 ||
		parse_race_meeting(c, obj, &r->meeting) != 0 ||
		read_fields(c, obj, r, race_fields, NFIELDS(race_fields)) != 0)
		return -1;
	if (get_array(c, obj, "runners", MAX_RUNNER_NUMBER, &arr) != 0)
		return -1;
	if (arr != NULL)
	{
		if (parse_each(c, arr, "runners", sizeof(TabRunner), runner_elem,
					   &items, &r->n_runners) != 0)
			return -1;
		r->runners = items;
		if (check_runner_numbers(c, r) != 0)
			return -1;
	}
	if (get_array(c, obj, "dividends", MAX_DIVIDENDS, &arr) != 0)
		return -1;
	if (arr != NULL && parse_each(c, arr, "dividends", sizeof(TabDividend),
								  dividend_elem, &items, &r->n_dividends) != 0)
		return -1;
	if (arr != NULL)
		r->dividends = items;
	return 0;
}

/* ----------------------------------------------------------- lists */

/* The item's name for a failure record, when it is a readable string. */
static const char *
item_name(Ctx *c, const json_t *item, const char *key)
{
	json_t *v = json_object_get(item, key);

	if (!json_is_string(v) || json_string_length(v) > TAB_STRING_MAX)
		return NULL;
	return arena_strndup(c, json_string_value(v), json_string_length(v));
}

typedef struct ListSpec
{
	const char *key;	  /* "meetings" or "races" */
	const char *name_key; /* field that names an item */
	size_t		max;
	size_t		elem;
	ElemFn		fn;
} ListSpec;

typedef struct ListOut
{
	char		   *items;
	int				n_items;
	TabItemFailure *failures;
	int				n_failures;
} ListOut;

/* Parse one list item; a bad item becomes a failure, memory fails all. */
static int
parse_list_item(Ctx *c, const ListSpec *ls, const json_t *v, size_t i,
				ListOut *o)
{
	TabItemFailure *f = &o->failures[o->n_failures];
	TabParseError  *doc_err = c->err;
	char		   *item = o->items + (size_t) o->n_items * ls->elem;
	int				rc;

	c->err = &f->error;
	push_index(c, i);
	rc = ls->fn(c, v, item);
	pop(c);
	c->err = doc_err;
	if (rc == 0)
	{
		o->n_items++;
		return 0;
	}
	if (f->error.code == TAB_PARSE_MEMORY)
	{
		*doc_err = f->error;
		return -1;
	}
	memset(item, 0, ls->elem);
	f->index = (int) i;
	f->name = json_is_object(v) ? item_name(c, v, ls->name_key) : NULL;
	o->n_failures++;
	return 0;
}

static int
parse_list(Ctx *c, const json_t *root, const ListSpec *ls, ListOut *o)
{
	json_t *arr;
	size_t	n;
	size_t	i;
	int		rc = 0;

	memset(o, 0, sizeof(*o));
	if (expect_object(c, root) != 0 ||
		get_array(c, root, ls->key, ls->max, &arr) != 0)
		return -1;
	if (arr == NULL)
	{
		push_key(c, ls->key);
		rc = fail(c, TAB_PARSE_SHAPE, "required field is missing or null");
		pop(c);
		return rc;
	}
	n = json_array_size(arr);
	o->items = arena_array(c, n, ls->elem);
	o->failures = arena_array(c, n, sizeof(TabItemFailure));
	if (n > 0 && (o->items == NULL || o->failures == NULL))
		return fail_memory(c);
	push_key(c, ls->key);
	for (i = 0; i < n && rc == 0; i++)
		rc = parse_list_item(c, ls, json_array_get(arr, i), i, o);
	pop(c);
	return rc;
}

static int
meeting_elem(Ctx *c, const json_t *v, void *item)
{
	return parse_meeting(c, v, item, true);
}

static int
race_elem(Ctx *c, const json_t *v, void *item)
{
	return parse_race_object(c, v, item);
}

static const ListSpec meetings_list = {"meetings", "meetingName", MAX_MEETINGS,
									   sizeof(TabMeeting), meeting_elem};

static const ListSpec next_to_go_list = {"races", "raceName", MAX_RACES,
										 sizeof(TabRace), race_elem};

/* --------------------------------------------------------- documents */

typedef int (*DocFn)(Ctx *c, const json_t *root, void **result,
					 TabOwner **owner);

static int
meetings_doc(Ctx *c, const json_t *root, void **result, TabOwner **owner)
{
	TabMeetingList *list = arena_alloc(&c->arena, sizeof(TabMeetingList));
	ListOut			o;

	if (list == NULL)
		return fail_memory(c);
	if (parse_list(c, root, &meetings_list, &o) != 0)
		return -1;
	list->meetings = (TabMeeting *) o.items;
	list->n_meetings = o.n_items;
	list->failures = o.failures;
	list->n_failures = o.n_failures;
	*result = list;
	*owner = &list->owner;
	return 0;
}

static int
next_to_go_doc(Ctx *c, const json_t *root, void **result, TabOwner **owner)
{
	TabRaceList *list = arena_alloc(&c->arena, sizeof(TabRaceList));
	ListOut		 o;

	if (list == NULL)
		return fail_memory(c);
	if (parse_list(c, root, &next_to_go_list, &o) != 0)
		return -1;
	list->races = (TabRace *) o.items;
	list->n_races = o.n_items;
	list->failures = o.failures;
	list->n_failures = o.n_failures;
	*result = list;
	*owner = &list->owner;
	return 0;
}

static int
race_doc(Ctx *c, const json_t *root, void **result, TabOwner **owner)
{
	TabRace *race = arena_alloc(&c->arena, sizeof(TabRace));

	if (race == NULL)
		return fail_memory(c);
	if (expect_object(c, root) != 0 || parse_race_object(c, root, race) != 0)
		return -1;
	*result = race;
	*owner = &race->owner;
	return 0;
}

static void
syntax_error(TabParseError *err, const json_error_t *jerr, bool out_of_memory)
{
	char   text[JSON_ERROR_TEXT_LENGTH + 8];
	size_t tlen = 0;

	memset(err, 0, sizeof(*err));
	err->code = TAB_PARSE_SYNTAX;
	strcpy(err->path, "$");
	if (out_of_memory || json_error_code(jerr) == json_error_out_of_memory)
	{
		err->code = TAB_PARSE_MEMORY;
		snprintf(err->message, sizeof(err->message),
				 "$: out of memory while reading JSON");
		return;
	}
	while (tlen < JSON_ERROR_TEXT_LENGTH - 1 && jerr->text[tlen] != '\0')
		tlen++;
	excerpt(text, sizeof(text), jerr->text, tlen);
	if (jerr->line > 0)
	{
		err->line = jerr->line;
		err->column = jerr->column > 0 ? jerr->column : 1;
		err->position = jerr->position > 0 ? (size_t) jerr->position : 0;
	}
	snprintf(err->message, sizeof(err->message), "$: invalid JSON: %s", text);
	if (err->line > 0)
	{
		size_t used = strlen(err->message);

		snprintf(err->message + used, sizeof(err->message) - used,
				 " (line %d, column %d)", err->line, err->column);
	}
}

static void
usage_error(TabParseError *err, const char *detail)
{
	memset(err, 0, sizeof(*err));
	err->code = TAB_PARSE_USAGE;
	strcpy(err->path, "$");
	snprintf(err->message, sizeof(err->message), "$: %s", detail);
}

static bool
is_json_delimiter(char ch)
{
	return ch == '"' || ch == '{' || ch == '}' || ch == '[' || ch == ']' ||
		   ch == ':' || ch == ',' || ch == ' ' || ch == '\t' || ch == '\n' ||
		   ch == '\r';
}

/* Offset of the first string or bare token over MAX_TOKEN_BYTES, or len. */
static size_t
find_long_token(const char *b, size_t n)
{
	size_t p = 0;

	/*
	 * A token is at most the text plus the one byte a trailing backslash
	 * skips: a text shorter than the limit needs no scan (most documents).
	 */
	if (n < MAX_TOKEN_BYTES)
		return n;
	while (p < n)
	{
		size_t start = p;

		if (b[p] == '"')
		{
			for (p++; p < n && b[p] != '"'; p++)
				if (b[p] == '\\')
					p++;
			p++;
		}
		else if (is_json_delimiter(b[p]))
		{
			p++;
			continue;
		}
		else
			while (p < n && !is_json_delimiter(b[p]))
				p++;
		if (p - start > MAX_TOKEN_BYTES)
			return start;
	}
	return n;
}

/* ------------------------------------------------ fast path to a tree */

/*
 * jansson's lexer copies the text one byte at a time through three calls
 * (about 150 instructions a byte), which made it half of the cost of
 * ingesting a document.  This builds the same tree from the text directly,
 * with jansson's own constructors, for the common case: ASCII or valid
 * UTF-8, no \u escape, numbers that fit.  It accepts only what jansson
 * accepts with JSON_REJECT_DUPLICATES and builds what jansson would build;
 * anything else (every error included) returns NULL, and the caller then
 * lets jansson read the text, so errors and their messages are jansson's.
 */
#define FAST_DEPTH_MAX 64
#define FAST_ESCAPED_MAX 4096
#define FAST_NUMBER_MAX 64

typedef struct Fast
{
	const char *p;
	const char *end;
	int			depth;
	char		escaped[FAST_ESCAPED_MAX]; /* a string with escapes, decoded */
} Fast;

static json_t *fast_value(Fast *f);

static void
fast_ws(Fast *f)
{
	while (f->p < f->end &&
		   (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
		f->p++;
}

/* Length of the well-formed UTF-8 sequence at p, or 0. */
static size_t
fast_utf8(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80;
	unsigned char hi = 0xBF;
	size_t		  n;
	size_t		  i;

	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 3;
		if (c == 0xE0)
			lo = 0xA0; /* no overlong form */
		else if (c == 0xED)
			hi = 0x9F; /* no surrogate */
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 4;
		if (c == 0xF0)
			lo = 0x90; /* no overlong form */
		else if (c == 0xF4)
			hi = 0x8F; /* nothing over U+10FFFF */
	}
	else
		return 0;
	if ((size_t) (end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/*
 * The string at f->p (its opening quote): *s and *len are the text, in the
 * input or (with escapes) in f->escaped.  -1 for anything not taken here.
 */
static int
fast_string(Fast *f, const char **s, size_t *len)
{
	const unsigned char *p = (const unsigned char *) f->p + 1;
	const unsigned char *end = (const unsigned char *) f->end;
	const unsigned char *start = p;
	size_t				 o = 0;
	bool				 esc = false;

	while (p < end)
	{
		unsigned char c = *p;

		if (c == '"')
		{
			f->p = (const char *) p + 1;
			if (esc)
			{
				*s = f->escaped;
				*len = o;
			}
			else
			{
				*s = (const char *) start;
				*len = (size_t) (p - start);
			}
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\')
		{
			if (!esc)
			{
				o = (size_t) (p - start);
				if (o > sizeof(f->escaped))
					return -1;
				memcpy(f->escaped, start, o);
				esc = true;
			}
			if (p + 1 >= end || o >= sizeof(f->escaped))
				return -1;
			switch (p[1])
			{
				case '"':
				case '\\':
				case '/':
					c = p[1];
					break;
				case 'b':
					c = '\b';
					break;
				case 'f':
					c = '\f';
					break;
				case 'n':
					c = '\n';
					break;
				case 'r':
					c = '\r';
					break;
				case 't':
					c = '\t';
					break;
				default:
					return -1; /* \u and anything invalid: jansson's */
			}
			f->escaped[o++] = (char) c;
			p += 2;
			continue;
		}
		if (c < 0x80)
		{
			if (esc)
			{
				if (o >= sizeof(f->escaped))
					return -1;
				f->escaped[o++] = (char) c;
			}
			p++;
			continue;
		}
		{
			size_t n = fast_utf8(p, end);

			if (n == 0)
				return -1;
			if (esc)
			{
				if (o + n > sizeof(f->escaped))
					return -1;
				memcpy(f->escaped + o, p, n);
				o += n;
			}
			p += n;
		}
	}
	return -1;
}

static bool
fast_digit(const Fast *f)
{
	return f->p < f->end && *f->p >= '0' && *f->p <= '9';
}

/* A number as jansson reads it: an integer, or a real with . or e. */
static json_t *
fast_number(Fast *f)
{
	const char *start = f->p;
	bool		real = false;
	char		buf[FAST_NUMBER_MAX + 1];
	size_t		len;
	char	   *endp;

	if (*f->p == '-')
		f->p++;
	if (f->p < f->end && *f->p == '0')
		f->p++;
	else if (fast_digit(f))
		while (fast_digit(f))
			f->p++;
	else
		return NULL;
	if (f->p < f->end && *f->p == '.')
	{
		real = true;
		f->p++;
		if (!fast_digit(f))
			return NULL;
		while (fast_digit(f))
			f->p++;
	}
	if (f->p < f->end && (*f->p == 'e' || *f->p == 'E'))
	{
		real = true;
		f->p++;
		if (f->p < f->end && (*f->p == '+' || *f->p == '-'))
			f->p++;
		if (!fast_digit(f))
			return NULL;
		while (fast_digit(f))
			f->p++;
	}
	len = (size_t) (f->p - start);
	if (len > FAST_NUMBER_MAX)
		return NULL;
	memcpy(buf, start, len);
	buf[len] = '\0';
	errno = 0;
	if (!real)
	{
		long long v = strtoll(buf, &endp, 10);

		if (errno != 0 || *endp != '\0')
			return NULL;
		return json_integer((json_int_t) v);
	}
	else
	{
		double v = strtod(buf, &endp);

		if (*endp != '\0' || ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE))
			return NULL;
		return json_real(v);
	}
}

static bool
fast_word(Fast *f, const char *w, size_t n)
{
	if ((size_t) (f->end - f->p) < n || memcmp(f->p, w, n) != 0)
		return false;
	f->p += n;
	return true;
}

/*
 * An empty object.  Not json_object(): inside the server that name is
 * PostgreSQL's SQL function json_object, which the executable exports and
 * which takes precedence over jansson's for calls from this library.
 */
static json_t *
fast_new_object(void)
{
	return json_pack("{}");
}

static json_t *
fast_object(Fast *f)
{
	json_t *obj = fast_new_object();

	if (obj == NULL)
		return NULL;
	f->p++;
	fast_ws(f);
	if (f->p < f->end && *f->p == '}')
	{
		f->p++;
		return obj;
	}
	for (;;)
	{
		const char *key;
		size_t		keylen;
		json_t	   *v;

		if (f->p >= f->end || *f->p != '"' || fast_string(f, &key, &keylen) != 0)
			break;
		if (key == f->escaped)
			break;		/* the value's strings would reuse the buffer */
		if (json_object_getn(obj, key, keylen) != NULL)
			break; /* a duplicate key: jansson's error */
		fast_ws(f);
		if (f->p >= f->end || *f->p != ':')
			break;
		f->p++;
		fast_ws(f);
		v = fast_value(f);
		if (v == NULL || json_object_setn_new_nocheck(obj, key, keylen, v) != 0)
			break;
		fast_ws(f);
		if (f->p < f->end && *f->p == ',')
		{
			f->p++;
			fast_ws(f);
			continue;
		}
		if (f->p < f->end && *f->p == '}')
		{
			f->p++;
			return obj;
		}
		break;
	}
	json_decref(obj);
	return NULL;
}

static json_t *
fast_array(Fast *f)
{
	json_t *arr = json_array();

	if (arr == NULL)
		return NULL;
	f->p++;
	fast_ws(f);
	if (f->p < f->end && *f->p == ']')
	{
		f->p++;
		return arr;
	}
	for (;;)
	{
		json_t *v = fast_value(f);

		if (v == NULL || json_array_append_new(arr, v) != 0)
			break;
		fast_ws(f);
		if (f->p < f->end && *f->p == ',')
		{
			f->p++;
			fast_ws(f);
			continue;
		}
		if (f->p < f->end && *f->p == ']')
		{
			f->p++;
			return arr;
		}
		break;
	}
	json_decref(arr);
	return NULL;
}

static json_t *
fast_value(Fast *f)
{
	json_t *v = NULL;

	if (f->p >= f->end)
		return NULL;
	switch (*f->p)
	{
		case '{':
		case '[':
			if (++f->depth > FAST_DEPTH_MAX)
				return NULL;
			v = *f->p == '{' ? fast_object(f) : fast_array(f);
			f->depth--;
			return v;
		case '"':
			{
				const char *s;
				size_t		len;

				if (fast_string(f, &s, &len) != 0)
					return NULL;
				return json_stringn_nocheck(s, len);
			}
		case 't':
			return fast_word(f, "true", 4) ? json_true() : NULL;
		case 'f':
			return fast_word(f, "false", 5) ? json_false() : NULL;
		case 'n':
			return fast_word(f, "null", 4) ? json_null() : NULL;
		default:
			if (*f->p == '-' || (*f->p >= '0' && *f->p <= '9'))
				return fast_number(f);
			return NULL;
	}
}

json_t *
tab_json_fast_load(const char *buf, size_t len)
{
	Fast	fast;
	Fast   *f = &fast;
	json_t *root = NULL;

	f->p = buf;
	f->end = buf + len;
	f->depth = 0;
	fast_ws(f);
	/* without JSON_DECODE_ANY the text is an object or an array */
	if (f->p < f->end && (*f->p == '{' || *f->p == '['))
		root = fast_value(f);
	if (root != NULL)
	{
		fast_ws(f);
		if (f->p != f->end)
		{
			json_decref(root);
			root = NULL;
		}
	}
	return root;
}

/* Read the JSON text into a jansson tree; NULL with c->err filled. */
static json_t *
load_json(Ctx *c, JsonSession *session)
{
	json_error_t jerr;
	json_t		*root;
	size_t		 at = find_long_token(c->buf, c->len);

	if (at < c->len)
	{
		memset(c->err, 0, sizeof(*c->err));
		c->err->code = TAB_PARSE_SYNTAX;
		strcpy(c->err->path, "$");
		set_line_column(c->err, c->buf, at);
		finish_message(c->err, "a string or token is longer than 65536 bytes");
		return NULL;
	}
	root = tab_json_fast_load(c->buf, c->len);
	if (root == NULL)
		root = json_load_callback(json_read_cb, session, JSON_REJECT_DUPLICATES,
								  &jerr);
	if (session->failed)
	{
		json_decref(root);
		root = NULL;
	}
	if (root == NULL)
		syntax_error(c->err, &jerr, session->failed);
	return root;
}

/* Parse and convert under a redirected jansson allocator, then restore it. */
static int
convert_document(Ctx *c, DocFn fn, void **result)
{
	JsonSession session;
	json_t	   *root;
	TabOwner   *owner = NULL;
	int			rc = -1;

	json_session_begin(&session, &c->arena.a, c->buf, c->len);
	root = load_json(c, &session);
	if (root != NULL)
	{
		rc = fn(c, root, result, &owner);
		/* without a free function the tree goes with the caller's memory */
		if (c->arena.a.free != NULL)
			json_decref(root);
	}
	json_session_end(&session);
	if (rc == 0)
	{
		owner->allocator = c->arena.a;
		owner->chunks = c->arena.chunks;
	}
	return rc;
}

static int
parse_document(const char *buf, size_t len, const TabAllocator *a, DocFn fn,
			   void **out, TabParseError *err)
{
	TabParseError scratch;
	Ctx			  c;
	int			  rc;

	if (err == NULL)
		err = &scratch;
	memset(err, 0, sizeof(*err));
	if (out == NULL)
	{
		usage_error(err, "no result pointer");
		return -1;
	}
	*out = NULL;
	if (a == NULL || a->alloc == NULL || (buf == NULL && len > 0))
	{
		usage_error(err, "missing allocator or buffer");
		return -1;
	}
	if (json_session != NULL)
	{
		usage_error(err, "the parser was called from inside itself");
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.arena.a = *a;
	c.buf = buf != NULL ? buf : "";
	c.len = len;
	c.err = err;
	rc = convert_document(&c, fn, out);
	if (rc != 0)
	{
		chunks_release(a, c.arena.chunks);
		*out = NULL;
		if (err->code == TAB_PARSE_OK)
			usage_error(err, "unexplained failure");
	}
	return rc;
}

int
tab_parse_meetings(const char *buf, size_t len, const TabAllocator *a,
				   TabMeetingList **out, TabParseError *err)
{
	void *result = NULL;
	int	  rc = parse_document(buf, len, a, meetings_doc,
							  out != NULL ? &result : NULL, err);

	if (out != NULL)
		*out = result;
	return rc;
}

int
tab_parse_race(const char *buf, size_t len, const TabAllocator *a,
			   TabRace **out, TabParseError *err)
{
	void *result = NULL;
	int	  rc = parse_document(buf, len, a, race_doc,
							  out != NULL ? &result : NULL, err);

	if (out != NULL)
		*out = result;
	return rc;
}

int
tab_parse_next_to_go(const char *buf, size_t len, const TabAllocator *a,
					 TabRaceList **out, TabParseError *err)
{
	void *result = NULL;
	int	  rc = parse_document(buf, len, a, next_to_go_doc,
							  out != NULL ? &result : NULL, err);

	if (out != NULL)
		*out = result;
	return rc;
}

static void
owner_release(const TabOwner *owner)
{
	TabOwner copy = *owner; /* the owner lives inside the chunks */

	chunks_release(&copy.allocator, copy.chunks);
}

void
tab_meeting_list_free(TabMeetingList *list)
{
	if (list != NULL)
		owner_release(&list->owner);
}

void
tab_race_free(TabRace *race)
{
	if (race != NULL)
		owner_release(&race->owner);
}

void
tab_race_list_free(TabRaceList *list)
{
	if (list != NULL)
		owner_release(&list->owner);
}
