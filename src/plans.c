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

		prepared = SPI_prepare(plan->sql, plan->nargs, plan->argtypes);
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
