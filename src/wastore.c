/*-------------------------------------------------------------------------
 *
 * wastore.c
 *	  Module entry point: settings, and the key families.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "wastore.h"

PG_MODULE_MAGIC;

/*
 * Retries of a batch that failed for a transient reason (serialization
 * failure, deadlock, lock not available).  Inside one database such a
 * conflict ends when the other transaction commits or rolls back, which takes
 * milliseconds, so a few quick retries resolve nearly all of them; the client
 * libraries' defaults (seconds between tries) suit remote files, not rows.
 * Every retry keeps the caller's connection and locks busy, hence the cap.
 */
int			wastore_max_commit_retries = 3;
int			wastore_commit_retry_delay_ms = 10;

const char *const wastore_families[WASTORE_NFAMILIES] = {
	"session",
	"pre-key",
	"sender-key",
	"sender-key-memory",
	"app-state-sync-key",
	"app-state-sync-version",
	"lid-mapping",
	"device-list",
	"tctoken",
	"identity-key",
};

void		_PG_init(void);

void
_PG_init(void)
{
	DefineCustomIntVariable("wastore.max_commit_retries",
							"How often a key batch is retried after a transient failure.",
							"Serialization failures (40001), deadlocks (40P01) and "
							"lock timeouts (55P03) roll the batch back and retry it "
							"up to this many times; 0 disables retries.",
							&wastore_max_commit_retries,
							3, 0, 100,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("wastore.commit_retry_delay_ms",
							"Pause between two attempts of a key batch.",
							NULL,
							&wastore_commit_retry_delay_ms,
							10, 0, 60000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("wastore");
}

int
wastore_family_index(const char *name, int len)
{
	for (int i = 0; i < WASTORE_NFAMILIES; i++)
	{
		if ((int) strlen(wastore_families[i]) == len &&
			memcmp(wastore_families[i], name, len) == 0)
			return i;
	}
	return -1;
}

/*
 * The tables' OIDs and owner, looked up once per backend: two and three
 * catalog cache probes a call otherwise, on every call.  A relcache
 * invalidation of one of the tables (dropped with the extension, its owner
 * changed), or of everything, empties the cache.
 */
#define TABLE_CACHE_SIZE 8

typedef struct CachedTable
{
	const char *name;			/* a string literal of the caller's */
	Oid			relid;
} CachedTable;

static CachedTable cached_tables[TABLE_CACHE_SIZE];
static int	ncached_tables = 0;
static Oid	cached_tables_owner = InvalidOid;
static bool table_cache_callback_registered = false;

static void
table_cache_reset(Datum arg, Oid relid)
{
	for (int i = 0; i < ncached_tables && relid != InvalidOid; i++)
	{
		if (cached_tables[i].relid == relid)
		{
			relid = InvalidOid;
			break;
		}
	}
	if (relid == InvalidOid)
	{
		ncached_tables = 0;
		cached_tables_owner = InvalidOid;
	}
}

Oid
wastore_table_oid(const char *name)
{
	Oid			relid;

	for (int i = 0; i < ncached_tables; i++)
	{
		if (strcmp(cached_tables[i].name, name) == 0)
			return cached_tables[i].relid;
	}

	relid = get_relname_relid(name, get_namespace_oid("wastore", false));
	if (!OidIsValid(relid))
		elog(ERROR, "table wastore.%s is missing", name);

	if (!table_cache_callback_registered)
	{
		CacheRegisterRelcacheCallback(table_cache_reset, (Datum) 0);
		table_cache_callback_registered = true;
	}
	if (ncached_tables < TABLE_CACHE_SIZE)
	{
		cached_tables[ncached_tables].name = name;
		cached_tables[ncached_tables].relid = relid;
		ncached_tables++;
	}
	return relid;
}

Oid
wastore_tables_owner(void)
{
	Oid			relid;
	HeapTuple	tuple;

	if (OidIsValid(cached_tables_owner))
		return cached_tables_owner;

	/* store_owners speaks for all: the extension's tables share one owner */
	relid = wastore_table_oid("store_owners");
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	cached_tables_owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return cached_tables_owner;
}
