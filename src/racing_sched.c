/*
 * racing_sched.c
 *		Module load: settings, shared memory, and registration of the
 *		scheduler background worker.
 *
 * Nothing here runs jobs or touches tables; the scheduler loop lives in
 * scheduler.c, the job workers in worker.c.
 */
#include "racing_sched.h"

#include <ctype.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "http.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Settings */
char	   *rs_database = NULL;
bool		rs_enabled = true;
char	   *rs_timezone = NULL;
char	   *rs_tab_api_url = NULL;
char	   *rs_jurisdictions = NULL;
char	   *rs_race_types = NULL;
char	   *rs_locations = NULL;
int			rs_max_workers = 4;
int			rs_success_retention_min = 14 * 24 * 60;
int			rs_heartbeat_ms = 60 * 1000;

RacingSchedShared *rs_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static const char *const jurisdiction_names[] = {
	"NSW", "VIC", "QLD", "ACT", "SA", "TAS", "NT", NULL
};
static const char *const race_type_names[] = {"R", "H", "G", NULL};

/*
 * Check a comma-separated list of upper-case codes: not empty, no duplicates,
 * each in "allowed" (or, when allowed is NULL, two or three letters A-Z).
 * On failure sets the GUC error detail and returns false.
 */
static bool
check_code_list(const char *value, const char *const *allowed,
				const char *allowed_text)
{
	char		codes[64][8];
	int			ncodes = 0;
	const char *p = value;

	for (;;)
	{
		char		code[8];
		int			len = 0;
		bool		known = (allowed == NULL);

		while (*p == ' ')
			p++;
		while (*p && *p != ',' && *p != ' ')
		{
			if (len < (int) sizeof(code) - 1)
				code[len] = *p;
			len++;
			p++;
		}
		while (*p == ' ')
			p++;
		if (len == 0 || len >= (int) sizeof(code) || (*p && *p != ','))
		{
			GUC_check_errdetail("The value must be a comma-separated list of %s.",
								allowed_text);
			return false;
		}
		code[len] = '\0';

		if (allowed == NULL)
		{
			if (len < 2 || len > 3)
				known = false;
			for (int i = 0; i < len; i++)
				if (code[i] < 'A' || code[i] > 'Z')
					known = false;
		}
		else
			for (const char *const *a = allowed; *a; a++)
				if (strcmp(code, *a) == 0)
					known = true;
		if (!known)
		{
			GUC_check_errdetail("\"%s\" is not allowed; use %s.", code, allowed_text);
			return false;
		}
		for (int i = 0; i < ncodes; i++)
			if (strcmp(codes[i], code) == 0)
			{
				GUC_check_errdetail("\"%s\" is listed twice.", code);
				return false;
			}
		if (ncodes == lengthof(codes))
		{
			GUC_check_errdetail("The list is too long.");
			return false;
		}
		strlcpy(codes[ncodes++], code, sizeof(codes[0]));
		if (*p == '\0')
			return true;
		p++;					/* the comma */
	}
}

static bool
check_jurisdictions(char **newval, void **extra, GucSource source)
{
	return check_code_list(*newval, jurisdiction_names,
						   "NSW, VIC, QLD, ACT, SA, TAS or NT");
}

static bool
check_race_types(char **newval, void **extra, GucSource source)
{
	return check_code_list(*newval, race_type_names,
						   "R (thoroughbred), H (harness) or G (greyhound)");
}

static bool
check_locations(char **newval, void **extra, GucSource source)
{
	if (strcmp(*newval, "all") == 0)
		return true;
	return check_code_list(*newval, NULL,
						   "\"all\", or location codes such as NSW, VIC, NZL or GBR");
}

static bool
check_timezone(char **newval, void **extra, GucSource source)
{
	if (**newval == '\0' || pg_tzset(*newval) == NULL)
	{
		GUC_check_errdetail("\"%s\" is not a time zone known to this server.", *newval);
		GUC_check_errhint("Use a name from pg_timezone_names, such as Australia/Sydney.");
		return false;
	}
	return true;
}

static bool
check_tab_api_url(char **newval, void **extra, GucSource source)
{
	const char *url = *newval;
	const char *host;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
	{
		GUC_check_errdetail("The URL must start with http:// or https://.");
		return false;
	}
	if (*host == '\0' || *host == '/' || strlen(url) > 1024)
	{
		GUC_check_errdetail("The URL must name a host and be at most 1024 characters long.");
		return false;
	}
	for (const char *p = url; *p; p++)
		if (!isgraph((unsigned char) *p) || *p == '?' || *p == '#')
		{
			GUC_check_errdetail("The URL must not contain spaces, control characters, a query or a fragment.");
			return false;
		}
	return true;
}

static void
define_settings(void)
{
	DefineCustomStringVariable("racing_sched.database",
							   "Database the scheduler connects to.",
							   "Create the extension in this database.",
							   &rs_database, "postgres",
							   PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("racing_sched.enabled",
							 "Whether the scheduler starts any job.",
							 "When off, the scheduler keeps its heartbeat but queues and starts nothing.",
							 &rs_enabled, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("racing_sched.timezone",
							   "Time zone of job schedules and of the racing day.",
							   NULL,
							   &rs_timezone, "Australia/Sydney",
							   PGC_SIGHUP, 0, check_timezone, NULL, NULL);
	DefineCustomStringVariable("racing_sched.tab_api_url",
							   "Base URL of the TAB racing API.",
							   "http:// or https:// only.",
							   &rs_tab_api_url,
							   "https://api.beta.tab.com.au/v1/tab-info-service/racing",
							   PGC_SUSET, 0, check_tab_api_url, NULL, NULL);
	DefineCustomStringVariable("racing_sched.jurisdictions",
							   "Jurisdictions whose meetings lists the morning scrape fetches.",
							   "A comma-separated list of NSW, VIC, QLD, ACT, SA, TAS, NT.",
							   &rs_jurisdictions, "NSW,VIC",
							   PGC_SIGHUP, 0, check_jurisdictions, NULL, NULL);
	DefineCustomStringVariable("racing_sched.race_types",
							   "Race types to keep.",
							   "A comma-separated list of R, H, G.",
							   &rs_race_types, "R,H,G",
							   PGC_SIGHUP, 0, check_race_types, NULL, NULL);
	DefineCustomStringVariable("racing_sched.locations",
							   "Meeting locations to keep.",
							   "\"all\", or a comma-separated list of location codes (NSW, VIC, NZL, GBR, ...).",
							   &rs_locations, "all",
							   PGC_SIGHUP, 0, check_locations, NULL, NULL);
	DefineCustomIntVariable("racing_sched.max_workers",
							"Maximum number of job workers running at once.",
							"Each also takes a slot of max_worker_processes.",
							&rs_max_workers, 4, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("racing_sched.success_retention",
							"How long successful job runs are kept.",
							"Failed and partial runs are kept forever.",
							&rs_success_retention_min, 14 * 24 * 60, 60, 3650 * 24 * 60,
							PGC_SIGHUP, GUC_UNIT_MIN, NULL, NULL, NULL);
	DefineCustomIntVariable("racing_sched.heartbeat_interval",
							"Longest time the scheduler sleeps between two looks at its work.",
							NULL,
							&rs_heartbeat_ms, 60 * 1000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	http_define_settings();

	MarkGUCPrefixReserved("racing_sched");
}

static void
racing_sched_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(RacingSchedShared)));
}

static void
racing_sched_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	rs_shared = ShmemInitStruct("racing_sched", sizeof(RacingSchedShared), &found);
	if (!found)
	{
		memset(rs_shared, 0, sizeof(RacingSchedShared));
		SpinLockInit(&rs_shared->mutex);
		rs_shared->shmem_init_time = GetCurrentTimestamp();
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
register_scheduler(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "racing_sched", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "racing_sched_scheduler_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "racing_sched scheduler", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "racing_sched scheduler", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("racing_sched must be loaded via shared_preload_libraries"),
				 errhint("Add racing_sched to shared_preload_libraries in postgresql.conf and restart the server.")));

	define_settings();

	http_register_shmem();
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = racing_sched_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = racing_sched_shmem_startup;

	/* pg_upgrade runs the server only to move catalogs: start nothing. */
	if (IsBinaryUpgrade)
		return;
	register_scheduler();
}

const char *
scheduler_state_name(SchedulerState state)
{
	switch (state)
	{
		case SCHED_NOT_RUNNING:
			return "not running";
		case SCHED_STARTING:
			return "starting";
		case SCHED_WAITING_FOR_EXTENSION:
			return "waiting for extension";
		case SCHED_DISABLED:
			return "disabled";
		case SCHED_RUNNING:
			return "running";
	}
	return "unknown";
}

/* Set the scheduler's latch now, if a scheduler is running. */
void
wake_scheduler(void)
{
	Latch	   *latch;

	SpinLockAcquire(&rs_shared->mutex);
	latch = rs_shared->scheduler_latch;
	SpinLockRelease(&rs_shared->mutex);
	if (latch)
		SetLatch(latch);
}

static bool wake_pending = false;

static void
wake_at_commit_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			/* Called once the commit is visible to new snapshots. */
			if (wake_pending)
				wake_scheduler();
			wake_pending = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wake_pending = false;
			break;
		default:
			break;
	}
}

/*
 * Wake the scheduler when the current transaction commits, so that it sees
 * the work this transaction queued or changed.  Waking it earlier would let
 * it look before the change is visible and go back to sleep.
 */
void
wake_scheduler_at_commit(void)
{
	static bool callback_registered = false;

	if (!callback_registered)
	{
		RegisterXactCallback(wake_at_commit_callback, NULL);
		callback_registered = true;
	}
	wake_pending = true;
}
