/*-------------------------------------------------------------------------
 *
 * appstate_patch.c
 *	  Applying app-state patches and snapshots: Baileys' mutation rules run
 *	  on the stored rows, checked against the snapshot MAC, in one savepoint
 *	  commit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "appstate_int.h"
#include "args.h"
#include "commit.h"
#include "lease.h"
#include "lthash.h"
#include "store.h"

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
	bool		fenced;			/* a fencing token was passed */
	int64		token;

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

/* the body of apply_app_state_patch / _snapshot; runs in the savepoint commit */
static void
apply_mutations(void *arg)
{
	AppStateWrite *w = (AppStateWrite *) arg;
	IndexGroup *groups;
	int			ngroups;
	LtHash		hash;
	LthashLanes lanes;
	int64		version;

	SPI_connect();
	store_open_fenced(w->store, &w->ref, w->fenced ? &w->token : NULL);

	version = appstate_lock_version(&w->ref, w->collection, &hash);
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
		appstate_read_some_index(&w->ref, w->collection, index, ngroups);
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

		appstate_snapshot_mac_of(hash.bytes, w->version, w->collection, w->snapshot_mac_key, mac);
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
		appstate_replace_index(&w->ref, w->collection, index, value, n);
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
		appstate_upsert_index(&w->ref, w->collection, set_index, set_value, nset);
		appstate_delete_some_index(&w->ref, w->collection, removed, nremoved);
	}

	appstate_update_version(&w->ref, w->collection, w->version, &hash);

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
	w->collection = wastore_id_arg(fcinfo, 1, "collection");
	w->version = appstate_version_arg(fcinfo, 2);
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
			m->op = appstate_operation_code(DatumGetTextPP(op_elems[i]), what);
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

	w->fenced = lease_token_arg(fcinfo, index_arg + 4, &w->token);
}

static Datum
apply(FunctionCallInfo fcinfo, int ops_arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	AppStateWrite w;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	read_mutation_args(fcinfo, &w, ops_arg);
	InitMaterializedSRF(fcinfo, 0);

	commit_run_or_raise(apply_mutations, &w);

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

