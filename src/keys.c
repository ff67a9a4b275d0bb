/*-------------------------------------------------------------------------
 *
 * keys.c
 *	  The Signal key store: get, set, try_set, clear, list, list_ids.
 *
 * Values are jsonb, stored and returned exactly as the client wrote them.  A
 * set is one batch: it is checked whole before anything is written, then
 * written inside the savepoint commit (commit.c), so it lands whole or not
 * at all; a single key written first in a transaction of its own needs no
 * savepoint for that (set_runs_alone).  A top-level "creds" member is merged into the store's creds
 * (creds.c) after the keys, in the same commit: pre-key rows and the creds
 * counters that describe them land together or not at all.
 *
 * The family app-state-sync-version is the exception: it is stored
 * normalised (appstate_*.c) and read and written as Baileys' LTHashState JSON.
 *
 * Lock order.  Two sets never deadlock with each other, whatever mix of
 * writes and deletes either carries, because every set takes its locks in
 * one global order:
 *
 *	 1. the store's share lock (store_open), then, when the batch carries a
 *		fencing token, the store's lease lock in share mode (lease_check),
 *		before any row;
 *	 2. the keys of the batch, by family in the order of the wastore.family
 *		enum, then by id in byte order (the "C" collation of the id column),
 *		writes and deletes interleaved as their ids fall.  A collection of
 *		app-state-sync-version takes its place among them like a key: its
 *		sync_versions row, then its sync_index rows, which every writer
 *		touches only under that row's lock (appstate_int.h);
 *	 3. the store's auth_states row, last, when the batch carries "creds".
 *
 * A "lock" is anything a statement may wait for another transaction on: the
 * row lock of an update or a delete, and the wait of an insert for an
 * uncommitted row with the same key.  A set waits only for something later
 * in the order than everything it holds, so a cycle of waiting sets would
 * need each to be later than the next all the way round: impossible.
 *
 * The other writers of these tables each lock one item of the order (a key:
 * put_app_state_sync_key; a collection: put_app_state_sync_version,
 * apply_app_state_patch; the auth_states row: merge_creds), or the whole
 * store exclusively before anything else (drop_store), or only the store's
 * lease (lease_acquire, lease_renew, lease_release: the lease lock and row,
 * never a key), so they cannot close a cycle with sets either.  clear, which
 * deletes a store's keys in scan order, can deadlock with a set; so can a
 * transaction that runs several statements, since it takes its locks in the
 * order of its statements.  A set that loses such a deadlock is retried
 * (commit.c).
 *
 * To keep that order, the sorted writes are cut into runs: consecutive
 * writes of one family that all upsert or all delete.  Each run of several
 * keys is one statement that locks its rows in id order (upsert_many_plan,
 * delete_many_plan say how); a run of one key is one single-key statement.
 * A batch that only writes is one statement per family, as cheap as before
 * (a new account's 812 pre-keys); only a batch that alternates writes and
 * deletes key after key pays a statement per key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "appstate.h"
#include "args.h"
#include "commit.h"
#include "creds.h"
#include "lease.h"
#include "plans.h"
#include "store.h"
#include "tables.h"
#include "wastore.h"

/* One entry of a set batch. */
typedef struct KeyWrite
{
	int			family;			/* index into wastore_families */
	text	   *id;
	Jsonb	   *value;			/* NULL deletes */
} KeyWrite;

typedef struct KeyBatch
{
	FunctionCallInfo fcinfo;	/* the call's arguments, read by the work */
	text	   *store;
	StoreRef	ref;			/* the store's incarnation, once opened */
	Jsonb	   *data;
	KeyWrite   *writes;
	int			nwrites;
	Jsonb	   *creds;			/* the "creds" member, or NULL */
	bool		per_key;		/* one statement per key, not per family */
	bool		fenced;			/* a fencing token was passed */
	int64		token;
	/* for error reports: what was being written */
	bool		merging_creds;
	const KeyWrite *current;	/* the key, when the statement wrote one */
	int			current_family; /* the family, when it wrote several; or -1 */
} KeyBatch;

/* family of the top-level "creds" member while parsing */
#define BATCH_CREDS (-2)

static WastorePlan list_plan = {
	"SELECT id, value FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) $2::wastore.family ORDER BY id",
	2, {INT8OID, TEXTOID}
};

static WastorePlan list_ids_plan = {
	"SELECT id FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) $2::wastore.family ORDER BY id",
	2, {INT8OID, TEXTOID}
};

/*
 * An unchanged value is not rewritten (the WHERE clause): clients write the
 * same keys again and again, and skipping those updates saves WAL and dead
 * tuples.  The row is locked either way.
 */
static WastorePlan upsert_plan = {
	"INSERT INTO wastore.keys AS k (incarnation, family, id, value) "
	"VALUES ($1, $2::wastore.family, $3, $4) "
	"ON CONFLICT (incarnation, family, id) DO UPDATE SET value = excluded.value "
	"WHERE k.value OPERATOR(pg_catalog.<>) excluded.value",
	4, {INT8OID, TEXTOID, TEXTOID, JSONBOID}
};

/*
 * The same for a run of keys of one family in one statement: one statement
 * per family instead of one per key is what makes a large batch (a new
 * account's 812 pre-keys) cheap.  The rows are inserted, or found in
 * conflict and locked, one after the other in the order of the arrays (id
 * order): the insert pulls them from the function scan of ROWS FROM, which
 * returns the elements in array order, with nothing in between that could
 * reorder them.
 */
static WastorePlan upsert_many_plan = {
	"INSERT INTO wastore.keys AS k (incarnation, family, id, value) "
	"SELECT $1, $2::wastore.family, u.id, u.value "
	"FROM ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4)) AS u(id, value) "
	"ON CONFLICT (incarnation, family, id) DO UPDATE SET value = excluded.value "
	"WHERE k.value OPERATOR(pg_catalog.<>) excluded.value",
	4, {INT8OID, TEXTOID, TEXTARRAYOID, JSONBARRAYOID}
};

/*
 * Deletes a run of keys of one family, locking them in id order first.  A
 * DELETE locks each row when its scan reaches it, and the scan is the
 * planner's choice: an index scan of the primary key would visit the ids in
 * index order (nbtree sorts the array of = ANY), but the generic plan of a
 * plain "DELETE ... WHERE id = ANY ($3)" is a sequential scan once the table
 * is analysed and small (EXPLAIN shows it with a store of a few keys), which
 * meets the rows in physical order, and a bitmap heap scan would meet them
 * in block order.  So the subquery (an InitPlan, run whole before the
 * DELETE deletes anything) locks them: ORDER BY applies before FOR UPDATE,
 * its LockRows node sits above the Sort, so the rows are locked in id order
 * whatever scan feeds the Sort.  The DELETE then removes exactly the rows
 * that were locked and waits for no one; a row that another transaction
 * changed meanwhile is followed to its latest version (which this
 * transaction has locked) by the DELETE as by the FOR UPDATE.  The subquery
 * and the DELETE run in the same snapshot, so they see the same rows.
 */
static WastorePlan delete_many_plan = {
	"DELETE FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) $2::wastore.family "
	"AND id OPERATOR(pg_catalog.=) ANY (ARRAY("
	"SELECT l.id FROM wastore.keys l "
	"WHERE l.incarnation OPERATOR(pg_catalog.=) $1 "
	"AND l.family OPERATOR(pg_catalog.=) $2::wastore.family "
	"AND l.id OPERATOR(pg_catalog.=) ANY ($3) "
	"ORDER BY l.id FOR UPDATE))",
	3, {INT8OID, TEXTOID, TEXTARRAYOID}
};

static WastorePlan delete_plan = {
	"DELETE FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) $2::wastore.family "
	"AND id OPERATOR(pg_catalog.=) $3",
	3, {INT8OID, TEXTOID, TEXTOID}
};

static WastorePlan clear_plan = {
	"DELETE FROM wastore.keys WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

/*
 * Reading
 */

/*
 * Runs a read statement through a cursor and appends its rows to the
 * function's result tuplestore, a batch at a time: the tuplestore spills to
 * disk past work_mem, so a family of any size streams through bounded memory.
 * The statement's columns match the function's result columns.
 */
static void
read_into_result(FunctionCallInfo fcinfo, WastorePlan *plan, Datum *values)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Portal		portal;

	portal = wastore_plan_cursor_open(plan, values);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
}

static Datum
read_family(FunctionCallInfo fcinfo, WastorePlan *plan, bits32 srf_flags)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	const char *family = wastore_family_arg(fcinfo, 1);
	StoreRef	ref;

	InitMaterializedSRF(fcinfo, srf_flags);

	if (!store_find(store, &ref))
		return (Datum) 0;

	SPI_connect();
	if (strcmp(family, APPSTATE_VERSION_FAMILY) == 0)
		appstate_family_rows((ReturnSetInfo *) fcinfo->resultinfo, &ref, NULL);
	else
	{
		Datum		values[2] = {StoreRefGetDatum(&ref), CStringGetTextDatum(family)};

		read_into_result(fcinfo, plan, values);
	}
	SPI_finish();
	return (Datum) 0;
}

/*
 * get reads the primary key index itself, one probe per id, instead of
 * running a statement through SPI: a single-key get is the hottest call of
 * a client (every message decrypted or encrypted reads a session), and the
 * executor's per-statement start-up and shut-down cost more than the probe.
 * The caller's right to the store was checked (store_find); the table is
 * read as its owner would read it, like wastore's statements (plans.h).
 * The ids are probed in byte order and each once, so the rows come
 * back in id order like those of list.
 */
static void
keys_lookup(ReturnSetInfo *rsinfo, const StoreRef *ref, Oid family, ArrayType *ids)
{
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData keys[3];
	Datum	   *elems;
	int			nelems;

	deconstruct_array(ids, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
	qsort(elems, nelems, sizeof(Datum), wastore_text_datum_cmp);

	rel = table_open(wastore_table_oid("keys"), AccessShareLock);
	index = index_open(RelationGetPrimaryKeyIndex(rel), AccessShareLock);
	slot = table_slot_create(rel, NULL);
	scan = index_beginscan(rel, index, GetActiveSnapshot(), 3, 0);

	ScanKeyInit(&keys[0], Anum_keys_pkey_incarnation, BTEqualStrategyNumber, F_INT8EQ,
				StoreRefGetDatum(ref));
	ScanKeyInit(&keys[1], Anum_keys_pkey_family, BTEqualStrategyNumber, F_ENUM_EQ,
				ObjectIdGetDatum(family));
	for (int i = 0; i < nelems; i++)
	{
		if (i > 0 && wastore_text_datum_cmp(&elems[i - 1], &elems[i]) == 0)
			continue;
		ScanKeyInit(&keys[2], Anum_keys_pkey_id, BTEqualStrategyNumber, F_TEXTEQ, elems[i]);
		index_rescan(scan, keys, 3, NULL, 0);
		if (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			Datum		values[2];
			bool		nulls[2] = {false, false};

			values[0] = elems[i];
			values[1] = slot_getattr(slot, Anum_keys_value, &nulls[1]);
			/* a TOAST pointer must not outlive the scan's snapshot */
			values[1] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(values[1]));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			ExecClearTuple(slot);
		}
	}

	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(rel, AccessShareLock);
}

PG_FUNCTION_INFO_V1(keys_get);
Datum
keys_get(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	const char *family = wastore_family_arg(fcinfo, 1);
	ArrayType  *ids = wastore_id_array_arg(fcinfo, 2, "ids");
	StoreRef	ref;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	if (ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids)) == 0)
		return (Datum) 0;

	if (!store_find(store, &ref))
		return (Datum) 0;

	if (strcmp(family, APPSTATE_VERSION_FAMILY) == 0)
	{
		SPI_connect();
		appstate_family_rows((ReturnSetInfo *) fcinfo->resultinfo, &ref, ids);
		SPI_finish();
	}
	else
		keys_lookup((ReturnSetInfo *) fcinfo->resultinfo, &ref,
					PG_GETARG_OID(1), ids);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(keys_list);
Datum
keys_list(PG_FUNCTION_ARGS)
{
	return read_family(fcinfo, &list_plan, 0);
}

PG_FUNCTION_INFO_V1(keys_list_ids);
Datum
keys_list_ids(PG_FUNCTION_ARGS)
{
	return read_family(fcinfo, &list_ids_plan, MAT_SRF_USE_EXPECTED_DESC);
}

/*
 * Writing
 */

static int
key_write_cmp(const void *a, const void *b)
{
	const KeyWrite *wa = (const KeyWrite *) a;
	const KeyWrite *wb = (const KeyWrite *) b;

	if (wa->family != wb->family)
		return wa->family < wb->family ? -1 : 1;
	/* byte order, as the "C" collation of the id column sorts */
	return wastore_text_cmp(wa->id, wb->id);
}

/*
 * Checks the whole of data and turns it into a sorted list of writes.  Every
 * error names the offending part; nothing has been written yet.
 */
static void
parse_batch(KeyBatch *batch)
{
	JsonbContainer *root = &batch->data->root;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;
	int			allocated = 16;
	int			family = -1;

	wastore_check_object(root, "data",
						 "Pass {\"<family>\": {\"<id>\": value or null}}.");

	batch->writes = palloc(sizeof(KeyWrite) * allocated);
	batch->nwrites = 0;

	it = JsonbIteratorInit(root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (r == WJB_KEY && v.val.string.len == 5 &&
			memcmp(v.val.string.val, "creds", 5) == 0)
			family = BATCH_CREDS;
		else if (r == WJB_KEY)
		{
			family = wastore_family_index(v.val.string.val, v.val.string.len);
			if (family < 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unknown key family \"%.*s\"",
								v.val.string.len, v.val.string.val),
						 errhint("The families are those of the wastore.family enum.")));
		}
		else if (r == WJB_VALUE && family == BATCH_CREDS)
		{
			/* merged into the creds after the keys, in the same commit */
			batch->creds = JsonbValueToJsonb(&v);
			creds_check_updates(batch->creds, "creds");
		}
		else if (r == WJB_VALUE)
		{
			JsonbIterator *fit;
			JsonbValue	fv;
			text	   *id = NULL;

			if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the entries of family \"%s\" must be a JSON object",
								wastore_families[family]),
						 errhint("Pass {\"<id>\": value or null} for each family.")));

			fit = JsonbIteratorInit(v.val.binary.data);
			while ((r = JsonbIteratorNext(&fit, &fv, true)) != WJB_DONE)
			{
				if (r == WJB_KEY)
				{
					/* ids are checked as every other write path checks them */
					if (strcmp(wastore_families[family], WASTORE_SYNC_KEY_FAMILY) == 0)
						wastore_check_sync_key_id("key id", fv.val.string.val,
												  fv.val.string.len);
					else
						wastore_check_id("key id", wastore_families[family],
										 fv.val.string.val, fv.val.string.len);
					id = cstring_to_text_with_len(fv.val.string.val, fv.val.string.len);
				}
				else if (r == WJB_VALUE)
				{
					KeyWrite   *w;

					if (batch->nwrites == allocated)
					{
						/* the list of writes must fit one allocation */
						if ((Size) allocated * 2 > MaxAllocSize / sizeof(KeyWrite))
							ereport(ERROR,
									(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
									 errmsg("a batch holds too many keys"),
									 errdetail("A batch holds at most %d keys.", allocated),
									 errhint("Split the batch.")));
						allocated *= 2;
						batch->writes = repalloc(batch->writes, sizeof(KeyWrite) * allocated);
					}
					w = &batch->writes[batch->nwrites++];
					w->family = family;
					w->id = id;
					w->value = fv.type == jbvNull ? NULL : JsonbValueToJsonb(&fv);
				}
			}
		}
	}

	qsort(batch->writes, batch->nwrites, sizeof(KeyWrite), key_write_cmp);
}

/* A batch of the call's arguments, not yet read. */
static void
init_batch(FunctionCallInfo fcinfo, KeyBatch *batch)
{
	memset(batch, 0, sizeof(KeyBatch));
	batch->fcinfo = fcinfo;
	batch->current_family = -1;
}

/* Reads the call's arguments and checks the whole batch. */
static void
read_batch(KeyBatch *batch)
{
	batch->store = wastore_store_arg(batch->fcinfo, 0);
	batch->data = DatumGetJsonbP(wastore_arg(batch->fcinfo, 1, "data"));
	batch->fenced = lease_token_arg(batch->fcinfo, 2, &batch->token);
	parse_batch(batch);
}

/* Writes keys [start, end) with one statement each. */
static void
write_keys(KeyBatch *batch, int start, int end)
{
	for (int i = start; i < end; i++)
	{
		const KeyWrite *w = &batch->writes[i];
		Datum		values[4] = {
			StoreRefGetDatum(&batch->ref),
			CStringGetTextDatum(wastore_families[w->family]),
			PointerGetDatum(w->id),
			PointerGetDatum(w->value)
		};

		batch->current = w;
		if (strcmp(wastore_families[w->family], APPSTATE_VERSION_FAMILY) == 0)
			appstate_put_version_json(&batch->ref, w->id, w->value);
		else if (w->value)
			wastore_plan_execute(&upsert_plan, values, NULL, false, SPI_OK_INSERT);
		else
			wastore_plan_execute(&delete_plan, values, NULL, false, SPI_OK_DELETE);
	}
	batch->current = NULL;
}

/*
 * Writes a run: keys [start, end), of one family, that all upsert or all
 * delete, with one statement, which locks their rows in id order.  A failure
 * here cannot name its key; keys_set and try_set then find it with a last
 * attempt key by key.
 */
static void
write_run(KeyBatch *batch, int start, int end)
{
	int			n = end - start;
	Datum	   *ids = palloc(sizeof(Datum) * n);
	Datum		values[4];

	values[0] = StoreRefGetDatum(&batch->ref);
	values[1] = CStringGetTextDatum(wastore_families[batch->writes[start].family]);
	for (int i = 0; i < n; i++)
		ids[i] = PointerGetDatum(batch->writes[start + i].id);
	values[2] = PointerGetDatum(construct_array(ids, n, TEXTOID, -1, false, TYPALIGN_INT));

	batch->current_family = batch->writes[start].family;
	if (batch->writes[start].value)
	{
		Datum	   *upsert_values = palloc(sizeof(Datum) * n);

		for (int i = 0; i < n; i++)
			upsert_values[i] = PointerGetDatum(batch->writes[start + i].value);
		values[3] = PointerGetDatum(construct_array(upsert_values, n, JSONBOID, -1, false, TYPALIGN_INT));
		wastore_plan_execute(&upsert_many_plan, values, NULL, false, SPI_OK_INSERT);
	}
	else
		wastore_plan_execute(&delete_many_plan, values, NULL, false, SPI_OK_DELETE);
	batch->current_family = -1;
}

/* The body of one set attempt; runs inside the savepoint commit. */
static void
write_batch(void *arg)
{
	KeyBatch   *batch = (KeyBatch *) arg;

	/*
	 * The arguments are read here, inside the savepoint commit, so that
	 * try_set reports bad arguments like any other failure.  A retry reuses
	 * the parsed batch.
	 */
	if (batch->writes == NULL)
		read_batch(batch);

	SPI_connect();
	store_open_fenced(batch->store, &batch->ref, batch->fenced ? &batch->token : NULL);
	batch->merging_creds = false;
	batch->current = NULL;
	batch->current_family = -1;

	/*
	 * The writes are sorted by family and id: run by run, in that order, so
	 * that the batch locks its rows in the global order (see the top of the
	 * file).
	 */
	for (int start = 0, end; start < batch->nwrites; start = end)
	{
		int			family = batch->writes[start].family;
		bool		upsert = batch->writes[start].value != NULL;

		for (end = start + 1; end < batch->nwrites; end++)
		{
			if (batch->writes[end].family != family ||
				(batch->writes[end].value != NULL) != upsert)
				break;
		}

		if (batch->per_key || end - start == 1 ||
			strcmp(wastore_families[family], APPSTATE_VERSION_FAMILY) == 0)
			write_keys(batch, start, end);
		else
			write_run(batch, start, end);
	}
	batch->current = NULL;

	if (batch->creds)
	{
		batch->merging_creds = true;
		(void) creds_merge(&batch->ref, batch->creds, false);
		batch->merging_creds = false;
	}

	SPI_finish();
}

static void
run_batch(KeyBatch *batch, CommitOutcome *outcome)
{
	int			attempts;

	commit_run(write_batch, batch, outcome);
	if (outcome->ok || batch->current_family < 0 ||
		commit_is_transient(outcome->error->sqlerrcode))
		return;

	/*
	 * A statement that wrote several keys failed for good, and the error does
	 * not say at which key.  One more attempt, key by key, finds it.  (A
	 * transient failure is not worth another attempt: it has had its
	 * retries, and is reported at the family.)
	 */
	attempts = outcome->attempts;
	batch->per_key = true;
	commit_run_attempts(write_batch, batch, outcome, 1);
	outcome->attempts += attempts;
}

/* "family session, id "abc"": which write failed, or NULL if none did */
static char *
describe_failed_write(const KeyBatch *batch)
{
	if (batch->merging_creds)
		return pstrdup("creds");
	if (batch->current == NULL && batch->current_family >= 0)
		return psprintf("family %s", wastore_families[batch->current_family]);
	if (batch->current == NULL)
		return NULL;
	return psprintf("family %s, id \"%s\"",
					wastore_families[batch->current->family],
					text_to_cstring(batch->current->id));
}

/* Adds "Failed at <where> after <n> attempt(s)." to the error's detail. */
static void
name_failed_write(const KeyBatch *batch, ErrorData *error, int attempts)
{
	char	   *where = describe_failed_write(batch);
	char	   *detail;

	if (where == NULL)
		return;
	detail = psprintf("Failed at %s after %d attempt%s.",
					  where, attempts, attempts == 1 ? "" : "s");
	if (error->detail)
		detail = psprintf("%s %s", detail, error->detail);
	error->detail = detail;
}

/*
 * Whether a set can do without its savepoint: when it writes or deletes a
 * single key (one statement: nothing partial to roll back) as the first
 * write of a transaction of its own (autocommit, not an extended-protocol
 * pipeline, no transaction id yet: it holds no row lock of an earlier
 * statement) at READ COMMITTED with no lock_timeout, no retry inside the
 * call can do better than the client's own.  A failure ends the
 * transaction; the serialization failures that a retry may mend need
 * REPEATABLE READ, and the lock timeouts need lock_timeout.  What remains
 * transient there is a deadlock, and such a set can only close one with a
 * transaction that wrote the same key and then waits for the store's or
 * the lease's lock (drop_store, lease_acquire in the same transaction), and
 * the rare 40001 of a store created and dropped by two other transactions
 * between store_open's insert and its second look: the error reaches the
 * client, which retries it like any statement.  (Inside a subtransaction,
 * a PL/pgSQL EXCEPTION block's, IsTransactionBlock() is true.)
 *
 * This is the hottest write (a session after every message), and the
 * savepoint cost it a subtransaction: a second transaction id, its lock and
 * its pg_subtrans entry, on every call.
 */
static bool
set_runs_alone(const KeyBatch *batch)
{
	return batch->nwrites == 1 && batch->creds == NULL &&
		strcmp(wastore_families[batch->writes[0].family], APPSTATE_VERSION_FAMILY) != 0 &&
		!IsTransactionBlock() && !(MyXactFlags & XACT_FLAGS_PIPELINING) &&
		!TransactionIdIsValid(GetTopTransactionIdIfAny()) &&
		!IsolationUsesXactSnapshot() && LockTimeout == 0;
}

/* The set without the savepoint: an error names the key, as after one. */
static void
write_alone(KeyBatch *batch)
{
	MemoryContext oldcontext = CurrentMemoryContext;

	PG_TRY();
	{
		write_batch(batch);
	}
	PG_CATCH();
	{
		ErrorData  *error;

		MemoryContextSwitchTo(oldcontext);
		error = CopyErrorData();
		FlushErrorState();
		/* a cancel is passed on as it is, as commit.c does */
		if (error->sqlerrcode != ERRCODE_QUERY_CANCELED)
			name_failed_write(batch, error, 1);
		ReThrowError(error);
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(keys_set);
Datum
keys_set(PG_FUNCTION_ARGS)
{
	KeyBatch	batch;
	CommitOutcome outcome;

	/* bad arguments are raised either way: read them before any savepoint */
	init_batch(fcinfo, &batch);
	read_batch(&batch);
	if (set_runs_alone(&batch))
	{
		write_alone(&batch);
		PG_RETURN_VOID();
	}

	run_batch(&batch, &outcome);
	if (outcome.ok)
		PG_RETURN_VOID();

	/* raise the original error, naming the key it happened at */
	name_failed_write(&batch, outcome.error, outcome.attempts);
	ReThrowError(outcome.error);
}

PG_FUNCTION_INFO_V1(keys_try_set);
Datum
keys_try_set(PG_FUNCTION_ARGS)
{
	KeyBatch	batch;
	CommitOutcome outcome;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, true, true};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	/* the arguments are read inside the savepoint: try_set reports them */
	init_batch(fcinfo, &batch);
	run_batch(&batch, &outcome);

	values[0] = BoolGetDatum(outcome.ok);
	values[1] = Int32GetDatum(outcome.attempts);
	if (!outcome.ok)
	{
		char	   *where = describe_failed_write(&batch);
		char	   *message = outcome.error->message;

		if (where)
			message = psprintf("%s (%s)", message, where);
		values[2] = CStringGetTextDatum(unpack_sql_state(outcome.error->sqlerrcode));
		values[3] = CStringGetTextDatum(message);
		nulls[2] = nulls[3] = false;
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(keys_clear);
Datum
keys_clear(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;
	int64		token;
	bool		fenced = lease_token_arg(fcinfo, 1, &token);

	if (store_find_fenced(store, &ref, fenced ? &token : NULL))
	{
		Datum		values[1] = {StoreRefGetDatum(&ref)};

		SPI_connect();
		wastore_plan_execute(&clear_plan, values, NULL, false, SPI_OK_DELETE);
		appstate_clear(&ref);
		SPI_finish();
	}
	PG_RETURN_VOID();
}
