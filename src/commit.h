/*-------------------------------------------------------------------------
 *
 * commit.h
 *	  The savepoint commit: a batch runs in an internal subtransaction and
 *	  either lands whole or leaves nothing behind.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_COMMIT_H
#define WASTORE_COMMIT_H

#include "postgres.h"

typedef void (*CommitWork) (void *arg);

typedef struct CommitOutcome
{
	bool		ok;
	int			attempts;		/* how many times the work ran */
	ErrorData  *error;			/* the last failure, when !ok */
} CommitOutcome;

/*
 * Runs work(arg) in an internal subtransaction.  When it fails, everything it
 * did is rolled back; a transient failure (40001, 40P01, 55P03) is retried up
 * to wastore.max_commit_retries times, wastore.commit_retry_delay_ms apart.
 * A query cancel is never swallowed: it is raised again at once.
 *
 * Transaction-scoped locks must be taken before calling this: a lock taken
 * by the work is released when its subtransaction rolls back.
 */
extern void commit_run(CommitWork work, void *arg, CommitOutcome *outcome);

/* commit_run, raising the last failure when the work did not land. */
extern void commit_run_or_raise(CommitWork work, void *arg);

/* Whether an error is one a retry may cure: 40001, 40P01, 55P03. */
extern bool commit_is_transient(int sqlerrcode);

/* The same with at most max_attempts attempts, whatever the GUC says. */
extern void commit_run_attempts(CommitWork work, void *arg,
								CommitOutcome *outcome, int max_attempts);

#endif							/* WASTORE_COMMIT_H */
