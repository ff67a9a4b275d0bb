/*-------------------------------------------------------------------------
 *
 * plans.h
 *	  wastore's own statements against its own tables: saved SPI plans, run
 *	  as the tables' owner.
 *
 * Each statement is prepared once per backend and kept (SPI_keepplan); the
 * plan cache re-plans it by itself when a table changes.  Statement text is
 * schema-qualified and uses OPERATOR(pg_catalog.=), so it means the same
 * whatever the caller's search_path.
 *
 * The state tables are private to their owner (the extension's owner):
 * tenants reach their rows through wastore's functions only.  A function
 * checks that the caller may use the store (store.h) and then runs its
 * statements as the tables' owner, as PostgreSQL's foreign key checks run as
 * the owner of the referenced table.  Only the statement runs as the owner:
 * the user is switched around each execution and switched back before
 * control returns to the caller (an error switches it back too, when its
 * transaction or subtransaction aborts).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_PLANS_H
#define WASTORE_PLANS_H

#include "executor/spi.h"
#include "utils/jsonb.h"

typedef struct WastorePlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[8];
	SPIPlanPtr	plan;			/* NULL until first use */
} WastorePlan;

/*
 * Runs the statement with the given parameters (nulls as for SPI: ' ' or
 * 'n', or NULL for none) and checks that SPI answered expected_rc.  Returns
 * SPI_processed.  The caller must be connected to SPI.
 */
extern uint64 wastore_plan_execute(WastorePlan *plan, Datum *values,
								   const char *nulls, bool read_only,
								   int expected_rc);

/*
 * Runs a read-only statement on the latest committed state instead of the
 * transaction's snapshot: under REPEATABLE READ, what a check compares the
 * snapshot's view with.
 */
extern uint64 wastore_plan_execute_latest(WastorePlan *plan, Datum *values,
										  int expected_rc);

/* Opens a read-only cursor on the statement. */
extern Portal wastore_plan_cursor_open(WastorePlan *plan, Datum *values);

/*
 * Runs a one-off statement (not kept) as wastore_plan_execute does, but
 * with the latest snapshot whatever the isolation level: the purge deletes
 * what the writers it waited for committed, which a REPEATABLE READ
 * snapshot taken before their commit would not see.
 */
extern uint64 wastore_execute_as_owner(const char *sql, int nargs, Oid *argtypes,
									   Datum *values, int expected_rc);

/*
 * jsonb out of SPI.  wastore_jsonb_copy_out copies a value (NULL stays
 * NULL) into the memory of the caller of SPI_connect, so that it survives
 * SPI_finish; wastore_result_jsonb is the copied-out first column of the
 * last statement's first row, or NULL when there is no row or it is NULL.
 */
extern Jsonb *wastore_jsonb_copy_out(Jsonb *value);
extern Jsonb *wastore_result_jsonb(void);

#endif							/* WASTORE_PLANS_H */
