/*
 * tab_client.c
 *		Fetch a TAB document, parse it, store it: the path shared by the
 *		racing jobs and the SQL functions fetch_meetings and fetch_race.
 *
 * URLs are built here from racing_sched.tab_api_url and the caller's keys;
 * nothing from a response is ever followed.  Each document is parsed in a
 * memory context of its own, deleted on every path, ERROR included.
 *
 * Not here: HTTP mechanics (http.c), JSON (tab_parse.c), SQL (store.c),
 * argument checks of SQL callers (tab_sql.c).
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

#include "http.h"
#include "racing_sched.h"
#include "tab_client.h"
#include "tab_parse.h"

static const char *const jurisdictions[] = {
	"NSW", "VIC", "QLD", "ACT", "SA", "TAS", "NT", NULL
};

bool
tab_valid_jurisdiction(const char *j)
{
	if (j == NULL)
		return false;
	for (int i = 0; jurisdictions[i]; i++)
		if (strcmp(j, jurisdictions[i]) == 0)
			return true;
	return false;
}

const char *
tab_jurisdictions_text(void)
{
	return "NSW, VIC, QLD, ACT, SA, TAS, NT";
}

void
tab_summary_init(TabFetchSummary *s)
{
	memset(s, 0, sizeof(*s));
	s->errors = NIL;
	s->outcomes = NIL;
}

/* Percent-encode everything but RFC 3986 unreserved characters. */
static void
append_escaped(StringInfo buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
			*p == '_' || *p == '~')
			appendStringInfoChar(buf, (char) *p);
		else
		{
			appendStringInfoChar(buf, '%');
			appendStringInfoChar(buf, hex[*p >> 4]);
			appendStringInfoChar(buf, hex[*p & 15]);
		}
	}
}

static bool
valid_date_text(const char *d)
{
	TabDate		td;

	return d != NULL && strlen(d) == 10 && tab_parse_date(d, 10, &td) == 0;
}

static void
append_base(StringInfo buf)
{
	const char *base = rs_tab_api_url ? rs_tab_api_url : "";
	size_t		len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	appendBinaryStringInfo(buf, base, (int) len);
}

char *
tab_meetings_url(const char *date, const char *jurisdiction)
{
	StringInfoData buf;

	if (!valid_date_text(date) || !tab_valid_jurisdiction(jurisdiction))
		return NULL;
	initStringInfo(&buf);
	append_base(&buf);
	appendStringInfo(&buf, "/dates/%s/meetings?jurisdiction=%s", date, jurisdiction);
	return buf.data;
}

char *
tab_race_url(const TabRaceKey *key)
{
	StringInfoData buf;
	bool		fixed = (key->venue == NULL);

	if (!valid_date_text(key->date) || !tab_valid_jurisdiction(key->jurisdiction) ||
		(key->race_type != 'R' && key->race_type != 'H' && key->race_type != 'G'))
		return NULL;
	if (fixed ? (key->meeting_name == NULL || key->meeting_name[0] == '\0' ||
				 key->match_name == NULL || key->match_name[0] == '\0')
		: (key->venue[0] == '\0' || key->race_number < 1 || key->race_number > 99))
		return NULL;

	initStringInfo(&buf);
	append_base(&buf);
	appendStringInfo(&buf, "/dates/%s/meetings/%c/", key->date, key->race_type);
	if (fixed)
	{
		append_escaped(&buf, key->meeting_name);
		appendStringInfoString(&buf, "/races/");
		append_escaped(&buf, key->match_name);
		appendStringInfo(&buf, "?jurisdiction=%s&fixedOdds=true", key->jurisdiction);
	}
	else
	{
		append_escaped(&buf, key->venue);
		appendStringInfo(&buf, "/races/%d?jurisdiction=%s", key->race_number,
						 key->jurisdiction);
	}
	return buf.data;
}

/*
 * The parser's allocator: the per-document context, never an ERROR.  It has
 * no free function: the context goes whole once the document is stored, so
 * the parser neither frees jansson's tree block by block nor asks for each
 * of its small blocks (it cuts them from larger ones).
 */
static void *
doc_alloc(void *ctx, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) ctx, size,
									  MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
}

static void
add_error(TabFetchSummary *s, const char *fmt,...) pg_attribute_printf(2, 3);

static void
add_error(TabFetchSummary *s, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	s->errors = lappend(s->errors, buf.data);
}

static void
fill_info(ScrapeInfo *info, const TabFetchContext *ctx, const char *jurisdiction,
		  const char *date, const HttpRequest *req)
{
	memset(info, 0, sizeof(*info));
	info->meeting_date = date;
	info->job_run_id = ctx ? ctx->job_run_id : 0;
	info->scrape_type = (ctx && ctx->scrape_type) ? ctx->scrape_type : "manual";
	info->jurisdiction = jurisdiction;
	if (req)
	{
		info->http_status = (int) req->status;
		info->bytes = (int64) req->body_len;
		info->elapsed_ms = (int) Min(req->elapsed_ms, PG_INT32_MAX);
	}
}

static const char *
meeting_label(const TabMeeting *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s %c %s", m->meeting_date.text, m->race_type,
			 m->venue_mnemonic ? m->venue_mnemonic : m->meeting_name);
	return buf;
}

/*
 * Parse a meetings list and store every meeting.  The caller's context
 * receives the summary; the document lives in its own context.
 */
static void
ingest_meetings(const char *buf, size_t len, const char *jurisdiction,
				const TabFetchContext *ctx, const HttpRequest *req,
				TabFetchSummary *s)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext doccxt;

	doccxt = AllocSetContextCreate(callercxt, "racing_sched document",
								   ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		TabAllocator a = {doc_alloc, NULL, doccxt};
		TabMeetingList *list = NULL;
		TabParseError perr;
		ScrapeInfo	info;

		fill_info(&info, ctx, jurisdiction, NULL, req);
		if (tab_parse_meetings(buf, len, &a, &list, &perr) != 0)
		{
			s->failed++;
			add_error(s, "meetings list %s: %s", jurisdiction ? jurisdiction : "",
					  perr.message);
		}
		else
		{
			for (int i = 0; i < list->n_failures; i++)
			{
				s->failed++;
				add_error(s, "meeting %d%s%s: %s", list->failures[i].index,
						  list->failures[i].name ? " " : "",
						  list->failures[i].name ? list->failures[i].name : "",
						  list->failures[i].error.message);
			}
			for (int i = 0; i < list->n_meetings; i++)
			{
				char	   *error = NULL;
				char		label[200];
				bool		stored;

				if (ctx && ctx->keep_meeting &&
					!ctx->keep_meeting(&list->meetings[i], ctx->hook_arg))
					continue;
				stored = store_meeting(&list->meetings[i], &info, NULL, &error);
				if (stored)
					s->stored++;
				else
				{
					s->failed++;
					add_error(s, "meeting %s: %s",
							  meeting_label(&list->meetings[i], label, sizeof(label)),
							  error);
				}
				if (ctx && ctx->meeting_done)
					ctx->meeting_done(&list->meetings[i], stored, ctx->hook_arg);
			}
		}
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(callercxt);
		MemoryContextDelete(doccxt);
	}
	PG_END_TRY();
}

/* Parse a race document and store it; key (may be NULL) gets the outcome. */
static void
ingest_race(const char *buf, size_t len, const char *jurisdiction,
			const char *date, const TabFetchContext *ctx, const HttpRequest *req,
			const char *what, TabRaceKey *key, TabFetchSummary *s)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext doccxt;

	doccxt = AllocSetContextCreate(callercxt, "racing_sched document",
								   ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		TabAllocator a = {doc_alloc, NULL, doccxt};
		TabRace    *race = NULL;
		TabParseError perr;
		ScrapeInfo	info;
		StoreResult res;
		char	   *error = NULL;

		fill_info(&info, ctx, jurisdiction, date, req);
		if (tab_parse_race(buf, len, &a, &race, &perr) != 0)
		{
			s->failed++;
			add_error(s, "race %s: %s", what, perr.message);
		}
		else if (!store_race(race, &info, &res, &error))
		{
			s->failed++;
			add_error(s, "race %s: %s", what, error);
		}
		else
		{
			s->stored++;
			if (res.phase_duplicate)
				s->phase_duplicates++;
			if (key)
			{
				key->stored = true;
				key->race_id = res.race_id;
				key->phase_duplicate = res.phase_duplicate;
				key->status_text = race->stub.status_text ?
					pstrdup(race->stub.status_text) : NULL;
			}
		}
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(callercxt);
		MemoryContextDelete(doccxt);
	}
	PG_END_TRY();
}

/* Record a request's outcome; false (and an error counted) when it failed. */
static bool
note_request(TabFetchSummary *s, const char *endpoint, const HttpRequest *req,
			 const char *what)
{
	TabRequestOutcome *o = palloc0(sizeof(TabRequestOutcome));

	o->endpoint = endpoint;
	o->http_status = req->status;
	o->ok = req->ok;
	o->bytes = (int64) req->body_len;
	o->elapsed_ms = req->elapsed_ms;
	o->attempts = req->attempts;
	if (!req->ok)
		o->error = pstrdup(req->error[0] ? req->error : "request failed");
	s->outcomes = lappend(s->outcomes, o);
	s->requests++;

	if (req->ok && req->body_len == 0)
	{
		o->ok = false;
		o->error = pstrdup("empty body");
	}
	if (!o->ok)
	{
		s->failed++;
		add_error(s, "%s %s: %s", endpoint, what, o->error);
		return false;
	}
	return true;
}

void
tab_fetch_meetings(const char *date, const char *jurisdiction,
				   const TabFetchContext *ctx, TabFetchSummary *s)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext bodycxt;
	char	   *url = tab_meetings_url(date, jurisdiction);
	char		what[64];

	snprintf(what, sizeof(what), "%s %s", date ? date : "?",
			 jurisdiction ? jurisdiction : "?");
	if (url == NULL)
	{
		s->failed++;
		add_error(s, "meetings %s: invalid date or jurisdiction", what);
		return;
	}

	bodycxt = AllocSetContextCreate(callercxt, "racing_sched response",
									ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		HttpRequest req;

		memset(&req, 0, sizeof(req));
		req.url = url;
		req.label = TAB_ENDPOINT_MEETINGS;
		MemoryContextSwitchTo(bodycxt);
		http_fetch(&req);
		MemoryContextSwitchTo(callercxt);
		if (note_request(s, TAB_ENDPOINT_MEETINGS, &req, what))
			ingest_meetings(req.body, req.body_len, jurisdiction, ctx, &req, s);
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(callercxt);
		MemoryContextDelete(bodycxt);
	}
	PG_END_TRY();
	pfree(url);
}

static char *
race_key_text(const TabRaceKey *k)
{
	if (k->venue)
		return psprintf("%s %c %s %d", k->date ? k->date : "?", k->race_type,
						k->venue, k->race_number);
	return psprintf("%s %c %s / %s", k->date ? k->date : "?", k->race_type,
					k->meeting_name ? k->meeting_name : "?",
					k->match_name ? k->match_name : "?");
}

void
tab_fetch_races(TabRaceKey *keys, int n, const TabFetchContext *ctx,
				TabFetchSummary *s)
{
	MemoryContext callercxt = CurrentMemoryContext;
	MemoryContext bodycxt;
	HttpRequest *reqs;
	int		   *map;
	int			nreq = 0;

	if (n <= 0)
		return;
	reqs = palloc0(sizeof(HttpRequest) * n);
	map = palloc(sizeof(int) * n);
	for (int i = 0; i < n; i++)
	{
		char	   *url = tab_race_url(&keys[i]);

		keys[i].stored = false;
		keys[i].phase_duplicate = false;
		keys[i].race_id = 0;
		keys[i].status_text = NULL;
		if (url == NULL)
		{
			s->failed++;
			add_error(s, "race %s: invalid key", race_key_text(&keys[i]));
			continue;
		}
		reqs[nreq].url = url;
		reqs[nreq].label = TAB_ENDPOINT_RACE;
		map[nreq++] = i;
	}
	if (nreq == 0)
		return;

	bodycxt = AllocSetContextCreate(callercxt, "racing_sched responses",
									ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		MemoryContextSwitchTo(bodycxt);
		http_fetch_all(reqs, nreq);
		MemoryContextSwitchTo(callercxt);
		for (int r = 0; r < nreq; r++)
		{
			TabRaceKey *k = &keys[map[r]];
			char	   *what = race_key_text(k);

			if (note_request(s, TAB_ENDPOINT_RACE, &reqs[r], what))
				ingest_race(reqs[r].body, reqs[r].body_len, k->jurisdiction, k->date, ctx,
							&reqs[r], what, k, s);
			/* bodies go as soon as stored: a batch can be large */
			if (reqs[r].body)
			{
				pfree(reqs[r].body);
				reqs[r].body = NULL;
			}
			pfree(what);
		}
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(callercxt);
		MemoryContextDelete(bodycxt);
	}
	PG_END_TRY();
	for (int r = 0; r < nreq; r++)
		pfree((char *) reqs[r].url);
	pfree(reqs);
	pfree(map);
}

void
tab_ingest_meetings_text(const char *buf, size_t len, const char *jurisdiction,
						 const TabFetchContext *ctx, TabFetchSummary *s)
{
	ingest_meetings(buf, len, jurisdiction, ctx, NULL, s);
}

void
tab_ingest_race_text(const char *buf, size_t len, const char *jurisdiction,
					 const char *date, const TabFetchContext *ctx,
					 TabFetchSummary *s)
{
	ingest_race(buf, len, jurisdiction, date, ctx, NULL, "document", NULL, s);
}

static void
append_json_string(StringInfo buf, const char *s)
{
	if (s == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, s);
}

Jsonb *
tab_summary_jsonb(const TabFetchSummary *s)
{
	StringInfoData buf;
	ListCell   *lc;
	int64		bytes = 0;
	int64		elapsed = 0;
	long		last_status = -1;
	bool		first;
	Jsonb	   *result;

	foreach(lc, s->outcomes)
	{
		TabRequestOutcome *o = lfirst(lc);

		bytes += o->bytes;
		elapsed += o->elapsed_ms;
		last_status = o->http_status;
	}

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"requests\": %d, \"stored\": %d, \"failed\": %d, "
					 "\"phase_duplicates\": %d, \"errors\": [",
					 s->requests, s->stored, s->failed, s->phase_duplicates);
	first = true;
	foreach(lc, s->errors)
	{
		if (!first)
			appendStringInfoString(&buf, ", ");
		first = false;
		append_json_string(&buf, (const char *) lfirst(lc));
	}
	appendStringInfoString(&buf, "], \"http_status\": ");
	if (last_status > 0)
		appendStringInfo(&buf, "%ld", last_status);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"bytes\": " INT64_FORMAT ", \"elapsed_ms\": " INT64_FORMAT
					 ", \"requests_detail\": [", bytes, elapsed);
	first = true;
	foreach(lc, s->outcomes)
	{
		TabRequestOutcome *o = lfirst(lc);

		if (!first)
			appendStringInfoString(&buf, ", ");
		first = false;
		appendStringInfoString(&buf, "{\"endpoint\": ");
		append_json_string(&buf, o->endpoint);
		appendStringInfo(&buf, ", \"http_status\": %ld, \"ok\": %s, \"bytes\": " INT64_FORMAT
						 ", \"elapsed_ms\": " INT64_FORMAT ", \"attempts\": %d, \"error\": ",
						 o->http_status, o->ok ? "true" : "false", o->bytes,
						 o->elapsed_ms, o->attempts);
		append_json_string(&buf, o->error);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "]}");
	result = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
	pfree(buf.data);
	return result;
}
