/*-------------------------------------------------------------------------
 *
 * store_cache.c
 *	  Each backend's cache of resolved stores: store id -> live incarnation,
 *	  owner and lock salt.
 *
 * Every call resolves its store, and reading the row of store_owners with
 * the latest snapshot costs about as much as the key read that follows it.
 * The mapping changes only when a store's row is deleted (drop_store) or
 * updated (an administrator changing its owner): a created store is a new
 * row, and an incarnation's owner and salt never change otherwise.  So the
 * cache holds only rows committed by other transactions, and store_owners'
 * trigger sends a relcache invalidation of the table whenever a row is
 * deleted or updated; every backend empties its cache when it takes that
 * invalidation in.
 *
 * Backends take in invalidations at the start of a transaction and when
 * they lock a relation, not at every statement, so store_cache_get takes
 * them in itself first (cheap: a flag read when there are none).  A
 * committed drop is then seen as soon as a fresh snapshot would see it,
 * with one exception: a transaction's invalidations are sent just after its
 * commit becomes visible to snapshots, so for that instant a reader may
 * still resolve the dropped incarnation.  It reads nothing it could not
 * have read an instant earlier, from the snapshot it has: the owner check
 * is that of the incarnation, and the rows are the incarnation's own.
 * Writers do not rely on this: they re-check under the store's lock (see
 * store_open), and a dropping transaction sends its invalidations before it
 * releases that lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "store_cache.h"
#include "wastore.h"

/* More than a backend serves in practice; past it the cache starts over. */
#define STORE_CACHE_MAX_ENTRIES 4096

typedef struct StoreCacheEntry
{
	char		store[WASTORE_MAX_STORE_ID_BYTES + 1];	/* hash key */
	StoreRef	ref;
} StoreCacheEntry;

static HTAB *store_cache = NULL;
static Oid	store_cache_relid = InvalidOid;
static bool store_cache_callback_registered = false;

/* Relcache callback: a change to store_owners, or a reset of all caches. */
static void
store_cache_reset(Datum arg, Oid relid)
{
	if (store_cache != NULL && (relid == InvalidOid || relid == store_cache_relid))
	{
		hash_destroy(store_cache);
		store_cache = NULL;
	}
}

/* The store id as a NUL-terminated key (text holds no NUL bytes). */
static void
cache_key(text *store, char key[WASTORE_MAX_STORE_ID_BYTES + 1])
{
	int			len = VARSIZE_ANY_EXHDR(store);

	/* every caller checked the length; a release build must not trust that */
	if (len > WASTORE_MAX_STORE_ID_BYTES)
		elog(ERROR, "store id of %d bytes reached the store cache", len);
	memcpy(key, VARDATA_ANY(store), len);
	key[len] = '\0';
}

bool
store_cache_get(text *store, StoreRef *ref)
{
	char		key[WASTORE_MAX_STORE_ID_BYTES + 1];
	StoreCacheEntry *entry;

	AcceptInvalidationMessages();
	if (store_cache == NULL)
		return false;
	cache_key(store, key);
	entry = hash_search(store_cache, key, HASH_FIND, NULL);
	if (entry == NULL)
		return false;
	*ref = entry->ref;
	return true;
}

void
store_cache_put(text *store, const StoreRef *ref)
{
	char		key[WASTORE_MAX_STORE_ID_BYTES + 1];
	StoreCacheEntry *entry;

	if (!store_cache_callback_registered)
	{
		CacheRegisterRelcacheCallback(store_cache_reset, (Datum) 0);
		store_cache_callback_registered = true;
	}
	if (store_cache != NULL && hash_get_num_entries(store_cache) >= STORE_CACHE_MAX_ENTRIES)
		store_cache_reset((Datum) 0, InvalidOid);
	if (store_cache == NULL)
	{
		HASHCTL		ctl;

		/* first: a catalog lookup may take in invalidations */
		store_cache_relid = wastore_table_oid("store_owners");
		ctl.keysize = WASTORE_MAX_STORE_ID_BYTES + 1;
		ctl.entrysize = sizeof(StoreCacheEntry);
		ctl.hcxt = CacheMemoryContext;
		store_cache = hash_create("wastore store cache", 64, &ctl,
								  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	cache_key(store, key);
	entry = hash_search(store_cache, key, HASH_ENTER, NULL);
	entry->ref = *ref;
}

void
store_cache_invalidate(Oid store_owners)
{
	CacheInvalidateRelcacheByRelid(store_owners);
}
