/*-------------------------------------------------------------------------
 *
 * appstate.c
 *	  App-state integrity: the MAC functions, and app-state sync versions
 *	  stored normalised.
 *
 * Baileys keeps one LTHashState per collection: a version, the LTHash, and
 * a map of every index MAC to its current value MAC, rewritten whole after
 * each patch.  wastore keeps the same data in two tables: sync_versions
 * (store, collection) -> version, hash; and sync_index (store, collection,
 * index_mac) -> value_mac.  A patch then reads and writes only the rows of
 * its own mutations, whatever the size of the collection, and the
 * LTHashState JSON is a projection built on demand.
 *
 * Every write locks the collection's sync_versions row first (creating it if
 * need be) and only then touches sync_index, so writers of one collection
 * queue on that row and never deadlock on index rows.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"

#include "appstate.h"
#include "commit.h"
#include "lthash.h"
#include "plans.h"
#include "store.h"
#include "wastore.h"

/*
 * A snapshot MAC that does not match: a data exception of wastore's own
 * (subclass W01 of class 22, in the implementation-defined range), so that
 * clients can tell "resync this collection" from bad arguments (22023).
 */
#define ERRCODE_WASTORE_MAC_MISMATCH MAKE_SQLSTATE('2','2','W','0','1')

/*
 * Statements
 */

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

/* app-state sync keys: rows of wastore.keys, family app-state-sync-key */
static WastorePlan get_key_plan = {
	"SELECT value FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) 'app-state-sync-key'::wastore.family "
	"AND id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan put_key_plan = {
	"INSERT INTO wastore.keys AS k (incarnation, family, id, value) "
	"VALUES ($1, 'app-state-sync-key'::wastore.family, $2, $3) "
	"ON CONFLICT (incarnation, family, id) DO UPDATE SET value = excluded.value "
	"WHERE k.value OPERATOR(pg_catalog.<>) excluded.value",
	3, {INT8OID, TEXTOID, JSONBOID}
};

static WastorePlan delete_key_plan = {
	"DELETE FROM wastore.keys "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND family OPERATOR(pg_catalog.=) 'app-state-sync-key'::wastore.family "
	"AND id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

/*
 * Small helpers
 */

static bytea *
make_bytea(const uint8 *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

static ArrayType *
make_bytea_array(const uint8 *const *data, int n, size_t len)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(make_bytea(data[i], len));
	return construct_array(elems, n, BYTEAOID, -1, false, TYPALIGN_INT);
}

static text *
collection_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *collection = wastore_text_arg(fcinfo, argno, "collection");

	wastore_check_key_id(VARDATA_ANY(collection), VARSIZE_ANY_EXHDR(collection));
	return collection;
}

static int64
version_arg(FunctionCallInfo fcinfo, int argno)
{
	int64		version = DatumGetInt64(wastore_arg(fcinfo, argno, "version"));

	if (version < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version must not be negative"),
				 errdetail("It is " INT64_FORMAT ".", version)));
	return version;
}

/* 1 (set) or 2 (remove), for the MAC's operation byte */
static int
operation_code(text *op, const char *what)
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

/*
 * The MAC functions (immutable, no state)
 */

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
		values[i] = PointerGetDatum(make_bytea(keys + 32 * i, 32));
	lthash_wipe(keys, sizeof(keys));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

static void
compute_snapshot_mac(const uint8 *hash, int64 version, text *collection,
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
	int64		version = version_arg(fcinfo, 1);
	text	   *collection = wastore_text_arg(fcinfo, 2, "collection");
	bytea	   *key = lthash_bytea_arg(fcinfo, 3, "key", LTHASH_MAC_BYTES);
	uint8		mac[LTHASH_MAC_BYTES];

	compute_snapshot_mac(hash->bytes, version, collection, key, mac);
	PG_RETURN_BYTEA_P(make_bytea(mac, sizeof(mac)));
}

PG_FUNCTION_INFO_V1(appstate_patch_mac);
Datum
appstate_patch_mac(PG_FUNCTION_ARGS)
{
	bytea	   *snapshot_mac = lthash_bytea_arg(fcinfo, 0, "snapshot_mac", LTHASH_MAC_BYTES);
	ArrayType  *value_macs = DatumGetArrayTypeP(wastore_arg(fcinfo, 1, "value_macs"));
	int64		version = version_arg(fcinfo, 2);
	text	   *collection = wastore_text_arg(fcinfo, 3, "collection");
	bytea	   *key = lthash_bytea_arg(fcinfo, 4, "key", LTHASH_MAC_BYTES);
	ByteaItems	items;
	uint8		mac[LTHASH_MAC_BYTES];

	lthash_bytea_items(value_macs, "value_macs", LTHASH_MAC_BYTES, &items);
	lthash_patch_mac((const uint8 *) VARDATA_ANY(snapshot_mac), items.data, items.n,
					 (uint64) version,
					 (const uint8 *) VARDATA_ANY(collection), VARSIZE_ANY_EXHDR(collection),
					 (const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), mac);
	PG_RETURN_BYTEA_P(make_bytea(mac, sizeof(mac)));
}

PG_FUNCTION_INFO_V1(appstate_content_mac);
Datum
appstate_content_mac(PG_FUNCTION_ARGS)
{
	int			op = operation_code(wastore_text_arg(fcinfo, 0, "operation"), "The operation");
	bytea	   *data = lthash_bytea_arg(fcinfo, 1, "data", -1);
	bytea	   *key_id = lthash_bytea_arg(fcinfo, 2, "key_id", -1);
	bytea	   *key = lthash_bytea_arg(fcinfo, 3, "key", LTHASH_MAC_BYTES);
	uint8		mac[LTHASH_MAC_BYTES];

	lthash_content_mac(op,
					   (const uint8 *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data),
					   (const uint8 *) VARDATA_ANY(key_id), VARSIZE_ANY_EXHDR(key_id),
					   (const uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), mac);
	PG_RETURN_BYTEA_P(make_bytea(mac, sizeof(mac)));
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
	PG_RETURN_BYTEA_P(make_bytea(mac, sizeof(mac)));
}

/*
 * Applying mutations
 *
 * The mutations of a patch are grouped by index MAC (sorted by index MAC,
 * then by position), and each group is run in order from the index's stored
 * value MAC, with Baileys' rules: a SET adds its value MAC and subtracts the
 * value MAC it replaces (an earlier one of the same patch, else the stored
 * one); a REMOVE subtracts the value MAC it removes and is skipped when there
 * is none.  Lane arithmetic commutes, so running the groups one after the
 * other gives the hash of running the mutations in patch order.
 */
typedef struct Mutation
{
	int			op;				/* LTHASH_OP_SET or LTHASH_OP_REMOVE */
	const uint8 *index;
	const uint8 *value;
	int			position;		/* in the patch */
} Mutation;

typedef struct IndexGroup
{
	const uint8 *index;
	int			first;			/* into the sorted mutations */
	int			count;
	const uint8 *stored;		/* the stored value MAC, or NULL */
	const uint8 *final;			/* the value MAC after the patch, or NULL */
} IndexGroup;

typedef struct AppStateWrite
{
	/* arguments */
	text	   *store;
	StoreRef	ref;			/* its incarnation, once opened */
	text	   *collection;
	int64		version;
	bool		snapshot;		/* replace the collection wholesale */
	int			nmutations;
	Mutation   *mutations;
	bytea	   *snapshot_mac;	/* NULL: not verified */
	bytea	   *snapshot_mac_key;

	/* the outcome */
	int64		new_version;
	LtHash		new_hash;
} AppStateWrite;

static int
mutation_cmp(const void *a, const void *b)
{
	const Mutation *ma = (const Mutation *) a;
	const Mutation *mb = (const Mutation *) b;
	int			c = memcmp(ma->index, mb->index, LTHASH_MAC_BYTES);

	if (c != 0)
		return c;
	return (ma->position > mb->position) - (ma->position < mb->position);
}

static int
group_cmp(const void *key, const void *elem)
{
	return memcmp(key, ((const IndexGroup *) elem)->index, LTHASH_MAC_BYTES);
}

/* sorts the mutations and returns their groups (one per index MAC) */
static IndexGroup *
group_mutations(Mutation *mutations, int n, int *ngroups)
{
	IndexGroup *groups = palloc(sizeof(IndexGroup) * Max(n, 1));
	int			g = 0;

	qsort(mutations, n, sizeof(Mutation), mutation_cmp);
	for (int i = 0; i < n; i++)
	{
		if (g > 0 && memcmp(groups[g - 1].index, mutations[i].index, LTHASH_MAC_BYTES) == 0)
		{
			groups[g - 1].count++;
			continue;
		}
		groups[g].index = mutations[i].index;
		groups[g].first = i;
		groups[g].count = 1;
		groups[g].stored = NULL;
		groups[g].final = NULL;
		g++;
	}
	*ngroups = g;
	return groups;
}

/*
 * Runs the groups' mutations from their stored values: sets each group's
 * final value MAC and mixes the hash.
 */
static void
run_mutations(const Mutation *mutations, IndexGroup *groups, int ngroups, LthashLanes *hash)
{
	int			n = 0;
	const uint8 **sub;
	const uint8 **add;
	size_t	   *lens;
	int			nsub = 0,
				nadd = 0;

	for (int g = 0; g < ngroups; g++)
		n += groups[g].count;
	sub = palloc(sizeof(const uint8 *) * Max(n, 1));
	add = palloc(sizeof(const uint8 *) * Max(n, 1));
	lens = palloc(sizeof(size_t) * Max(n, 1));
	for (int i = 0; i < n; i++)
		lens[i] = LTHASH_MAC_BYTES;

	for (int g = 0; g < ngroups; g++)
	{
		const uint8 *current = groups[g].stored;

		for (int i = groups[g].first; i < groups[g].first + groups[g].count; i++)
		{
			const Mutation *m = &mutations[i];

			if (m->op == LTHASH_OP_SET)
			{
				add[nadd++] = m->value;
				if (current)
					sub[nsub++] = current;
				current = m->value;
			}
			else if (current)
			{
				sub[nsub++] = current;
				current = NULL;
			}
			/* else: a REMOVE of nothing, skipped */
		}
		groups[g].final = current;
	}

	lthash_mix(hash, -1, sub, lens, nsub);
	lthash_mix(hash, 1, add, lens, nadd);
}

/*
 * Locks the collection's version row, creating it (version 0, zero hash)
 * when there is none yet.  Returns the version and hash.
 */
static int64
lock_version(const StoreRef *ref, text *collection, LtHash *hash)
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

static void
update_version(const StoreRef *ref, text *collection, int64 version, const LtHash *hash)
{
	Datum		values[4] = {
		StoreRefGetDatum(ref), PointerGetDatum(collection), Int64GetDatum(version),
		PointerGetDatum(make_bytea(hash->bytes, LTHASH_BYTES))
	};

	wastore_plan_execute(&update_version_plan, values, NULL, false, SPI_OK_UPDATE);
}

/* inserts (index, value) pairs into an emptied collection */
static void
insert_index(const StoreRef *ref, text *collection, const uint8 *const *index,
			 const uint8 *const *value, int n)
{
	Datum		values[4];

	if (n == 0)
		return;
	values[0] = StoreRefGetDatum(ref);
	values[1] = PointerGetDatum(collection);
	values[2] = PointerGetDatum(make_bytea_array(index, n, LTHASH_MAC_BYTES));
	values[3] = PointerGetDatum(make_bytea_array(value, n, LTHASH_MAC_BYTES));
	wastore_plan_execute(&insert_index_plan, values, NULL, false, SPI_OK_INSERT);
}

/* the body of apply_app_state_patch / _snapshot; runs in the savepoint commit */
static void
apply_mutations(void *arg)
{
	AppStateWrite *w = (AppStateWrite *) arg;
	Datum		values[4] = {(Datum) 0, PointerGetDatum(w->collection)};
	IndexGroup *groups;
	int			ngroups;
	LtHash		hash;
	LthashLanes lanes;
	int64		version;

	SPI_connect();
	store_open(w->store, &w->ref);
	values[0] = StoreRefGetDatum(&w->ref);

	version = lock_version(&w->ref, w->collection, &hash);
	if (!w->snapshot && w->version <= version)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("version " INT64_FORMAT " does not advance app-state collection \"%s\"",
						w->version, text_to_cstring(w->collection)),
				 errdetail("The collection is at version " INT64_FORMAT "; a patch must carry a later one.",
						   version)));

	/* the mutations are sorted once; a retry finds them sorted */
	groups = group_mutations(w->mutations, w->nmutations, &ngroups);

	if (w->snapshot)
		memset(&lanes, 0, sizeof(lanes));
	else
	{
		const uint8 **index = palloc(sizeof(const uint8 *) * Max(ngroups, 1));

		lthash_lanes_from_bytes(&lanes, hash.bytes);

		/* the stored value MACs of the patch's indexes: its rows, no others */
		for (int g = 0; g < ngroups; g++)
			index[g] = groups[g].index;
		values[2] = PointerGetDatum(make_bytea_array(index, ngroups, LTHASH_MAC_BYTES));
		wastore_plan_execute(&read_some_index_plan, values, NULL, false, SPI_OK_SELECT);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			bytea	   *im = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
			bytea	   *vm = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull));
			IndexGroup *group;

			if (VARSIZE_ANY_EXHDR(im) != LTHASH_MAC_BYTES || VARSIZE_ANY_EXHDR(vm) != LTHASH_MAC_BYTES)
				elog(ERROR, "stored app-state index entry has a MAC of the wrong length");
			group = bsearch(VARDATA_ANY(im), groups, ngroups, sizeof(IndexGroup), group_cmp);
			if (group == NULL)
				elog(ERROR, "stored app-state index entry that was not asked for");
			group->stored = (const uint8 *) VARDATA_ANY(vm);
		}
	}

	run_mutations(w->mutations, groups, ngroups, &lanes);
	lthash_lanes_to_bytes(&lanes, hash.bytes);

	if (w->snapshot_mac)
	{
		uint8		mac[LTHASH_MAC_BYTES];

		compute_snapshot_mac(hash.bytes, w->version, w->collection, w->snapshot_mac_key, mac);
		if (!lthash_equal_secret(mac, (const uint8 *) VARDATA_ANY(w->snapshot_mac), LTHASH_MAC_BYTES))
			ereport(ERROR,
					(errcode(ERRCODE_WASTORE_MAC_MISMATCH),
					 errmsg("snapshot MAC mismatch for app-state collection \"%s\" at version " INT64_FORMAT,
							text_to_cstring(w->collection), w->version),
					 errdetail("The LTHash after the %s does not match the snapshot MAC; nothing was changed.",
							   w->snapshot ? "snapshot" : "patch"),
					 errhint("The stored state is out of step with the server's: resync the collection from a snapshot.")));
	}

	if (w->snapshot)
	{
		const uint8 **index = palloc(sizeof(const uint8 *) * Max(ngroups, 1));
		const uint8 **value = palloc(sizeof(const uint8 *) * Max(ngroups, 1));
		int			n = 0;

		for (int g = 0; g < ngroups; g++)
		{
			if (groups[g].final == NULL)
				continue;
			index[n] = groups[g].index;
			value[n] = groups[g].final;
			n++;
		}
		wastore_plan_execute(&delete_index_plan, values, NULL, false, SPI_OK_DELETE);
		insert_index(&w->ref, w->collection, index, value, n);
	}
	else
	{
		const uint8 **set_index = palloc(sizeof(const uint8 *) * Max(ngroups, 1));
		const uint8 **set_value = palloc(sizeof(const uint8 *) * Max(ngroups, 1));
		const uint8 **removed = palloc(sizeof(const uint8 *) * Max(ngroups, 1));
		int			nset = 0,
					nremoved = 0;

		for (int g = 0; g < ngroups; g++)
		{
			const IndexGroup *group = &groups[g];

			if (group->final &&
				(!group->stored || memcmp(group->final, group->stored, LTHASH_MAC_BYTES) != 0))
			{
				set_index[nset] = group->index;
				set_value[nset] = group->final;
				nset++;
			}
			else if (!group->final && group->stored)
				removed[nremoved++] = group->index;
		}
		if (nset > 0)
		{
			values[2] = PointerGetDatum(make_bytea_array(set_index, nset, LTHASH_MAC_BYTES));
			values[3] = PointerGetDatum(make_bytea_array(set_value, nset, LTHASH_MAC_BYTES));
			wastore_plan_execute(&upsert_index_plan, values, NULL, false, SPI_OK_INSERT);
		}
		if (nremoved > 0)
		{
			values[2] = PointerGetDatum(make_bytea_array(removed, nremoved, LTHASH_MAC_BYTES));
			wastore_plan_execute(&delete_some_index_plan, values, NULL, false, SPI_OK_DELETE);
		}
	}

	update_version(&w->ref, w->collection, w->version, &hash);

	w->new_version = w->version;
	memcpy(w->new_hash.bytes, hash.bytes, LTHASH_BYTES);
	SPI_finish();
}

/*
 * Reads and checks the arguments of apply_app_state_patch (with operations)
 * or _snapshot (without: every mutation is a SET).  ops_arg is the position
 * of operations, or -1.
 */
static void
read_mutation_args(FunctionCallInfo fcinfo, AppStateWrite *w, int ops_arg)
{
	int			index_arg = ops_arg < 0 ? 3 : 4;
	ArrayType  *ops = NULL;
	ByteaItems	index,
				value;
	Datum	   *op_elems = NULL;
	bool	   *op_nulls = NULL;
	int			nops = -1;

	memset(w, 0, sizeof(AppStateWrite));
	w->store = wastore_store_arg(fcinfo, 0);
	w->collection = collection_arg(fcinfo, 1);
	w->version = version_arg(fcinfo, 2);
	w->snapshot = ops_arg < 0;

	if (ops_arg >= 0)
	{
		ops = DatumGetArrayTypeP(wastore_arg(fcinfo, ops_arg, "operations"));
		deconstruct_array(ops, TEXTOID, -1, false, TYPALIGN_INT, &op_elems, &op_nulls, &nops);
	}
	lthash_bytea_items(DatumGetArrayTypeP(wastore_arg(fcinfo, index_arg, "index_macs")),
					   "index_macs", LTHASH_MAC_BYTES, &index);
	lthash_bytea_items(DatumGetArrayTypeP(wastore_arg(fcinfo, index_arg + 1, "value_macs")),
					   "value_macs", LTHASH_MAC_BYTES, &value);

	if (ops_arg >= 0 && (nops != index.n || nops != value.n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("operations, index_macs and value_macs must have the same length"),
				 errdetail("They have %d, %d and %d elements.", nops, index.n, value.n)));
	if (ops_arg < 0 && index.n != value.n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("index_macs and value_macs must have the same length"),
				 errdetail("They have %d and %d elements.", index.n, value.n)));

	w->nmutations = index.n;
	w->mutations = palloc(sizeof(Mutation) * Max(index.n, 1));
	for (int i = 0; i < index.n; i++)
	{
		Mutation   *m = &w->mutations[i];

		if (ops_arg >= 0)
		{
			char	   *what;

			if (op_nulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("operations must not contain NULL elements"),
						 errdetail("Element %d is NULL.", i + 1)));
			what = psprintf("Element %d", i + 1);
			m->op = operation_code(DatumGetTextPP(op_elems[i]), what);
		}
		else
			m->op = LTHASH_OP_SET;
		m->index = index.data[i];
		m->value = value.data[i];
		m->position = i;
	}

	/* the snapshot MAC and its key come together */
	if (!PG_ARGISNULL(index_arg + 2) || !PG_ARGISNULL(index_arg + 3))
	{
		if (PG_ARGISNULL(index_arg + 3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("snapshot_mac_key must not be NULL when snapshot_mac is given")));
		if (PG_ARGISNULL(index_arg + 2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("snapshot_mac must not be NULL when snapshot_mac_key is given")));
		w->snapshot_mac = lthash_bytea_arg(fcinfo, index_arg + 2, "snapshot_mac", LTHASH_MAC_BYTES);
		w->snapshot_mac_key = lthash_bytea_arg(fcinfo, index_arg + 3, "snapshot_mac_key", LTHASH_MAC_BYTES);
	}
}

static Datum
apply(FunctionCallInfo fcinfo, int ops_arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AppStateWrite w;
	CommitOutcome outcome;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	read_mutation_args(fcinfo, &w, ops_arg);
	InitMaterializedSRF(fcinfo, 0);

	commit_run(apply_mutations, &w, &outcome);
	if (!outcome.ok)
		ReThrowError(outcome.error);

	values[0] = Int64GetDatum(w.new_version);
	values[1] = PointerGetDatum(&w.new_hash);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(appstate_apply_patch);
Datum
appstate_apply_patch(PG_FUNCTION_ARGS)
{
	return apply(fcinfo, 3);
}

PG_FUNCTION_INFO_V1(appstate_apply_snapshot);
Datum
appstate_apply_snapshot(PG_FUNCTION_ARGS)
{
	return apply(fcinfo, -1);
}

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
	Datum		values[2] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};
	JsonbParseState *state = NULL;
	JsonbValue	v;
	JsonbValue *result;
	bool		isnull;
	int64		version;
	LtHash		hash;
	SPITupleTable *tuptable;

	if (wastore_plan_execute(&read_version_plan, values, NULL, true, SPI_OK_SELECT) == 0)
		return NULL;
	version = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	memcpy(hash.bytes,
		   DatumGetLtHashP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull))->bytes,
		   LTHASH_BYTES);

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_key(&state, "version");
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(version);
	pushJsonbValue(&state, WJB_VALUE, &v);
	push_key(&state, "hash");
	push_buffer(&state, hash.bytes, LTHASH_BYTES);
	push_key(&state, "indexValueMap");
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);

	wastore_plan_execute(&read_index_plan, values, NULL, true, SPI_OK_SELECT);
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
 * Reading LTHashState JSON.  A Buffer may be Baileys' BufferJSON
 * {"type": "Buffer", "data": "<base64>"}, Node's own Buffer JSON
 * {"type": "Buffer", "data": [bytes]}, or a plain base64 string; it must
 * have want_len bytes.
 */
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
		JsonbValue	type,
					data;

		if (!getKeyJsonValueFromContainer(v->val.binary.data, "type", 4, &type) ||
			type.type != jbvString || type.val.string.len != 6 ||
			memcmp(type.val.string.val, "Buffer", 6) != 0)
			buffer_error(where, "Its \"type\" is not \"Buffer\".");
		if (!getKeyJsonValueFromContainer(v->val.binary.data, "data", 4, &data))
			buffer_error(where, "It has no \"data\".");
		if (data.type == jbvBinary && JsonContainerIsArray(data.val.binary.data))
		{
			JsonbIterator *it = JsonbIteratorInit(data.val.binary.data);
			JsonbValue	e;
			JsonbIteratorToken r;

			len = 0;
			while ((r = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
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

void
appstate_put_version_json(const StoreRef *ref, text *collection, Jsonb *state)
{
	Datum		values[4] = {StoreRefGetDatum(ref), PointerGetDatum(collection)};
	JsonbValue	v;
	int64		version;
	LtHash		hash;
	int			allocated = 64;
	int			n = 0;
	uint8	   *macs;
	const uint8 **index;
	const uint8 **value;

	if (state == NULL)
	{
		/* the version row first: writers of the collection lock it first */
		wastore_plan_execute(&delete_version_plan, values, NULL, false, SPI_OK_DELETE);
		wastore_plan_execute(&delete_index_plan, values, NULL, false, SPI_OK_DELETE);
		return;
	}

	/* check the whole state before touching anything */
	if (!JsonContainerIsObject(&state->root))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an app-state sync version must be a JSON object"),
				 errhint("Write Baileys' LTHashState: {\"version\": n, \"hash\": Buffer, \"indexValueMap\": {...}}.")));

	if (!getKeyJsonValueFromContainer(&state->root, "version", 7, &v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an app-state sync version must have a \"version\"")));
	if (v.type != jbvNumeric || !json_integer(v.val.numeric, 0, PG_INT64_MAX, &version))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"version\" must be a non-negative integer")));

	if (!getKeyJsonValueFromContainer(&state->root, "hash", 4, &v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an app-state sync version must have a \"hash\"")));
	read_buffer(&v, "\"hash\"", hash.bytes, LTHASH_BYTES);

	macs = palloc(allocated * 2 * LTHASH_MAC_BYTES);
	if (getKeyJsonValueFromContainer(&state->root, "indexValueMap", 13, &v) &&
		v.type != jbvNull)
	{
		JsonbIterator *it;
		JsonbIteratorToken r;
		JsonbValue	e;
		char	   *where = NULL;

		if (v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"indexValueMap\" must be a JSON object")));
		it = JsonbIteratorInit(v.val.binary.data);
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
				where = psprintf("\"indexValueMap\" key \"%.*s\"",
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
				JsonbValue	mac;

				if (e.type != jbvBinary || !JsonContainerIsObject(e.val.binary.data) ||
					!getKeyJsonValueFromContainer(e.val.binary.data, "valueMac", 8, &mac))
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("the entry of %s must be an object with a \"valueMac\"", where)));
				read_buffer(&mac, psprintf("the valueMac of %s", where),
							macs + (2 * n + 1) * LTHASH_MAC_BYTES, LTHASH_MAC_BYTES);
				n++;
			}
		}
	}

	index = palloc(sizeof(const uint8 *) * Max(n, 1));
	value = palloc(sizeof(const uint8 *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		index[i] = macs + 2 * i * LTHASH_MAC_BYTES;
		value[i] = macs + (2 * i + 1) * LTHASH_MAC_BYTES;
	}

	/* replace: the version row (locked, or created), then the index */
	{
		LtHash		old;

		lock_version(ref, collection, &old);
	}
	update_version(ref, collection, version, &hash);
	wastore_plan_execute(&delete_index_plan, values, NULL, false, SPI_OK_DELETE);
	insert_index(ref, collection, index, value, n);
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
	}
	else
	{
		Datum		args[1] = {StoreRefGetDatum(ref)};
		SPITupleTable *tuptable;

		n = (int) wastore_plan_execute(&list_versions_plan, args, NULL, true, SPI_OK_SELECT);
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
		bool		seen = false;

		/* an id asked for twice comes once */
		for (int j = 0; j < i && ids != NULL && !seen; j++)
		{
			text	   *other = DatumGetTextPP(collections[j]);

			seen = VARSIZE_ANY_EXHDR(other) == VARSIZE_ANY_EXHDR(collection) &&
				memcmp(VARDATA_ANY(other), VARDATA_ANY(collection), VARSIZE_ANY_EXHDR(collection)) == 0;
		}
		if (seen)
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

void
appstate_clear(const StoreRef *ref)
{
	Datum		values[1] = {StoreRefGetDatum(ref)};

	wastore_plan_execute(&clear_versions_plan, values, NULL, false, SPI_OK_DELETE);
	wastore_plan_execute(&clear_index_plan, values, NULL, false, SPI_OK_DELETE);
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
} VersionPut;

static void
put_version(void *arg)
{
	VersionPut *p = (VersionPut *) arg;

	StoreRef	ref;

	SPI_connect();
	if (p->state != NULL)
	{
		store_open(p->store, &ref);
		appstate_put_version_json(&ref, p->collection, p->state);
	}
	else if (store_find(p->store, &ref))
		appstate_put_version_json(&ref, p->collection, NULL);
	SPI_finish();
}

PG_FUNCTION_INFO_V1(appstate_put_version);
Datum
appstate_put_version(PG_FUNCTION_ARGS)
{
	VersionPut	p;
	CommitOutcome outcome;

	p.store = wastore_store_arg(fcinfo, 0);
	p.collection = collection_arg(fcinfo, 1);
	p.state = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	if (p.state && JB_ROOT_IS_SCALAR(p.state))
	{
		JsonbValue	v;

		if (JsonbExtractScalar(&p.state->root, &v) && v.type == jbvNull)
			p.state = NULL;		/* JSON null deletes too */
	}

	commit_run(put_version, &p, &outcome);
	if (!outcome.ok)
		ReThrowError(outcome.error);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(appstate_get_version);
Datum
appstate_get_version(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *collection = collection_arg(fcinfo, 1);
	Jsonb	   *state = NULL;
	StoreRef	ref;

	if (store_find(store, &ref))
	{
		Jsonb	   *found;

		SPI_connect();
		found = appstate_version_json(&ref, collection);
		if (found)
		{
			state = SPI_palloc(VARSIZE(found));
			memcpy(state, found, VARSIZE(found));
		}
		SPI_finish();
	}

	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(state);
}

/*
 * App-state sync keys: rows of the app-state-sync-key family
 */

static text *
sync_key_id_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *key_id = wastore_text_arg(fcinfo, argno, "key_id");
	size_t		len = VARSIZE_ANY_EXHDR(key_id);
	uint8	   *scratch = palloc(len + 1);
	size_t		outlen;

	wastore_check_key_id(VARDATA_ANY(key_id), len);
	if (len == 0 || !lthash_base64_decode(VARDATA_ANY(key_id), len, scratch, len, &outlen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key id must be standard padded base64"),
				 errdetail("It is \"%s\".", text_to_cstring(key_id)),
				 errhint("App-state sync key ids are the base64 of the key's raw id, as Baileys writes them.")));
	pfree(scratch);
	return key_id;
}

PG_FUNCTION_INFO_V1(appstate_put_sync_key);
Datum
appstate_put_sync_key(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key_id = sync_key_id_arg(fcinfo, 1);
	Jsonb	   *value = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	StoreRef	ref;
	Datum		values[3] = {(Datum) 0, PointerGetDatum(key_id), PointerGetDatum(value)};

	if (value && JB_ROOT_IS_SCALAR(value))
	{
		JsonbValue	v;

		if (JsonbExtractScalar(&value->root, &v) && v.type == jbvNull)
			value = NULL;		/* JSON null deletes too */
	}

	SPI_connect();
	if (value)
	{
		store_open(store, &ref);
		values[0] = StoreRefGetDatum(&ref);
		wastore_plan_execute(&put_key_plan, values, NULL, false, SPI_OK_INSERT);
	}
	else if (store_find(store, &ref))
	{
		values[0] = StoreRefGetDatum(&ref);
		wastore_plan_execute(&delete_key_plan, values, NULL, false, SPI_OK_DELETE);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(appstate_get_sync_key);
Datum
appstate_get_sync_key(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *key_id = sync_key_id_arg(fcinfo, 1);
	StoreRef	ref;
	Jsonb	   *value = NULL;

	if (store_find(store, &ref))
	{
		Datum		values[2] = {StoreRefGetDatum(&ref), PointerGetDatum(key_id)};

		SPI_connect();
		if (wastore_plan_execute(&get_key_plan, values, NULL, true, SPI_OK_SELECT) > 0)
		{
			bool		isnull;

			value = DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			value = (Jsonb *) SPI_datumTransfer(PointerGetDatum(value), false, -1);
		}
		SPI_finish();
	}

	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("app state sync key \"%s\" not found", text_to_cstring(key_id)),
				 errdetail("Store \"%s\" has no app-state-sync-key with that id.", text_to_cstring(store))));
	PG_RETURN_JSONB_P(value);
}
