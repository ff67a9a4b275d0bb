/*-------------------------------------------------------------------------
 *
 * chat_queue.c
 *	  Chat queues (the Chat SDK StateAdapter's enqueue, dequeue and
 *	  queueDepth): entries with their own expiry, oldest first, the oldest
 *	  dropped when a queue is over its size.
 *
 * Concurrency, under READ COMMITTED:
 *
 * - The enqueues of one queue take its lock (locks.h, WASTORE_LOCKSPACE_QUEUE)
 *	 to the end of their transactions: each one's trim and depth count see
 *	 every entry committed before, so a queue never keeps more than max_size
 *	 live entries after an enqueue.
 * - A dequeue deletes the oldest live entry that no one else has locked
 *	 (FOR UPDATE SKIP LOCKED): concurrent dequeuers never get the same entry,
 *	 and none waits for another.  An entry whose dequeuer rolls back is
 *	 there again for the next one.
 *
 * Expired entries are invisible; enqueue and dequeue delete those of their
 * queue as they go, prune the others.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "args.h"
#include "chat.h"
#include "locks.h"
#include "plans.h"
#include "store.h"

/* $1 incarnation, $2 key, $3 now */
static WastorePlan queue_expire_plan = {
	"DELETE FROM wastore.chat_queue "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	"AND expires_at OPERATOR(pg_catalog.<=) $3",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/* $1 incarnation, $2 key, $3 entry, $4 expires_at */
static WastorePlan queue_insert_plan = {
	"INSERT INTO wastore.chat_queue (incarnation, queue_key, seq, entry, expires_at) "
	"VALUES ($1, $2, pg_catalog.nextval('wastore.chat_seq'::pg_catalog.regclass), $3, $4)",
	4, {INT8OID, TEXTOID, JSONBOID, TIMESTAMPTZOID}
};

/* $1 incarnation, $2 key, $3 now, $4 max_size: the oldest live ones beyond it go */
static WastorePlan queue_trim_plan = {
	"DELETE FROM wastore.chat_queue "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	"AND seq IN (SELECT seq FROM wastore.chat_queue "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	"AND expires_at OPERATOR(pg_catalog.>) $3 ORDER BY seq DESC OFFSET $4)",
	4, {INT8OID, TEXTOID, TIMESTAMPTZOID, INT4OID}
};

/* $1 incarnation, $2 key, $3 now */
static WastorePlan queue_depth_plan = {
	"SELECT pg_catalog.count(*)::pg_catalog.int4 FROM wastore.chat_queue "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	"AND expires_at OPERATOR(pg_catalog.>) $3",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/*
 * One statement: the expired entries nobody holds go, and the oldest live
 * one nobody holds is taken.
 */
static WastorePlan queue_take_plan = {
	"WITH expired AS (DELETE FROM wastore.chat_queue "
	" WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	" AND seq IN (SELECT seq FROM wastore.chat_queue "
	"  WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	"  AND expires_at OPERATOR(pg_catalog.<=) $3 FOR UPDATE SKIP LOCKED)), "
	"taken AS (DELETE FROM wastore.chat_queue "
	" WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	" AND seq OPERATOR(pg_catalog.=) (SELECT seq FROM wastore.chat_queue "
	"  WHERE incarnation OPERATOR(pg_catalog.=) $1 AND queue_key OPERATOR(pg_catalog.=) $2 "
	"  AND expires_at OPERATOR(pg_catalog.>) $3 ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) "
	" RETURNING entry) "
	"SELECT entry FROM taken",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

static int32
result_int4(void)
{
	bool		isnull;

	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

PG_FUNCTION_INFO_V1(chat_enqueue);
Datum
chat_enqueue(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key = wastore_id_arg(fcinfo, 1, "key");
	Datum		entry = wastore_arg(fcinfo, 2, "entry");
	int32		max_size = DatumGetInt32(wastore_arg(fcinfo, 3, "max_size"));
	TimestampTz expires_at = DatumGetTimestampTz(wastore_arg(fcinfo, 4, "expires_at"));
	TimestampTz now = GetCurrentTimestamp();
	StoreRef	ref;
	Datum		values[4];
	int32		depth;

	if (max_size <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_size must be positive"),
				 errdetail("It is %d.", max_size)));
	if (TIMESTAMP_NOT_FINITE(expires_at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("expires_at must be a finite time"),
				 errdetail("It is %s.",
						   DatumGetCString(DirectFunctionCall1(timestamptz_out,
															   TimestampTzGetDatum(expires_at))))));

	SPI_connect();
	store_open(store, &ref);
	locks_acquire_queue(&ref, key);

	values[0] = StoreRefGetDatum(&ref);
	values[1] = PointerGetDatum(key);
	values[2] = TimestampTzGetDatum(now);
	wastore_plan_execute(&queue_expire_plan, values, NULL, false, SPI_OK_DELETE);

	/* an entry already expired is dropped at once: it would be invisible */
	if (expires_at > now)
	{
		values[2] = entry;
		values[3] = TimestampTzGetDatum(expires_at);
		wastore_plan_execute(&queue_insert_plan, values, NULL, false, SPI_OK_INSERT);
	}

	values[2] = TimestampTzGetDatum(now);
	values[3] = Int32GetDatum(max_size);
	wastore_plan_execute(&queue_trim_plan, values, NULL, false, SPI_OK_DELETE);

	wastore_plan_execute(&queue_depth_plan, values, NULL, false, SPI_OK_SELECT);
	depth = result_int4();
	SPI_finish();
	PG_RETURN_INT32(depth);
}

PG_FUNCTION_INFO_V1(chat_dequeue);
Datum
chat_dequeue(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[3] = {
		(Datum) 0,
		PointerGetDatum(wastore_id_arg(fcinfo, 1, "key")),
		TimestampTzGetDatum(GetCurrentTimestamp())
	};
	Jsonb	   *entry = store_jsonb(store, STORE_WRITE, &queue_take_plan, values);

	if (entry == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(entry);
}

PG_FUNCTION_INFO_V1(chat_queue_depth);
Datum
chat_queue_depth(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key = wastore_id_arg(fcinfo, 1, "key");
	StoreRef	ref;
	Datum		values[3];
	int32		depth;

	if (!store_find(store, &ref))
		PG_RETURN_INT32(0);
	values[0] = StoreRefGetDatum(&ref);
	values[1] = PointerGetDatum(key);
	values[2] = TimestampTzGetDatum(GetCurrentTimestamp());
	SPI_connect();
	wastore_plan_execute(&queue_depth_plan, values, NULL, true, SPI_OK_SELECT);
	depth = result_int4();
	SPI_finish();
	PG_RETURN_INT32(depth);
}
