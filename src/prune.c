/*-------------------------------------------------------------------------
 *
 * prune.c
 *	  wastore.prune(store): deletes what has expired.
 *
 * Expired rows are invisible to every function already (chat.h); prune
 * takes the space back: chat kv entries, lists, queue entries, dedupe keys
 * and locks whose expires_at has passed, and expired leases.  An expired
 * lock goes but its pending entries stay, for the next holder's release, as
 * when a lock is taken over.
 *
 * prune(store) prunes one store and needs the caller to be allowed to use
 * it (42501 otherwise).  prune(NULL) prunes every store and is for
 * wastore's administrators only -- the extension's owner and superusers,
 * for instance in a pg_cron job; a tenant gets 42501 and names its stores
 * one by one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/timestamp.h"

#include "args.h"
#include "plans.h"
#include "store.h"

static WastorePlan prune_plan = {
	"SELECT wastore_internal.prune($1, $2)", 2, {INT8OID, TIMESTAMPTZOID}
};

static WastorePlan prune_all_plan = {
	"SELECT wastore_internal.prune_all($1)", 1, {TIMESTAMPTZOID}
};

PG_FUNCTION_INFO_V1(wastore_prune);
Datum
wastore_prune(PG_FUNCTION_ARGS)
{
	TimestampTz now = GetCurrentTimestamp();
	StoreRef	ref;
	Datum		values[2];
	bool		isnull;
	int64		removed;

	if (PG_ARGISNULL(0))
	{
		if (!store_user_is_administrator())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to prune every store"),
					 errdetail("prune(NULL) is for the extension's owner and superusers."),
					 errhint("Name the store: prune(store).")));
		values[0] = TimestampTzGetDatum(now);
		SPI_connect();
		wastore_plan_execute(&prune_all_plan, values, NULL, false, SPI_OK_SELECT);
	}
	else
	{
		if (!store_find(wastore_store_arg(fcinfo, 0), &ref))
			PG_RETURN_INT64(0);
		values[0] = StoreRefGetDatum(&ref);
		values[1] = TimestampTzGetDatum(now);
		SPI_connect();
		wastore_plan_execute(&prune_plan, values, NULL, false, SPI_OK_SELECT);
	}
	removed = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PG_RETURN_INT64(removed);
}
