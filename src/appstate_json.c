/*-------------------------------------------------------------------------
 *
 * appstate_json.c
 *	  App-state sync versions as Baileys' LTHashState JSON: the projection
 *	  of the stored rows, the checked reading of a client's JSON, the
 *	  app-state-sync-version key family, and get/put_app_state_sync_version.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "appstate.h"
#include "appstate_int.h"
#include "args.h"
#include "commit.h"
#include "lease.h"
#include "lthash.h"
#include "plans.h"
#include "store.h"

/*
 * The LTHashState JSON projection
 */

static void
push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &v);
}

static void
push_string_value(JsonbParseState **state, char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = s;
	v.val.string.len = len;
	pushJsonbValue(state, WJB_VALUE, &v);
}

static char *
to_base64(const uint8 *data, size_t len)
{
	char	   *out = palloc(lthash_base64_len(len) + 1);

	lthash_base64_encode(data, len, out);
	return out;
}

/* {"type": "Buffer", "data": "<base64>"}, Baileys' BufferJSON */
static void
push_buffer(JsonbParseState **state, const uint8 *data, size_t len)
{
	char	   *b64 = to_base64(data, len);

	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	push_key(state, "data");
	push_string_value(state, b64, strlen(b64));
	push_key(state, "type");
	push_string_value(state, "Buffer", 6);
	pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

Jsonb *
appstate_version_json(const StoreRef *ref, text *collection)
{
	JsonbParseState *state = NULL;
	JsonbValue	v;
	JsonbValue *result;
	bool		isnull;
	int64		version;
	LtHash		hash;
	SPITupleTable *tuptable;

	if (!appstate_read_version(ref, collection, &version, &hash))
		return NULL;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_key(&state, "version");
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(version);
	pushJsonbValue(&state, WJB_VALUE, &v);
	push_key(&state, "hash");
	push_buffer(&state, hash.bytes, LTHASH_BYTES);
	push_key(&state, "indexValueMap");
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);

	appstate_read_index(ref, collection);
	tuptable = SPI_tuptable;
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bytea	   *im = DatumGetByteaPP(SPI_getbinval(tuptable->vals[r], tuptable->tupdesc, 1, &isnull));
		bytea	   *vm = DatumGetByteaPP(SPI_getbinval(tuptable->vals[r], tuptable->tupdesc, 2, &isnull));
		char	   *key = to_base64((const uint8 *) VARDATA_ANY(im), VARSIZE_ANY_EXHDR(im));

		push_key(&state, key);
		pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		push_key(&state, "valueMac");
		push_buffer(&state, (const uint8 *) VARDATA_ANY(vm), VARSIZE_ANY_EXHDR(vm));
		pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	}

	pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}

/*
 * A JSON number that is an integer in lo..hi, or false.
 */
static bool
json_integer(Numeric num, int64 lo, int64 hi, int64 *out)
{
	Datum		n = NumericGetDatum(num);

	if (numeric_is_nan(num) || numeric_is_inf(num))
		return false;
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, n, NumericGetDatum(int64_to_numeric(lo)))) < 0 ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, n, NumericGetDatum(int64_to_numeric(hi)))) > 0)
		return false;
	*out = DatumGetInt64(DirectFunctionCall1(numeric_int8, n));
	return !DatumGetBool(DirectFunctionCall2(numeric_ne, n, NumericGetDatum(int64_to_numeric(*out))));
}

/*
 * Reading LTHashState JSON, checked whole before anything is written.
 *
 * Two spellings are accepted, never mixed: Baileys' camelCase
 * {"version", "hash", "indexValueMap": {"<b64>": {"valueMac"}}} and
 * baileys_ex's snake_case {"version", "hash", "index_value_map": {"<b64>":
 * {"value_mac"}}} (the projection is always camelCase).  Any other member
 * is refused rather than dropped: a state whose entries were dropped would
 * keep a hash that no longer sums them, and the next patch checked against
 * the snapshot MAC would fail.  For the same reason the hash must be the
 * LTHash of the entries' value MACs.
 *
 * A Buffer may be Baileys' BufferJSON {"type": "Buffer", "data":
 * "<base64>"}, Node's own Buffer JSON {"type": "Buffer", "data": [bytes]},
 * or a plain base64 string; it must have want_len bytes.
 */
typedef enum StateSpelling
{
	SPELLING_UNKNOWN = -1,
	SPELLING_BAILEYS = 0,		/* camelCase */
	SPELLING_BAILEYS_EX = 1		/* snake_case */
} StateSpelling;

static const char *const map_member[2] = {"indexValueMap", "index_value_map"};
static const char *const mac_member[2] = {"valueMac", "value_mac"};

#define STATE_HINT "Write Baileys' LTHashState {\"version\": n, \"hash\": Buffer, \"indexValueMap\": {\"<base64 index MAC>\": {\"valueMac\": Buffer}}}, or the same in baileys_ex's snake_case (\"index_value_map\", \"value_mac\")."

static bool
key_is(const JsonbValue *key, const char *name)
{
	return key->val.string.len == (int) strlen(name) &&
		memcmp(key->val.string.val, name, key->val.string.len) == 0;
}

static void
buffer_error(const char *where, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be a Buffer", where),
			 errdetail("%s", problem),
			 errhint("Write {\"type\": \"Buffer\", \"data\": \"<base64>\"}, as Baileys' BufferJSON does, or a base64 string.")));
}

static void
read_buffer(JsonbValue *v, const char *where, uint8 *out, size_t want_len)
{
	size_t		len;

	if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbIteratorToken r;
		JsonbValue	type,
					data,
					key;

		while ((r = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
		{
			if (r == WJB_KEY && !key_is(&key, "type") && !key_is(&key, "data"))
				buffer_error(where, psprintf("It has a member \"%.*s\" besides \"type\" and \"data\".",
											 Min(key.val.string.len, 100), key.val.string.val));
		}
		if (!getKeyJsonValueFromContainer(v->val.binary.data, "type", 4, &type) ||
			type.type != jbvString || type.val.string.len != 6 ||
			memcmp(type.val.string.val, "Buffer", 6) != 0)
			buffer_error(where, "Its \"type\" is not \"Buffer\".");
		if (!getKeyJsonValueFromContainer(v->val.binary.data, "data", 4, &data))
			buffer_error(where, "It has no \"data\".");
		if (data.type == jbvBinary && JsonContainerIsArray(data.val.binary.data))
		{
			JsonbIterator *dit = JsonbIteratorInit(data.val.binary.data);
			JsonbValue	e;

			len = 0;
			while ((r = JsonbIteratorNext(&dit, &e, true)) != WJB_DONE)
			{
				int64		byte;

				if (r != WJB_ELEM)
					continue;
				if (e.type != jbvNumeric)
					buffer_error(where, "Its \"data\" array holds something other than numbers.");
				if (!json_integer(e.val.numeric, 0, 255, &byte))
					buffer_error(where, "Its \"data\" array holds a number that is not a byte.");
				if (len < want_len)
					out[len] = (uint8) byte;
				len++;
			}
			if (len != want_len)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s must be %zu bytes", where, want_len),
						 errdetail("It has %zu bytes.", len)));
			return;
		}
		if (data.type != jbvString)
			buffer_error(where, "Its \"data\" is neither a base64 string nor an array of bytes.");
		*v = data;
	}

	if (v->type != jbvString)
		buffer_error(where, "It is neither a Buffer object nor a string.");
	if (!lthash_base64_decode(v->val.string.val, v->val.string.len, out, want_len, &len) ||
		len != want_len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %zu bytes in standard padded base64", where, want_len),
				 errdetail("It is \"%.*s\".", Min(v->val.string.len, 200), v->val.string.val)));
}

/* A state read from JSON: the version, the hash and n (index, value) MACs. */
typedef struct VersionState
{
	int64		version;
	LtHash		hash;
	int			n;
	const uint8 **index;
	const uint8 **value;
} VersionState;

/* The entries of the index map, in the spelling of the map's member. */
static void
read_entries(JsonbValue *map, StateSpelling spelling, VersionState *st)
{
	const char *mname = map_member[spelling];
	JsonbIterator *it;
	JsonbIteratorToken r;
	JsonbValue	e;
	int			allocated = 64;
	uint8	   *macs = palloc(allocated * 2 * LTHASH_MAC_BYTES);
	int			n = 0;
	char	   *where = NULL;

	if (map->type != jbvBinary || !JsonContainerIsObject(map->val.binary.data))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" must be a JSON object", mname)));

	it = JsonbIteratorInit(map->val.binary.data);
	while ((r = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (r == WJB_KEY)
		{
			size_t		len;

			if (n == allocated)
			{
				allocated *= 2;
				macs = repalloc(macs, allocated * 2 * LTHASH_MAC_BYTES);
			}
			where = psprintf("\"%s\" key \"%.*s\"", mname,
							 Min(e.val.string.len, 100), e.val.string.val);
			if (!lthash_base64_decode(e.val.string.val, e.val.string.len,
									  macs + 2 * n * LTHASH_MAC_BYTES, LTHASH_MAC_BYTES, &len) ||
				len != LTHASH_MAC_BYTES)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s is not the standard padded base64 of a 32-byte index MAC", where)));
		}
		else if (r == WJB_VALUE)
		{
			JsonbIterator *eit;
			JsonbValue	member;
			JsonbValue	mac;
			bool		has_mac = false;

			if (e.type != jbvBinary || !JsonContainerIsObject(e.val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the entry of %s must be an object with a \"%s\"",
								where, mac_member[spelling])));
			eit = JsonbIteratorInit(e.val.binary.data);
			while ((r = JsonbIteratorNext(&eit, &member, true)) != WJB_DONE)
			{
				if (r == WJB_KEY && key_is(&member, mac_member[spelling]))
					has_mac = true;
				else if (r == WJB_KEY && key_is(&member, mac_member[1 - spelling]))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("an app-state sync version must not mix Baileys' and baileys_ex's spellings"),
							 errdetail("The entry of %s has \"%s\", where \"%s\" entries have \"%s\".",
									   where, mac_member[1 - spelling], mname, mac_member[spelling]),
							 errhint(STATE_HINT)));
				else if (r == WJB_KEY)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("unknown member \"%.*s\" in the entry of %s",
									Min(member.val.string.len, 100), member.val.string.val, where),
							 errdetail("An entry has exactly one member, \"%s\".", mac_member[spelling]),
							 errhint(STATE_HINT)));
			}
			if (!has_mac)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the entry of %s must be an object with a \"%s\"",
								where, mac_member[spelling])));
			getKeyJsonValueFromContainer(e.val.binary.data, mac_member[spelling],
										 strlen(mac_member[spelling]), &mac);
			read_buffer(&mac, psprintf("the %s of %s", mac_member[spelling], where),
						macs + (2 * n + 1) * LTHASH_MAC_BYTES, LTHASH_MAC_BYTES);
			n++;
		}
	}

	st->n = n;
	st->index = palloc(sizeof(const uint8 *) * Max(n, 1));
	st->value = palloc(sizeof(const uint8 *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		st->index[i] = macs + 2 * i * LTHASH_MAC_BYTES;
		st->value[i] = macs + (2 * i + 1) * LTHASH_MAC_BYTES;
	}
}

/* The hash must be the sum of the value MACs (an empty map: the zero hash). */
static void
check_sum(const VersionState *st, StateSpelling spelling)
{
	LthashLanes sum;
	uint8		bytes[LTHASH_BYTES];
	size_t	   *lens = palloc(sizeof(size_t) * Max(st->n, 1));

	for (int i = 0; i < st->n; i++)
		lens[i] = LTHASH_MAC_BYTES;
	memset(&sum, 0, sizeof(sum));
	lthash_mix(&sum, 1, st->value, lens, st->n);
	lthash_lanes_to_bytes(&sum, bytes);
	pfree(lens);

	if (memcmp(bytes, st->hash.bytes, LTHASH_BYTES) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the \"hash\" of an app-state sync version must be the LTHash of its value MACs"),
				 st->n == 0 ?
				 errdetail("It has no entries, which sum to the zero hash, but its hash is not zero.") :
				 errdetail("The %d value MACs of its \"%s\" sum to another hash.",
						   st->n, map_member[spelling == SPELLING_UNKNOWN ? SPELLING_BAILEYS : spelling]),
				 errhint("Write the whole state, as the client holds it after a patch or a snapshot: wastore never stores a hash without the entries it sums.")));
}

static void
read_version_state(Jsonb *state, VersionState *st)
{
	JsonbIterator *it;
	JsonbIteratorToken r;
	JsonbValue	key;
	JsonbValue	v;
	JsonbValue	map[2];
	bool		has_version = false,
				has_hash = false,
				has_map[2] = {false, false};
	StateSpelling spelling = SPELLING_UNKNOWN;

	if (!JsonContainerIsObject(&state->root))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an app-state sync version must be a JSON object"),
				 errhint(STATE_HINT)));

	/* the members: each known, each read once */
	it = JsonbIteratorInit(&state->root);
	while ((r = JsonbIteratorNext(&it, &key, true)) != WJB_DONE)
	{
		if (r != WJB_KEY)
			continue;
		r = JsonbIteratorNext(&it, &v, true);
		Assert(r == WJB_VALUE);
		if (key_is(&key, "version"))
		{
			has_version = true;
			if (v.type != jbvNumeric || !json_integer(v.val.numeric, 0, PG_INT64_MAX, &st->version))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("\"version\" must be a non-negative integer")));
		}
		else if (key_is(&key, "hash"))
		{
			has_hash = true;
			read_buffer(&v, "\"hash\"", st->hash.bytes, LTHASH_BYTES);
		}
		else if (key_is(&key, map_member[SPELLING_BAILEYS]) ||
				 key_is(&key, map_member[SPELLING_BAILEYS_EX]))
		{
			StateSpelling s = key_is(&key, map_member[SPELLING_BAILEYS]) ?
				SPELLING_BAILEYS : SPELLING_BAILEYS_EX;

			has_map[s] = true;
			map[s] = v;
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown member \"%.*s\" in an app-state sync version",
							Min(key.val.string.len, 100), key.val.string.val),
					 errdetail("Its members are \"version\", \"hash\" and \"indexValueMap\" (or \"index_value_map\")."),
					 errhint(STATE_HINT)));
	}

	if (!has_version)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an app-state sync version must have a \"version\"")));
	if (!has_hash)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an app-state sync version must have a \"hash\"")));
	if (has_map[SPELLING_BAILEYS] && has_map[SPELLING_BAILEYS_EX])
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an app-state sync version must not mix Baileys' and baileys_ex's spellings"),
				 errdetail("It has both \"%s\" and \"%s\".",
						   map_member[SPELLING_BAILEYS], map_member[SPELLING_BAILEYS_EX]),
				 errhint(STATE_HINT)));

	/* no map, or a null one: no entries */
	st->n = 0;
	st->index = st->value = NULL;
	if (has_map[SPELLING_BAILEYS])
		spelling = SPELLING_BAILEYS;
	else if (has_map[SPELLING_BAILEYS_EX])
		spelling = SPELLING_BAILEYS_EX;
	if (spelling != SPELLING_UNKNOWN && map[spelling].type != jbvNull)
		read_entries(&map[spelling], spelling, st);

	check_sum(st, spelling);
}

/* names the key an error of the JSON is about */
static void
version_error_context(void *arg)
{
	errcontext("app-state-sync-version \"%s\"", text_to_cstring((text *) arg));
}

void
appstate_put_version_json(const StoreRef *ref, text *collection, Jsonb *state)
{
	VersionState st;
	ErrorContextCallback context;
	LtHash		old;

	if (state == NULL)
	{
		appstate_delete_collection(ref, collection);
		return;
	}

	/* check the whole state before touching anything */
	context.callback = version_error_context;
	context.arg = collection;
	context.previous = error_context_stack;
	error_context_stack = &context;
	read_version_state(state, &st);
	error_context_stack = context.previous;

	/* replace: the version row (locked, or created), then the index */
	appstate_lock_version(ref, collection, &old);
	appstate_update_version(ref, collection, st.version, &st.hash);
	appstate_replace_index(ref, collection, st.index, st.value, st.n);
}

void
appstate_family_rows(ReturnSetInfo *rsinfo, const StoreRef *ref, ArrayType *ids)
{
	bool		with_values = rsinfo->setDesc->natts > 1;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum	   *collections;
	int			n;

	if (ids != NULL)
	{
		bool	   *id_nulls;

		deconstruct_array(ids, TEXTOID, -1, false, TYPALIGN_INT, &collections, &id_nulls, &n);
		/* in byte order, as get returns keys, and each once */
		qsort(collections, n, sizeof(Datum), wastore_text_datum_cmp);
	}
	else
	{
		SPITupleTable *tuptable;

		n = (int) appstate_list_collections(ref);
		tuptable = SPI_tuptable;
		collections = palloc(sizeof(Datum) * Max(n, 1));
		for (int i = 0; i < n; i++)
		{
			bool		isnull;

			collections[i] = SPI_getbinval(tuptable->vals[i], tuptable->tupdesc, 1, &isnull);
		}
	}

	for (int i = 0; i < n; i++)
	{
		text	   *collection = DatumGetTextPP(collections[i]);
		Jsonb	   *state;

		CHECK_FOR_INTERRUPTS();
		if (i > 0 && ids != NULL && wastore_text_datum_cmp(&collections[i - 1], &collections[i]) == 0)
			continue;

		if (ids == NULL && !with_values)
		{
			values[0] = PointerGetDatum(collection);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			continue;
		}
		state = appstate_version_json(ref, collection);
		if (state == NULL)
			continue;
		values[0] = PointerGetDatum(collection);
		values[1] = PointerGetDatum(state);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * get/put_app_state_sync_version: the family app-state-sync-version, one
 * collection at a time
 */

typedef struct VersionPut
{
	text	   *store;
	text	   *collection;
	Jsonb	   *state;			/* NULL deletes */
	bool		fenced;			/* a fencing token was passed */
	int64		token;
} VersionPut;

static void
put_version(void *arg)
{
	VersionPut *p = (VersionPut *) arg;

	StoreRef	ref;

	SPI_connect();
	if (p->state != NULL)
	{
		store_open_fenced(p->store, &ref, p->fenced ? &p->token : NULL);
		appstate_put_version_json(&ref, p->collection, p->state);
	}
	else if (store_find_fenced(p->store, &ref, p->fenced ? &p->token : NULL))
		appstate_put_version_json(&ref, p->collection, NULL);
	SPI_finish();
}

PG_FUNCTION_INFO_V1(appstate_put_version);
Datum
appstate_put_version(PG_FUNCTION_ARGS)
{
	VersionPut	p;

	p.store = wastore_store_arg(fcinfo, 0);
	p.collection = wastore_id_arg(fcinfo, 1, "collection");
	p.state = wastore_value_or_delete_arg(fcinfo, 2);
	p.fenced = lease_token_arg(fcinfo, 3, &p.token);

	commit_run_or_raise(put_version, &p);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(appstate_get_version);
Datum
appstate_get_version(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *collection = wastore_id_arg(fcinfo, 1, "collection");
	Jsonb	   *state = NULL;
	StoreRef	ref;

	if (store_find(store, &ref))
	{
		SPI_connect();
		state = wastore_jsonb_copy_out(appstate_version_json(&ref, collection));
		SPI_finish();
	}

	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(state);
}

