/*-------------------------------------------------------------------------
 *
 * stores_view.c
 *	  The rows of the wastore.stores view: the stores the caller may use,
 *	  chosen before anything of them is read.
 *
 * The view was a security_barrier view over store_owners filtered by
 * owns_store.  A barrier keeps non-leakproof conditions of the caller above
 * the view's filter, but text comparisons are leakproof: a caller's range on
 * the store id went below it, into the index scan of store_owners, and
 * EXPLAIN ANALYZE then counted the other tenants' stores the filter removed
 * ("Rows Removed by Filter") in any range of ids the caller chose.
 *
 * So the view reads a function, and no condition of the caller can reach
 * the tables: the function reads every store's owner as the tables' owner,
 * keeps the caller's stores, and only then reads their key counts and
 * leases.  What EXPLAIN shows a caller is a function scan of its own rows;
 * its row estimate is the function's fixed one, not the table's statistics.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "plans.h"
#include "store.h"

/* every store, with what the owner check needs */
static WastorePlan all_stores_plan = {
	"SELECT store, owner, created_at, incarnation FROM wastore.store_owners ORDER BY store",
	0, {InvalidOid}
};

/*
 * Key counts and lease of the given incarnations, in the order given.  The
 * family app-state-sync-version is counted in sync_versions, where it is
 * stored.
 */
static WastorePlan details_plan = {
	"SELECT (SELECT pg_catalog.jsonb_object_agg(f.family,"
	"         CASE WHEN f.family OPERATOR(pg_catalog.=) 'app-state-sync-version'::wastore.family"
	"         THEN (SELECT pg_catalog.count(*) FROM wastore.sync_versions v"
	"                WHERE v.incarnation OPERATOR(pg_catalog.=) s.incarnation)"
	"         ELSE (SELECT pg_catalog.count(*) FROM wastore.keys k"
	"                WHERE k.incarnation OPERATOR(pg_catalog.=) s.incarnation"
	"                  AND k.family OPERATOR(pg_catalog.=) f.family)"
	"         END)"
	"        FROM pg_catalog.unnest(pg_catalog.enum_range(NULL::wastore.family)) AS f(family)),"
	"       l.holder, l.token, l.expires_at "
	"FROM pg_catalog.unnest($1::pg_catalog.int8[]) WITH ORDINALITY AS s(incarnation, n) "
	"LEFT JOIN wastore.leases l ON l.incarnation OPERATOR(pg_catalog.=) s.incarnation "
	"ORDER BY s.n",
	1, {INT8ARRAYOID}
};

/* result columns: store, owner, created_at, key_counts, lease_holder, lease_token, lease_expires_at */
#define STORES_NATTS 7

PG_FUNCTION_INFO_V1(stores_visible);
Datum
stores_visible(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext upper;
	Datum	   *incarnations;
	Datum	  (*rows)[3];
	int			nvisible = 0;
	uint64		nstores;
	bool		administers = store_caller_administers();
	Oid			user = GetUserId();

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != STORES_NATTS)
		elog(ERROR, "wastore.stores_visible() must return %d columns", STORES_NATTS);

	upper = CurrentMemoryContext;
	SPI_connect();
	nstores = wastore_plan_execute(&all_stores_plan, NULL, NULL, true, SPI_OK_SELECT);
	incarnations = MemoryContextAlloc(upper, sizeof(Datum) * Max(nstores, 1));
	rows = MemoryContextAlloc(upper, sizeof(*rows) * Max(nstores, 1));
	for (uint64 i = 0; i < nstores; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			owner = DatumGetObjectId(SPI_getbinval(tuple, desc, 2, &isnull));

		CHECK_FOR_INTERRUPTS();
		/* the owner check of store_owner_is_usable, administration decided once */
		if (!administers && !has_privs_of_role(user, owner))
			continue;
		rows[nvisible][0] = SPI_datumTransfer(SPI_getbinval(tuple, desc, 1, &isnull), false, -1);
		rows[nvisible][1] = ObjectIdGetDatum(owner);
		rows[nvisible][2] = SPI_datumTransfer(SPI_getbinval(tuple, desc, 3, &isnull), FLOAT8PASSBYVAL, 8);
		incarnations[nvisible] = SPI_datumTransfer(SPI_getbinval(tuple, desc, 4, &isnull), FLOAT8PASSBYVAL, 8);
		nvisible++;
	}

	if (nvisible > 0)
	{
		Datum		args[1];

		args[0] = PointerGetDatum(construct_array(incarnations, nvisible, INT8OID,
												  sizeof(int64), FLOAT8PASSBYVAL,
												  TYPALIGN_DOUBLE));
		if (wastore_plan_execute(&details_plan, args, NULL, true, SPI_OK_SELECT) != (uint64) nvisible)
			elog(ERROR, "stores_visible: details of %d stores came back incomplete", nvisible);
		for (int i = 0; i < nvisible; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			Datum		values[STORES_NATTS];
			bool		nulls[STORES_NATTS] = {false};

			values[0] = rows[i][0];
			values[1] = rows[i][1];
			values[2] = rows[i][2];
			for (int c = 0; c < 4; c++)
				values[3 + c] = SPI_getbinval(tuple, desc, c + 1, &nulls[3 + c]);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	SPI_finish();
	return (Datum) 0;
}
