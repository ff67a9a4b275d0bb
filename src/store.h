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

#include "utils/jsonb.h"

#include "plans.h"

#define STORE_LOCK_SALT_BYTES 32

/* The live incarnation of a store id. */
typedef struct StoreRef
{
	int64		incarnation;	/* 0: the store does not exist */
	Oid			owner;
	uint8		lock_salt[STORE_LOCK_SALT_BYTES];	/* keys its lock tags */
	uint64		store_lock_hash;	/* the tags of the store's own lock */
	uint64		lease_lock_hash;	/* ... and of its lease lock */
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

/*
 * May the current user use a store of this owner?  Members of the owner
 * role (with its privileges), the extension's owner and superusers may.
 */
extern bool store_owner_is_usable(Oid owner);

/* Whether the current user administers every store (extension owner, superuser). */
extern bool store_caller_administers(void);

/*
 * Is the current user one of wastore's administrators (a member of the
 * extension's owner role, or a superuser), who may use every store?
 */
extern bool store_user_is_administrator(void);

/*
 * The entry pattern of most functions: resolve the store, run one statement
 * on it in an SPI connection of its own.  $1 of the statement is the
 * incarnation (the helper fills values[0]); values[1..] are the caller's.
 *
 * STORE_READ and STORE_WRITE skip a missing store (and return 0): a read
 * of it finds nothing, a delete has nothing to delete.  STORE_CREATE
 * opens the store as store_open does.  STORE_READ runs the statement
 * read-only.  Returns the rows the statement returned or touched.
 */
typedef enum StoreUse
{
	STORE_READ,
	STORE_WRITE,
	STORE_CREATE,
} StoreUse;

extern uint64 store_execute(text *store, StoreUse use, WastorePlan *plan,
							Datum *values, const char *nulls, int expected_rc,
							const int64 *lease);

/*
 * A put whose NULL value deletes: upsert_plan ($1 incarnation, $2 id, $3
 * value) when value is not NULL, else delete_plan ($1, $2) if the store
 * exists.  id is the key within the store.
 */
extern void store_put(text *store, text *id, Jsonb *value,
					  WastorePlan *upsert_plan, WastorePlan *delete_plan,
					  const int64 *lease);

/*
 * A writer's open with its optional fencing token (lease, NULL for none):
 * store_open, then lease_check (lease.h).  store_execute and store_put take
 * the same lease argument; a fenced STORE_WRITE of a missing store raises
 * 55W01 (a store that does not exist has no lease).
 */
extern void store_open_fenced(text *store, StoreRef *ref, const int64 *lease);

/*
 * store_find for a write that does not create (a delete), with its optional
 * fencing token: lease_check when the store exists, 55W01 when it does not
 * and a token was passed.
 */
extern bool store_find_fenced(text *store, StoreRef *ref, const int64 *lease);

/*
 * Runs a statement on an existing store (use STORE_READ, or STORE_WRITE for
 * one that also changes rows, such as a dequeue); the jsonb in the first
 * column of its first row, copied into the caller's memory, or NULL (no
 * store, no row).
 */
extern Jsonb *store_jsonb(text *store, StoreUse use, WastorePlan *plan, Datum *values);

#endif							/* WASTORE_STORE_H */
