/*
 * search_path.h
 *		The search_path under which racing_sched's own statements run; see
 *		search_path.c.
 */
#ifndef RACING_SCHED_SEARCH_PATH_H
#define RACING_SCHED_SEARCH_PATH_H

/* pg_catalog first, the temporary schema last, nothing else */
#define RS_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

extern void rs_pin_search_path(void);
extern int	rs_push_search_path(const char *path);
extern void rs_pop_search_path(int nest_level, bool keep_changes);

#endif							/* RACING_SCHED_SEARCH_PATH_H */
