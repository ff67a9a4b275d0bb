/*-------------------------------------------------------------------------
 *
 * chat_list.c
 *	  Capped chat lists (the Chat SDK StateAdapter's appendToList and
 *	  getList): append, keep the newest max_length values, and set the
 *	  expiry of the whole list, in one atomic call.
 *
 * A list is a head row in wastore.chat_lists (its expiry and the numbers
 * first_seq .. last_seq of its live items) and its items in
 * wastore.chat_list_items.  An append updates the head first: appends to
 * one list take its row lock in turn, to the end of their transactions, so
 * the numbers have no gaps and each append's trim (first_seq moves up to
 * last_seq - max_length + 1) sees every item committed before it.  A read
 * sees the head and the items of the same committed appends.  An append to
 * an expired list starts it afresh.
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
#include "plans.h"
#include "store.h"

/*
 * $1 incarnation, $2 key, $3 expires_at (NULL: never), $4 now, $5
 * max_length (NULL: no cap).  Returns the new item's number and the first
 * live one.
 */
static WastorePlan list_head_plan = {
	"INSERT INTO wastore.chat_lists AS l (incarnation, list_key, last_seq, first_seq, expires_at) "
	"VALUES ($1, $2, 1, 1, $3) "
	"ON CONFLICT (incarnation, list_key) DO UPDATE SET "
	"last_seq = l.last_seq OPERATOR(pg_catalog.+) 1, "
	"first_seq = CASE WHEN l.expires_at OPERATOR(pg_catalog.<=) $4 THEN l.last_seq OPERATOR(pg_catalog.+) 1 "
	"WHEN $5::pg_catalog.int4 IS NULL THEN l.first_seq "
	"ELSE GREATEST(l.first_seq, l.last_seq OPERATOR(pg_catalog.+) 2 "
	"OPERATOR(pg_catalog.-) $5::pg_catalog.int4) END, "
	"expires_at = excluded.expires_at "
	"RETURNING last_seq, first_seq",
	5, {INT8OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID}
};

/* the items outside first_seq ($3) .. last_seq - 1 ($4) go */
static WastorePlan list_trim_plan = {
	"DELETE FROM wastore.chat_list_items "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND list_key OPERATOR(pg_catalog.=) $2 "
	"AND (seq OPERATOR(pg_catalog.<) $3 OR seq OPERATOR(pg_catalog.>=) $4)",
	4, {INT8OID, TEXTOID, INT8OID, INT8OID}
};

static WastorePlan list_item_plan = {
	"INSERT INTO wastore.chat_list_items (incarnation, list_key, seq, value) VALUES ($1, $2, $3, $4)",
	4, {INT8OID, TEXTOID, INT8OID, JSONBOID}
};

/* $1 incarnation, $2 key, $3 now */
static WastorePlan list_get_plan = {
	"SELECT COALESCE(pg_catalog.jsonb_agg(i.value ORDER BY i.seq), '[]'::pg_catalog.jsonb) "
	"FROM wastore.chat_lists l JOIN wastore.chat_list_items i "
	"ON i.incarnation OPERATOR(pg_catalog.=) l.incarnation AND i.list_key OPERATOR(pg_catalog.=) l.list_key "
	"AND i.seq OPERATOR(pg_catalog.>=) l.first_seq AND i.seq OPERATOR(pg_catalog.<=) l.last_seq "
	"WHERE l.incarnation OPERATOR(pg_catalog.=) $1 AND l.list_key OPERATOR(pg_catalog.=) $2 "
	"AND (l.expires_at IS NULL OR l.expires_at OPERATOR(pg_catalog.>) $3)",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

PG_FUNCTION_INFO_V1(chat_list_append);
Datum
chat_list_append(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key = wastore_id_arg(fcinfo, 1, "key");
	Datum		value = wastore_arg(fcinfo, 2, "value");
	bool		capped = !PG_ARGISNULL(3);
	int32		max_length = capped ? PG_GETARG_INT32(3) : 0;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = 0;
	bool		has_ttl;
	StoreRef	ref;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	bool		isnull;
	int64		last_seq;
	int64		first_seq;

	if (capped && max_length <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_length must be positive"),
				 errdetail("It is %d.", max_length)));
	has_ttl = chat_ttl_arg(fcinfo, 4, now, &expires_at);

	SPI_connect();
	store_open(store, &ref);

	values[0] = StoreRefGetDatum(&ref);
	values[1] = PointerGetDatum(key);
	values[2] = TimestampTzGetDatum(expires_at);
	values[3] = TimestampTzGetDatum(now);
	values[4] = Int32GetDatum(max_length);
	if (!has_ttl)
		nulls[2] = 'n';
	if (!capped)
		nulls[4] = 'n';
	wastore_plan_execute(&list_head_plan, values, nulls, false, SPI_OK_INSERT_RETURNING);
	last_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	first_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));

	values[2] = Int64GetDatum(first_seq);
	values[3] = Int64GetDatum(last_seq);
	wastore_plan_execute(&list_trim_plan, values, NULL, false, SPI_OK_DELETE);

	values[2] = Int64GetDatum(last_seq);
	values[3] = value;
	wastore_plan_execute(&list_item_plan, values, NULL, false, SPI_OK_INSERT);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(chat_list_get);
Datum
chat_list_get(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[3] = {
		(Datum) 0,
		PointerGetDatum(wastore_id_arg(fcinfo, 1, "key")),
		TimestampTzGetDatum(GetCurrentTimestamp())
	};
	Jsonb	   *list = store_jsonb(store, STORE_READ, &list_get_plan, values);

	if (list == NULL)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
	PG_RETURN_JSONB_P(list);
}
