/*
 * metrics.c
 *		Counting what the workers do for the metrics views.  The views
 *		themselves are SQL (the extension script); this room only writes
 *		counters, through SPI.
 */
#include "racing_sched.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "metrics.h"

void
metrics_count_request(const char *endpoint, int http_status, bool ok,
					  int64 bytes, int64 elapsed_ms)
{
	static SPIPlanPtr plan = NULL;
	Datum		values[5];
	int			rc;

	if (plan == NULL)
	{
		Oid			types[5] = {TEXTOID, INT4OID, BOOLOID, INT8OID, INT8OID};

		plan = SPI_prepare("SELECT racing_sched._record_http($1, $2, $3, $4, $5)", 5, types);
		if (plan == NULL)
			elog(ERROR, "racing_sched: preparing the request counter failed: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
	}
	values[0] = CStringGetTextDatum(endpoint);
	values[1] = Int32GetDatum(http_status);
	values[2] = BoolGetDatum(ok);
	values[3] = Int64GetDatum(bytes);
	values[4] = Int64GetDatum(elapsed_ms);
	rc = SPI_execute_plan(plan, values, NULL, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "racing_sched: counting a request failed: %s", SPI_result_code_string(rc));
}
