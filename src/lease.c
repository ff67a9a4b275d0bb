/*-------------------------------------------------------------------------
 *
 * lease.c
 *	  Leases with fencing tokens: one live client per store.
 *
 * Baileys serialises its work inside one process; two processes writing one
 * account (a second instance started by mistake, a zombie that looks
 * connected after a partition) ratchet the same Signal sessions and corrupt
 * them.  A lease names the one client that may write a store, until it
 * expires; each acquisition issues a new fencing token, and a write that
 * carries a token lands only while that token is the store's current,
 * unexpired one.
 *
 * A lease is a row of wastore.leases, keyed by the store's incarnation (so
 * drop_store ends it, and it works through connection poolers: no session
 * state).  Tokens come from one sequence, so they are never reused for a
 * store id, across drops, re-creations and dump/restore (the sequence is
 * dumped with its value).
 *
 * Concurrency: a write with a token holds the store's lease lock in share
 * mode from its check to its commit (locks.h); acquire, steal and release
 * take it exclusively, so they wait for those writes to commit.  Either the
 * write commits first and the lease moves after it, or the lease moved first
 * and the check, which reads the latest committed lease whatever the
 * transaction's snapshot, refuses the write with 55W01.  The check runs
 * again when the transaction commits, so a token that expired in between
 * fails the commit.  Expiry is by the server's clock (clock_timestamp).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "args.h"
#include "lease.h"
#include "locks.h"
#include "plans.h"
#include "store.h"
#include "tables.h"
#include "wastore.h"

/*
 * $1 incarnation, $2 holder, $3 now, $4 expires_at, $5 steal.  Free (no
 * row), expired or stolen: the row gets a new token; held: no row returned.
 * nextval runs either way, which only leaves a gap.
 */
static WastorePlan acquire_plan = {
	"INSERT INTO wastore.leases AS l (incarnation, holder, token, acquired_at, expires_at) "
	"VALUES ($1, $2, pg_catalog.nextval('wastore.lease_token_seq'), $3, $4) "
	"ON CONFLICT (incarnation) DO UPDATE SET holder = excluded.holder, token = excluded.token, "
	"acquired_at = excluded.acquired_at, expires_at = excluded.expires_at "
	"WHERE $5 OR l.expires_at OPERATOR(pg_catalog.<=) $3 "
	"RETURNING token",
	5, {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID}
};

/* $1 incarnation, $2 token, $3 now, $4 expires_at: never revives */
static WastorePlan renew_plan = {
	"UPDATE wastore.leases SET expires_at = $4 "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND token OPERATOR(pg_catalog.=) $2 "
	"AND expires_at OPERATOR(pg_catalog.>) $3",
	4, {INT8OID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

static WastorePlan release_plan = {
	"DELETE FROM wastore.leases "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND token OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, INT8OID}
};

static WastorePlan read_plan = {
	"SELECT holder, token, acquired_at, expires_at FROM wastore.leases "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

bool
lease_token_arg(FunctionCallInfo fcinfo, int argno, int64 *token)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return false;
	*token = PG_GETARG_INT64(argno);
	return true;
}

/* A ttl argument: positive, finite; now + ttl must be a timestamp (22008). */
static TimestampTz
expiry_arg(FunctionCallInfo fcinfo, int argno, TimestampTz now)
{
	Interval   *ttl = (Interval *) DatumGetPointer(wastore_arg(fcinfo, argno, "ttl"));
	TimestampTz expires_at;

	expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														 TimestampTzGetDatum(now),
														 IntervalPGetDatum(ttl)));
	if (expires_at <= now || TIMESTAMP_NOT_FINITE(expires_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be positive and finite"),
				 errdetail("It is %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(ttl))))));
	return expires_at;
}

static int64
token_arg(FunctionCallInfo fcinfo, int argno)
{
	return DatumGetInt64(wastore_arg(fcinfo, argno, "token"));
}

/*
 * The store's lease as the latest committed state has it: read from the
 * primary key index with the latest snapshot, as store.c reads stores.
 * False when there is none.
 */
static bool
latest_lease(const StoreRef *ref, int64 *token, TimestampTz *expires_at)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;
	bool		found = false;

	rel = table_open(wastore_table_oid("leases"), AccessShareLock);
	ScanKeyInit(&key, Anum_leases_incarnation, BTEqualStrategyNumber, F_INT8EQ,
				StoreRefGetDatum(ref));
	snapshot = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true, snapshot, 1, &key);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;

		*token = DatumGetInt64(heap_getattr(tuple, Anum_leases_token, desc, &isnull));
		*expires_at = DatumGetTimestampTz(heap_getattr(tuple, Anum_leases_expires_at, desc, &isnull));
		found = true;
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/* 55W01 unless token is the lease's current, unexpired token now. */
static void
check_current(const StoreRef *ref, int64 token)
{
	int64		current;
	TimestampTz expires_at;

	if (!latest_lease(ref, &current, &expires_at))
		ereport(ERROR,
				(errcode(ERRCODE_WASTORE_LEASE_LOST),
				 errmsg("lease lost: the store has no lease"),
				 errdetail("The write carried fencing token " INT64_FORMAT ".", token),
				 errhint("Stop writing: acquire the lease again before the next write.")));
	if (current != token)
		ereport(ERROR,
				(errcode(ERRCODE_WASTORE_LEASE_LOST),
				 errmsg("lease lost: fencing token " INT64_FORMAT " is not the store's current one", token),
				 errdetail("Another client acquired the lease after this one."),
				 errhint("Stop writing: another instance holds this account now.")));
	if (expires_at <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_WASTORE_LEASE_LOST),
				 errmsg("lease lost: fencing token " INT64_FORMAT " has expired", token),
				 errdetail("The lease expired at %s.", timestamptz_to_str(expires_at)),
				 errhint("Renew the lease well before it expires; acquire it again to go on writing.")));
}

/*
 * The fenced writes of the current transaction, checked again when it
 * commits: the token must still be current and unexpired then (the lease
 * lock keeps anyone from moving the lease meanwhile, but the clock moves).
 * A subtransaction that rolls back takes its writes, and their entries,
 * with it.
 */
typedef struct FencedWrite
{
	int64		incarnation;
	int64		token;
	int			nest_level;		/* of the (sub)transaction that wrote */
} FencedWrite;

static List *fenced_writes = NIL;	/* in TopTransactionContext */
static bool fencing_callbacks_registered = false;

static void
fencing_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			foreach(lc, fenced_writes)
			{
				FencedWrite *w = (FencedWrite *) lfirst(lc);
				StoreRef	ref = {0};

				ref.incarnation = w->incarnation;
				check_current(&ref, w->token);
			}
			break;
		default:
			/* the memory went with TopTransactionContext */
			fenced_writes = NIL;
			break;
	}
}

static void
fencing_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	foreach(lc, fenced_writes)
	{
		FencedWrite *w = (FencedWrite *) lfirst(lc);

		if (w->nest_level < level)
			continue;
		if (event == SUBXACT_EVENT_ABORT_SUB)
			fenced_writes = foreach_delete_current(fenced_writes, lc);
		else if (event == SUBXACT_EVENT_COMMIT_SUB)
			w->nest_level = level - 1;
	}
}

static void
remember_fenced_write(const StoreRef *ref, int64 token)
{
	MemoryContext old;
	FencedWrite *w;
	ListCell   *lc;
	int			level = GetCurrentTransactionNestLevel();

	foreach(lc, fenced_writes)
	{
		w = (FencedWrite *) lfirst(lc);
		if (w->incarnation == ref->incarnation && w->token == token && w->nest_level <= level)
			return;
	}
	if (!fencing_callbacks_registered)
	{
		RegisterXactCallback(fencing_xact_callback, NULL);
		RegisterSubXactCallback(fencing_subxact_callback, NULL);
		fencing_callbacks_registered = true;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	w = palloc(sizeof(FencedWrite));
	w->incarnation = ref->incarnation;
	w->token = token;
	w->nest_level = level;
	fenced_writes = lappend(fenced_writes, w);
	MemoryContextSwitchTo(old);
}

void
lease_check(const StoreRef *ref, int64 token)
{
	locks_acquire_lease(ref, false);
	check_current(ref, token);
	remember_fenced_write(ref, token);
}

/*
 * wastore.lease_acquire(store, holder, ttl, steal): the new token, or NULL
 * when someone holds the lease unexpired and steal is false.  Creates the
 * store when missing, like a first write.
 */
PG_FUNCTION_INFO_V1(lease_acquire);
Datum
lease_acquire(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *holder = wastore_id_arg(fcinfo, 1, "holder");
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = expiry_arg(fcinfo, 2, now);
	bool		steal = DatumGetBool(wastore_arg(fcinfo, 3, "steal"));
	StoreRef	ref;
	Datum		values[5];
	bool		isnull = true;
	int64		token = 0;

	if (VARSIZE_ANY_EXHDR(holder) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("holder must not be empty")));

	SPI_connect();
	store_open(store, &ref);

	/*
	 * Wait for the writes that carry the current token; the lease starts
	 * when the wait ends.
	 */
	locks_acquire_lease(&ref, true);
	now = GetCurrentTimestamp();
	expires_at = expiry_arg(fcinfo, 2, now);

	values[0] = StoreRefGetDatum(&ref);
	values[1] = PointerGetDatum(holder);
	values[2] = TimestampTzGetDatum(now);
	values[3] = TimestampTzGetDatum(expires_at);
	values[4] = BoolGetDatum(steal);
	if (wastore_plan_execute(&acquire_plan, values, NULL, false, SPI_OK_INSERT_RETURNING) == 1)
		token = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	/* held by someone: nothing changed, so nobody needs to wait for us */
	if (isnull)
	{
		locks_release_lease(&ref, true);
		PG_RETURN_NULL();
	}
	PG_RETURN_INT64(token);
}

PG_FUNCTION_INFO_V1(lease_renew);
Datum
lease_renew(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	int64		token = token_arg(fcinfo, 1);
	TimestampTz now = GetCurrentTimestamp();
	Datum		values[4] = {
		(Datum) 0, Int64GetDatum(token), TimestampTzGetDatum(now),
		TimestampTzGetDatum(expiry_arg(fcinfo, 2, now))
	};

	PG_RETURN_BOOL(store_execute(store, STORE_WRITE, &renew_plan, values, NULL,
								 SPI_OK_UPDATE, NULL) > 0);
}

PG_FUNCTION_INFO_V1(lease_release);
Datum
lease_release(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	int64		token = token_arg(fcinfo, 1);
	StoreRef	ref;
	bool		released = false;

	if (store_find(store, &ref))
	{
		Datum		values[2] = {StoreRefGetDatum(&ref), Int64GetDatum(token)};

		SPI_connect();
		/* wait for the writes that carry the token */
		locks_acquire_lease(&ref, true);
		released = wastore_plan_execute(&release_plan, values, NULL, false, SPI_OK_DELETE) > 0;
		SPI_finish();
		if (!released)
			locks_release_lease(&ref, true);
	}
	PG_RETURN_BOOL(released);
}

/* wastore.lease(store): the current lease, expired or not; no row when none */
PG_FUNCTION_INFO_V1(lease_read);
Datum
lease_read(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StoreRef	ref;

	InitMaterializedSRF(fcinfo, 0);
	if (!store_find(store, &ref))
		return (Datum) 0;

	SPI_connect();
	{
		Datum		values[1] = {StoreRefGetDatum(&ref)};

		if (wastore_plan_execute(&read_plan, values, NULL, true, SPI_OK_SELECT) == 1)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[0]);
	}
	SPI_finish();
	return (Datum) 0;
}
