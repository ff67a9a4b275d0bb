/*-------------------------------------------------------------------------
 *
 * wastore.c
 *	  Module entry point: settings and the argument checks every function
 *	  shares.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "wastore.h"

PG_MODULE_MAGIC;

/*
 * Retries of a batch that failed for a transient reason (serialization
 * failure, deadlock, lock not available).  Inside one database such a
 * conflict ends when the other transaction commits or rolls back, which takes
 * milliseconds, so a few quick retries resolve nearly all of them; the client
 * libraries' defaults (seconds between tries) suit remote files, not rows.
 * Every retry keeps the caller's connection and locks busy, hence the cap.
 */
int			wastore_max_commit_retries = 3;
int			wastore_commit_retry_delay_ms = 10;

const char *const wastore_families[WASTORE_NFAMILIES] = {
	"session",
	"pre-key",
	"sender-key",
	"sender-key-memory",
	"app-state-sync-key",
	"app-state-sync-version",
	"lid-mapping",
	"device-list",
	"tctoken",
	"identity-key",
};

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("wastore.max_commit_retries",
							"How often a key batch is retried after a transient failure.",
							"Serialization failures (40001), deadlocks (40P01) and "
							"lock timeouts (55P03) roll the batch back and retry it "
							"up to this many times; 0 disables retries.",
							&wastore_max_commit_retries,
							3, 0, 100,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("wastore.commit_retry_delay_ms",
							"Pause between two attempts of a key batch.",
							NULL,
							&wastore_commit_retry_delay_ms,
							10, 0, 60000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("wastore");
}

/*
 * The argument, or 22004 naming it when it is NULL.
 */
Datum
wastore_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return PG_GETARG_DATUM(argno);
}

int
wastore_family_index(const char *name, int len)
{
	for (int i = 0; i < WASTORE_NFAMILIES; i++)
	{
		if ((int) strlen(wastore_families[i]) == len &&
			memcmp(wastore_families[i], name, len) == 0)
			return i;
	}
	return -1;
}

/*
 * A wastore.family argument, as the family's name (one of wastore_families).
 */
const char *
wastore_family_arg(FunctionCallInfo fcinfo, int argno)
{
	Oid			label_oid = DatumGetObjectId(wastore_arg(fcinfo, argno, "family"));
	HeapTuple	tup;
	int			family;

	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(label_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for enum value %u", label_oid);
	family = wastore_family_index(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel),
								  strlen(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel)));
	ReleaseSysCache(tup);
	if (family < 0)
		elog(ERROR, "enum value %u is not a wastore family", label_oid);
	return wastore_families[family];
}

text *
wastore_text_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return DatumGetTextPP(wastore_arg(fcinfo, argno, name));
}

/*
 * A store id: not NULL, not empty, not overlong.
 */
text *
wastore_store_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *store = wastore_text_arg(fcinfo, argno, "store");
	int			len = VARSIZE_ANY_EXHDR(store);

	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("store id must not be empty")));
	if (len > WASTORE_MAX_STORE_ID_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("store id is too long"),
				 errdetail("A store id has at most %d bytes; this one has %d.",
						   WASTORE_MAX_STORE_ID_BYTES, len)));
	return store;
}

void
wastore_check_key_id(const char *id, int len)
{
	if (len > WASTORE_MAX_KEY_ID_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key id is too long"),
				 errdetail("A key id has at most %d bytes; \"%.*s...\" has %d.",
						   WASTORE_MAX_KEY_ID_BYTES,
						   pg_mbcliplen(id, len, 40), id, len)));
}

/*
 * A text[] of ids: not NULL and without NULL elements, every id within the
 * length limit.  Multi-dimensional arrays are taken element by element.
 */
ArrayType *
wastore_text_array_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	ArrayType  *array = DatumGetArrayTypeP(wastore_arg(fcinfo, argno, name));
	Datum	   *elems;
	int			nelems;

	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL elements", name)));

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &nelems);
	for (int i = 0; i < nelems; i++)
	{
		text	   *id = DatumGetTextPP(elems[i]);

		wastore_check_key_id(VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
	}
	return array;
}

Oid
wastore_table_oid(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid("wastore", false));

	if (!OidIsValid(relid))
		elog(ERROR, "table wastore.%s is missing", name);
	return relid;
}
