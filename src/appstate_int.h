/*-------------------------------------------------------------------------
 *
 * appstate_int.h
 *	  What the app-state files share: the rows of sync_versions and
 *	  sync_index (appstate_tables.c) and the MAC arguments (appstate_mac.c).
 *
 * wastore keeps a collection's LTHashState in two tables: sync_versions
 * (incarnation, collection) -> version, hash; and sync_index (incarnation,
 * collection, index_mac) -> value_mac.  A patch reads and writes only the
 * rows of its own mutations, whatever the size of the collection, and the
 * LTHashState JSON is a projection built on demand.
 *
 * Every write locks the collection's sync_versions row first (creating it
 * if need be) and only then touches sync_index, so writers of one
 * collection queue on that row and never deadlock on index rows.
 *
 * The row functions expect an SPI connection and a resolved store.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_APPSTATE_INT_H
#define WASTORE_APPSTATE_INT_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"

#include "lthash.h"
#include "store.h"

/*
 * A snapshot MAC that does not match: a data exception of wastore's own
 * (subclass W01 of class 22, in the implementation-defined range), so that
 * clients can tell "resync this collection" from bad arguments (22023).
 */
#define ERRCODE_WASTORE_MAC_MISMATCH MAKE_SQLSTATE('2','2','W','0','1')

/* appstate_tables.c: the collection's version row */

/* Locks it, creating it (version 0, zero hash) when missing. */
extern int64 appstate_lock_version(const StoreRef *ref, text *collection, LtHash *hash);
/* Reads it; false when the collection has no state. */
extern bool appstate_read_version(const StoreRef *ref, text *collection,
								  int64 *version, LtHash *hash);
extern void appstate_update_version(const StoreRef *ref, text *collection,
									int64 version, const LtHash *hash);
/* Deletes the version row, then the index: the collection has no state. */
extern void appstate_delete_collection(const StoreRef *ref, text *collection);
/* The store's collections, in order (SPI_tuptable, column 1). */
extern uint64 appstate_list_collections(const StoreRef *ref);

/* appstate_tables.c: the collection's index rows */

/*
 * The stored (index_mac, value_mac) rows of the collection, all of them, or
 * those of n index MACs: SPI_tuptable, columns 1 and 2.
 */
extern uint64 appstate_read_index(const StoreRef *ref, text *collection);
extern uint64 appstate_read_some_index(const StoreRef *ref, text *collection,
									   const uint8 *const *index, int n);
/* Replaces the whole index with n (index, value) pairs. */
extern void appstate_replace_index(const StoreRef *ref, text *collection,
								   const uint8 *const *index,
								   const uint8 *const *value, int n);
/* Sets n entries (an unchanged value MAC is not rewritten) / removes n. */
extern void appstate_upsert_index(const StoreRef *ref, text *collection,
								  const uint8 *const *index,
								  const uint8 *const *value, int n);
extern void appstate_delete_some_index(const StoreRef *ref, text *collection,
									   const uint8 *const *index, int n);

/* appstate_mac.c */

/* A version argument: not NULL, not negative. */
extern int64 appstate_version_arg(FunctionCallInfo fcinfo, int argno);
/* LTHASH_OP_SET or LTHASH_OP_REMOVE for "set"/"remove"; what names it. */
extern int	appstate_operation_code(text *op, const char *what);
/* Baileys' snapshot MAC of a hash at a version of a collection. */
extern void appstate_snapshot_mac_of(const uint8 *hash, int64 version, text *collection,
									 bytea *key, uint8 out[LTHASH_MAC_BYTES]);

#endif							/* WASTORE_APPSTATE_INT_H */
