/*-------------------------------------------------------------------------
 *
 * store.c
 *	  Stores: incarnations, ownership checks and the logout purge.
 *
 * A store is one WhatsApp account/connection, named by a client-chosen id.
 * It belongs to the role that created it; members of that role share it.
 * The name maps to one live incarnation (wastore.store_owners); every state
 * table is keyed by the incarnation, so a dropped store's rows can never be
 * reached through the name again, from any snapshot.
 *
 * store.c knows no feature's tables: the purge finds every state table in
 * the catalog (the extension's tables with an incarnation column).
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

#include "args.h"
#include "lease.h"
#include "locks.h"
#include "plans.h"
#include "store.h"
#include "store_cache.h"
#include "tables.h"
#include "wastore.h"

static WastorePlan create_plan = {
	"INSERT INTO wastore.store_owners (store, owner) VALUES ($1, $2) "
	"ON CONFLICT (store) DO NOTHING",
	2, {TEXTOID, REGROLEOID}
};

/* by incarnation: the one the owner check passed for, not the id's */
static WastorePlan delete_plan = {
	"DELETE FROM wastore.store_owners WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

/*
 * Every state table but store_owners, from the catalog: the extension's
 * tables that have an incarnation column.  A feature's new table is purged
 * without store.c knowing of it.
 */
static WastorePlan state_tables_plan = {
	"SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) "
	"FROM pg_catalog.pg_depend d "
	"JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid "
	"JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid "
	"JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace "
	"JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid "
	"WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
	"AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
	"AND d.deptype OPERATOR(pg_catalog.=) 'e' AND e.extname OPERATOR(pg_catalog.=) 'wastore' "
	"AND c.relkind OPERATOR(pg_catalog.=) 'r' "
	"AND a.attname OPERATOR(pg_catalog.=) 'incarnation' AND NOT a.attisdropped "
	"AND c.oid OPERATOR(pg_catalog.<>) 'wastore.store_owners'::pg_catalog.regclass "
	"ORDER BY 1",
	0, {InvalidOid}
};

/*
 * A store_owners row as a StoreRef.  The table's CHECK constraint guarantees
 * the salt's length; this only makes sure of it before copying.
 */
/*
 * The library serves the latest version's tables only; before ALTER
 * EXTENSION UPDATE, an older install's store_owners has no incarnation.
 */
static void
check_tables_current(TupleDesc desc)
{
	if (desc->natts < Anum_store_owners_lock_salt)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("wastore's tables are those of an older version"),
				 errhint("Run ALTER EXTENSION wastore UPDATE.")));
}

/*
 * No new snapshot can be taken in parallel mode, and the query's would be
 * out of date.  wastore's functions are PARALLEL UNSAFE, so that no query
 * that calls them runs in parallel mode; refuse rather than resolve a store
 * from an old snapshot, or from the cache, which may be older still.
 */
static void
check_not_parallel(void)
{
	if (IsInParallelMode())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("wastore's functions cannot run in parallel mode")));
}

static void
ref_from_tuple(HeapTuple tuple, TupleDesc desc, StoreRef *ref)
{
	bool		isnull;
	Datum		salt;

	check_tables_current(desc);
	memset(ref, 0, sizeof(StoreRef));
	ref->owner = DatumGetObjectId(heap_getattr(tuple, Anum_store_owners_owner, desc, &isnull));
	ref->incarnation = DatumGetInt64(heap_getattr(tuple, Anum_store_owners_incarnation, desc, &isnull));
	salt = heap_getattr(tuple, Anum_store_owners_lock_salt, desc, &isnull);
	if (isnull || VARSIZE_ANY_EXHDR(DatumGetByteaPP(salt)) != STORE_LOCK_SALT_BYTES)
		elog(ERROR, "lock salt of incarnation " INT64_FORMAT " is missing or of the wrong length",
			 ref->incarnation);
	memcpy(ref->lock_salt, VARDATA_ANY(DatumGetByteaPP(salt)), STORE_LOCK_SALT_BYTES);
	ref->store_lock_hash = locks_space_hash(ref, WASTORE_LOCKSPACE_STORE);
	ref->lease_lock_hash = locks_space_hash(ref, WASTORE_LOCKSPACE_LEASE);
}

/*
 * The store's live incarnation, read straight from the primary key index of
 * store_owners with the latest snapshot, not through SPI: the check must see
 * every store (to refuse another role's rather than take it for missing),
 * and a store created or dropped by a transaction that committed after this
 * one's snapshot must count as it is now.  Rows are then read by incarnation
 * with the transaction's own snapshot: a snapshot older than the live
 * incarnation sees none of its rows, and the rows of a dropped one are
 * never asked for.
 */
static bool
store_lookup(text *store, StoreRef *ref, bool *committed)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;

	memset(ref, 0, sizeof(StoreRef));
	rel = table_open(wastore_table_oid("store_owners"), AccessShareLock);

	check_tables_current(RelationGetDescr(rel));

	ScanKeyInit(&key, Anum_store_owners_store, BTEqualStrategyNumber, F_TEXTEQ,
				PointerGetDatum(store));
	check_not_parallel();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  snapshot, 1, &key);
	tuple = systable_getnext(scan);
	*committed = false;
	if (HeapTupleIsValid(tuple))
	{
		ref_from_tuple(tuple, RelationGetDescr(rel), ref);
		*committed = !TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data));
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return ref->incarnation != 0;
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
bool
store_caller_administers(void)
{
	return has_privs_of_role(GetUserId(), extension_owner());
}

bool
store_owner_is_usable(Oid owner)
{
	Oid			user = GetUserId();

	return has_privs_of_role(user, owner) ||
		has_privs_of_role(user, extension_owner());
}

bool
store_user_is_administrator(void)
{
	return has_privs_of_role(GetUserId(), extension_owner());
}

static void
check_usable(text *store, const StoreRef *ref)
{
	if (!store_owner_is_usable(ref->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for store \"%s\"", text_to_cstring(store)),
				 errdetail("The store belongs to a role that the current user is not a member of."),
				 errhint("Its owner can grant the owning role to the roles that should share the store.")));
}

/*
 * The cache, or else the table.  Only rows committed by other transactions
 * are cached: a row this transaction inserted may yet roll back.
 */
static bool
store_resolve(text *store, StoreRef *ref)
{
	bool		committed;

	check_not_parallel();
	if (store_cache_get(store, ref))
		return true;
	if (!store_lookup(store, ref, &committed))
		return false;
	if (committed)
		store_cache_put(store, ref);
	return true;
}

bool
store_find(text *store, StoreRef *ref)
{
	if (!store_resolve(store, ref))
		return false;
	check_usable(store, ref);
	return true;
}

void
store_open(text *store, StoreRef *ref)
{
	for (;;)
	{
		int64		incarnation;
		bool		committed;

		if (!store_resolve(store, ref))
		{
			Datum		values[2] = {PointerGetDatum(store), ObjectIdGetDatum(GetUserId())};

			/*
			 * A concurrent creator may win the race; ON CONFLICT then waits
			 * for it and the second look sees its row.
			 */
			wastore_plan_execute(&create_plan, values, NULL, false, SPI_OK_INSERT);
			CommandCounterIncrement();

			/*
			 * Only a snapshot that cannot see the concurrent creator's
			 * committed row gets a miss here (REPEATABLE READ and up): a
			 * serialization failure, which set and try_set retry.
			 */
			if (!store_lookup(store, ref, &committed))
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("store \"%s\" was created by a concurrent transaction",
								text_to_cstring(store))));
		}
		check_usable(store, ref);

		/*
		 * The share lock, then a second look: a drop_store that held the
		 * lock exclusively has committed by now, and the store is then
		 * missing or a new incarnation, which this writer must use instead.
		 * The cache will do for the second look: the dropping transaction
		 * sent its invalidation before it released the lock, and
		 * store_resolve takes it in.
		 */
		incarnation = ref->incarnation;
		locks_acquire_store_share(ref);
		if (store_resolve(store, ref) && ref->incarnation == incarnation)
			return;
	}
}

void
store_open_fenced(text *store, StoreRef *ref, const int64 *lease)
{
	store_open(store, ref);
	if (lease)
		lease_check(ref, *lease);
}

bool
store_find_fenced(text *store, StoreRef *ref, const int64 *lease)
{
	if (store_find(store, ref))
	{
		if (lease)
			lease_check(ref, *lease);
		return true;
	}
	if (lease)
		ereport(ERROR,
				(errcode(ERRCODE_WASTORE_LEASE_LOST),
				 errmsg("lease lost: store \"%s\" does not exist", text_to_cstring(store)),
				 errdetail("The write carried fencing token " INT64_FORMAT ".", *lease),
				 errhint("Stop writing: the store was dropped.")));
	return false;
}

uint64
store_execute(text *store, StoreUse use, WastorePlan *plan, Datum *values,
			  const char *nulls, int expected_rc, const int64 *lease)
{
	StoreRef	ref;
	uint64		processed = 0;

	if (use != STORE_CREATE && !store_find_fenced(store, &ref, use == STORE_READ ? NULL : lease))
		return 0;
	SPI_connect();
	if (use == STORE_CREATE)
		store_open_fenced(store, &ref, lease);
	values[0] = StoreRefGetDatum(&ref);
	processed = wastore_plan_execute(plan, values, nulls, use == STORE_READ, expected_rc);
	SPI_finish();
	return processed;
}

void
store_put(text *store, text *id, Jsonb *value,
		  WastorePlan *upsert_plan, WastorePlan *delete_plan, const int64 *lease)
{
	Datum		values[3] = {(Datum) 0, PointerGetDatum(id), PointerGetDatum(value)};

	if (value != NULL)
		store_execute(store, STORE_CREATE, upsert_plan, values, NULL, SPI_OK_INSERT, lease);
	else
		store_execute(store, STORE_WRITE, delete_plan, values, NULL, SPI_OK_DELETE, lease);
}

Jsonb *
store_jsonb(text *store, StoreUse use, WastorePlan *plan, Datum *values)
{
	StoreRef	ref;
	Jsonb	   *result = NULL;

	Assert(use != STORE_CREATE);
	if (!store_find(store, &ref))
		return NULL;
	SPI_connect();
	values[0] = StoreRefGetDatum(&ref);
	wastore_plan_execute(plan, values, NULL, use == STORE_READ, SPI_OK_SELECT);
	result = wastore_result_jsonb();
	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(store_create);
Datum
store_create(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;

	SPI_connect();
	store_open(store, &ref);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Deleting the store row ends the incarnation; its trigger waits for the
 * store's writers and purges the rows.
 */
PG_FUNCTION_INFO_V1(store_drop);
Datum
store_drop(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;

	if (store_find(store, &ref))
	{
		Datum		values[1] = {StoreRefGetDatum(&ref)};
		bool		committed;

		SPI_connect();
		if (wastore_plan_execute(&delete_plan, values, NULL, false, SPI_OK_DELETE) == 0 &&
			store_lookup(store, &ref, &committed))
		{
			/*
			 * The cache named an incarnation that a drop ended an instant ago
			 * (store_cache.c): the id's live one, if the caller may use it.
			 */
			check_usable(store, &ref);
			values[0] = StoreRefGetDatum(&ref);
			wastore_plan_execute(&delete_plan, values, NULL, false, SPI_OK_DELETE);
		}
		SPI_finish();
	}
	PG_RETURN_VOID();
}

/*
 * wastore.owns_store(store): whether the store exists and the current user
 * may use it.
 */
PG_FUNCTION_INFO_V1(store_owns_store);
Datum
store_owns_store(PG_FUNCTION_ARGS)
{
	text	   *store = PG_GETARG_TEXT_PP(0);
	int			len = VARSIZE_ANY_EXHDR(store);
	StoreRef	ref;

	/* no store has an id that create_store would refuse */
	if (len == 0 || len > WASTORE_MAX_STORE_ID_BYTES)
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(store_resolve(store, &ref) && store_owner_is_usable(ref.owner));
}

/*
 * An administrator may give a store to another role (UPDATE of owner); the
 * rest of the row is the incarnation itself and never changes.
 */
static HeapTuple
store_owners_update(TriggerData *trigdata)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	StoreRef	old_ref,
				new_ref;
	bool		isnull;

	ref_from_tuple(trigdata->tg_trigtuple, desc, &old_ref);
	ref_from_tuple(trigdata->tg_newtuple, desc, &new_ref);
	if (old_ref.incarnation != new_ref.incarnation ||
		memcmp(old_ref.lock_salt, new_ref.lock_salt, STORE_LOCK_SALT_BYTES) != 0 ||
		wastore_text_cmp(DatumGetTextPP(heap_getattr(trigdata->tg_trigtuple,
													 Anum_store_owners_store, desc, &isnull)),
						 DatumGetTextPP(heap_getattr(trigdata->tg_newtuple,
													 Anum_store_owners_store, desc, &isnull))) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("only the owner of a store can be changed"),
				 errdetail("The store id, incarnation and lock salt name one incarnation of the store."),
				 errhint("To rename a store, copy its state with the functions; to start it afresh, drop and create it.")));

	/* every backend forgets the old owner at commit */
	store_cache_invalidate(RelationGetRelid(trigdata->tg_relation));
	return trigdata->tg_newtuple;
}

/*
 * BEFORE DELETE OR UPDATE row trigger of wastore.store_owners.
 *
 * Deleting a store, however it is done (drop_store, or a DELETE by an
 * administrator), waits for the store's writers and then deletes the
 * incarnation's rows in every state table.  Its rows are unreachable from
 * then on anyway (the name maps to no incarnation, or a new one); the purge
 * is what makes a logout forget the keys.  Either change makes every
 * backend forget the stores it cached (store_cache.c).
 */
PG_FUNCTION_INFO_V1(store_owners_purge);
Datum
store_owners_purge(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	StoreRef	ref;
	uint64		ntables;
	char	  **tables;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("wastore.store_owners_purge() must be called as a BEFORE DELETE OR UPDATE row trigger")));

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		return PointerGetDatum(store_owners_update(trigdata));

	ref_from_tuple(trigdata->tg_trigtuple, RelationGetDescr(trigdata->tg_relation), &ref);

	/*
	 * Wait for the store's writers: what they commit is purged too.  The
	 * invalidation is sent at commit, before this lock is released.
	 */
	locks_acquire_store_exclusive(&ref);
	store_cache_invalidate(RelationGetRelid(trigdata->tg_relation));

	SPI_connect();
	ntables = wastore_plan_execute(&state_tables_plan, NULL, NULL, true, SPI_OK_SELECT);
	tables = palloc(sizeof(char *) * Max(ntables, 1));
	for (uint64 i = 0; i < ntables; i++)
		tables[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
	for (uint64 i = 0; i < ntables; i++)
	{
		Datum		values[1] = {StoreRefGetDatum(&ref)};
		Oid			types[1] = {INT8OID};

		wastore_execute_as_owner(psprintf("DELETE FROM %s WHERE incarnation OPERATOR(pg_catalog.=) $1",
										  tables[i]),
								 1, types, values, SPI_OK_DELETE);
	}
	SPI_finish();
	return PointerGetDatum(trigdata->tg_trigtuple);
}
