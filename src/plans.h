/*-------------------------------------------------------------------------
 *
 * plans.h
 *	  Saved SPI plans for the statements wastore runs against its own
 *	  tables.
 *
 * Each statement is prepared once per backend and kept (SPI_keepplan); the
 * plan cache re-plans it by itself when a table changes.  Statement text is
 * schema-qualified and uses OPERATOR(pg_catalog.=), so it means the same
 * whatever the caller's search_path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_PLANS_H
#define WASTORE_PLANS_H

#include "executor/spi.h"

typedef struct WastorePlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[8];
	SPIPlanPtr	plan;			/* NULL until first use */
} WastorePlan;

/* The prepared plan, preparing it on first use. */
extern SPIPlanPtr wastore_plan_get(WastorePlan *plan);

/*
 * Runs the statement with the given parameters (nulls as for SPI: ' ' or
 * 'n', or NULL for none) and checks that SPI answered expected_rc.  Returns
 * SPI_processed.  The caller must be connected to SPI.
 */
extern uint64 wastore_plan_execute(WastorePlan *plan, Datum *values,
								   const char *nulls, bool read_only,
								   int expected_rc);

#endif							/* WASTORE_PLANS_H */
