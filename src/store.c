/*-------------------------------------------------------------------------
 *
 * store.c
 *	  Stores: creation, ownership checks and the logout purge.
 *
 * A store is one WhatsApp account/connection, named by a client-chosen id.
 * It belongs to the role that created it; members of that role share it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "locks.h"
#include "plans.h"
#include "store.h"
#include "wastore.h"

static WastorePlan owner_plan = {
	"SELECT owner FROM wastore.store_owners "
	"WHERE store OPERATOR(pg_catalog.=) $1",
	1, {TEXTOID}
};

static WastorePlan create_plan = {
	"INSERT INTO wastore.store_owners (store, owner) VALUES ($1, $2) "
	"ON CONFLICT (store) DO NOTHING",
	2, {TEXTOID, REGROLEOID}
};

/*
 * Every table that holds rows of a store, in the order drop_store empties
 * them (the ownership row last).
 */
static WastorePlan purge_plans[] = {
	{"DELETE FROM wastore.keys WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
	{"DELETE FROM wastore.sync_versions WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
	{"DELETE FROM wastore.sync_index WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
	{"DELETE FROM wastore.store_owners WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
};

/*
 * The owner of the store, or InvalidOid when there is no such store.
 */
static Oid
store_owner(text *store)
{
	Datum		values[1] = {PointerGetDatum(store)};
	bool		isnull;
	Datum		owner;

	if (wastore_plan_execute(&owner_plan, values, NULL, false, SPI_OK_SELECT) == 0)
		return InvalidOid;
	owner = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	Assert(!isnull);
	return DatumGetObjectId(owner);
}

bool
store_access(text *store, bool create)
{
	Oid			owner = store_owner(store);

	if (!OidIsValid(owner) && create)
	{
		Datum		values[2] = {PointerGetDatum(store), ObjectIdGetDatum(GetUserId())};

		/*
		 * A concurrent creator may win the race; ON CONFLICT then waits for it
		 * and the second look sees its row.
		 */
		wastore_plan_execute(&create_plan, values, NULL, false, SPI_OK_INSERT);
		CommandCounterIncrement();
		owner = store_owner(store);

		/*
		 * Only a snapshot that cannot see the concurrent creator's committed
		 * row gets here (REPEATABLE READ and up): a serialization failure,
		 * which set and try_set retry.
		 */
		if (!OidIsValid(owner))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("store \"%s\" was created by a concurrent transaction",
							text_to_cstring(store))));
	}

	if (OidIsValid(owner) && !has_privs_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for store \"%s\"", text_to_cstring(store)),
				 errdetail("The store belongs to a role that the current user is not a member of."),
				 errhint("Its owner can grant the owning role to the roles that should share the store.")));

	return OidIsValid(owner);
}

PG_FUNCTION_INFO_V1(store_create);
Datum
store_create(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);

	SPI_connect();
	store_access(store, true);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(store_drop);
Datum
store_drop(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);

	SPI_connect();
	if (store_access(store, false))
	{
		Datum		values[1] = {PointerGetDatum(store)};

		/* let transactions that hold the store's locks finish first */
		locks_acquire_store_exclusive(store);

		for (int i = 0; i < (int) lengthof(purge_plans); i++)
			wastore_plan_execute(&purge_plans[i], values, NULL, false, SPI_OK_DELETE);
	}
	SPI_finish();
	PG_RETURN_VOID();
}
