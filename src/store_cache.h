/*-------------------------------------------------------------------------
 *
 * store_cache.h
 *	  Each backend's cache of resolved stores (store.c's only client).
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_STORE_CACHE_H
#define WASTORE_STORE_CACHE_H

#include "postgres.h"

#include "store.h"

/*
 * The cached incarnation of a store id, after taking in the invalidations
 * other backends have sent; false when it is not cached.
 */
extern bool store_cache_get(text *store, StoreRef *ref);

/* Remembers a committed incarnation of a store id. */
extern void store_cache_put(text *store, const StoreRef *ref);

/*
 * Tells every backend, at commit, to forget what it cached: called when a
 * transaction deletes or changes a store's row.
 */
extern void store_cache_invalidate(Oid store_owners);

#endif							/* WASTORE_STORE_CACHE_H */
