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

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "chat.h"
#include "locks.h"
#include "plans.h"
#include "store.h"
#include "wastore.h"

static WastorePlan create_plan = {
	"INSERT INTO wastore.store_owners (store, owner) VALUES ($1, $2) "
	"ON CONFLICT (store) DO NOTHING",
	2, {TEXTOID, REGROLEOID}
};

/*
 * Every table that holds rows of a store but the ownership row and the chat
 * tables (chat.c empties those, for drop_store and for loading a snapshot).
 */
static WastorePlan purge_plans[] = {
	{"DELETE FROM wastore.keys WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
	{"DELETE FROM wastore.auth_states WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
	{"DELETE FROM wastore.conn_values WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
	{"DELETE FROM wastore.sync_versions WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
	{"DELETE FROM wastore.sync_index WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}},
};

static WastorePlan delete_owner_plan = {
	"DELETE FROM wastore.store_owners WHERE store OPERATOR(pg_catalog.=) $1", 1, {TEXTOID}
};

/* Deletes the store's rows in every part; the caller is connected to SPI. */
static void
purge_store_rows(Datum store)
{
	for (int i = 0; i < (int) lengthof(purge_plans); i++)
		wastore_plan_execute(&purge_plans[i], &store, NULL, false, SPI_OK_DELETE);
	chat_delete_all((text *) DatumGetPointer(store));
}

/*
 * The owner of the store, or InvalidOid when there is no such store.
 *
 * Read straight from the primary key index, not through SPI: row-level
 * security hides the stores of other roles from a query, and the owner check
 * must see them to refuse them (and not take them for missing and try to
 * create them).  The snapshot is the latest one, so a store created by an
 * earlier command of this transaction, or committed by a concurrent creator,
 * is seen.
 */
static Oid
store_owner(text *store)
{
	Oid			relid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	relid = wastore_table_oid("store_owners");
	rel = table_open(relid, AccessShareLock);

	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_TEXTEQ, PointerGetDatum(store));
	/* no new snapshot can be taken in parallel mode; the query's will do */
	snapshot = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  snapshot, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;

		owner = DatumGetObjectId(heap_getattr(tuple, 2, RelationGetDescr(rel), &isnull));
		Assert(!isnull);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return owner;
}

/*
 * The owner of the extension: it administers every store, like superusers.
 */
static Oid
extension_owner(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			owner = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(get_extension_oid("wastore", false)));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
		owner = ((Form_pg_extension) GETSTRUCT(tuple))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return owner;
}

/*
 * May the current user use a store of this owner?  Members of the owner
 * role (with its privileges), the extension's owner and superusers may.
 */
static bool
store_owner_is_usable(Oid owner)
{
	Oid			user = GetUserId();

	return has_privs_of_role(user, owner) ||
		has_privs_of_role(user, extension_owner());
}

bool
store_access(text *store, bool create)
{
	Oid			owner;

	/*
	 * A writer holds the store's lock in share mode until it commits, before
	 * it looks the store up: a concurrent drop_store either finishes first
	 * (and the writer creates the store anew) or waits for the writer and
	 * then purges what it wrote.
	 */
	if (create)
		locks_acquire_store_share(store);
	owner = store_owner(store);

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

	if (OidIsValid(owner) && !store_owner_is_usable(owner))
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

		purge_store_rows(values[0]);
		wastore_plan_execute(&delete_owner_plan, values, NULL, false, SPI_OK_DELETE);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * wastore.owns_store(store): the row-level security policy of every state
 * table.  A query applies it to every row it reads or writes, and the rows of
 * one query nearly always belong to one store, so the last answer is kept
 * for the query's life in fn_extra.
 */
typedef struct OwnsStoreCache
{
	bool		valid;
	bool		result;
	Oid			user;			/* the answer is for this user */
	int			len;
	int			capacity;
	char		store[FLEXIBLE_ARRAY_MEMBER];
} OwnsStoreCache;

PG_FUNCTION_INFO_V1(store_owns_store);
Datum
store_owns_store(PG_FUNCTION_ARGS)
{
	text	   *store = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(store);
	OwnsStoreCache *cache = (OwnsStoreCache *) fcinfo->flinfo->fn_extra;
	Oid			owner;

	if (cache != NULL && cache->valid && cache->user == GetUserId() &&
		cache->len == len && memcmp(cache->store, VARDATA_ANY(store), len) == 0)
		PG_RETURN_BOOL(cache->result);

	if (cache == NULL || cache->capacity < len)
	{
		/* room for the longest store id, once */
		int			capacity = Max(len, WASTORE_MAX_STORE_ID_BYTES);

		if (cache != NULL)
			pfree(cache);
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									   offsetof(OwnsStoreCache, store) + capacity);
		cache->capacity = capacity;
		fcinfo->flinfo->fn_extra = cache;
	}
	owner = store_owner(store);
	cache->result = OidIsValid(owner) && store_owner_is_usable(owner);
	/* a store that does not exist yet may be created later in the query */
	cache->valid = OidIsValid(owner);
	cache->user = GetUserId();
	cache->len = len;
	memcpy(cache->store, VARDATA_ANY(store), len);
	PG_RETURN_BOOL(cache->result);
}

/*
 * BEFORE DELETE trigger of wastore.store_owners: a store's rows go with it,
 * however it is deleted (drop_store or a DELETE at psql).  Otherwise the rows
 * would outlive their store, and whoever created a store of the same name
 * next would inherit them.
 */
PG_FUNCTION_INFO_V1(store_owners_purge);
Datum
store_owners_purge(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		store;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		elog(ERROR, "store_owners_purge must be a BEFORE DELETE row trigger");

	store = heap_getattr(trigdata->tg_trigtuple, 1,
						 RelationGetDescr(trigdata->tg_relation), &isnull);
	Assert(!isnull);

	/* wait for the store's writers, as drop_store does */
	locks_acquire_store_exclusive((text *) DatumGetPointer(store));

	SPI_connect();
	purge_store_rows(store);
	SPI_finish();
	return PointerGetDatum(trigdata->tg_trigtuple);
}
