/*-------------------------------------------------------------------------
 *
 * args.c
 *	  Argument checks and the JSON helpers they share.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "args.h"
#include "lthash_core.h"
#include "wastore.h"

Datum
wastore_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", name)));
	return PG_GETARG_DATUM(argno);
}

text *
wastore_text_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return DatumGetTextPP(wastore_arg(fcinfo, argno, name));
}

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
wastore_check_id(const char *name, const char *family, const char *id, int len)
{
	if (len <= WASTORE_MAX_KEY_ID_BYTES)
		return;
	if (family)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", name),
				 errdetail("The %s id \"%.*s...\" has %d bytes; an id has at most %d.",
						   family, pg_mbcliplen(id, len, 40), id, len,
						   WASTORE_MAX_KEY_ID_BYTES)));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s is too long", name),
			 errdetail("\"%.*s...\" has %d bytes; an id has at most %d.",
					   pg_mbcliplen(id, len, 40), id, len,
					   WASTORE_MAX_KEY_ID_BYTES)));
}

void
wastore_check_sync_key_id(const char *name, const char *id, int len)
{
	uint8	   *scratch;
	size_t		decoded;
	bool		base64;
	int			shown;

	wastore_check_id(name, WASTORE_SYNC_KEY_FAMILY, id, len);

	/* decoded, not just matched: only canonical padded base64 passes */
	scratch = palloc(len + 1);
	base64 = len > 0 && lthash_base64_decode(id, len, scratch, len, &decoded);
	pfree(scratch);
	if (base64)
		return;

	shown = pg_mbcliplen(id, len, 100);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("key id must be standard padded base64"),
			 errdetail("The %s id is \"%.*s%s\".", WASTORE_SYNC_KEY_FAMILY,
					   shown, id, shown < len ? "..." : ""),
			 errhint("App-state sync key ids are the base64 of the key's raw id, as Baileys writes them.")));
}

text *
wastore_id_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	text	   *id = wastore_text_arg(fcinfo, argno, name);

	wastore_check_id(name, NULL, VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
	return id;
}

ArrayType *
wastore_id_array_arg(FunctionCallInfo fcinfo, int argno, const char *name)
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

		wastore_check_id("key id", NULL, VARDATA_ANY(id), VARSIZE_ANY_EXHDR(id));
	}
	return array;
}

char *
wastore_enum_label_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Oid			label_oid = DatumGetObjectId(wastore_arg(fcinfo, argno, name));
	HeapTuple	tup;
	char	   *label;

	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(label_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for enum value %u", label_oid);
	label = pstrdup(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel));
	ReleaseSysCache(tup);
	return label;
}

Datum
wastore_enum_result(FunctionCallInfo fcinfo, const char *label)
{
	Oid			typoid = get_func_rettype(fcinfo->flinfo->fn_oid);

	return DirectFunctionCall2(enum_in, CStringGetDatum(label), ObjectIdGetDatum(typoid));
}

const char *
wastore_family_arg(FunctionCallInfo fcinfo, int argno)
{
	char	   *label = wastore_enum_label_arg(fcinfo, argno, "family");
	int			family = wastore_family_index(label, strlen(label));

	if (family < 0)
		elog(ERROR, "enum value \"%s\" is not a wastore family", label);
	pfree(label);
	return wastore_families[family];
}

const char *
wastore_json_kind(JsonbContainer *container)
{
	JsonbValue	v;

	if (JsonContainerIsScalar(container) && JsonbExtractScalar(container, &v))
		return JsonbTypeName(&v);
	return JsonContainerIsArray(container) ? "array" : "object";
}

void
wastore_check_object(JsonbContainer *container, const char *name, const char *hint)
{
	if (!JsonContainerIsObject(container))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", name),
				 errdetail("It is a JSON %s.", wastore_json_kind(container)),
				 hint ? errhint("%s", hint) : 0));
}

Jsonb *
wastore_object_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Jsonb	   *jb = DatumGetJsonbP(wastore_arg(fcinfo, argno, name));

	wastore_check_object(&jb->root, name, NULL);
	return jb;
}

bool
wastore_jsonb_is_null(Jsonb *jb)
{
	JsonbValue	v;

	return JB_ROOT_IS_SCALAR(jb) && JsonbExtractScalar(&jb->root, &v) &&
		v.type == jbvNull;
}

Jsonb *
wastore_value_or_delete_arg(FunctionCallInfo fcinfo, int argno)
{
	Jsonb	   *value;

	if (PG_ARGISNULL(argno))
		return NULL;
	value = PG_GETARG_JSONB_P(argno);
	return wastore_jsonb_is_null(value) ? NULL : value;
}

int
wastore_text_cmp(const text *a, const text *b)
{
	int			la = VARSIZE_ANY_EXHDR(a);
	int			lb = VARSIZE_ANY_EXHDR(b);
	int			c = memcmp(VARDATA_ANY(a), VARDATA_ANY(b), Min(la, lb));

	return c != 0 ? c : (la > lb) - (la < lb);
}

int
wastore_text_datum_cmp(const void *a, const void *b)
{
	return wastore_text_cmp(DatumGetTextPP(*(const Datum *) a),
							DatumGetTextPP(*(const Datum *) b));
}
