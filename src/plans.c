/*-------------------------------------------------------------------------
 *
 * plans.c
 *	  Saved SPI plans for the statements wastore runs against its own
 *	  tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "plans.h"

SPIPlanPtr
wastore_plan_get(WastorePlan *plan)
{
	if (plan->plan == NULL)
	{
		SPIPlanPtr	prepared;

		/*
		 * Always the generic plan: every statement here is a primary-key
		 * lookup or range scan whose best plan does not depend on the
		 * parameter values, and the plan cache's default would otherwise
		 * re-plan some of them (id = ANY ($n)) on every call, because their
		 * custom plans look cheaper than the generic one.
		 */
		prepared = SPI_prepare_cursor(plan->sql, plan->nargs, plan->argtypes,
									  CURSOR_OPT_GENERIC_PLAN);
		if (prepared == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s",
				 plan->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(prepared) != 0)
			elog(ERROR, "SPI_keepplan failed");
		plan->plan = prepared;
	}
	return plan->plan;
}

uint64
wastore_plan_execute(WastorePlan *plan, Datum *values, const char *nulls,
					 bool read_only, int expected_rc)
{
	int			rc;

	rc = SPI_execute_plan(wastore_plan_get(plan), values, nulls, read_only, 0);
	if (rc != expected_rc)
		elog(ERROR, "SPI_execute_plan returned %s for \"%s\", expected %s",
			 SPI_result_code_string(rc), plan->sql,
			 SPI_result_code_string(expected_rc));
	return SPI_processed;
}
