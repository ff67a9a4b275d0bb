/*-------------------------------------------------------------------------
 *
 * chat.c
 *	  Chat state: subscriptions, dedupe, thread and channel state, and the
 *	  normalised snapshot (locks are in chat_locks.c).
 *
 * This is the state of a chat bot framework's state adapter (Jido.Chat
 * StateAdapter, the Chat SDK's state adapters), kept in tables so that it
 * survives restarts and is shared by every instance of a service.
 *
 * Concurrency, under READ COMMITTED:
 *
 * - Marking a dedupe key is an INSERT ... ON CONFLICT DO NOTHING: exactly
 *	 one of concurrent callers inserts the row.  The marks of one
 *	 store take the store's dedupe lock first (locks.h), so
 *	 each one numbers its key after every key committed before it, and each
 *	 eviction sees them all: the store never keeps more than dedupe_limit
 *	 keys.
 *
 * Under REPEATABLE READ and SERIALIZABLE a mark (or a load) whose snapshot
 * predates another mark of the store that committed while it waited for the
 * lock raises a serialization failure (40001): its statements could not see
 * that mark's key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "args.h"
#include "chat.h"
#include "commit.h"
#include "locks.h"
#include "plans.h"
#include "store.h"
#include "wastore.h"

/*
 * Subscriptions
 */

static WastorePlan subscribe_plan = {
	"INSERT INTO wastore.chat_subscriptions (incarnation, thread_id) VALUES ($1, $2) "
	"ON CONFLICT (incarnation, thread_id) DO NOTHING",
	2, {INT8OID, TEXTOID}
};

static WastorePlan unsubscribe_plan = {
	"DELETE FROM wastore.chat_subscriptions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND thread_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan is_subscribed_plan = {
	"SELECT 1 FROM wastore.chat_subscriptions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND thread_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

/*
 * Thread and channel state
 */

static WastorePlan thread_state_plan = {
	"SELECT state FROM wastore.chat_thread_state "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND thread_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan put_thread_state_plan = {
	"INSERT INTO wastore.chat_thread_state AS t (incarnation, thread_id, state) "
	"VALUES ($1, $2, $3) "
	"ON CONFLICT (incarnation, thread_id) DO UPDATE SET state = excluded.state",
	3, {INT8OID, TEXTOID, JSONBOID}
};

static WastorePlan channel_state_plan = {
	"SELECT state FROM wastore.chat_channel_state "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND channel_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan put_channel_state_plan = {
	"INSERT INTO wastore.chat_channel_state AS c (incarnation, channel_id, state) "
	"VALUES ($1, $2, $3) "
	"ON CONFLICT (incarnation, channel_id) DO UPDATE SET state = excluded.state",
	3, {INT8OID, TEXTOID, JSONBOID}
};

/*
 * Dedupe
 */

static WastorePlan is_duplicate_plan = {
	"SELECT 1 FROM wastore.chat_dedupe "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND adapter OPERATOR(pg_catalog.=) $2 "
	"AND message_id OPERATOR(pg_catalog.=) $3 "
	"AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $4)",
	4, {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID}
};

/* true when the key was there and had not expired */
static WastorePlan unmark_dedupe_plan = {
	"WITH gone AS (DELETE FROM wastore.chat_dedupe "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND adapter OPERATOR(pg_catalog.=) $2 "
	"AND message_id OPERATOR(pg_catalog.=) $3 RETURNING expires_at) "
	"SELECT 1 FROM gone WHERE expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $4",
	4, {INT8OID, TEXTOID, TEXTOID, TIMESTAMPTZOID}
};

/*
 * A key's seq is its position in the store's insertion order: 1, 2, 3, ...
 * The marks of a store are serialized (locks_acquire_dedupe), so max(seq) +
 * 1 is free, and the window is the newest limit numbers: the keys to evict
 * are those from min to max - limit, and every statement reads a few index
 * entries, whatever the limit.  Keys leave by eviction (oldest first), a
 * load (which numbers them afresh), drop_store, and since chat state v2 by
 * chat_unmark_dedupe, prune and the re-mark of an expired key (which takes
 * a new number): these leave gaps, and until newer marks push a gap out of
 * the window, the store holds fewer than limit keys.  (The trim
 * names both ends of the range, which also keeps its generic plan on the
 * index.)
 */
static WastorePlan dedupe_bounds_plan = {
	"SELECT pg_catalog.min(seq), pg_catalog.max(seq) FROM wastore.chat_dedupe "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

/*
 * seq stays within 1 .. CHAT_DEDUPE_SEQ_MAX (chat_dedupe's CHECK), so that
 * max(seq) + 1 always fits a bigint.  Marking alone never gets there (a
 * million marks a second would take 290,000 years), but an administrator may
 * write any seq by hand: a window whose newest key has the largest one is
 * numbered afresh from 1, in the same order, before the next key.  (One
 * statement: every row is deleted before the sort hands the first one back
 * to the insert, so no two numbers meet.)
 */
#define CHAT_DEDUPE_SEQ_MAX (PG_INT64_MAX - 1)

static WastorePlan dedupe_renumber_plan = {
	"WITH old AS (DELETE FROM wastore.chat_dedupe WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"RETURNING adapter, message_id, seq) "
	"INSERT INTO wastore.chat_dedupe (incarnation, adapter, message_id, seq) "
	"SELECT $1, adapter, message_id, pg_catalog.row_number() OVER (ORDER BY seq) FROM old",
	1, {INT8OID}
};

/*
 * A new key, or an expired one marked again: it takes the next number and
 * the new expiry ($5, NULL: none; $6 now).  A live key is left as it is.
 */
static WastorePlan mark_dedupe_plan = {
	"INSERT INTO wastore.chat_dedupe AS d (incarnation, adapter, message_id, seq, expires_at) "
	"VALUES ($1, $2, $3, $4, $5) "
	"ON CONFLICT (incarnation, adapter, message_id) DO UPDATE SET seq = excluded.seq, "
	"expires_at = excluded.expires_at WHERE d.expires_at OPERATOR(pg_catalog.<=) $6",
	6, {INT8OID, TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

static WastorePlan trim_dedupe_plan = {
	"DELETE FROM wastore.chat_dedupe WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND seq OPERATOR(pg_catalog.>=) $2 AND seq OPERATOR(pg_catalog.<=) $3",
	3, {INT8OID, INT8OID, INT8OID}
};

/*
 * Snapshot and load: the normalisation of a whole snapshot is long SQL, kept
 * in internal SQL functions (sql/wastore--1.1--1.2.sql, schema
 * wastore_internal, usable by the tables' owner only) rather than in C.
 * Times in a snapshot are milliseconds since the Unix epoch, as the
 * reference adapters keep them.
 */

static WastorePlan snapshot_plan = {
	"SELECT wastore_internal.chat_snapshot($1)", 1, {INT8OID}
};

static WastorePlan load_plan = {
	"SELECT wastore_internal.chat_load_snapshot($1, $2)", 2, {INT8OID, JSONBOID}
};

/* the parts chat state v2 added: kv, lists, queues, dedupe expiries */
static WastorePlan load_v2_plan = {
	"SELECT wastore_internal.chat_load_snapshot_v2($1, $2)", 2, {INT8OID, JSONBOID}
};

/*
 * Helpers
 */

/*
 * The bounds of the store's dedupe window (1 and 0 when it is empty), read
 * with the transaction's snapshot, or with the latest one.
 */
static void
dedupe_bounds(const StoreRef *ref, bool latest, int64 *min_seq, int64 *max_seq)
{
	Datum		values[1] = {StoreRefGetDatum(ref)};
	bool		isnull;

	if (latest)
		wastore_plan_execute_latest(&dedupe_bounds_plan, values, SPI_OK_SELECT);
	else
		wastore_plan_execute(&dedupe_bounds_plan, values, NULL, false, SPI_OK_SELECT);
	Assert(SPI_processed == 1);
	*min_seq = 1;
	*max_seq = 0;
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (isnull)
		return;
	*min_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 1, &isnull));
	*max_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 2, &isnull));
}

/*
 * The window as this transaction's statements will see it, for a caller
 * that holds the store's dedupe lock.  Under READ COMMITTED each statement
 * takes a new snapshot, after the lock: it sees every mark committed before.
 * Under REPEATABLE READ and SERIALIZABLE the transaction's snapshot may be
 * older than a mark (or a load) that committed while this one waited: its
 * statements would number the new key like that mark's (a unique violation)
 * and evict without seeing that mark's key.  The window then has other
 * bounds in the latest snapshot than in the transaction's, and that is a
 * serialization failure, as PostgreSQL reports a row changed after the
 * snapshot.
 */
static void
dedupe_window(const StoreRef *ref, int64 *min_seq, int64 *max_seq)
{
	int64		latest_min;
	int64		latest_max;

	dedupe_bounds(ref, false, min_seq, max_seq);
	if (!IsolationUsesXactSnapshot())
		return;
	dedupe_bounds(ref, true, &latest_min, &latest_max);
	if (latest_min != *min_seq || latest_max != *max_seq)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of the chat dedupe window"),
				 errdetail("Another transaction marked a key of the store, or loaded its snapshot, after this transaction's snapshot was taken."),
				 errhint("Retry the transaction.")));
}

static Datum
empty_jsonb(const char *text)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}

/* Reads a jsonb state map: the stored one, or {} */
static Datum
read_state(FunctionCallInfo fcinfo, WastorePlan *plan, const char *id_name)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[2] = {(Datum) 0, PointerGetDatum(wastore_id_arg(fcinfo, 1, id_name))};
	Jsonb	   *state = store_jsonb(store, STORE_READ, plan, values);

	if (state == NULL)
		return empty_jsonb("{}");
	PG_RETURN_JSONB_P(state);
}

static Datum
write_state(FunctionCallInfo fcinfo, WastorePlan *plan, const char *id_name)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[3] = {
		(Datum) 0,
		PointerGetDatum(wastore_id_arg(fcinfo, 1, id_name)),
		PointerGetDatum(wastore_object_arg(fcinfo, 2, "state"))
	};

	store_execute(store, STORE_CREATE, plan, values, NULL, SPI_OK_INSERT, NULL);
	PG_RETURN_VOID();
}

/*
 * Subscriptions
 */

PG_FUNCTION_INFO_V1(chat_subscribe);
Datum
chat_subscribe(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[2] = {(Datum) 0, PointerGetDatum(wastore_id_arg(fcinfo, 1, "thread_id"))};

	store_execute(store, STORE_CREATE, &subscribe_plan, values, NULL, SPI_OK_INSERT, NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(chat_unsubscribe);
Datum
chat_unsubscribe(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[2] = {(Datum) 0, PointerGetDatum(wastore_id_arg(fcinfo, 1, "thread_id"))};

	store_execute(store, STORE_WRITE, &unsubscribe_plan, values, NULL, SPI_OK_DELETE, NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(chat_is_subscribed);
Datum
chat_is_subscribed(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[2] = {(Datum) 0, PointerGetDatum(wastore_id_arg(fcinfo, 1, "thread_id"))};

	PG_RETURN_BOOL(store_execute(store, STORE_READ, &is_subscribed_plan, values, NULL,
								 SPI_OK_SELECT, NULL) > 0);
}

/*
 * Thread and channel state
 */

PG_FUNCTION_INFO_V1(chat_thread_state);
Datum
chat_thread_state(PG_FUNCTION_ARGS)
{
	return read_state(fcinfo, &thread_state_plan, "thread_id");
}

PG_FUNCTION_INFO_V1(chat_put_thread_state);
Datum
chat_put_thread_state(PG_FUNCTION_ARGS)
{
	return write_state(fcinfo, &put_thread_state_plan, "thread_id");
}

PG_FUNCTION_INFO_V1(chat_channel_state);
Datum
chat_channel_state(PG_FUNCTION_ARGS)
{
	return read_state(fcinfo, &channel_state_plan, "channel_id");
}

PG_FUNCTION_INFO_V1(chat_put_channel_state);
Datum
chat_put_channel_state(PG_FUNCTION_ARGS)
{
	return write_state(fcinfo, &put_channel_state_plan, "channel_id");
}

/*
 * Dedupe
 */

/*
 * Runs a dedupe plan on one key, (store, adapter, message_id), at the
 * current time: whether it found (or removed) a live key.
 */
static bool
dedupe_key_execute(FunctionCallInfo fcinfo, StoreUse use, WastorePlan *plan)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[4] = {
		(Datum) 0,
		PointerGetDatum(wastore_id_arg(fcinfo, 1, "adapter")),
		PointerGetDatum(wastore_id_arg(fcinfo, 2, "message_id")),
		TimestampTzGetDatum(GetCurrentTimestamp())
	};

	return store_execute(store, use, plan, values, NULL, SPI_OK_SELECT, NULL) > 0;
}

PG_FUNCTION_INFO_V1(chat_is_duplicate);
Datum
chat_is_duplicate(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(dedupe_key_execute(fcinfo, STORE_READ, &is_duplicate_plan));
}

PG_FUNCTION_INFO_V1(chat_unmark_dedupe);
Datum
chat_unmark_dedupe(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(dedupe_key_execute(fcinfo, STORE_WRITE, &unmark_dedupe_plan));
}

PG_FUNCTION_INFO_V1(chat_mark_dedupe);
Datum
chat_mark_dedupe(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *adapter = wastore_id_arg(fcinfo, 1, "adapter");
	text	   *message_id = wastore_id_arg(fcinfo, 2, "message_id");
	int32		limit = DatumGetInt32(wastore_arg(fcinfo, 3, "dedupe_limit"));
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = 0;
	bool		has_ttl;
	Datum		values[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	StoreRef	ref;
	int64		min_seq;
	int64		max_seq;
	bool		added;

	if (limit <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dedupe_limit must be positive"),
				 errdetail("It is %d.", limit)));
	has_ttl = chat_ttl_arg(fcinfo, 4, now, &expires_at);

	SPI_connect();
	store_open(store, &ref);

	/*
	 * Marks of one store run one after the other, to the end of their
	 * transactions.  Side by side, two would number their keys alike and each
	 * evict without the other's new key, leaving the store above its limit;
	 * one after the other, the second one's statements see the first one's
	 * committed key.  In the steady state (a full window) they would queue
	 * anyway: each deletes the same oldest row.
	 */
	locks_acquire_dedupe(&ref);
	dedupe_window(&ref, &min_seq, &max_seq);

	values[0] = StoreRefGetDatum(&ref);
	if (max_seq >= CHAT_DEDUPE_SEQ_MAX)
	{
		max_seq = (int64) wastore_plan_execute(&dedupe_renumber_plan, values, NULL, false,
											   SPI_OK_INSERT);
		min_seq = 1;
	}

	values[1] = PointerGetDatum(adapter);
	values[2] = PointerGetDatum(message_id);
	values[3] = Int64GetDatum(max_seq + 1);
	values[4] = TimestampTzGetDatum(expires_at);
	values[5] = TimestampTzGetDatum(now);
	if (!has_ttl)
		nulls[4] = 'n';
	added = wastore_plan_execute(&mark_dedupe_plan, values, nulls, false, SPI_OK_INSERT) > 0;
	if (added)
		max_seq++;

	/*
	 * Trimmed on every call, as the reference adapters do: a smaller limit
	 * takes effect at once, even when the key was known.
	 */
	if (max_seq - min_seq + 1 > limit)
	{
		values[1] = Int64GetDatum(min_seq);
		values[2] = Int64GetDatum(max_seq - limit);
		wastore_plan_execute(&trim_dedupe_plan, values, NULL, false, SPI_OK_DELETE);
	}
	SPI_finish();
	PG_RETURN_BOOL(added);
}

/*
 * Snapshot
 */

PG_FUNCTION_INFO_V1(chat_snapshot);
Datum
chat_snapshot(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;
	Datum		values[1];
	Jsonb	   *snapshot;

	/* a missing store has the snapshot of no rows: incarnation 0 has none */
	store_find(store, &ref);
	values[0] = StoreRefGetDatum(&ref);
	SPI_connect();
	wastore_plan_execute(&snapshot_plan, values, NULL, true, SPI_OK_SELECT);
	snapshot = wastore_result_jsonb();
	SPI_finish();
	PG_RETURN_JSONB_P(snapshot);
}

typedef struct ChatLoad
{
	StoreRef	ref;			/* opened before the savepoint commit */
	Jsonb	   *snapshot;
} ChatLoad;

/*
 * The store's chat state is emptied, then each part inserted from the
 * snapshot, normalised (see wastore_internal.chat_load_snapshot).
 */
static void
load_work(void *arg)
{
	ChatLoad   *load = (ChatLoad *) arg;
	Datum		values[2] = {StoreRefGetDatum(&load->ref), JsonbPGetDatum(load->snapshot)};

	SPI_connect();
	wastore_plan_execute(&load_plan, values, NULL, false, SPI_OK_SELECT);
	wastore_plan_execute(&load_v2_plan, values, NULL, false, SPI_OK_SELECT);
	SPI_finish();
}

PG_FUNCTION_INFO_V1(chat_load_snapshot);
Datum
chat_load_snapshot(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	ChatLoad	load;

	load.snapshot = wastore_object_arg(fcinfo, 1, "snapshot");

	/*
	 * The store is opened (created when missing), and its dedupe lock taken,
	 * outside the savepoint commit, which would release both locks on a
	 * retry.  Marks wait for the load, and the load for them.
	 */
	SPI_connect();
	store_open(store, &load.ref);
	SPI_finish();
	locks_acquire_dedupe(&load.ref);

	/* under REPEATABLE READ, a mark committed meanwhile: 40001 */
	{
		int64		min_seq;
		int64		max_seq;

		SPI_connect();
		dedupe_window(&load.ref, &min_seq, &max_seq);
		SPI_finish();
	}

	commit_run_or_raise(load_work, &load);
	PG_RETURN_VOID();
}
