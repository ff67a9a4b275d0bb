/*-------------------------------------------------------------------------
 *
 * lthash.h
 *	  The wastore.lthash SQL type and the argument checks shared with the
 *	  app-state functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_LTHASH_H
#define WASTORE_LTHASH_H

#include "fmgr.h"
#include "utils/array.h"

#include "lthash_core.h"

/* a wastore.lthash datum: 128 bytes, 64 little-endian uint16 lanes */
typedef struct LtHash
{
	uint8		bytes[LTHASH_BYTES];
} LtHash;

#define DatumGetLtHashP(X)		((LtHash *) DatumGetPointer(X))
#define LtHashPGetDatum(X)		PointerGetDatum(X)
#define PG_GETARG_LTHASH_P(n)	DatumGetLtHashP(PG_GETARG_DATUM(n))
#define PG_RETURN_LTHASH_P(x)	return LtHashPGetDatum(x)

/* a new palloc'd lthash with those lanes */
extern LtHash *lthash_from_lanes(const LthashLanes *lanes);

/*
 * The elements of a bytea[] (any shape, taken in storage order) as pointers
 * and lengths into the array.  A NULL element raises 22004 naming the array
 * and the position; with want_len >= 0 an element of another length raises
 * 22023.
 */
typedef struct ByteaItems
{
	int			n;
	const uint8 **data;
	size_t	   *len;
} ByteaItems;

extern void lthash_bytea_items(ArrayType *array, const char *name, int want_len,
							   ByteaItems *items);

/* A bytea of len bytes, and a bytea[] of n such values. */
extern bytea *lthash_make_bytea(const uint8 *data, size_t len);
extern ArrayType *lthash_make_bytea_array(const uint8 *const *data, int n, size_t len);

/* a bytea argument: not NULL (22004), and of want_len bytes unless < 0 (22023) */
extern bytea *lthash_bytea_arg(FunctionCallInfo fcinfo, int argno, const char *name,
							   int want_len);

#endif							/* WASTORE_LTHASH_H */
