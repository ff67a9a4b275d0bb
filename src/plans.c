/*-------------------------------------------------------------------------
 *
 * plans.c
 *	  wastore's own statements against its own tables: saved SPI plans, run
 *	  as the tables' owner.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/snapmgr.h"

#include "plans.h"
#include "wastore.h"

/* The saved user and security context while a statement runs as the owner. */
typedef struct AsOwner
{
	Oid			save_userid;
	int			save_sec_context;
} AsOwner;

/*
 * The search path of wastore's statements: pg_catalog, then the session's
 * temporary schema if it has one, as "SET search_path = pg_catalog, pg_temp"
 * (what the functions pinned before 1.2) would have it.  The statements
 * name everything they use with its schema; the path is for what an
 * administrator's trigger on a table may look up.  (The temporary schema is
 * listed explicitly, after pg_catalog: OverrideSearchPath's addTemp would put
 * it first.)
 *
 * wastore's C functions do not pin a search_path in their definitions: a
 * SET clause costs a GUC save and restore on every call.  The statements are
 * parsed, and re-parsed by the plan cache, under this path instead, and run
 * under it, so that the plan cache finds the path it parsed them with.
 * Whatever the caller's search_path, no name can resolve to the caller's
 * objects, which would otherwise run as the tables' owner.
 */
static void
push_statement_search_path(void)
{
	OverrideSearchPath path = {NIL, true, false};
	Oid			temp_namespace;
	Oid			temp_toast_namespace;

	GetTempNamespaceState(&temp_namespace, &temp_toast_namespace);
	if (OidIsValid(temp_namespace))
		path.schemas = list_make1_oid(temp_namespace);
	PushOverrideSearchPath(&path);
	list_free(path.schemas);
}


/*
 * SECURITY_LOCAL_USERID_CHANGE, as for a SECURITY DEFINER function: nothing
 * the statement runs can SET ROLE its way out.  The statement search path
 * is pushed with the user.
 */
static void
become_owner(AsOwner *as)
{
	GetUserIdAndSecContext(&as->save_userid, &as->save_sec_context);
	SetUserIdAndSecContext(wastore_tables_owner(),
						   as->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	push_statement_search_path();
}

/* An error pops the path and switches the user back as it aborts. */
static void
stop_being_owner(const AsOwner *as)
{
	PopOverrideSearchPath();
	SetUserIdAndSecContext(as->save_userid, as->save_sec_context);
}

/* The prepared plan, preparing it on first use (as the owner). */
static SPIPlanPtr
plan_get(WastorePlan *plan)
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

static void
check_rc(int rc, int expected_rc, const char *sql)
{
	if (rc != expected_rc)
		elog(ERROR, "SPI returned %s for \"%s\", expected %s",
			 SPI_result_code_string(rc), sql, SPI_result_code_string(expected_rc));
}

uint64
wastore_plan_execute(WastorePlan *plan, Datum *values, const char *nulls,
					 bool read_only, int expected_rc)
{
	AsOwner		as;
	int			rc;

	become_owner(&as);
	rc = SPI_execute_plan(plan_get(plan), values, nulls, read_only, 0);
	stop_being_owner(&as);
	check_rc(rc, expected_rc, plan->sql);
	return SPI_processed;
}

uint64
wastore_plan_execute_latest(WastorePlan *plan, Datum *values, int expected_rc)
{
	AsOwner		as;
	int			rc;

	become_owner(&as);
	rc = SPI_execute_snapshot(plan_get(plan), values, NULL, GetLatestSnapshot(),
							  InvalidSnapshot, true, false, 0);
	stop_being_owner(&as);
	check_rc(rc, expected_rc, plan->sql);
	return SPI_processed;
}

/*
 * The owner's rights are checked when the cursor opens; its rows are
 * fetched later by the caller.
 */
Portal
wastore_plan_cursor_open(WastorePlan *plan, Datum *values)
{
	AsOwner		as;
	Portal		portal;

	become_owner(&as);
	portal = SPI_cursor_open(NULL, plan_get(plan), values, NULL, true);
	stop_being_owner(&as);
	return portal;
}

uint64
wastore_execute_as_owner(const char *sql, int nargs, Oid *argtypes,
						 Datum *values, int expected_rc)
{
	AsOwner		as;
	int			rc;

	SPIPlanPtr	plan;

	become_owner(&as);
	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql, SPI_result_code_string(SPI_result));
	rc = SPI_execute_snapshot(plan, values, NULL, GetLatestSnapshot(), InvalidSnapshot,
							  false, true, 0);
	SPI_freeplan(plan);
	stop_being_owner(&as);
	check_rc(rc, expected_rc, sql);
	return SPI_processed;
}

Jsonb *
wastore_jsonb_copy_out(Jsonb *value)
{
	if (value == NULL)
		return NULL;
	return DatumGetJsonbP(SPI_datumTransfer(JsonbPGetDatum(value), false, -1));
}

Jsonb *
wastore_result_jsonb(void)
{
	bool		isnull;
	Datum		value;

	if (SPI_processed == 0)
		return NULL;
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return NULL;
	return wastore_jsonb_copy_out(DatumGetJsonbP(value));
}
