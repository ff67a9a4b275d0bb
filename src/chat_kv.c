/*-------------------------------------------------------------------------
 *
 * chat_kv.c
 *	  The chat key-value store: any JSON value per key, with an optional
 *	  expiry (the Chat SDK StateAdapter's get, set, setIfNotExists, delete).
 *
 * An expired entry is absent for every function here; prune (prune.c)
 * deletes it later.  Concurrency, under READ COMMITTED:
 *
 * - chat_kv_set_if_absent is one INSERT ... ON CONFLICT DO UPDATE whose
 *	 update happens only when the stored entry has expired.  Of concurrent
 *	 callers on an absent key one inserts and the others wait for it and
 *	 then find a live entry; on an expired key the first takes the row and
 *	 the others re-check the condition against its new, live version.
 *	 Exactly one of them returns true.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "args.h"
#include "chat.h"
#include "plans.h"
#include "store.h"

/* $1 incarnation, $2 key, $3 now */
static WastorePlan kv_get_plan = {
	"SELECT value FROM wastore.chat_kv "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND key OPERATOR(pg_catalog.=) $2 "
	"AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $3)",
	3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/* $1 incarnation, $2 key, $3 value, $4 expires_at (NULL: never); set_if_absent: $5 now */
static WastorePlan kv_set_plan = {
	"INSERT INTO wastore.chat_kv (incarnation, key, value, expires_at) VALUES ($1, $2, $3, $4) "
	"ON CONFLICT (incarnation, key) DO UPDATE SET value = excluded.value, "
	"expires_at = excluded.expires_at",
	4, {INT8OID, TEXTOID, JSONBOID, TIMESTAMPTZOID}
};

static WastorePlan kv_set_if_absent_plan = {
	"INSERT INTO wastore.chat_kv AS k (incarnation, key, value, expires_at) VALUES ($1, $2, $3, $4) "
	"ON CONFLICT (incarnation, key) DO UPDATE SET value = excluded.value, "
	"expires_at = excluded.expires_at WHERE k.expires_at OPERATOR(pg_catalog.<=) $5",
	5, {INT8OID, TEXTOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

static WastorePlan kv_delete_plan = {
	"DELETE FROM wastore.chat_kv "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND key OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

PG_FUNCTION_INFO_V1(chat_kv_get);
Datum
chat_kv_get(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[3] = {
		(Datum) 0,
		PointerGetDatum(wastore_id_arg(fcinfo, 1, "key")),
		TimestampTzGetDatum(GetCurrentTimestamp())
	};
	Jsonb	   *value = store_jsonb(store, STORE_READ, &kv_get_plan, values);

	if (value == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(value);
}

PG_FUNCTION_INFO_V1(chat_kv_exists);
Datum
chat_kv_exists(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[3] = {
		(Datum) 0,
		PointerGetDatum(wastore_id_arg(fcinfo, 1, "key")),
		TimestampTzGetDatum(GetCurrentTimestamp())
	};

	PG_RETURN_BOOL(store_execute(store, STORE_READ, &kv_get_plan, values, NULL,
								 SPI_OK_SELECT, NULL) > 0);
}

/* set and set_if_absent: the store is created when missing */
static uint64
kv_write(FunctionCallInfo fcinfo, WastorePlan *plan)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key = wastore_id_arg(fcinfo, 1, "key");
	Datum		value = wastore_arg(fcinfo, 2, "value");
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = 0;
	bool		has_ttl = chat_ttl_arg(fcinfo, 3, now, &expires_at);
	Datum		values[5] = {
		(Datum) 0, PointerGetDatum(key), value,
		TimestampTzGetDatum(expires_at), TimestampTzGetDatum(now)
	};
	char		nulls[5] = {' ', ' ', ' ', has_ttl ? ' ' : 'n', ' '};

	return store_execute(store, STORE_CREATE, plan, values, nulls, SPI_OK_INSERT, NULL);
}

PG_FUNCTION_INFO_V1(chat_kv_set);
Datum
chat_kv_set(PG_FUNCTION_ARGS)
{
	(void) kv_write(fcinfo, &kv_set_plan);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(chat_kv_set_if_absent);
Datum
chat_kv_set_if_absent(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(kv_write(fcinfo, &kv_set_if_absent_plan) > 0);
}

PG_FUNCTION_INFO_V1(chat_kv_delete);
Datum
chat_kv_delete(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[2] = {(Datum) 0, PointerGetDatum(wastore_id_arg(fcinfo, 1, "key"))};

	store_execute(store, STORE_WRITE, &kv_delete_plan, values, NULL, SPI_OK_DELETE, NULL);
	PG_RETURN_VOID();
}
