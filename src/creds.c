/*-------------------------------------------------------------------------
 *
 * creds.c
 *	  The auth state, its creds projection, shallow and deep merge, and the
 *	  connection store (baileys_ex Connection.Store).
 *
 * A store's auth state is one JSON object in wastore.auth_states.  Its creds
 * projection is the auth state's "creds" member when that member is an
 * object (the nested layout {"creds": {...}, ...}), else the auth state
 * itself (the flat layout, Baileys' creds.json).  Nothing stores the
 * projection separately, so it can never disagree with the auth state.
 *
 * merge_creds is one read-modify-write of that row: it locks the row (SELECT
 * ... FOR UPDATE), merges into the version it locked, and writes the result
 * back.  Two merges of the same store therefore run one after the other, and
 * the second merges into what the first wrote: under READ COMMITTED the
 * locking read returns the newest committed version, under REPEATABLE READ
 * and SERIALIZABLE a concurrent change is a serialization failure (40001)
 * instead of a lost update.
 *
 * The connection store is a map of runtime values per store
 * (wastore.conn_values).  Its keys "auth_state" and "creds" are read-only
 * views of the auth state: creds are only ever written by a merge, never
 * replaced wholesale by a generic put (a client that failed to read its
 * creds and minted fresh ones must not be able to overwrite the real ones
 * by accident).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "args.h"
#include "creds.h"
#include "lease.h"
#include "plans.h"
#include "store.h"
#include "wastore.h"

static WastorePlan lock_auth_state_plan = {
	"SELECT auth_state FROM wastore.auth_states "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 FOR UPDATE",
	1, {INT8OID}
};

static WastorePlan insert_auth_state_plan = {
	"INSERT INTO wastore.auth_states (incarnation, auth_state) VALUES ($1, $2) "
	"ON CONFLICT (incarnation) DO NOTHING",
	2, {INT8OID, JSONBOID}
};

static WastorePlan update_auth_state_plan = {
	"UPDATE wastore.auth_states SET auth_state = $2 "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1",
	2, {INT8OID, JSONBOID}
};

static WastorePlan read_auth_state_plan = {
	"SELECT auth_state FROM wastore.auth_states "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

/* as in keys.c: an unchanged value is not rewritten */
static WastorePlan conn_upsert_plan = {
	"INSERT INTO wastore.conn_values AS c (incarnation, key, value) "
	"VALUES ($1, $2, $3) "
	"ON CONFLICT (incarnation, key) DO UPDATE SET value = excluded.value "
	"WHERE c.value OPERATOR(pg_catalog.<>) excluded.value",
	3, {INT8OID, TEXTOID, JSONBOID}
};

static WastorePlan conn_delete_plan = {
	"DELETE FROM wastore.conn_values "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND key OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan conn_get_plan = {
	"SELECT value FROM wastore.conn_values "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND key OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

/*
 * The whole connection store in one statement, so one snapshot: $1 the store
 * id, $2 its incarnation.  The auth state and the app-state sync keys and
 * versions are read through their own functions (the sync versions'
 * LTHashState JSON is built there), which run as the tables' owner here and
 * read with this statement's snapshot.
 */
static WastorePlan snapshot_plan = {
	"SELECT pg_catalog.jsonb_build_object("
	"'auth_state', wastore.auth_state($1), "
	"'creds', wastore.creds($1), "
	"'values', COALESCE((SELECT pg_catalog.jsonb_object_agg(c.key, c.value) "
	"FROM wastore.conn_values c WHERE c.incarnation OPERATOR(pg_catalog.=) $2), "
	"'{}'::pg_catalog.jsonb), "
	"'app_state_sync_keys', COALESCE((SELECT pg_catalog.jsonb_object_agg(k.id, k.value) "
	"FROM wastore.list($1, 'app-state-sync-key') k), '{}'::pg_catalog.jsonb), "
	"'app_state_sync_versions', COALESCE((SELECT pg_catalog.jsonb_object_agg(v.id, v.value) "
	"FROM wastore.list($1, 'app-state-sync-version') v), '{}'::pg_catalog.jsonb))",
	2, {TEXTOID, INT8OID}
};

/*
 * JSON helpers
 */

static bool
is_object_value(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

static Jsonb *
empty_object(void)
{
	JsonbParseState *state = NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	return JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
}

/*
 * Pushes base with updates merged in, as one object, and returns what the
 * closing push returns (the object, when it is the outermost one).
 *
 * Every member of updates replaces the member of base of the same name, or
 * is added.  With deep, a member that is an object on both sides is merged
 * the same way instead, recursively; anything else (null, arrays, scalars,
 * or an object meeting a non-object) replaces.  Without deep this is
 * exactly jsonb's "||" of two objects, Baileys' Object.assign.
 *
 * Members are found by binary search (jsonb keeps object keys sorted), so a
 * merge costs O((n + m) log(n + m)) for objects of n and m members.
 */
static JsonbValue *
push_merged_object(JsonbParseState **state, JsonbContainer *base,
				   JsonbContainer *updates, bool deep)
{
	JsonbIterator *it;
	JsonbIteratorToken r;
	JsonbValue	key,
				value,
				other;

	check_stack_depth();
	Assert(JsonContainerIsObject(base) && JsonContainerIsObject(updates));

	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);

	/* the members of base: kept, replaced or merged */
	it = JsonbIteratorInit(base);
	while ((r = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (r != WJB_KEY)
			continue;
		r = JsonbIteratorNext(&it, &value, true);
		Assert(r == WJB_VALUE);

		pushJsonbValue(state, WJB_KEY, &key);
		if (getKeyJsonValueFromContainer(updates, key.val.string.val,
										 key.val.string.len, &other) == NULL)
			pushJsonbValue(state, WJB_VALUE, &value);
		else if (deep && is_object_value(&value) && is_object_value(&other))
			(void) push_merged_object(state, value.val.binary.data,
									  other.val.binary.data, true);
		else
			pushJsonbValue(state, WJB_VALUE, &other);
	}

	/* the members only updates has: added */
	it = JsonbIteratorInit(updates);
	while ((r = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (r != WJB_KEY)
			continue;
		r = JsonbIteratorNext(&it, &value, true);
		Assert(r == WJB_VALUE);

		if (getKeyJsonValueFromContainer(base, key.val.string.val,
										 key.val.string.len, &other) == NULL)
		{
			pushJsonbValue(state, WJB_KEY, &key);
			pushJsonbValue(state, WJB_VALUE, &value);
		}
	}

	return pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

static Jsonb *
merge_objects(JsonbContainer *base, JsonbContainer *updates, bool deep)
{
	JsonbParseState *state = NULL;

	return JsonbValueToJsonb(push_merged_object(&state, base, updates, deep));
}

/*
 * The creds projection
 */

/* Whether the auth state has the nested layout; if so, *creds is its creds. */
static bool
nested_creds(Jsonb *auth_state, JsonbValue *creds)
{
	return JsonContainerIsObject(&auth_state->root) &&
		getKeyJsonValueFromContainer(&auth_state->root, "creds", 5, creds) != NULL &&
		is_object_value(creds);
}

static Jsonb *
creds_projection(Jsonb *auth_state)
{
	JsonbValue	creds;

	if (nested_creds(auth_state, &creds))
		return JsonbValueToJsonb(&creds);
	return auth_state;
}

/*
 * The auth state after merging updates into its creds projection: into the
 * "creds" member in the nested layout (every other member stays as it is),
 * into the auth state itself in the flat layout.
 */
static Jsonb *
merged_auth_state(Jsonb *current, Jsonb *updates, bool deep)
{
	JsonbValue	creds;
	JsonbValue	key,
				value;
	JsonbParseState *state = NULL;
	Jsonb	   *new_creds;
	Jsonb	   *replacement;

	if (!nested_creds(current, &creds))
		return merge_objects(&current->root, &updates->root, deep);

	new_creds = merge_objects(creds.val.binary.data, &updates->root, deep);

	/* {"creds": new_creds}, then replace that one member of the auth state */
	key.type = jbvString;
	key.val.string.val = "creds";
	key.val.string.len = 5;
	value.type = jbvBinary;
	value.val.binary.data = &new_creds->root;
	value.val.binary.len = VARSIZE(new_creds) - VARHDRSZ;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	pushJsonbValue(&state, WJB_KEY, &key);
	pushJsonbValue(&state, WJB_VALUE, &value);
	replacement = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));

	return merge_objects(&current->root, &replacement->root, false);
}

void
creds_check_updates(Jsonb *updates, const char *name)
{
	wastore_check_object(&updates->root, name,
						 "Pass the creds fields to merge, as {\"<field>\": value}.");
}

Jsonb *
creds_merge(const StoreRef *ref, Jsonb *updates, bool deep)
{
	Datum		values[2] = {StoreRefGetDatum(ref), (Datum) 0};

	Assert(JsonContainerIsObject(&updates->root));

	for (;;)
	{
		Jsonb	   *merged;

		if (wastore_plan_execute(&lock_auth_state_plan, values, NULL, false,
								 SPI_OK_SELECT) > 0)
		{
			bool		isnull;
			Jsonb	   *current;

			current = DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1,
												   &isnull));
			Assert(!isnull);
			merged = merged_auth_state(current, updates, deep);

			/* the row is locked either way; an unchanged one is not rewritten */
			if (compareJsonbContainers(&current->root, &merged->root) != 0)
			{
				values[1] = JsonbPGetDatum(merged);
				wastore_plan_execute(&update_auth_state_plan, values, NULL, false,
									 SPI_OK_UPDATE);
			}
			return creds_projection(merged);
		}

		/* no auth state yet: it starts from {} */
		merged = merged_auth_state(empty_object(), updates, deep);
		values[1] = JsonbPGetDatum(merged);
		if (wastore_plan_execute(&insert_auth_state_plan, values, NULL, false,
								 SPI_OK_INSERT) > 0)
			return creds_projection(merged);

		/*
		 * A concurrent merge created the auth state between our read and our
		 * insert (ON CONFLICT waited for it to commit): merge into its row.
		 * Under REPEATABLE READ the insert raised 40001 instead.
		 */
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * Reading
 */

/* The store's auth state, or NULL.  The caller is connected to SPI. */
static Jsonb *
read_auth_state(const StoreRef *ref)
{
	Datum		values[1] = {StoreRefGetDatum(ref)};
	bool		isnull;

	if (wastore_plan_execute(&read_auth_state_plan, values, NULL, true,
							 SPI_OK_SELECT) == 0)
		return NULL;
	return DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
}

typedef enum AuthPart
{
	AUTH_PART_NONE,				/* an ordinary connection key */
	AUTH_PART_AUTH_STATE,
	AUTH_PART_CREDS,
} AuthPart;

/* The auth state or its creds projection, or NULL when the store has none. */
static Jsonb *
read_auth_part(const StoreRef *ref, AuthPart part)
{
	Jsonb	   *auth_state = read_auth_state(ref);

	if (auth_state == NULL || part == AUTH_PART_AUTH_STATE)
		return auth_state;
	return creds_projection(auth_state);
}

static Datum
auth_part_result(FunctionCallInfo fcinfo, AuthPart part)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;
	Jsonb	   *result = NULL;

	if (store_find(store, &ref))
	{
		SPI_connect();
		result = wastore_jsonb_copy_out(read_auth_part(&ref, part));
		SPI_finish();
	}

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(result);
}

PG_FUNCTION_INFO_V1(creds_auth_state);
Datum
creds_auth_state(PG_FUNCTION_ARGS)
{
	return auth_part_result(fcinfo, AUTH_PART_AUTH_STATE);
}

PG_FUNCTION_INFO_V1(creds_creds);
Datum
creds_creds(PG_FUNCTION_ARGS)
{
	return auth_part_result(fcinfo, AUTH_PART_CREDS);
}

/*
 * Writing
 */

PG_FUNCTION_INFO_V1(creds_merge_creds);
Datum
creds_merge_creds(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Jsonb	   *updates = DatumGetJsonbP(wastore_arg(fcinfo, 1, "updates"));
	bool		deep = DatumGetBool(wastore_arg(fcinfo, 2, "deep"));
	StoreRef	ref;
	Jsonb	   *result;
	int64		token;
	bool		fenced = lease_token_arg(fcinfo, 3, &token);

	creds_check_updates(updates, "updates");

	SPI_connect();
	store_open_fenced(store, &ref, fenced ? &token : NULL);
	result = wastore_jsonb_copy_out(creds_merge(&ref, updates, deep));
	SPI_finish();

	PG_RETURN_JSONB_P(result);
}

/*
 * The connection store
 */

/* A connection key argument, and which part of the auth state it names. */
static text *
conn_key_arg(FunctionCallInfo fcinfo, int argno, AuthPart *part)
{
	text	   *key = wastore_id_arg(fcinfo, argno, "key");
	const char *k = VARDATA_ANY(key);
	int			len = VARSIZE_ANY_EXHDR(key);

	if (len == 10 && memcmp(k, "auth_state", 10) == 0)
		*part = AUTH_PART_AUTH_STATE;
	else if (len == 5 && memcmp(k, "creds", 5) == 0)
		*part = AUTH_PART_CREDS;
	else
		*part = AUTH_PART_NONE;
	return key;
}

/* A connection key that may be written: not one of the auth state's views. */
static text *
conn_writable_key_arg(FunctionCallInfo fcinfo, int argno)
{
	AuthPart	part;
	text	   *key = conn_key_arg(fcinfo, argno, &part);

	if (part != AUTH_PART_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("connection key \"%s\" is read-only",
						part == AUTH_PART_CREDS ? "creds" : "auth_state"),
				 errdetail("It is a view of the store's auth state."),
				 errhint("Change creds with wastore.merge_creds, or with the \"creds\" member of wastore.set.")));
	return key;
}

PG_FUNCTION_INFO_V1(creds_conn_put);
Datum
creds_conn_put(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key = conn_writable_key_arg(fcinfo, 1);
	Jsonb	   *value = wastore_value_or_delete_arg(fcinfo, 2);
	int64		token;
	bool		fenced = lease_token_arg(fcinfo, 3, &token);

	store_put(store, key, value, &conn_upsert_plan, &conn_delete_plan,
			  fenced ? &token : NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(creds_conn_delete);
Datum
creds_conn_delete(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	Datum		values[2] = {(Datum) 0, PointerGetDatum(conn_writable_key_arg(fcinfo, 1))};
	int64		token;
	bool		fenced = lease_token_arg(fcinfo, 2, &token);

	store_execute(store, STORE_WRITE, &conn_delete_plan, values, NULL, SPI_OK_DELETE,
				  fenced ? &token : NULL);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(creds_conn_get);
Datum
creds_conn_get(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	AuthPart	part;
	text	   *key = conn_key_arg(fcinfo, 1, &part);
	Jsonb	   *result = NULL;
	StoreRef	ref;

	if (store_find(store, &ref))
	{
		SPI_connect();
		if (part != AUTH_PART_NONE)
			result = wastore_jsonb_copy_out(read_auth_part(&ref, part));
		else
		{
			Datum		values[2] = {StoreRefGetDatum(&ref), PointerGetDatum(key)};

			wastore_plan_execute(&conn_get_plan, values, NULL, true, SPI_OK_SELECT);
			result = wastore_result_jsonb();
		}
		SPI_finish();
	}

	if (result != NULL)
		PG_RETURN_JSONB_P(result);
	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(2));
}

PG_FUNCTION_INFO_V1(creds_conn_snapshot);
Datum
creds_conn_snapshot(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;
	Datum		values[2];
	Jsonb	   *result;

	/* a missing store gives the empty snapshot (incarnation 0 has no rows) */
	store_find(store, &ref);
	values[0] = PointerGetDatum(store);
	values[1] = StoreRefGetDatum(&ref);
	SPI_connect();
	wastore_plan_execute(&snapshot_plan, values, NULL, true, SPI_OK_SELECT);
	result = wastore_result_jsonb();
	SPI_finish();

	PG_RETURN_JSONB_P(result);
}
