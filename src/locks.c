/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  Per-key transactions: transaction-scoped advisory locks in wastore's
 *	  own lock space.
 *
 * A lock is a heavyweight advisory lock whose tag carries the database, a
 * 64-bit keyed hash of what is locked, and one of wastore's own
 * locktag_field4 values (locks.h).  They are ordinary transaction locks:
 * re-entrant, released at commit or rollback (or when the savepoint they
 * were taken in rolls back), subject to lock_timeout and deadlock detection,
 * and visible in pg_locks.
 *
 * The hash is HMAC-SHA256 keyed by the store incarnation's secret lock salt
 * (store.h), over the lock space and what is locked.  pg_locks shows every
 * role every lock tag; with an unkeyed hash anyone could confirm a guessed
 * store id and label (a contact's phone number) by computing its tag.  Keyed
 * by a secret only the tables' owner can read, a tag says nothing, and the
 * same store id and label give different tags in two databases or two
 * incarnations.
 *
 * Label and record locks also take the store's lock in share mode.  That
 * lets in_transaction(store) ask the lock manager instead of keeping a list
 * of its own, and lets drop_store wait for the store's transactions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/twophase.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"

#include "args.h"
#include "locks.h"
#include "lthash_core.h"
#include "store.h"
#include "wastore.h"

/*
 * The tag of a lock: HMAC-SHA256(lock salt, space || parts), each part
 * preceded by its length so that no two lists of parts hash alike, the first
 * 64 bits in the tag.
 */
static uint64
keyed_hash(const StoreRef *ref, uint16 space,
		   int nparts, const char *const *parts, const int *lens)
{
	LthashHmacKey key;
	LthashHmac	ctx;
	uint8		prefix[2] = {(uint8) (space >> 8), (uint8) space};
	uint8		digest[LTHASH_SHA256_BYTES];
	uint64		hash = 0;

	lthash_hmac_key(&key, ref->lock_salt, STORE_LOCK_SALT_BYTES);
	lthash_hmac_init(&ctx, &key);
	lthash_hmac_update(&ctx, prefix, sizeof(prefix));
	for (int i = 0; i < nparts; i++)
	{
		uint8		len[4] = {(uint8) (lens[i] >> 24), (uint8) (lens[i] >> 16),
		(uint8) (lens[i] >> 8), (uint8) lens[i]};

		lthash_hmac_update(&ctx, len, sizeof(len));
		lthash_hmac_update(&ctx, (const uint8 *) parts[i], lens[i]);
	}
	lthash_hmac_final(&ctx, digest);
	for (int i = 0; i < 8; i++)
		hash = (hash << 8) | digest[i];
	lthash_wipe(&key, sizeof(key));
	lthash_wipe(&ctx, sizeof(ctx));
	return hash;
}

static void
set_tag(LOCKTAG *tag, uint64 hash, uint16 space)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 (uint32) (hash >> 32), (uint32) hash, space);
}

static void
keyed_tag(LOCKTAG *tag, const StoreRef *ref, uint16 space,
		  int nparts, const char *const *parts, const int *lens)
{
	set_tag(tag, keyed_hash(ref, space, nparts, parts, lens), space);
}

uint64
locks_space_hash(const StoreRef *ref, uint16 space)
{
	return keyed_hash(ref, space, 0, NULL, NULL);
}

/* computed once per incarnation, when the store is resolved (store.c) */
static void
store_tag(LOCKTAG *tag, const StoreRef *ref)
{
	set_tag(tag, ref->store_lock_hash, WASTORE_LOCKSPACE_STORE);
}

/*
 * The mark shares the store lock's keyed hash (another space, so another
 * tag): it is computed once per incarnation, and tells no one more than
 * the store lock's tag does.
 */
static void
mark_tag(LOCKTAG *tag, const StoreRef *ref)
{
	set_tag(tag, ref->store_lock_hash, WASTORE_LOCKSPACE_MARK);
}

static void
label_tag(LOCKTAG *tag, const StoreRef *ref, text *label)
{
	const char *parts[1] = {VARDATA_ANY(label)};
	int			lens[1] = {VARSIZE_ANY_EXHDR(label)};

	keyed_tag(tag, ref, WASTORE_LOCKSPACE_LABEL, 1, parts, lens);
}

static void
record_tag(LOCKTAG *tag, const StoreRef *ref, const char *family, text *id)
{
	const char *parts[2] = {family, VARDATA_ANY(id)};
	int			lens[2] = {strlen(family), VARSIZE_ANY_EXHDR(id)};

	keyed_tag(tag, ref, WASTORE_LOCKSPACE_RECORD, 2, parts, lens);
}

/*
 * Checks store ownership: taking another role's locks could stall its work.
 * A store that does not exist yet is created, as a writer would: its locks
 * then belong to the incarnation the transaction goes on to write.
 */
static void
open_store(text *store, StoreRef *ref)
{
	SPI_connect();
	store_open(store, ref);
	SPI_finish();
}

void
locks_acquire_store_exclusive(const StoreRef *ref)
{
	LOCKTAG		tag;

	store_tag(&tag, ref);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
locks_acquire_dedupe(const StoreRef *ref)
{
	LOCKTAG		tag;

	keyed_tag(&tag, ref, WASTORE_LOCKSPACE_DEDUPE, 0, NULL, NULL);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
locks_acquire_queue(const StoreRef *ref, text *key)
{
	LOCKTAG		tag;
	const char *parts[1] = {VARDATA_ANY(key)};
	int			lens[1] = {VARSIZE_ANY_EXHDR(key)};

	keyed_tag(&tag, ref, WASTORE_LOCKSPACE_QUEUE, 1, parts, lens);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
locks_acquire_lease(const StoreRef *ref, bool exclusive)
{
	LOCKTAG		tag;

	set_tag(&tag, ref->lease_lock_hash, WASTORE_LOCKSPACE_LEASE);
	(void) LockAcquire(&tag, exclusive ? ExclusiveLock : ShareLock, false, false);
}

void
locks_release_lease(const StoreRef *ref, bool exclusive)
{
	LOCKTAG		tag;

	set_tag(&tag, ref->lease_lock_hash, WASTORE_LOCKSPACE_LEASE);
	(void) LockRelease(&tag, exclusive ? ExclusiveLock : ShareLock, false);
}

void
locks_acquire_store_share(const StoreRef *ref)
{
	LOCKTAG		tag;

	store_tag(&tag, ref);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/*
 * Takes the store's share lock and then the given lock.  With dont_wait,
 * returns false when either is held by another transaction, and then holds
 * neither lock it did not hold before.
 */
static bool
acquire(const StoreRef *ref, LOCKTAG *tag, bool dont_wait)
{
	LOCKTAG		stag;
	LockAcquireResult res;
	bool		store_was_held;

	store_tag(&stag, ref);
	store_was_held = LockHeldByMe(&stag, ShareLock);
	if (LockAcquire(&stag, ShareLock, false, dont_wait) == LOCKACQUIRE_NOT_AVAIL)
		return false;

	res = LockAcquire(tag, ExclusiveLock, false, dont_wait);
	if (res == LOCKACQUIRE_NOT_AVAIL)
	{
		if (!store_was_held)
			LockRelease(&stag, ShareLock, false);
		return false;
	}
	mark_tag(&stag, ref);
	(void) LockAcquire(&stag, ShareLock, false, false);
	return true;
}

PG_FUNCTION_INFO_V1(locks_lock);
Datum
locks_lock(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *label = wastore_text_arg(fcinfo, 1, "key");
	StoreRef	ref;
	LOCKTAG		tag;

	open_store(store, &ref);
	label_tag(&tag, &ref, label);
	(void) acquire(&ref, &tag, false);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(locks_try_lock);
Datum
locks_try_lock(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *label = wastore_text_arg(fcinfo, 1, "key");
	StoreRef	ref;
	LOCKTAG		tag;

	open_store(store, &ref);
	label_tag(&tag, &ref, label);
	PG_RETURN_BOOL(acquire(&ref, &tag, true));
}

static int
locktag_cmp(const void *a, const void *b)
{
	const LOCKTAG *ta = (const LOCKTAG *) a;
	const LOCKTAG *tb = (const LOCKTAG *) b;

	if (ta->locktag_field2 != tb->locktag_field2)
		return ta->locktag_field2 < tb->locktag_field2 ? -1 : 1;
	if (ta->locktag_field3 != tb->locktag_field3)
		return ta->locktag_field3 < tb->locktag_field3 ? -1 : 1;
	return 0;
}

/*
 * The most records one lock_records call locks: half of the server's lock
 * table, which holds max_locks_per_transaction locks per backend and
 * prepared transaction, shared by all.  A call over it would fill the table
 * half way through and fail with 53200 (out of shared memory), for every
 * session of the server; it is refused before it takes any lock instead.
 */
static int64
lock_records_limit(void)
{
	return (int64) max_locks_per_xact * (MaxBackends + max_prepared_xacts) / 2;
}

/*
 * Locks the records in the order of their lock tags, so that every caller
 * takes any two of them in the same order whatever order it named them in:
 * two overlapping lock_records calls wait for each other, never deadlock.
 */
PG_FUNCTION_INFO_V1(locks_lock_records);
Datum
locks_lock_records(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	const char *family = wastore_family_arg(fcinfo, 1);
	ArrayType  *ids = wastore_id_array_arg(fcinfo, 2, "ids");
	Datum	   *elems;
	int			nelems;
	LOCKTAG    *tags;
	int			ntags = 0;
	StoreRef	ref;

	open_store(store, &ref);

	deconstruct_array(ids, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &nelems);
	if (nelems == 0)
		PG_RETURN_VOID();

	tags = palloc(sizeof(LOCKTAG) * nelems);
	for (int i = 0; i < nelems; i++)
		record_tag(&tags[i], &ref, family, DatumGetTextPP(elems[i]));
	qsort(tags, nelems, sizeof(LOCKTAG), locktag_cmp);

	/* equal ids give equal tags, side by side after the sort: keep one */
	for (int i = 0; i < nelems; i++)
	{
		if (i == 0 || locktag_cmp(&tags[ntags - 1], &tags[i]) != 0)
			tags[ntags++] = tags[i];
	}
	if (ntags > lock_records_limit())
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("lock_records cannot lock %d records in one call", ntags),
				 errdetail("One call locks at most " INT64_FORMAT " records: half of the server's lock table, "
						   "which holds max_locks_per_transaction (%d) locks for each of its %d backends and prepared transactions.",
						   lock_records_limit(), max_locks_per_xact, MaxBackends + max_prepared_xacts),
				 errhint("Lock fewer records per transaction, or raise max_locks_per_transaction.")));

	for (int i = 0; i < ntags; i++)
		(void) acquire(&ref, &tags[i], false);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(locks_in_transaction);
Datum
locks_in_transaction(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;
	LOCKTAG		tag;

	if (!store_find(store, &ref))
		PG_RETURN_BOOL(false);

	if (PG_ARGISNULL(1))
	{
		mark_tag(&tag, &ref);
		PG_RETURN_BOOL(LockHeldByMe(&tag, ShareLock));
	}

	label_tag(&tag, &ref, PG_GETARG_TEXT_PP(1));
	PG_RETURN_BOOL(LockHeldByMe(&tag, ExclusiveLock));
}
