/*-------------------------------------------------------------------------
 *
 * args.h
 *	  Argument checks and the JSON helpers they share: one helper, and one
 *	  wording of its error, per idea.
 *
 * wastore's functions are not STRICT: a NULL where a value is required is a
 * mistake worth an error (22004), not a silent NULL result.  Every other bad
 * argument is 22023 (invalid_parameter_value) with a message that names the
 * argument and a detail that says what it is.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_ARGS_H
#define WASTORE_ARGS_H

#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

/* The argument, or 22004 naming it when it is NULL. */
extern Datum wastore_arg(FunctionCallInfo fcinfo, int argno, const char *name);
extern text *wastore_text_arg(FunctionCallInfo fcinfo, int argno, const char *name);

/* A store id: not NULL, not empty, at most WASTORE_MAX_STORE_ID_BYTES. */
extern text *wastore_store_arg(FunctionCallInfo fcinfo, int argno);

/*
 * An id within a store (key id, collection, thread, lock key, ...): not
 * NULL, at most WASTORE_MAX_KEY_ID_BYTES.
 */
extern text *wastore_id_arg(FunctionCallInfo fcinfo, int argno, const char *name);

/*
 * The length check of wastore_id_arg, for ids found inside other values:
 * "<name> is too long", naming the family when there is one (NULL if not).
 */
extern void wastore_check_id(const char *name, const char *family,
							 const char *id, int len);

/*
 * An app-state-sync-key id, wherever it comes from (put_app_state_sync_key,
 * get_app_state_sync_key, a set batch): within the length limit, and the
 * standard padded base64 of the key's raw id, as Baileys writes it and
 * looks it up.  name is what wastore_check_id calls it; either error names
 * the family and the id.
 */
#define WASTORE_SYNC_KEY_FAMILY "app-state-sync-key"
extern void wastore_check_sync_key_id(const char *name, const char *id, int len);

/*
 * A text[] of ids: not NULL, no NULL elements, every id within the limit.
 * Multi-dimensional arrays are taken element by element.
 */
extern ArrayType *wastore_id_array_arg(FunctionCallInfo fcinfo, int argno,
									   const char *name);

/* A wastore.family argument, as the family's name (one of wastore_families). */
extern const char *wastore_family_arg(FunctionCallInfo fcinfo, int argno);

/* The label of an enum argument, palloc'd. */
extern char *wastore_enum_label_arg(FunctionCallInfo fcinfo, int argno, const char *name);

/* The function's result of enum type with that label. */
extern Datum wastore_enum_result(FunctionCallInfo fcinfo, const char *label);

/* A jsonb argument that must be a JSON object. */
extern Jsonb *wastore_object_arg(FunctionCallInfo fcinfo, int argno, const char *name);

/* The same check for a jsonb found elsewhere; name says where, hint may be NULL. */
extern void wastore_check_object(JsonbContainer *container, const char *name,
								 const char *hint);

/*
 * A value argument whose absence deletes: NULL for SQL NULL and for JSON
 * null alike, the jsonb otherwise.
 */
extern Jsonb *wastore_value_or_delete_arg(FunctionCallInfo fcinfo, int argno);

/* Whether a jsonb is the JSON null. */
extern bool wastore_jsonb_is_null(Jsonb *jb);

/* "object", "array", "string", "number", "boolean" or "null" */
extern const char *wastore_json_kind(JsonbContainer *container);

/*
 * Byte order of two texts (memcmp, then length): the order of ids in
 * results, independent of collation.  wastore_text_datum_cmp takes
 * pointers to text Datums, for qsort.
 */
extern int	wastore_text_cmp(const text *a, const text *b);
extern int	wastore_text_datum_cmp(const void *a, const void *b);

#endif							/* WASTORE_ARGS_H */
