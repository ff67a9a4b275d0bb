/*-------------------------------------------------------------------------
 *
 * creds.h
 *	  The auth state, its creds projection, and the merge that the key
 *	  store's set shares with merge_creds.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_CREDS_H
#define WASTORE_CREDS_H

#include "postgres.h"

#include "utils/jsonb.h"

#include "store.h"

/*
 * Raises 22023, naming the argument, unless updates is a JSON object.
 */
extern void creds_check_updates(Jsonb *updates, const char *name);

/*
 * Merges updates (a JSON object) into the store's auth state in one atomic
 * read-modify-write of its row, creating the auth state from {} when there
 * is none, and returns the new creds projection.  deep selects the
 * recursive merge (baileys_ex) over the top-level replace (Baileys).
 *
 * The caller must be connected to SPI and have opened the store with
 * store_open.  The result is allocated in the current memory
 * context (SPI's, when called between SPI_connect and SPI_finish).
 */
extern Jsonb *creds_merge(const StoreRef *ref, Jsonb *updates, bool deep);

#endif							/* WASTORE_CREDS_H */
