/*-------------------------------------------------------------------------
 *
 * locks.h
 *	  wastore's advisory lock space.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_LOCKS_H
#define WASTORE_LOCKS_H

#include "postgres.h"

#include "store.h"

/*
 * locktag_field4 values of wastore's advisory locks (pg_locks.objsubid).  The
 * built-in pg_advisory_* functions use 1 and 2, so wastore's locks never
 * collide with an application's own advisory lock numbers.
 *
 *	store:	the store as a whole; every label or record lock also holds it in
 *			share mode, drop_store takes it exclusively
 *	label:	wastore.lock / try_lock on (store, label)
 *	record: wastore.lock_records on (store, family, id)
 *	dedupe: the store's chat dedupe window, held by chat_mark_dedupe and
 *			chat_load_snapshot
 *	lease:	the store's lease; every write that carries a fencing token
 *			holds it in share mode, acquire and release take it exclusively
 *	queue:	one chat queue of the store (chat_enqueue), keyed by its key
 *	mark:	held in share mode by a transaction that took a label or record
 *			lock of the store, so that in_transaction(store) can tell it
 *			from one that merely wrote (writers hold the store lock too)
 */
#define WASTORE_LOCKSPACE_STORE		30561
#define WASTORE_LOCKSPACE_LABEL		30562
#define WASTORE_LOCKSPACE_RECORD	30563
#define WASTORE_LOCKSPACE_DEDUPE	30564
#define WASTORE_LOCKSPACE_LEASE		30565
#define WASTORE_LOCKSPACE_QUEUE		30566
#define WASTORE_LOCKSPACE_MARK		30567

/*
 * The keyed hash in the tag of one of the store's own locks (the store and
 * lease spaces), computed once per incarnation into its StoreRef.
 */
extern uint64 locks_space_hash(const StoreRef *ref, uint16 space);

/* Waits for the store's lock in exclusive mode (for drop_store). */
extern void locks_acquire_store_exclusive(const StoreRef *ref);

/*
 * The store's lock in share mode, to the end of the transaction: what every
 * writer holds, so that drop_store (exclusive) waits for the writers under
 * way and purges what they commit, and no row outlives its store.
 */
extern void locks_acquire_store_share(const StoreRef *ref);

/*
 * The store's lease lock, to the end of the transaction (lease.c): share
 * for a write that carries a fencing token, exclusive for whatever changes
 * who holds the lease, which then waits for those writes to commit.
 */
extern void locks_acquire_lease(const StoreRef *ref, bool exclusive);
/* Gives back one hold of it, for a call that changed nothing. */
extern void locks_release_lease(const StoreRef *ref, bool exclusive);

/* Waits for the store's chat dedupe lock, to the end of the transaction. */
extern void locks_acquire_dedupe(const StoreRef *ref);

/* Waits for the lock of one chat queue, to the end of the transaction. */
extern void locks_acquire_queue(const StoreRef *ref, text *key);

#endif							/* WASTORE_LOCKS_H */
