/*
 * sql_job.c
 *		Custom SQL jobs (job type sql): run the job's command as the role
 *		that scheduled it, in one transaction.
 *
 * The worker is connected as a superuser so that it can keep the books;
 * the command itself runs with the owner as current user in a
 * local-user-id-change context, where SET ROLE and SET SESSION
 * AUTHORIZATION are refused, so a command can never act as more than its
 * owner.  The owner stays the current user until the transaction has
 * committed, for what runs at commit (deferred triggers, WITH HOLD cursors,
 * ON COMMIT actions) is the command's too; and the settings the command
 * changed are undone, so that they cannot steer the worker's own
 * statements afterwards.
 */
#include "racing_sched.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"

#include "jobs/jobs.h"
#include "search_path.h"

void
run_sql_job(const JobRun *run, JobOutcome *outcome)
{
	Oid			owner;
	Oid			save_userid;
	int			save_sec_context;
	int			nest_level;
	int			rc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (run->command == NULL || run->owner == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("job \"%s\" no longer exists", run->job_name)));
	owner = get_role_oid(run->owner, true);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role \"%s\" that owns job \"%s\" does not exist", run->owner, run->job_name)));

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	/* the command sees the database's search_path, not the worker's */
	nest_level = rs_push_search_path(GetConfigOptionResetString("search_path"));

	SPI_connect();
	rc = SPI_execute(run->command, false, 0);
	if (rc < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("command of job \"%s\" failed: %s", run->job_name, SPI_result_code_string(rc))));
	outcome->items_processed = (int64) SPI_processed;
	SPI_finish();

	rs_pop_search_path(nest_level, false);
	PopActiveSnapshot();
	CommitTransactionCommand();
	SetUserIdAndSecContext(save_userid, save_sec_context);

	outcome_meta_text(outcome, "run_as", run->owner);
}
