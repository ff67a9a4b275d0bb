/*-------------------------------------------------------------------------
 *
 * lthash.c
 *	  The wastore.lthash type: a fixed 128-byte LTHash (64 little-endian
 *	  uint16 lanes) with text and binary I/O, bytea casts, equality with
 *	  hash support, the add/subtract functions and operators, and the
 *	  lthash_agg aggregate.
 *
 * The arithmetic and the item expansion live in lthash_core_expand.c, free of
 * server calls; this file only moves datums in and out.  Like the rest of
 * wastore, the functions are not STRICT: a NULL where a value is needed
 * raises 22004 instead of quietly making the result NULL (a dropped item
 * would give a hash the server rejects much later).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "args.h"
#include "lthash.h"

/*
 * Helpers shared with the appstate_*.c files
 */

LtHash *
lthash_from_lanes(const LthashLanes *lanes)
{
	LtHash	   *result = palloc(sizeof(LtHash));

	lthash_lanes_to_bytes(lanes, result->bytes);
	return result;
}

bytea *
lthash_bytea_arg(FunctionCallInfo fcinfo, int argno, const char *name, int want_len)
{
	bytea	   *value = DatumGetByteaPP(wastore_arg(fcinfo, argno, name));

	if (want_len >= 0 && VARSIZE_ANY_EXHDR(value) != (Size) want_len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be %d bytes", name, want_len),
				 errdetail("It has %zu bytes.", (size_t) VARSIZE_ANY_EXHDR(value))));
	return value;
}

void
lthash_bytea_items(ArrayType *array, const char *name, int want_len, ByteaItems *items)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(array, BYTEAOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);

	items->n = n;
	items->data = palloc(sizeof(const uint8 *) * Max(n, 1));
	items->len = palloc(sizeof(size_t) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		bytea	   *item;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL elements", name),
					 errdetail("Element %d is NULL.", i + 1)));
		/* array elements are never toasted, at most short-headed */
		item = (bytea *) DatumGetPointer(elems[i]);
		items->data[i] = (const uint8 *) VARDATA_ANY(item);
		items->len[i] = VARSIZE_ANY_EXHDR(item);
		if (want_len >= 0 && items->len[i] != (size_t) want_len)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("every element of %s must be %d bytes", name, want_len),
					 errdetail("Element %d has %zu bytes.", i + 1, items->len[i])));
	}
	pfree(elems);
	pfree(nulls);
}

static LtHash *
lthash_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	return DatumGetLtHashP(wastore_arg(fcinfo, argno, name));
}

/*
 * I/O
 */

PG_FUNCTION_INFO_V1(lthash_in);
Datum
lthash_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	size_t		len = strlen(text);
	LtHash	   *result = palloc(sizeof(LtHash));
	size_t		where;
	LthashParseStatus status;

	status = lthash_parse(text, len, result->bytes, &where);
	if (status == LTHASH_PARSE_BAD_LENGTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type wastore.lthash: wrong length"),
				 errdetail("The text has %zu characters. %s.", len,
						   lthash_parse_message(status))));
	if (status != LTHASH_PARSE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type wastore.lthash: %s",
						lthash_parse_message(status)),
				 errdetail("At character %zu: \"%.*s\".", where + 1,
						   pg_mblen(text + where), text + where)));
	PG_RETURN_LTHASH_P(result);
}

PG_FUNCTION_INFO_V1(lthash_out);
Datum
lthash_out(PG_FUNCTION_ARGS)
{
	LtHash	   *h = PG_GETARG_LTHASH_P(0);
	char	   *result = palloc(LTHASH_HEX_CHARS + 1);

	lthash_format_hex(h->bytes, result);
	PG_RETURN_CSTRING(result);
}

PG_FUNCTION_INFO_V1(lthash_recv);
Datum
lthash_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	LtHash	   *result;

	if (buf->len - buf->cursor != LTHASH_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external wastore.lthash value"),
				 errdetail("It has %d bytes; an LTHash has %d.",
						   buf->len - buf->cursor, LTHASH_BYTES)));
	result = palloc(sizeof(LtHash));
	pq_copymsgbytes(buf, (char *) result->bytes, LTHASH_BYTES);
	PG_RETURN_LTHASH_P(result);
}

PG_FUNCTION_INFO_V1(lthash_send);
Datum
lthash_send(PG_FUNCTION_ARGS)
{
	LtHash	   *h = PG_GETARG_LTHASH_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (const char *) h->bytes, LTHASH_BYTES);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

bytea *
lthash_make_bytea(const uint8 *data, size_t len)
{
	bytea	   *b = palloc(VARHDRSZ + len);

	SET_VARSIZE(b, VARHDRSZ + len);
	memcpy(VARDATA(b), data, len);
	return b;
}

ArrayType *
lthash_make_bytea_array(const uint8 *const *data, int n, size_t len)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = PointerGetDatum(lthash_make_bytea(data[i], len));
	return construct_array(elems, n, BYTEAOID, -1, false, TYPALIGN_INT);
}

PG_FUNCTION_INFO_V1(lthash_from_bytea);
Datum
lthash_from_bytea(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	LtHash	   *result;

	if (VARSIZE_ANY_EXHDR(b) != LTHASH_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an lthash is %d bytes", LTHASH_BYTES),
				 errdetail("The bytea has %zu bytes.", (size_t) VARSIZE_ANY_EXHDR(b))));
	result = palloc(sizeof(LtHash));
	memcpy(result->bytes, VARDATA_ANY(b), LTHASH_BYTES);
	PG_RETURN_LTHASH_P(result);
}

PG_FUNCTION_INFO_V1(lthash_to_bytea);
Datum
lthash_to_bytea(PG_FUNCTION_ARGS)
{
	LtHash	   *h = PG_GETARG_LTHASH_P(0);

	PG_RETURN_BYTEA_P(lthash_make_bytea(h->bytes, LTHASH_BYTES));
}

/*
 * Equality, order and hashing (strict: comparisons follow SQL's NULL rules)
 */

PG_FUNCTION_INFO_V1(lthash_eq);
Datum
lthash_eq(PG_FUNCTION_ARGS)
{
	LtHash	   *a = PG_GETARG_LTHASH_P(0);
	LtHash	   *b = PG_GETARG_LTHASH_P(1);

	PG_RETURN_BOOL(memcmp(a->bytes, b->bytes, LTHASH_BYTES) == 0);
}

PG_FUNCTION_INFO_V1(lthash_ne);
Datum
lthash_ne(PG_FUNCTION_ARGS)
{
	LtHash	   *a = PG_GETARG_LTHASH_P(0);
	LtHash	   *b = PG_GETARG_LTHASH_P(1);

	PG_RETURN_BOOL(memcmp(a->bytes, b->bytes, LTHASH_BYTES) != 0);
}

/*
 * Byte order: meaningless as arithmetic, but it lets btree indexes, unique
 * constraints, ORDER BY, DISTINCT and merge joins take LTHashes.
 */
static inline int
lthash_compare(FunctionCallInfo fcinfo)
{
	return memcmp(PG_GETARG_LTHASH_P(0)->bytes, PG_GETARG_LTHASH_P(1)->bytes, LTHASH_BYTES);
}

PG_FUNCTION_INFO_V1(lthash_cmp);
Datum
lthash_cmp(PG_FUNCTION_ARGS)
{
	int			c = lthash_compare(fcinfo);

	PG_RETURN_INT32((c > 0) - (c < 0));
}

PG_FUNCTION_INFO_V1(lthash_lt);
Datum
lthash_lt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lthash_compare(fcinfo) < 0);
}

PG_FUNCTION_INFO_V1(lthash_le);
Datum
lthash_le(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lthash_compare(fcinfo) <= 0);
}

PG_FUNCTION_INFO_V1(lthash_gt);
Datum
lthash_gt(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lthash_compare(fcinfo) > 0);
}

PG_FUNCTION_INFO_V1(lthash_ge);
Datum
lthash_ge(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(lthash_compare(fcinfo) >= 0);
}

PG_FUNCTION_INFO_V1(lthash_hash);
Datum
lthash_hash(PG_FUNCTION_ARGS)
{
	LtHash	   *h = PG_GETARG_LTHASH_P(0);

	return hash_any(h->bytes, LTHASH_BYTES);
}

PG_FUNCTION_INFO_V1(lthash_hash_extended);
Datum
lthash_hash_extended(PG_FUNCTION_ARGS)
{
	LtHash	   *h = PG_GETARG_LTHASH_P(0);

	return hash_any_extended(h->bytes, LTHASH_BYTES, PG_GETARG_INT64(1));
}

/*
 * Arithmetic
 */

PG_FUNCTION_INFO_V1(lthash_zero);
Datum
lthash_zero(PG_FUNCTION_ARGS)
{
	PG_RETURN_LTHASH_P(palloc0(sizeof(LtHash)));
}

/* h +/- the items of the array argument argno */
static void
mix_array_arg(FunctionCallInfo fcinfo, LthashLanes *lanes, int sign,
			  int argno, const char *name)
{
	ArrayType  *array = DatumGetArrayTypeP(wastore_arg(fcinfo, argno, name));
	ByteaItems	items;

	lthash_bytea_items(array, name, -1, &items);
	lthash_mix(lanes, sign, items.data, items.len, items.n);
}

PG_FUNCTION_INFO_V1(lthash_add);
Datum
lthash_add(PG_FUNCTION_ARGS)
{
	LthashLanes lanes;

	lthash_lanes_from_bytes(&lanes, lthash_arg(fcinfo, 0, "h")->bytes);
	mix_array_arg(fcinfo, &lanes, 1, 1, "items");
	PG_RETURN_LTHASH_P(lthash_from_lanes(&lanes));
}

PG_FUNCTION_INFO_V1(lthash_subtract);
Datum
lthash_subtract(PG_FUNCTION_ARGS)
{
	LthashLanes lanes;

	lthash_lanes_from_bytes(&lanes, lthash_arg(fcinfo, 0, "h")->bytes);
	mix_array_arg(fcinfo, &lanes, -1, 1, "items");
	PG_RETURN_LTHASH_P(lthash_from_lanes(&lanes));
}

/*
 * The subtract list comes first, as in whatsmeow and the current Baileys
 * core.  Lane arithmetic mod 2^16 commutes, so the order only matters for
 * the arguments; both lists are checked before any work.
 */
PG_FUNCTION_INFO_V1(lthash_subtract_then_add);
Datum
lthash_subtract_then_add(PG_FUNCTION_ARGS)
{
	LthashLanes lanes;
	ByteaItems	sub,
				add;

	lthash_lanes_from_bytes(&lanes, lthash_arg(fcinfo, 0, "h")->bytes);
	lthash_bytea_items(DatumGetArrayTypeP(wastore_arg(fcinfo, 1, "subtract")),
					   "subtract", -1, &sub);
	lthash_bytea_items(DatumGetArrayTypeP(wastore_arg(fcinfo, 2, "add")),
					   "add", -1, &add);
	lthash_mix(&lanes, -1, sub.data, sub.len, sub.n);
	lthash_mix(&lanes, 1, add.data, add.len, add.n);
	PG_RETURN_LTHASH_P(lthash_from_lanes(&lanes));
}

/* the operators: one item */
static Datum
mix_one(FunctionCallInfo fcinfo, int sign)
{
	LthashLanes lanes;
	bytea	   *item;
	const uint8 *data;
	size_t		len;

	lthash_lanes_from_bytes(&lanes, lthash_arg(fcinfo, 0, "h")->bytes);
	item = lthash_bytea_arg(fcinfo, 1, "item", -1);
	data = (const uint8 *) VARDATA_ANY(item);
	len = VARSIZE_ANY_EXHDR(item);
	lthash_mix(&lanes, sign, &data, &len, 1);
	PG_RETURN_LTHASH_P(lthash_from_lanes(&lanes));
}

PG_FUNCTION_INFO_V1(lthash_plus);
Datum
lthash_plus(PG_FUNCTION_ARGS)
{
	return mix_one(fcinfo, 1);
}

PG_FUNCTION_INFO_V1(lthash_minus);
Datum
lthash_minus(PG_FUNCTION_ARGS)
{
	return mix_one(fcinfo, -1);
}

PG_FUNCTION_INFO_V1(lthash_implementation);
Datum
lthash_implementation(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(lthash_impl_name()));
}

/*
 * The aggregate
 *
 * The transition state lives in the aggregate's memory context for the
 * whole group: the sum so far, and up to LTHASH_BATCH 32-byte items copied
 * in and waiting, so that they are expanded together (their SHA-256 chains
 * overlap; see lthash_core_expand.c).  Nothing is allocated per row.
 */
typedef struct LthashAggState
{
	LthashLanes sum;
	int			npending;
	uint8		pending[LTHASH_BATCH][LTHASH_MAC_BYTES];
} LthashAggState;

static void
agg_flush(LthashAggState *state)
{
	const uint8 *items[LTHASH_BATCH];
	size_t		lens[LTHASH_BATCH];

	for (int i = 0; i < state->npending; i++)
	{
		items[i] = state->pending[i];
		lens[i] = LTHASH_MAC_BYTES;
	}
	lthash_mix(&state->sum, 1, items, lens, state->npending);
	state->npending = 0;
}

static void
agg_add(LthashAggState *state, const uint8 *data, size_t len)
{
	if (len != LTHASH_MAC_BYTES)
	{
		lthash_mix(&state->sum, 1, &data, &len, 1);
		return;
	}
	memcpy(state->pending[state->npending++], data, LTHASH_MAC_BYTES);
	if (state->npending == LTHASH_BATCH)
		agg_flush(state);
}

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcontext;
}

static bytea *
agg_item_arg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("lthash_agg items must not be NULL"),
				 errhint("Filter NULL rows out, or use coalesce with the value that belongs there.")));
	return PG_GETARG_BYTEA_PP(1);
}

PG_FUNCTION_INFO_V1(lthash_agg_transfn);
Datum
lthash_agg_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo, "lthash_agg_transfn");
	LthashAggState *state = PG_ARGISNULL(0) ? NULL : (LthashAggState *) PG_GETARG_POINTER(0);
	bytea	   *item = agg_item_arg(fcinfo);

	if (state == NULL)
		state = MemoryContextAllocZero(aggcontext, sizeof(LthashAggState));
	agg_add(state, (const uint8 *) VARDATA_ANY(item), VARSIZE_ANY_EXHDR(item));
	PG_RETURN_POINTER(state);
}

/* the inverse, for window frames that move: the LTHash can subtract */
PG_FUNCTION_INFO_V1(lthash_agg_invfn);
Datum
lthash_agg_invfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo, "lthash_agg_invfn");
	LthashAggState *state = PG_ARGISNULL(0) ? NULL : (LthashAggState *) PG_GETARG_POINTER(0);
	bytea	   *item = agg_item_arg(fcinfo);
	const uint8 *data = (const uint8 *) VARDATA_ANY(item);
	size_t		len = VARSIZE_ANY_EXHDR(item);

	if (state == NULL)
		state = MemoryContextAllocZero(aggcontext, sizeof(LthashAggState));
	lthash_mix(&state->sum, -1, &data, &len, 1);
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(lthash_agg_finalfn);
Datum
lthash_agg_finalfn(PG_FUNCTION_ARGS)
{
	LthashAggState copy;

	if (PG_ARGISNULL(0))
		PG_RETURN_LTHASH_P(palloc0(sizeof(LtHash)));

	/* the state stays as it is: a window may add rows and finish again */
	memcpy(&copy, PG_GETARG_POINTER(0), sizeof(copy));
	agg_flush(&copy);
	PG_RETURN_LTHASH_P(lthash_from_lanes(&copy.sum));
}

PG_FUNCTION_INFO_V1(lthash_agg_combinefn);
Datum
lthash_agg_combinefn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = agg_context(fcinfo, "lthash_agg_combinefn");
	LthashAggState *s1 = PG_ARGISNULL(0) ? NULL : (LthashAggState *) PG_GETARG_POINTER(0);
	LthashAggState *s2 = PG_ARGISNULL(1) ? NULL : (LthashAggState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
	{
		s1 = MemoryContextAlloc(aggcontext, sizeof(LthashAggState));
		memcpy(s1, s2, sizeof(LthashAggState));
		PG_RETURN_POINTER(s1);
	}
	lthash_lanes_add(&s1->sum, &s2->sum);
	for (int i = 0; i < s2->npending; i++)
		agg_add(s1, s2->pending[i], LTHASH_MAC_BYTES);
	PG_RETURN_POINTER(s1);
}

/* the state between parallel workers: the 128 bytes of the sum */
PG_FUNCTION_INFO_V1(lthash_agg_serialfn);
Datum
lthash_agg_serialfn(PG_FUNCTION_ARGS)
{
	LthashAggState copy;
	bytea	   *result = palloc(VARHDRSZ + LTHASH_BYTES);

	agg_context(fcinfo, "lthash_agg_serialfn");
	memcpy(&copy, PG_GETARG_POINTER(0), sizeof(copy));
	agg_flush(&copy);
	SET_VARSIZE(result, VARHDRSZ + LTHASH_BYTES);
	lthash_lanes_to_bytes(&copy.sum, (uint8 *) VARDATA(result));
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(lthash_agg_deserialfn);
Datum
lthash_agg_deserialfn(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	LthashAggState *state;

	agg_context(fcinfo, "lthash_agg_deserialfn");
	if (VARSIZE_ANY_EXHDR(b) != LTHASH_BYTES)
		elog(ERROR, "lthash_agg state has %zu bytes", (size_t) VARSIZE_ANY_EXHDR(b));
	state = palloc0(sizeof(LthashAggState));
	lthash_lanes_from_bytes(&state->sum, (const uint8 *) VARDATA_ANY(b));
	PG_RETURN_POINTER(state);
}
