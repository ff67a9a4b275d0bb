/*-------------------------------------------------------------------------
 *
 * appstate_tables.c
 *	  The rows of app-state sync versions: wastore.sync_versions and
 *	  wastore.sync_index (see appstate_int.h for the layout and the locking
 *	  order).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "appstate.h"
#include "appstate_int.h"
#include "lthash.h"
#include "plans.h"

static WastorePlan lock_version_plan = {
	"SELECT version, hash FROM wastore.sync_versions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2 "
	"FOR UPDATE",
	2, {INT8OID, TEXTOID}
};

static WastorePlan create_version_plan = {
	"INSERT INTO wastore.sync_versions (incarnation, collection, version, hash) "
	"VALUES ($1, $2, 0, wastore.lthash_zero()) "
	"ON CONFLICT (incarnation, collection) DO NOTHING",
	2, {INT8OID, TEXTOID}
};

static WastorePlan update_version_plan = {
	"UPDATE wastore.sync_versions SET version = $3, hash = $4::wastore.lthash "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2",
	4, {INT8OID, TEXTOID, INT8OID, BYTEAOID}
};

static WastorePlan read_version_plan = {
	"SELECT version, hash FROM wastore.sync_versions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan delete_version_plan = {
	"DELETE FROM wastore.sync_versions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan list_versions_plan = {
	"SELECT collection FROM wastore.sync_versions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 ORDER BY collection",
	1, {INT8OID}
};

static WastorePlan read_some_index_plan = {
	"SELECT index_mac, value_mac FROM wastore.sync_index "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2 "
	"AND index_mac OPERATOR(pg_catalog.=) ANY ($3)",
	3, {INT8OID, TEXTOID, BYTEAARRAYOID}
};

static WastorePlan read_index_plan = {
	"SELECT index_mac, value_mac FROM wastore.sync_index "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

/* an unchanged value MAC is not rewritten */
static WastorePlan upsert_index_plan = {
	"INSERT INTO wastore.sync_index AS s (incarnation, collection, index_mac, value_mac) "
	"SELECT $1, $2, u.i, u.v FROM ROWS FROM (pg_catalog.unnest($3::pg_catalog.bytea[]), pg_catalog.unnest($4::pg_catalog.bytea[])) AS u(i, v) "
	"ON CONFLICT (incarnation, collection, index_mac) DO UPDATE SET value_mac = excluded.value_mac "
	"WHERE s.value_mac OPERATOR(pg_catalog.<>) excluded.value_mac",
	4, {INT8OID, TEXTOID, BYTEAARRAYOID, BYTEAARRAYOID}
};

static WastorePlan insert_index_plan = {
	"INSERT INTO wastore.sync_index (incarnation, collection, index_mac, value_mac) "
	"SELECT $1, $2, u.i, u.v FROM ROWS FROM (pg_catalog.unnest($3::pg_catalog.bytea[]), pg_catalog.unnest($4::pg_catalog.bytea[])) AS u(i, v)",
	4, {INT8OID, TEXTOID, BYTEAARRAYOID, BYTEAARRAYOID}
};

static WastorePlan delete_some_index_plan = {
	"DELETE FROM wastore.sync_index "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2 "
	"AND index_mac OPERATOR(pg_catalog.=) ANY ($3)",
	3, {INT8OID, TEXTOID, BYTEAARRAYOID}
};

static WastorePlan delete_index_plan = {
	"DELETE FROM wastore.sync_index "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND collection OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan clear_versions_plan = {
	"DELETE FROM wastore.sync_versions WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

static WastorePlan clear_index_plan = {
	"DELETE FROM wastore.sync_index WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

int64
appstate_lock_version(const StoreRef *ref, text *collection, LtHash *hash)
{
	Datum		values[2] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};
	bool		isnull;

	if (wastore_plan_execute(&lock_version_plan, values, NULL, false, SPI_OK_SELECT) == 0)
	{
		/* a concurrent creator wins the race; the second look waits for it */
		wastore_plan_execute(&create_version_plan, values, NULL, false, SPI_OK_INSERT);
		CommandCounterIncrement();
		if (wastore_plan_execute(&lock_version_plan, values, NULL, false, SPI_OK_SELECT) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("app-state collection \"%s\" was created by a concurrent transaction",
							text_to_cstring(collection))));
	}
	memcpy(hash->bytes,
		   DatumGetLtHashP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
		   LTHASH_BYTES);
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

bool
appstate_read_version(const StoreRef *ref, text *collection, int64 *version, LtHash *hash)
{
	Datum		values[2] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};
	bool		isnull;

	if (wastore_plan_execute(&read_version_plan, values, NULL, true, SPI_OK_SELECT) == 0)
		return false;
	*version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	memcpy(hash->bytes,
		   DatumGetLtHashP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
		   LTHASH_BYTES);
	return true;
}

void
appstate_update_version(const StoreRef *ref, text *collection, int64 version, const LtHash *hash)
{
	Datum		values[4] = {
		StoreRefGetDatum(ref), PointerGetDatum(collection), Int64GetDatum(version),
		PointerGetDatum(lthash_make_bytea(hash->bytes, LTHASH_BYTES))
	};

	wastore_plan_execute(&update_version_plan, values, NULL, false, SPI_OK_UPDATE);
}

void
appstate_delete_collection(const StoreRef *ref, text *collection)
{
	Datum		values[2] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};

	/* the version row first: writers of the collection lock it first */
	wastore_plan_execute(&delete_version_plan, values, NULL, false, SPI_OK_DELETE);
	wastore_plan_execute(&delete_index_plan, values, NULL, false, SPI_OK_DELETE);
}

uint64
appstate_list_collections(const StoreRef *ref)
{
	Datum		values[1] = {StoreRefGetDatum(ref)};

	return wastore_plan_execute(&list_versions_plan, values, NULL, true, SPI_OK_SELECT);
}

uint64
appstate_read_index(const StoreRef *ref, text *collection)
{
	Datum		values[2] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};

	return wastore_plan_execute(&read_index_plan, values, NULL, true, SPI_OK_SELECT);
}

/* read-write: the rows are read under the version row's lock, for a write */
uint64
appstate_read_some_index(const StoreRef *ref, text *collection,
						 const uint8 *const *index, int n)
{
	Datum		values[3] = {
		StoreRefGetDatum(ref), PointerGetDatum(collection),
		PointerGetDatum(lthash_make_bytea_array(index, n, LTHASH_MAC_BYTES))
	};

	return wastore_plan_execute(&read_some_index_plan, values, NULL, false, SPI_OK_SELECT);
}

void
appstate_replace_index(const StoreRef *ref, text *collection,
					   const uint8 *const *index, const uint8 *const *value, int n)
{
	Datum		values[4] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};

	wastore_plan_execute(&delete_index_plan, values, NULL, false, SPI_OK_DELETE);
	if (n == 0)
		return;
	values[2] = PointerGetDatum(lthash_make_bytea_array(index, n, LTHASH_MAC_BYTES));
	values[3] = PointerGetDatum(lthash_make_bytea_array(value, n, LTHASH_MAC_BYTES));
	wastore_plan_execute(&insert_index_plan, values, NULL, false, SPI_OK_INSERT);
}

void
appstate_upsert_index(const StoreRef *ref, text *collection,
					  const uint8 *const *index, const uint8 *const *value, int n)
{
	Datum		values[4] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};

	if (n == 0)
		return;
	values[2] = PointerGetDatum(lthash_make_bytea_array(index, n, LTHASH_MAC_BYTES));
	values[3] = PointerGetDatum(lthash_make_bytea_array(value, n, LTHASH_MAC_BYTES));
	wastore_plan_execute(&upsert_index_plan, values, NULL, false, SPI_OK_INSERT);
}

void
appstate_delete_some_index(const StoreRef *ref, text *collection,
						   const uint8 *const *index, int n)
{
	Datum		values[3] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};

	if (n == 0)
		return;
	values[2] = PointerGetDatum(lthash_make_bytea_array(index, n, LTHASH_MAC_BYTES));
	wastore_plan_execute(&delete_some_index_plan, values, NULL, false, SPI_OK_DELETE);
}

void
appstate_clear(const StoreRef *ref)
{
	Datum		values[1] = {StoreRefGetDatum(ref)};

	wastore_plan_execute(&clear_versions_plan, values, NULL, false, SPI_OK_DELETE);
	wastore_plan_execute(&clear_index_plan, values, NULL, false, SPI_OK_DELETE);
}
