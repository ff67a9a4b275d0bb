/*-------------------------------------------------------------------------
 *
 * locks.c
 *	  Per-key transactions: transaction-scoped advisory locks in wastore's
 *	  own lock space.
 *
 * A lock is a heavyweight advisory lock whose tag carries the database, a
 * 64-bit hash of what is locked, and one of wastore's own locktag_field4
 * values (locks.h).  They are ordinary transaction locks: re-entrant,
 * released at commit or rollback (or when the savepoint they were taken in
 * rolls back), subject to lock_timeout and deadlock detection, and visible
 * in pg_locks.
 *
 * Label and record locks also take the store's lock in share mode.  That
 * lets in_transaction(store) ask the lock manager instead of keeping a list
 * of its own, and lets drop_store wait for the store's transactions.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"

#include "locks.h"
#include "store.h"
#include "wastore.h"

/* distinct hash seeds per lock space, so that equal inputs differ anyway */
#define SEED_STORE	UINT64CONST(0x7761730001)
#define SEED_LABEL	UINT64CONST(0x7761730002)
#define SEED_RECORD UINT64CONST(0x7761730003)
#define SEED_DEDUPE UINT64CONST(0x7761730004)

static uint64
hash_text(text *t, uint64 seed)
{
	return hash_bytes_extended((const unsigned char *) VARDATA_ANY(t),
							   VARSIZE_ANY_EXHDR(t), seed);
}

static void
set_tag(LOCKTAG *tag, uint64 hash, uint16 space)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId,
						 (uint32) (hash >> 32), (uint32) hash, space);
}

static void
store_tag(LOCKTAG *tag, text *store)
{
	set_tag(tag, hash_text(store, SEED_STORE), WASTORE_LOCKSPACE_STORE);
}

static void
label_tag(LOCKTAG *tag, text *store, text *label)
{
	set_tag(tag, hash_text(label, hash_text(store, SEED_LABEL)),
			WASTORE_LOCKSPACE_LABEL);
}

static void
record_tag(LOCKTAG *tag, text *store, const char *family, text *id)
{
	uint64		h = hash_text(store, SEED_RECORD);

	h = hash_bytes_extended((const unsigned char *) family, strlen(family), h);
	set_tag(tag, hash_text(id, h), WASTORE_LOCKSPACE_RECORD);
}

/*
 * Checks store ownership: taking another role's locks could stall its work.
 */
static void
check_store(text *store)
{
	SPI_connect();
	store_access(store, false);
	SPI_finish();
}

void
locks_acquire_store_exclusive(text *store)
{
	LOCKTAG		tag;

	store_tag(&tag, store);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
locks_acquire_dedupe(text *store)
{
	LOCKTAG		tag;

	set_tag(&tag, hash_text(store, SEED_DEDUPE), WASTORE_LOCKSPACE_DEDUPE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

void
locks_acquire_store_share(text *store)
{
	LOCKTAG		tag;

	store_tag(&tag, store);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/*
 * Takes the store's share lock and then the given lock.  With dont_wait,
 * returns false when either is held by another transaction, and then holds
 * neither lock it did not hold before.
 */
static bool
acquire(text *store, LOCKTAG *tag, bool dont_wait)
{
	LOCKTAG		stag;
	LockAcquireResult res;
	bool		store_was_held;

	store_tag(&stag, store);
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
	return true;
}

PG_FUNCTION_INFO_V1(locks_lock);
Datum
locks_lock(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *label = wastore_text_arg(fcinfo, 1, "key");
	LOCKTAG		tag;

	check_store(store);
	label_tag(&tag, store, label);
	(void) acquire(store, &tag, false);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(locks_try_lock);
Datum
locks_try_lock(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *label = wastore_text_arg(fcinfo, 1, "key");
	LOCKTAG		tag;

	check_store(store);
	label_tag(&tag, store, label);
	PG_RETURN_BOOL(acquire(store, &tag, true));
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
	ArrayType  *ids = wastore_text_array_arg(fcinfo, 2, "ids");
	Datum	   *elems;
	int			nelems;
	LOCKTAG    *tags;

	check_store(store);

	deconstruct_array(ids, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &nelems);
	if (nelems == 0)
		PG_RETURN_VOID();

	tags = palloc(sizeof(LOCKTAG) * nelems);
	for (int i = 0; i < nelems; i++)
		record_tag(&tags[i], store, family, DatumGetTextPP(elems[i]));
	qsort(tags, nelems, sizeof(LOCKTAG), locktag_cmp);

	for (int i = 0; i < nelems; i++)
	{
		/* equal ids give equal tags, side by side after the sort */
		if (i > 0 && locktag_cmp(&tags[i - 1], &tags[i]) == 0)
			continue;
		(void) acquire(store, &tags[i], false);
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(locks_in_transaction);
Datum
locks_in_transaction(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	LOCKTAG		tag;

	if (PG_ARGISNULL(1))
	{
		store_tag(&tag, store);
		PG_RETURN_BOOL(LockHeldByMe(&tag, ShareLock) ||
					   LockHeldByMe(&tag, ExclusiveLock));
	}

	label_tag(&tag, store, PG_GETARG_TEXT_PP(1));
	PG_RETURN_BOOL(LockHeldByMe(&tag, ExclusiveLock));
}
