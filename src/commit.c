/*-------------------------------------------------------------------------
 *
 * commit.c
 *	  The savepoint commit shared by every multi-row write.
 *
 * This follows PL/pgSQL's exec_stmt_block: begin an internal subtransaction,
 * run the work, and on error copy the error data out of ErrorContext, roll
 * the subtransaction back, and restore the caller's memory context and
 * resource owner.  The caller's transaction stays usable either way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "commit.h"
#include "wastore.h"

bool
commit_is_transient(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE ||
		sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE;
}

/*
 * One attempt.  Returns NULL on success, or the error, copied into the
 * caller's memory context, after rolling the attempt back.
 */
static ErrorData *
attempt(CommitWork work, void *arg)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile error = NULL;

	BeginInternalSubTransaction(NULL);
	/* run the work in the caller's memory context, like PL/pgSQL does */
	MemoryContextSwitchTo(oldcontext);

	PG_TRY();
	{
		work(arg);

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		error = CopyErrorData();
		FlushErrorState();

		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();

	return error;
}

static void
pause_before_retry(void)
{
	if (wastore_commit_retry_delay_ms <= 0)
	{
		CHECK_FOR_INTERRUPTS();
		return;
	}

	/* interruptible, unlike pg_usleep: a cancel ends the wait at once */
	(void) WaitLatch(MyLatch,
					 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 wastore_commit_retry_delay_ms,
					 PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

void
commit_run(CommitWork work, void *arg, CommitOutcome *outcome)
{
	commit_run_attempts(work, arg, outcome, wastore_max_commit_retries + 1);
}

void
commit_run_or_raise(CommitWork work, void *arg)
{
	CommitOutcome outcome;

	commit_run(work, arg, &outcome);
	if (!outcome.ok)
		ReThrowError(outcome.error);
}

void
commit_run_attempts(CommitWork work, void *arg, CommitOutcome *outcome,
					int max_attempts)
{
	outcome->ok = false;
	outcome->error = NULL;

	for (outcome->attempts = 1;; outcome->attempts++)
	{
		ErrorData  *error = attempt(work, arg);

		if (error == NULL)
		{
			outcome->ok = true;
			return;
		}

		/* a cancel (statement_timeout, pg_cancel_backend) is not ours to eat */
		if (error->sqlerrcode == ERRCODE_QUERY_CANCELED)
			ReThrowError(error);

		if (outcome->error)
			FreeErrorData(outcome->error);
		outcome->error = error;

		if (!commit_is_transient(error->sqlerrcode) || outcome->attempts >= max_attempts)
			return;

		pause_before_retry();
	}
}
