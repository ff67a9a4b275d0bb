/*-------------------------------------------------------------------------
 *
 * chat.h
 *	  What the chat state files share: expiries.
 *
 * Expiry is by the server's clock (GetCurrentTimestamp, clock_timestamp()
 * in SQL): a row whose expires_at is at or before the time of the call is
 * expired, and every function treats it as absent before prune deletes it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_CHAT_H
#define WASTORE_CHAT_H

#include "postgres.h"

#include "fmgr.h"
#include "datatype/timestamp.h"

/*
 * The latest expiry a row can have: the last whole millisecond PostgreSQL
 * can store, 294276-12-31 23:59:59.999 UTC (END_TIMESTAMP is the first
 * instant past the range).  The tables' CHECKs hold every row to the range,
 * which pg_dump writes and pg_restore reads back.
 */
#define CHAT_MAX_EXPIRES (END_TIMESTAMP - 1000)

/*
 * now + ttl, rounded up to a whole millisecond (clamped to
 * CHAT_MAX_EXPIRES); 22023 when ttl is not positive, 22008 when the end is
 * past the range.
 */
extern TimestampTz chat_expiry(Interval *ttl, TimestampTz now);

/*
 * A ttl argument: false when it is NULL (no expiry), else true and its
 * expiry at now.
 */
extern bool chat_ttl_arg(FunctionCallInfo fcinfo, int argno, TimestampTz now,
						 TimestampTz *expires_at);

#endif							/* WASTORE_CHAT_H */
