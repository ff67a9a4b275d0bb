/*-------------------------------------------------------------------------
 *
 * appstate_sync_key.c
 *	  App-state sync keys, one at a time: rows of the app-state-sync-key
 *	  family of wastore.keys, with ids checked as Baileys writes them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "args.h"
#include "lease.h"
#include "plans.h"
#include "store.h"

/* app-state sync keys: rows of wastore.keys, family app-state-sync-key */
static WastorePlan get_key_plan = {
	"SELECT value FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) 'app-state-sync-key'::wastore.family "
	"AND id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan put_key_plan = {
	"INSERT INTO wastore.keys AS k (incarnation, family, id, value) "
	"VALUES ($1, 'app-state-sync-key'::wastore.family, $2, $3) "
	"ON CONFLICT (incarnation, family, id) DO UPDATE SET value = excluded.value "
	"WHERE k.value OPERATOR(pg_catalog.<>) excluded.value",
	3, {INT8OID, TEXTOID, JSONBOID}
};

static WastorePlan delete_key_plan = {
	"DELETE FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) 'app-state-sync-key'::wastore.family "
	"AND id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

/*
 * App-state sync keys: rows of the app-state-sync-key family
 */

/* the same check as the ids of the family in a set batch (args.h) */
static text *
sync_key_id_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *key_id = wastore_text_arg(fcinfo, argno, "key_id");

	wastore_check_sync_key_id("key_id", VARDATA_ANY(key_id), VARSIZE_ANY_EXHDR(key_id));
	return key_id;
}

PG_FUNCTION_INFO_V1(appstate_put_sync_key);
Datum
appstate_put_sync_key(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key_id = sync_key_id_arg(fcinfo, 1);
	Jsonb	   *value = wastore_value_or_delete_arg(fcinfo, 2);
	int64		token;
	bool		fenced = lease_token_arg(fcinfo, 3, &token);

	store_put(store, key_id, value, &put_key_plan, &delete_key_plan,
			  fenced ? &token : NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(appstate_get_sync_key);
Datum
appstate_get_sync_key(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key_id = sync_key_id_arg(fcinfo, 1);
	Datum		values[2] = {(Datum) 0, PointerGetDatum(key_id)};
	Jsonb	   *value = store_jsonb(store, STORE_READ, &get_key_plan, values);

	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("app state sync key \"%s\" not found", text_to_cstring(key_id)),
				 errdetail("Store \"%s\" has no app-state-sync-key with that id.", text_to_cstring(store))));
	PG_RETURN_JSONB_P(value);
}
