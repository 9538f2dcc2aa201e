/*-------------------------------------------------------------------------
 *
 * http_sql.c
 *	  SQL-callable probes of the HTTP client, for operators checking
 *	  connectivity to the API and for the tests:
 *	  racing_sched.http_get(url, include_body) and
 *	  racing_sched.http_get_all(urls).  Both return the client's outcome as
 *	  jsonb.  EXECUTE is revoked from PUBLIC in the extension script.
 *
 * The client itself lives in http.c; fetching and storing racing data is
 * done by the fetch_* functions elsewhere.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "http.h"

PG_FUNCTION_INFO_V1(racing_sched_http_get);
PG_FUNCTION_INFO_V1(racing_sched_http_get_all);

static void
append_outcome(StringInfo buf, const HttpRequest *req, bool include_body)
{
	appendStringInfo(
		buf, "{\"ok\": %s, \"status\": %ld, \"curl_code\": %d, \"phase\": ",
		req->ok ? "true" : "false", req->status, req->curl_code);
	if (req->phase == HTTP_PHASE_NONE)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, http_phase_name(req->phase));
	appendStringInfoString(buf, ", \"error\": ");
	if (req->error[0] == '\0')
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, req->error);
	appendStringInfo(buf,
					 ", \"bytes\": %zu, \"elapsed_ms\": " INT64_FORMAT
					 ", \"attempts\": %d, \"effective_url\": ",
					 req->body_len, req->elapsed_ms, req->attempts);
	if (req->effective_url == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, req->effective_url);
	if (include_body)
	{
		appendStringInfoString(buf, ", \"body\": ");
		/* NUL bytes or bad encoding cannot be jsonb text: report null */
		if (req->body != NULL && strlen(req->body) == req->body_len &&
			pg_verifymbstr(req->body, req->body_len, true))
			escape_json(buf, req->body);
		else
			appendStringInfoString(buf, "null");
	}
	appendStringInfoChar(buf, '}');
}

static Datum
outcome_jsonb(StringInfo buf)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(buf->data));
}

/* http_get(url text, include_body boolean DEFAULT false) RETURNS jsonb */
Datum
racing_sched_http_get(PG_FUNCTION_ARGS)
{
	HttpRequest	   req;
	StringInfoData buf;

	/* STRICT in 1.0; from 1.1 on a NULL is an error, as elsewhere */
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", PG_ARGISNULL(0) ? "url" : "include_body")));
	memset(&req, 0, sizeof(req));
	req.url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	req.label = "http_get";
	http_fetch(&req);

	initStringInfo(&buf);
	append_outcome(&buf, &req, PG_GETARG_BOOL(1));
	PG_RETURN_DATUM(outcome_jsonb(&buf));
}

/* Each URL holds a request's state until the end of the call. */
#define HTTP_GET_ALL_MAX_URLS 1000

/* http_get_all(urls text[]) RETURNS jsonb: an array of outcomes, in order */
Datum
racing_sched_http_get_all(PG_FUNCTION_ARGS)
{
	ArrayType	  *arr;
	Datum		  *elems;
	bool		  *nulls;
	int			   n;
	int			   i;
	HttpRequest	  *reqs;
	StringInfoData buf;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("urls must not be null")));
	arr = PG_GETARG_ARRAYTYPE_P(0);
	if (ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr)) > HTTP_GET_ALL_MAX_URLS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many urls (%d)", ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr))),
				 errdetail("At most %d URLs are fetched in one call.", HTTP_GET_ALL_MAX_URLS)));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls,
					  &n);
	reqs = palloc0(sizeof(HttpRequest) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							errmsg("urls must not contain nulls")));
		reqs[i].url = TextDatumGetCString(elems[i]);
		reqs[i].label = "http_get_all";
	}
	http_fetch_all(reqs, n);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		append_outcome(&buf, &reqs[i], false);
	}
	appendStringInfoChar(&buf, ']');
	PG_RETURN_DATUM(outcome_jsonb(&buf));
}
