/*-------------------------------------------------------------------------
 *
 * appstate_mac.c
 *	  The app-state MAC functions: immutable SQL wrappers of the MAC
 *	  formulas of the backend-free core (lthash_core_mac.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "appstate_int.h"
#include "args.h"
#include "lthash.h"

int64
appstate_version_arg(FunctionCallInfo fcinfo, int argno)
{
	int64		version = DatumGetInt64(wastore_arg(fcinfo, argno, "version"));

	if (version < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must not be negative"),
				 errdetail("It is " INT64_FORMAT ".", version)));
	return version;
}

int
appstate_operation_code(text *op, const char *what)
{
	char	   *s = text_to_cstring(op);

	if (pg_strcasecmp(s, "set") == 0)
		return LTHASH_OP_SET;
	if (pg_strcasecmp(s, "remove") == 0)
		return LTHASH_OP_REMOVE;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("operation must be set or remove"),
			 errdetail("%s is \"%s\".", what, s)));
	return 0;					/* keep the compiler quiet */
}

PG_FUNCTION_INFO_V1(appstate_expand_keys);
Datum
appstate_expand_keys(PG_FUNCTION_ARGS)
{
	bytea	   *key_data = lthash_bytea_arg(fcinfo, 0, "key_data", LTHASH_MAC_BYTES);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint8		keys[LTHASH_MUTATION_KEYS_BYTES];
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};

	InitMaterializedSRF(fcinfo, 0);
	lthash_mutation_keys((const uint8 *) VARDATA_ANY(key_data), VARSIZE_ANY_EXHDR(key_data), keys);
	for (int i = 0; i < 5; i++)
		values[i] = PointerGetDatum(lthash_make_bytea(keys + 32 * i, 32));
	lthash_wipe(keys, sizeof(keys));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

void
appstate_snapshot_mac_of(const uint8 *hash, int64 version, text *collection,
					 bytea *key, uint8 out[LTHASH_MAC_BYTES])
{
	lthash_snapshot_mac(hash, (uint64) version,
						(const uint8 *) VARDATA_ANY(collection), VARSIZE_ANY_EXHDR(collection),
						(const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), out);
}

PG_FUNCTION_INFO_V1(appstate_snapshot_mac);
Datum
appstate_snapshot_mac(PG_FUNCTION_ARGS)
{
	LtHash	   *hash = DatumGetLtHashP(wastore_arg(fcinfo, 0, "hash"));
	int64		version = appstate_version_arg(fcinfo, 1);
	text	   *collection = wastore_text_arg(fcinfo, 2, "collection");
	bytea	   *key = lthash_bytea_arg(fcinfo, 3, "key", LTHASH_MAC_BYTES);
	uint8		mac[LTHASH_MAC_BYTES];

	appstate_snapshot_mac_of(hash->bytes, version, collection, key, mac);
	PG_RETURN_BYTEA_P(lthash_make_bytea(mac, sizeof(mac)));
}

PG_FUNCTION_INFO_V1(appstate_patch_mac);
Datum
appstate_patch_mac(PG_FUNCTION_ARGS)
{
	bytea	   *snapshot_mac = lthash_bytea_arg(fcinfo, 0, "snapshot_mac", LTHASH_MAC_BYTES);
	ArrayType  *value_macs = DatumGetArrayTypeP(wastore_arg(fcinfo, 1, "value_macs"));
	int64		version = appstate_version_arg(fcinfo, 2);
	text	   *collection = wastore_text_arg(fcinfo, 3, "collection");
	bytea	   *key = lthash_bytea_arg(fcinfo, 4, "key", LTHASH_MAC_BYTES);
	ByteaItems	items;
	uint8		mac[LTHASH_MAC_BYTES];

	lthash_bytea_items(value_macs, "value_macs", LTHASH_MAC_BYTES, &items);
	lthash_patch_mac((const uint8 *) VARDATA_ANY(snapshot_mac), items.data, items.n,
					 (uint64) version,
					 (const uint8 *) VARDATA_ANY(collection), VARSIZE_ANY_EXHDR(collection),
					 (const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), mac);
	PG_RETURN_BYTEA_P(lthash_make_bytea(mac, sizeof(mac)));
}

PG_FUNCTION_INFO_V1(appstate_content_mac);
Datum
appstate_content_mac(PG_FUNCTION_ARGS)
{
	int			op = appstate_operation_code(wastore_text_arg(fcinfo, 0, "operation"), "The operation");
	bytea	   *data = lthash_bytea_arg(fcinfo, 1, "data", -1);
	bytea	   *key_id = lthash_bytea_arg(fcinfo, 2, "key_id", -1);
	bytea	   *key = lthash_bytea_arg(fcinfo, 3, "key", LTHASH_MAC_BYTES);
	uint8		mac[LTHASH_MAC_BYTES];

	lthash_content_mac(op,
					   (const uint8 *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
					   (const uint8 *) VARDATA_ANY(key_id), VARSIZE_ANY_EXHDR(key_id),
					   (const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), mac);
	PG_RETURN_BYTEA_P(lthash_make_bytea(mac, sizeof(mac)));
}

PG_FUNCTION_INFO_V1(appstate_index_mac);
Datum
appstate_index_mac(PG_FUNCTION_ARGS)
{
	bytea	   *index = lthash_bytea_arg(fcinfo, 0, "index", -1);
	bytea	   *key = lthash_bytea_arg(fcinfo, 1, "key", LTHASH_MAC_BYTES);
	uint8		mac[LTHASH_MAC_BYTES];

	lthash_hmac_sha256((const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key),
					   (const uint8 *) VARDATA_ANY(index), VARSIZE_ANY_EXHDR(index), mac);
	PG_RETURN_BYTEA_P(lthash_make_bytea(mac, sizeof(mac)));
}

