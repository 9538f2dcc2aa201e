/*
 * search_path.c
 *		The search_path under which racing_sched's own statements run.
 *
 * The scheduler and the job workers are connected as a superuser, and the
 * C functions of the SQL API that act as a superuser run in their caller's
 * session.  Their statements must mean the same whatever a database owner
 * (ALTER DATABASE ... SET search_path), a caller (SET search_path) or a
 * custom job put on the path: an operator, a function or a type of an
 * earlier schema would otherwise run with a superuser's rights.  So they run
 * with pg_catalog first and the temporary schema last, where it is searched
 * for no table or type before pg_catalog and never for functions or
 * operators; the extension's own objects are always written qualified.
 *
 * What search_path a custom job's command sees is jobs/sql_job.c's business.
 */
#include "racing_sched.h"

#include "utils/guc.h"

#include "search_path.h"

/*
 * Pin the safe path for the rest of the session (in a transaction: once it
 * commits).
 */
void
rs_pin_search_path(void)
{
	(void) set_config_option("search_path", RS_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SET,
							 true, 0, false);
}

/*
 * Set search_path to path until rs_pop_search_path(), as a function's SET
 * clause does; returns the level to pop.  An ERROR in between restores the
 * old path when the (sub)transaction aborts.
 */
int
rs_push_search_path(const char *path)
{
	int			nest_level = NewGUCNestLevel();

	(void) set_config_option("search_path", path,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	return nest_level;
}

/*
 * Back to the settings of before rs_push_search_path().  With keep_changes
 * false, every setting changed since (by SET, SET LOCAL or set_config) is
 * undone too, not only search_path.
 */
void
rs_pop_search_path(int nest_level, bool keep_changes)
{
	AtEOXact_GUC(keep_changes, nest_level);
}
