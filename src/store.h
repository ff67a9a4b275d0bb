/*-------------------------------------------------------------------------
 *
 * store.h
 *	  Stores and their incarnations: the one check every entry point makes.
 *
 * A store id is a name.  create_store (or the first write) makes a new
 * incarnation of it, drop_store ends it; every state table is keyed by the
 * incarnation.  An entry point resolves the name once, with the check that
 * the caller may use the store, and works on the incarnation from then on.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_STORE_H
#define WASTORE_STORE_H

#include "postgres.h"

#define STORE_LOCK_SALT_BYTES 32

/* The live incarnation of a store id. */
typedef struct StoreRef
{
	int64		incarnation;	/* 0: the store does not exist */
	Oid			owner;
	uint8		lock_salt[STORE_LOCK_SALT_BYTES];	/* keys its lock tags */
} StoreRef;

/* The incarnation as a statement parameter. */
#define StoreRefGetDatum(ref) Int64GetDatum((ref)->incarnation)

/*
 * Finds the store's live incarnation, as the latest committed state has it
 * (whatever the transaction's snapshot).  Returns false, and ref's
 * incarnation 0, when there is none.  Raises 42501 when the store exists
 * and the current user may not use it.  Needs no SPI connection.
 */
extern bool store_find(text *store, StoreRef *ref);

/*
 * The same for a writer: a missing store is created, owned by the current
 * user, and the store's lock is held in share mode to the end of the
 * transaction, so that a concurrent drop_store waits for the writer and then
 * purges what it wrote.  The caller must be connected to SPI.
 */
extern void store_open(text *store, StoreRef *ref);

#endif							/* WASTORE_STORE_H */
