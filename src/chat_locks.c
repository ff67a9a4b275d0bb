/*-------------------------------------------------------------------------
 *
 * chat_locks.c
 *	  Chat locks: durable thread locks with the reject, queue, debounce and
 *	  concurrent strategies, and their pending entries.
 *
 * Concurrency, under READ COMMITTED:
 *
 * - Acquiring a lock inserts its row with ON CONFLICT DO NOTHING: of two
 *	 callers that find the key free, one inserts and the other waits for it
 *	 and then sees the row.  An expired row is taken over with an UPDATE whose
 *	 WHERE clause requires it to be expired; a second caller waiting on the
 *	 same row re-checks that against the new version and finds it held.
 * - Queue and debounce callers lock the held row (FOR SHARE, FOR UPDATE)
 *	 before writing their pending entry, and release deletes the row first:
 *	 a release therefore waits for every pending write that saw the lock
 *	 held, and then reads the pending list with a fresh snapshot, so no entry
 *	 is lost between a release and a queue.  Entries that find the row gone
 *	 retry and take the lock instead.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "args.h"
#include "chat.h"
#include "commit.h"
#include "plans.h"
#include "store.h"

/*
 * How often acquire starts over because the lock row changed between two of
 * its statements (released, taken or expired by someone else meanwhile).
 * Each round needs another transaction to commit a change to that very row,
 * so this is never reached in practice; it only bounds a pathological case.
 */
#define CHAT_ACQUIRE_MAX_ROUNDS 1000

/*
 * Locks.  $1 store, $2 lock key, $3 owner, $4 strategy, $5 metadata, $6
 * expires_at (NULL: no TTL), $7 now.
 */

static WastorePlan lock_insert_plan = {
	"INSERT INTO wastore.chat_locks (incarnation, lock_key, owner, strategy, metadata, expires_at) "
	"VALUES ($1, $2, $3, $4::wastore.lock_strategy, $5, $6) "
	"ON CONFLICT (incarnation, lock_key) DO NOTHING",
	6, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID}
};

static WastorePlan lock_take_expired_plan = {
	"UPDATE wastore.chat_locks SET owner = $3, strategy = $4::wastore.lock_strategy, "
	"metadata = $5, expires_at = $6 "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND expires_at OPERATOR(pg_catalog.<=) $7",
	7, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

static WastorePlan lock_held_plan = {
	"SELECT 1 FROM wastore.chat_locks "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $3)",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/* queue callers share the row: they may append at the same time */
static WastorePlan lock_held_share_plan = {
	"SELECT 1 FROM wastore.chat_locks "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $3) FOR SHARE",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/* debounce callers replace the list: one at a time */
static WastorePlan lock_held_update_plan = {
	"SELECT 1 FROM wastore.chat_locks "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $3) FOR UPDATE",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/* a pending entry: {"owner": $3, "strategy": $4, "metadata": $5} */
static WastorePlan pending_append_plan = {
	"INSERT INTO wastore.chat_pending (incarnation, lock_key, entry) "
	"VALUES ($1, $2, pg_catalog.jsonb_build_object('owner', $3::text, 'strategy', $4::text, "
	"'metadata', $5::jsonb))",
	5, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID}
};

/* one statement: the list is never seen empty or doubled */
static WastorePlan pending_replace_plan = {
	"WITH cleared AS (DELETE FROM wastore.chat_pending "
	" WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2) "
	"INSERT INTO wastore.chat_pending (incarnation, lock_key, entry) "
	"VALUES ($1, $2, pg_catalog.jsonb_build_object('owner', $3::text, 'strategy', $4::text, "
	"'metadata', $5::jsonb))",
	5, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID}
};

static WastorePlan lock_delete_owned_plan = {
	"DELETE FROM wastore.chat_locks "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND owner OPERATOR(pg_catalog.=) $3",
	3, {INT8OID, TEXTOID, TEXTOID}
};

static WastorePlan lock_delete_plan = {
	"DELETE FROM wastore.chat_locks "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan pending_take_plan = {
	"WITH taken AS (DELETE FROM wastore.chat_pending "
	" WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	" RETURNING seq, entry) "
	"SELECT COALESCE(pg_catalog.jsonb_agg(entry ORDER BY seq), '[]'::pg_catalog.jsonb) FROM taken",
	2, {INT8OID, TEXTOID}
};

/* Runs a statement and reports whether it returned or touched any row. */
static bool
run_exists(WastorePlan *plan, Datum *values, const char *nulls, bool read_only, int rc)
{
	return wastore_plan_execute(plan, values, nulls, read_only, rc) > 0;
}

/*
 * Locks
 */

/*
 * The expiry of a ttl at now (chat.h).
 */
TimestampTz
chat_expiry(Interval *ttl, TimestampTz now)
{
	TimestampTz expires_at;

	expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
														 TimestampTzGetDatum(now),
														 IntervalPGetDatum(ttl)));
	if (expires_at <= now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl must be positive"),
				 errdetail("It is %s.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(ttl))))));

	/*
	 * Whole milliseconds, as snapshots carry them, rounded up so that the
	 * row lasts at least ttl.  An end past the range raised 22008 above; one
	 * within its last millisecond would round up out of it, and is clamped
	 * to that millisecond instead: no clock reaches it.
	 */
	if (expires_at % 1000 != 0)
		expires_at += 1000 - expires_at % 1000;
	if (expires_at > CHAT_MAX_EXPIRES)
		expires_at = CHAT_MAX_EXPIRES;
	return expires_at;
}

bool
chat_ttl_arg(FunctionCallInfo fcinfo, int argno, TimestampTz now, TimestampTz *expires_at)
{
	if (PG_ARGISNULL(argno))
		return false;
	*expires_at = chat_expiry(PG_GETARG_INTERVAL_P(argno), now);
	return true;
}

/*
 * The body of chat_acquire_lock and chat_acquire_lock_until: the result's
 * label, and the lock's expiry (has_ttl false: none).
 */
static const char *
acquire_lock(FunctionCallInfo fcinfo, TimestampTz *expires_out, bool *has_ttl_out)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *lock_key = wastore_id_arg(fcinfo, 1, "lock_key");
	text	   *owner = wastore_id_arg(fcinfo, 2, "owner");
	char	   *strategy = wastore_enum_label_arg(fcinfo, 3, "strategy");
	Jsonb	   *metadata = wastore_object_arg(fcinfo, 4, "metadata");
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = 0;
	bool		has_ttl = chat_ttl_arg(fcinfo, 5, now, &expires_at);
	const char *result = NULL;
	Datum		values[7];
	char		nulls[7];
	Datum		held_values[3];
	StoreRef	ref;

	*expires_out = expires_at;
	*has_ttl_out = has_ttl;

	/* concurrent: nothing is stored, but the store must still be the caller's */
	if (strcmp(strategy, "concurrent") == 0)
	{
		store_find(store, &ref);
		return "acquired";
	}

	SPI_connect();
	store_open(store, &ref);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = StoreRefGetDatum(&ref);
	values[1] = PointerGetDatum(lock_key);
	values[2] = PointerGetDatum(owner);
	values[3] = CStringGetTextDatum(strategy);
	values[4] = PointerGetDatum(metadata);
	values[5] = TimestampTzGetDatum(expires_at);
	values[6] = TimestampTzGetDatum(now);
	if (!has_ttl)
		nulls[5] = 'n';

	held_values[0] = values[0];
	held_values[1] = values[1];
	held_values[2] = values[6];

	for (int round = 0; result == NULL; round++)
	{
		CHECK_FOR_INTERRUPTS();
		if (round >= CHAT_ACQUIRE_MAX_ROUNDS)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("lock \"%s\" changed hands too often to be acquired",
							text_to_cstring(lock_key))));

		/* free: insert it (a concurrent inserter makes us wait, then lose) */
		if (run_exists(&lock_insert_plan, values, nulls, false, SPI_OK_INSERT))
		{
			result = "acquired";
			break;
		}

		/* expired: take it over, if it is still expired once we get the row */
		if (run_exists(&lock_take_expired_plan, values, nulls, false, SPI_OK_UPDATE))
		{
			result = "acquired";
			break;
		}

		/*
		 * Held by someone (the caller too: a second request of the owner is
		 * treated like anyone's).  Queue and debounce lock the row, so that
		 * a release waits for their entry; if the row is gone or expired by
		 * now, start over.
		 */
		if (strcmp(strategy, "reject") == 0)
		{
			if (run_exists(&lock_held_plan, held_values, NULL, false, SPI_OK_SELECT))
				result = "busy";
		}
		else if (strcmp(strategy, "queue") == 0)
		{
			if (run_exists(&lock_held_share_plan, held_values, NULL, false, SPI_OK_SELECT))
			{
				wastore_plan_execute(&pending_append_plan, values, NULL, false, SPI_OK_INSERT);
				result = "queued";
			}
		}
		else
		{
			Assert(strcmp(strategy, "debounce") == 0);
			if (run_exists(&lock_held_update_plan, held_values, NULL, false, SPI_OK_SELECT))
			{
				wastore_plan_execute(&pending_replace_plan, values, NULL, false, SPI_OK_INSERT);
				result = "debounced";
			}
		}
	}

	SPI_finish();
	return result;
}

PG_FUNCTION_INFO_V1(chat_acquire_lock);
Datum
chat_acquire_lock(PG_FUNCTION_ARGS)
{
	TimestampTz expires_at;
	bool		has_ttl;

	PG_RETURN_DATUM(wastore_enum_result(fcinfo, acquire_lock(fcinfo, &expires_at, &has_ttl)));
}

/*
 * chat_acquire_lock_until: the same, and the expiry the server computed
 * when the caller acquired the lock (NULL without ttl, or when it did not).
 */
PG_FUNCTION_INFO_V1(chat_acquire_lock_until);
Datum
chat_acquire_lock_until(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TimestampTz expires_at;
	bool		has_ttl;
	const char *result;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	InitMaterializedSRF(fcinfo, 0);
	result = acquire_lock(fcinfo, &expires_at, &has_ttl);
	values[0] = DirectFunctionCall2(enum_in, CStringGetDatum(result),
									ObjectIdGetDatum(TupleDescAttr(rsinfo->setDesc, 0)->atttypid));
	values[1] = TimestampTzGetDatum(expires_at);
	nulls[1] = !has_ttl || strcmp(result, "acquired") != 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

/*
 * chat_extend_lock: a conditional UPDATE of the owner's unexpired row.  A
 * concurrent takeover (an UPDATE of the same row on condition that it has
 * expired) and an extension each re-check their condition against the row
 * the other wrote: one of them changes nothing, so there are never two
 * holders.
 */
static WastorePlan lock_extend_plan = {
	"UPDATE wastore.chat_locks SET expires_at = $4 "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND owner OPERATOR(pg_catalog.=) $3 "
	"AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $5)",
	5, {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

PG_FUNCTION_INFO_V1(chat_extend_lock);
Datum
chat_extend_lock(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *lock_key = wastore_id_arg(fcinfo, 1, "lock_key");
	text	   *owner = wastore_id_arg(fcinfo, 2, "owner");
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = 0;
	Datum		values[5];

	(void) wastore_arg(fcinfo, 3, "ttl");
	(void) chat_ttl_arg(fcinfo, 3, now, &expires_at);
	values[1] = PointerGetDatum(lock_key);
	values[2] = PointerGetDatum(owner);
	values[3] = TimestampTzGetDatum(expires_at);
	values[4] = TimestampTzGetDatum(now);
	PG_RETURN_BOOL(store_execute(store, STORE_WRITE, &lock_extend_plan, values, NULL,
								 SPI_OK_UPDATE, NULL) > 0);
}

typedef struct ChatRelease
{
	text	   *store;
	text	   *lock_key;
	text	   *owner;			/* NULL: force */
	bool		released;
	Jsonb	   *pending;		/* jsonb array, when released */
} ChatRelease;

/* The body of a release; runs inside the savepoint commit. */
static void
release_work(void *arg)
{
	ChatRelease *rel = (ChatRelease *) arg;
	StoreRef	ref;
	Datum		values[3] = {
		(Datum) 0, PointerGetDatum(rel->lock_key), PointerGetDatum(rel->owner)
	};

	rel->released = false;
	SPI_connect();
	if (store_find(rel->store, &ref))
	{
		values[0] = StoreRefGetDatum(&ref);

		/*
		 * The lock row first: this waits for queue and debounce callers that
		 * hold it, so the pending list read next (a new statement, a new
		 * snapshot) has their entries.
		 */
		if (rel->owner)
			rel->released = run_exists(&lock_delete_owned_plan, values, NULL, false,
									   SPI_OK_DELETE);
		else
		{
			wastore_plan_execute(&lock_delete_plan, values, NULL, false, SPI_OK_DELETE);
			rel->released = true;
		}

		if (rel->released)
		{
			wastore_plan_execute(&pending_take_plan, values, NULL, false, SPI_OK_SELECT);
			rel->pending = wastore_result_jsonb();
		}
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(chat_release_lock);
Datum
chat_release_lock(PG_FUNCTION_ARGS)
{
	ChatRelease rel = {0};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	rel.store = wastore_store_arg(fcinfo, 0);
	rel.lock_key = wastore_id_arg(fcinfo, 1, "lock_key");
	rel.owner = wastore_id_arg(fcinfo, 2, "owner");

	InitMaterializedSRF(fcinfo, 0);
	commit_run_or_raise(release_work, &rel);

	values[0] = BoolGetDatum(rel.released);
	if (rel.released)
		values[1] = JsonbPGetDatum(rel.pending);
	else
		nulls[1] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(chat_force_release_lock);
Datum
chat_force_release_lock(PG_FUNCTION_ARGS)
{
	ChatRelease rel = {0};

	rel.store = wastore_store_arg(fcinfo, 0);
	rel.lock_key = wastore_id_arg(fcinfo, 1, "lock_key");

	commit_run_or_raise(release_work, &rel);
	if (!rel.released)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
	PG_RETURN_JSONB_P(rel.pending);
}

