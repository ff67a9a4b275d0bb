/*-------------------------------------------------------------------------
 *
 * chat.c
 *	  Chat state: subscriptions, dedupe, thread and channel state, durable
 *	  locks with strategies, and the normalised snapshot.
 *
 * This is the state of a chat bot framework's state adapter (Jido.Chat
 * StateAdapter, the Chat SDK's state adapters), kept in tables so that it
 * survives restarts and is shared by every instance of a service.
 *
 * Concurrency, under READ COMMITTED:
 *
 * - Acquiring a lock inserts its row with ON CONFLICT DO NOTHING: of two
 *	 callers that find the key free, one inserts and the other waits for it
 *	 and then sees the row.  An expired row is taken over with an UPDATE whose
 *	 WHERE clause requires it to be expired; a second caller waiting on the
 *	 same row re-checks that against the new version and finds it held.
 * - Queue and debounce callers lock the held row (FOR SHARE, FOR UPDATE)
 *	 before writing their pending entry, and release deletes the row first:
 *	 a release therefore waits for every pending write that saw the lock
 *	 held, and then reads the pending list with a fresh snapshot, so no entry
 *	 is lost between a release and a queue.  Entries that find the row gone
 *	 retry and take the lock instead.
 * - Marking a dedupe key is an INSERT ... ON CONFLICT DO NOTHING: exactly
 *	 one of concurrent callers inserts the row.  The marks of one
 *	 store take the store's dedupe lock first (locks.h), so
 *	 each one numbers its key after every key committed before it, and each
 *	 eviction sees them all: the store never keeps more than dedupe_limit
 *	 keys.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "commit.h"
#include "locks.h"
#include "plans.h"
#include "store.h"
#include "wastore.h"

/*
 * How often acquire starts over because the lock row changed between two of
 * its statements (released, taken or expired by someone else meanwhile).
 * Each round needs another transaction to commit a change to that very row,
 * so this is never reached in practice; it only bounds a pathological case.
 */
#define CHAT_ACQUIRE_MAX_ROUNDS 1000

/*
 * Subscriptions
 */

static WastorePlan subscribe_plan = {
	"INSERT INTO wastore.chat_subscriptions (incarnation, thread_id) VALUES ($1, $2) "
	"ON CONFLICT (incarnation, thread_id) DO NOTHING",
	2, {INT8OID, TEXTOID}
};

static WastorePlan unsubscribe_plan = {
	"DELETE FROM wastore.chat_subscriptions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND thread_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan is_subscribed_plan = {
	"SELECT 1 FROM wastore.chat_subscriptions "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND thread_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

/*
 * Thread and channel state
 */

static WastorePlan thread_state_plan = {
	"SELECT state FROM wastore.chat_thread_state "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND thread_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan put_thread_state_plan = {
	"INSERT INTO wastore.chat_thread_state AS t (incarnation, thread_id, state) "
	"VALUES ($1, $2, $3) "
	"ON CONFLICT (incarnation, thread_id) DO UPDATE SET state = excluded.state",
	3, {INT8OID, TEXTOID, JSONBOID}
};

static WastorePlan channel_state_plan = {
	"SELECT state FROM wastore.chat_channel_state "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND channel_id OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan put_channel_state_plan = {
	"INSERT INTO wastore.chat_channel_state AS c (incarnation, channel_id, state) "
	"VALUES ($1, $2, $3) "
	"ON CONFLICT (incarnation, channel_id) DO UPDATE SET state = excluded.state",
	3, {INT8OID, TEXTOID, JSONBOID}
};

/*
 * Dedupe
 */

static WastorePlan is_duplicate_plan = {
	"SELECT 1 FROM wastore.chat_dedupe "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND adapter OPERATOR(pg_catalog.=) $2 "
	"AND message_id OPERATOR(pg_catalog.=) $3",
	3, {INT8OID, TEXTOID, TEXTOID}
};

/*
 * A key's seq is its position in the store's insertion order: 1, 2, 3, ...
 * without gaps, since keys leave only by eviction (oldest first), a load
 * (which numbers them afresh) or drop_store.  The marks of a store are
 * serialized (locks_acquire_dedupe), so max(seq) + 1 is free, the store holds max -
 * min + 1 keys, and the ones to evict are those from min to max - limit:
 * every statement reads a few index entries, whatever the limit.  (The trim
 * names both ends of the range, which also keeps its generic plan on the
 * index.)
 */
static WastorePlan dedupe_bounds_plan = {
	"SELECT pg_catalog.min(seq), pg_catalog.max(seq) FROM wastore.chat_dedupe "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1",
	1, {INT8OID}
};

static WastorePlan mark_dedupe_plan = {
	"INSERT INTO wastore.chat_dedupe (incarnation, adapter, message_id, seq) VALUES ($1, $2, $3, $4) "
	"ON CONFLICT (incarnation, adapter, message_id) DO NOTHING",
	4, {INT8OID, TEXTOID, TEXTOID, INT8OID}
};

static WastorePlan trim_dedupe_plan = {
	"DELETE FROM wastore.chat_dedupe WHERE incarnation OPERATOR(pg_catalog.=) $1 "
	"AND seq OPERATOR(pg_catalog.>=) $2 AND seq OPERATOR(pg_catalog.<=) $3",
	3, {INT8OID, INT8OID, INT8OID}
};

/*
 * Locks.  $1 store, $2 lock key, $3 owner, $4 strategy, $5 metadata, $6
 * expires_at (NULL: no TTL), $7 now.
 */

static WastorePlan lock_insert_plan = {
	"INSERT INTO wastore.chat_locks (incarnation, lock_key, owner, strategy, metadata, expires_at) "
	"VALUES ($1, $2, $3, $4::wastore.lock_strategy, $5, $6) "
	"ON CONFLICT (incarnation, lock_key) DO NOTHING",
	6, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID}
};

static WastorePlan lock_take_expired_plan = {
	"UPDATE wastore.chat_locks SET owner = $3, strategy = $4::wastore.lock_strategy, "
	"metadata = $5, expires_at = $6 "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND expires_at OPERATOR(pg_catalog.<=) $7",
	7, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}
};

#define LOCK_HELD_SQL \
	"SELECT 1 FROM wastore.chat_locks " \
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 " \
	"AND (expires_at IS NULL OR expires_at OPERATOR(pg_catalog.>) $3)"

static WastorePlan lock_held_plan = {
	LOCK_HELD_SQL, 3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/* queue callers share the row: they may append at the same time */
static WastorePlan lock_held_share_plan = {
	LOCK_HELD_SQL " FOR SHARE", 3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

/* debounce callers replace the list: one at a time */
static WastorePlan lock_held_update_plan = {
	LOCK_HELD_SQL " FOR UPDATE", 3, {INT8OID, TEXTOID, TIMESTAMPTZOID}
};

#define PENDING_ENTRY_SQL \
	"pg_catalog.jsonb_build_object('owner', $3::text, 'strategy', $4::text, 'metadata', $5::jsonb)"

static WastorePlan pending_append_plan = {
	"INSERT INTO wastore.chat_pending (incarnation, lock_key, entry) "
	"VALUES ($1, $2, " PENDING_ENTRY_SQL ")",
	5, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID}
};

/* one statement: the list is never seen empty or doubled */
static WastorePlan pending_replace_plan = {
	"WITH cleared AS (DELETE FROM wastore.chat_pending "
	" WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2) "
	"INSERT INTO wastore.chat_pending (incarnation, lock_key, entry) "
	"VALUES ($1, $2, " PENDING_ENTRY_SQL ")",
	5, {INT8OID, TEXTOID, TEXTOID, TEXTOID, JSONBOID}
};

static WastorePlan lock_delete_owned_plan = {
	"DELETE FROM wastore.chat_locks "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	"AND owner OPERATOR(pg_catalog.=) $3",
	3, {INT8OID, TEXTOID, TEXTOID}
};

static WastorePlan lock_delete_plan = {
	"DELETE FROM wastore.chat_locks "
	"WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2",
	2, {INT8OID, TEXTOID}
};

static WastorePlan pending_take_plan = {
	"WITH taken AS (DELETE FROM wastore.chat_pending "
	" WHERE incarnation OPERATOR(pg_catalog.=) $1 AND lock_key OPERATOR(pg_catalog.=) $2 "
	" RETURNING seq, entry) "
	"SELECT COALESCE(pg_catalog.jsonb_agg(entry ORDER BY seq), '[]'::pg_catalog.jsonb) FROM taken",
	2, {INT8OID, TEXTOID}
};

/*
 * Snapshot.  Times are milliseconds since the Unix epoch, as the reference
 * adapters keep them.
 */

static WastorePlan snapshot_plan = {
	"SELECT pg_catalog.jsonb_build_object("
	" 'subscriptions', (SELECT COALESCE(pg_catalog.jsonb_agg(s.thread_id ORDER BY s.thread_id), '[]')"
	"   FROM wastore.chat_subscriptions s WHERE s.incarnation OPERATOR(pg_catalog.=) $1),"
	" 'dedupe', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(d.adapter, d.message_id)"
	"   ORDER BY d.adapter, d.message_id), '[]')"
	"   FROM wastore.chat_dedupe d WHERE d.incarnation OPERATOR(pg_catalog.=) $1),"
	" 'dedupe_order', (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(d.adapter, d.message_id)"
	"   ORDER BY d.seq), '[]')"
	"   FROM wastore.chat_dedupe d WHERE d.incarnation OPERATOR(pg_catalog.=) $1),"
	" 'thread_state', (SELECT COALESCE(pg_catalog.jsonb_object_agg(t.thread_id, t.state), '{}')"
	"   FROM wastore.chat_thread_state t WHERE t.incarnation OPERATOR(pg_catalog.=) $1),"
	" 'channel_state', (SELECT COALESCE(pg_catalog.jsonb_object_agg(c.channel_id, c.state), '{}')"
	"   FROM wastore.chat_channel_state c WHERE c.incarnation OPERATOR(pg_catalog.=) $1),"
	" 'locks', (SELECT COALESCE(pg_catalog.jsonb_object_agg(l.lock_key, pg_catalog.jsonb_build_object("
	"     'owner', l.owner, 'strategy', l.strategy, 'metadata', l.metadata,"
	"     'expires_at', pg_catalog.floor(EXTRACT(epoch FROM l.expires_at) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8)), '{}')"
	"   FROM wastore.chat_locks l WHERE l.incarnation OPERATOR(pg_catalog.=) $1),"
	" 'pending_locks', (SELECT COALESCE(pg_catalog.jsonb_object_agg(p.lock_key, p.entries), '{}')"
	"   FROM (SELECT lock_key, pg_catalog.jsonb_agg(entry ORDER BY seq) AS entries"
	"         FROM wastore.chat_pending WHERE incarnation OPERATOR(pg_catalog.=) $1 GROUP BY lock_key) p))",
	1, {INT8OID}
};

/*
 * Loading a snapshot: first the store's chat state is emptied, then each part
 * is inserted from $2, normalised in SQL.  A part of the wrong JSON type
 * counts as empty; entries of the wrong shape, and ids over the id length
 * limit, are left out.  The inserts upsert, so that a lock or state row that
 * a concurrent session wrote after the delete is replaced as well (dedupe
 * keys cannot race: the load holds the store's dedupe lock).
 */

static WastorePlan chat_delete_plans[] = {
	{"DELETE FROM wastore.chat_subscriptions WHERE incarnation OPERATOR(pg_catalog.=) $1", 1, {INT8OID}},
	{"DELETE FROM wastore.chat_dedupe WHERE incarnation OPERATOR(pg_catalog.=) $1", 1, {INT8OID}},
	{"DELETE FROM wastore.chat_thread_state WHERE incarnation OPERATOR(pg_catalog.=) $1", 1, {INT8OID}},
	{"DELETE FROM wastore.chat_channel_state WHERE incarnation OPERATOR(pg_catalog.=) $1", 1, {INT8OID}},
	{"DELETE FROM wastore.chat_locks WHERE incarnation OPERATOR(pg_catalog.=) $1", 1, {INT8OID}},
	{"DELETE FROM wastore.chat_pending WHERE incarnation OPERATOR(pg_catalog.=) $1", 1, {INT8OID}},
};

static void
chat_delete_all(const StoreRef *ref)
{
	Datum		values[1] = {StoreRefGetDatum(ref)};

	for (int i = 0; i < (int) lengthof(chat_delete_plans); i++)
		wastore_plan_execute(&chat_delete_plans[i], values, NULL, false, SPI_OK_DELETE);
}

/* the part as an array / object, or an empty one when it is anything else */
#define PART_ARRAY(part) \
	"(CASE WHEN pg_catalog.jsonb_typeof(pg_catalog.jsonb_extract_path($2, '" part "')) " \
	"OPERATOR(pg_catalog.=) 'array' THEN pg_catalog.jsonb_extract_path($2, '" part "') " \
	"ELSE '[]'::pg_catalog.jsonb END)"
#define PART_OBJECT(part) \
	"(CASE WHEN pg_catalog.jsonb_typeof(pg_catalog.jsonb_extract_path($2, '" part "')) " \
	"OPERATOR(pg_catalog.=) 'object' THEN pg_catalog.jsonb_extract_path($2, '" part "') " \
	"ELSE '{}'::pg_catalog.jsonb END)"

/* an id: a JSON string, or a number taken as its text; else NULL */
#define JSON_ID(v) \
	"(CASE WHEN pg_catalog.jsonb_typeof(" v ") OPERATOR(pg_catalog.=) ANY ('{string,number}'::text[]) " \
	"THEN pg_catalog.jsonb_extract_path_text(" v ", VARIADIC '{}'::text[]) END)"

/* a member of a JSON object, as jsonb / as text */
#define JGET(v, k) "pg_catalog.jsonb_extract_path(" v ", '" k "')"
#define JGETT(v, k) "pg_catalog.jsonb_extract_path_text(" v ", '" k "')"

#define ID_FITS(id) \
	"pg_catalog.octet_length(" id ") OPERATOR(pg_catalog.<=) " CppAsString2(WASTORE_MAX_KEY_ID_BYTES)

/*
 * Subscriptions: a list of ids, or a map-set {"<id>": true, ...} whose
 * members are the keys not mapped to false or null.
 */
static WastorePlan load_subscriptions_plan = {
	"INSERT INTO wastore.chat_subscriptions (incarnation, thread_id) "
	"SELECT DISTINCT $1, s.id FROM ("
	" SELECT " JSON_ID("e") " AS id FROM pg_catalog.jsonb_array_elements(" PART_ARRAY("subscriptions") ") AS a(e)"
	" UNION ALL"
	" SELECT o.k FROM pg_catalog.jsonb_each(" PART_OBJECT("subscriptions") ") AS o(k, v)"
	"  WHERE pg_catalog.jsonb_typeof(o.v) OPERATOR(pg_catalog.<>) 'null'"
	"    AND o.v OPERATOR(pg_catalog.<>) 'false'::pg_catalog.jsonb"
	") s WHERE s.id IS NOT NULL AND " ID_FITS("s.id") " "
	"ON CONFLICT (incarnation, thread_id) DO NOTHING",
	2, {INT8OID, JSONBOID}
};

/*
 * Dedupe: keys are [adapter, message_id] pairs (the message id may be a
 * number).  The set and the order list both count; the order list gives the
 * insertion order (first occurrence), and keys only in the set come before
 * it, oldest, in byte order.
 */
#define DEDUPE_PAIRS(part) \
	"SELECT p.adapter, p.message_id, p.n FROM (" \
	" SELECT CASE WHEN pg_catalog.jsonb_typeof(pg_catalog.jsonb_array_element(e, 0)) " \
	"   OPERATOR(pg_catalog.=) 'string' THEN pg_catalog.jsonb_array_element_text(e, 0) END AS adapter," \
	"  " JSON_ID("pg_catalog.jsonb_array_element(e, 1)") " AS message_id, n" \
	" FROM pg_catalog.jsonb_array_elements(" PART_ARRAY(part) ") WITH ORDINALITY AS a(e, n)" \
	" WHERE pg_catalog.jsonb_typeof(e) OPERATOR(pg_catalog.=) 'array'" \
	"   AND pg_catalog.jsonb_array_length(e) OPERATOR(pg_catalog.=) 2) p" \
	" WHERE p.adapter IS NOT NULL AND p.message_id IS NOT NULL" \
	"   AND " ID_FITS("p.adapter") " AND " ID_FITS("p.message_id")

static WastorePlan load_dedupe_plan = {
	"INSERT INTO wastore.chat_dedupe (incarnation, adapter, message_id, seq) "
	"SELECT $1, k.adapter, k.message_id,"
	" pg_catalog.row_number() OVER (ORDER BY k.rank, k.adapter, k.message_id) FROM ("
	" SELECT adapter, message_id, COALESCE(pg_catalog.min(n), 0) AS rank FROM ("
	"  SELECT adapter, message_id, NULL::pg_catalog.int8 AS n FROM (" DEDUPE_PAIRS("dedupe") ") s"
	"  UNION ALL"
	"  SELECT adapter, message_id, n FROM (" DEDUPE_PAIRS("dedupe_order") ") o"
	" ) u GROUP BY adapter, message_id"
	") k",
	2, {INT8OID, JSONBOID}
};

static WastorePlan load_thread_state_plan = {
	"INSERT INTO wastore.chat_thread_state (incarnation, thread_id, state) "
	"SELECT $1, o.k, o.v FROM pg_catalog.jsonb_each(" PART_OBJECT("thread_state") ") AS o(k, v) "
	"WHERE pg_catalog.jsonb_typeof(o.v) OPERATOR(pg_catalog.=) 'object' AND " ID_FITS("o.k") " "
	"ON CONFLICT (incarnation, thread_id) DO UPDATE SET state = excluded.state",
	2, {INT8OID, JSONBOID}
};

static WastorePlan load_channel_state_plan = {
	"INSERT INTO wastore.chat_channel_state (incarnation, channel_id, state) "
	"SELECT $1, o.k, o.v FROM pg_catalog.jsonb_each(" PART_OBJECT("channel_state") ") AS o(k, v) "
	"WHERE pg_catalog.jsonb_typeof(o.v) OPERATOR(pg_catalog.=) 'object' AND " ID_FITS("o.k") " "
	"ON CONFLICT (incarnation, channel_id) DO UPDATE SET state = excluded.state",
	2, {INT8OID, JSONBOID}
};

/*
 * Locks: {"<key>": {"owner": "...", "strategy": "reject" | "queue" |
 * "debounce", "metadata": {...}, "expires_at": <ms since the epoch>}}.
 * owner is required; strategy defaults to reject, metadata to {}, expires_at
 * to none (a fraction of a millisecond is dropped).  Any member of another
 * type or value leaves the lock out.
 */
static WastorePlan load_locks_plan = {
	"INSERT INTO wastore.chat_locks (incarnation, lock_key, owner, strategy, metadata, expires_at) "
	"SELECT $1, f.k, f.owner, f.strategy::wastore.lock_strategy, f.metadata,"
	" CASE WHEN f.ms IS NOT NULL THEN"
	"  pg_catalog.to_timestamp(0)"
	"  OPERATOR(pg_catalog.+) (pg_catalog.div(f.ms, 1000)::float8 OPERATOR(pg_catalog.*) '1 second'::pg_catalog.interval)"
	"  OPERATOR(pg_catalog.+) (pg_catalog.mod(f.ms, 1000)::float8 OPERATOR(pg_catalog.*) '1 millisecond'::pg_catalog.interval)"
	" END "
	"FROM ("
	" SELECT o.k,"
	"  CASE WHEN pg_catalog.jsonb_typeof(" JGET("o.v", "owner") ") OPERATOR(pg_catalog.=) 'string'"
	"   THEN " JGETT("o.v", "owner") " END AS owner,"
	"  CASE WHEN COALESCE(pg_catalog.jsonb_typeof(" JGET("o.v", "strategy") "), 'null') OPERATOR(pg_catalog.=) 'null'"
	"   THEN 'reject'"
	"   WHEN pg_catalog.jsonb_typeof(" JGET("o.v", "strategy") ") OPERATOR(pg_catalog.=) 'string'"
	"    AND (" JGETT("o.v", "strategy") ") OPERATOR(pg_catalog.=) ANY ('{reject,queue,debounce}'::text[])"
	"   THEN " JGETT("o.v", "strategy") " END AS strategy,"
	"  CASE WHEN COALESCE(pg_catalog.jsonb_typeof(" JGET("o.v", "metadata") "), 'null') OPERATOR(pg_catalog.=) 'null'"
	"   THEN '{}'::pg_catalog.jsonb"
	"   WHEN pg_catalog.jsonb_typeof(" JGET("o.v", "metadata") ") OPERATOR(pg_catalog.=) 'object'"
	"   THEN " JGET("o.v", "metadata") " END AS metadata,"
	"  COALESCE(pg_catalog.jsonb_typeof(" JGET("o.v", "expires_at") "), 'null') AS ms_type,"
	"  CASE WHEN pg_catalog.jsonb_typeof(" JGET("o.v", "expires_at") ") OPERATOR(pg_catalog.=) 'number'"
	"   THEN pg_catalog.floor((" JGETT("o.v", "expires_at") ")::pg_catalog.numeric) END AS ms"
	" FROM pg_catalog.jsonb_each(" PART_OBJECT("locks") ") AS o(k, v)"
	" WHERE pg_catalog.jsonb_typeof(o.v) OPERATOR(pg_catalog.=) 'object'"
	") f "
	"WHERE f.owner IS NOT NULL AND f.strategy IS NOT NULL AND f.metadata IS NOT NULL"
	" AND " ID_FITS("f.k") " AND " ID_FITS("f.owner")
	" AND (f.ms_type OPERATOR(pg_catalog.=) 'null'"
	"      OR f.ms OPERATOR(pg_catalog.>=) -200000000000000::pg_catalog.numeric"
	"         AND f.ms OPERATOR(pg_catalog.<=) 9000000000000000::pg_catalog.numeric) "
	"ON CONFLICT (incarnation, lock_key) DO UPDATE SET owner = excluded.owner,"
	" strategy = excluded.strategy, metadata = excluded.metadata, expires_at = excluded.expires_at",
	2, {INT8OID, JSONBOID}
};

/* Pending entries: {"<key>": [entry, ...]}, every entry a JSON object. */
static WastorePlan load_pending_plan = {
	"INSERT INTO wastore.chat_pending (incarnation, lock_key, seq, entry) "
	"SELECT $1, p.k, pg_catalog.nextval('wastore.chat_seq'), p.e FROM ("
	" SELECT o.k, a.e, a.n"
	" FROM pg_catalog.jsonb_each(" PART_OBJECT("pending_locks") ") AS o(k, v),"
	"  LATERAL pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(o.v)"
	"   OPERATOR(pg_catalog.=) 'array' THEN o.v ELSE '[]'::pg_catalog.jsonb END) WITH ORDINALITY AS a(e, n)"
	" WHERE pg_catalog.jsonb_typeof(a.e) OPERATOR(pg_catalog.=) 'object' AND " ID_FITS("o.k")
	" ORDER BY o.k, a.n) p",
	2, {INT8OID, JSONBOID}
};

/*
 * Arguments
 */

/* A chat id (thread, channel, lock key, owner, adapter, message id). */
static text *
chat_id_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	text	   *id = wastore_text_arg(fcinfo, argno, name);
	int			len = VARSIZE_ANY_EXHDR(id);

	if (len > WASTORE_MAX_KEY_ID_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", name),
				 errdetail("It has at most %d bytes; this one has %d.",
						   WASTORE_MAX_KEY_ID_BYTES, len)));
	return id;
}

static const char *
json_kind(Jsonb *jb)
{
	if (JB_ROOT_IS_SCALAR(jb))
		return "scalar";
	return JB_ROOT_IS_ARRAY(jb) ? "array" : "object";
}

/* A jsonb argument that must be a JSON object. */
static Jsonb *
chat_object_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Jsonb	   *jb = DatumGetJsonbP(wastore_arg(fcinfo, argno, name));

	if (!JB_ROOT_IS_OBJECT(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", name),
				 errdetail("It is a JSON %s.", json_kind(jb))));
	return jb;
}

/* The label of an enum argument. */
static char *
chat_enum_label_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Oid			label_oid = DatumGetObjectId(wastore_arg(fcinfo, argno, name));
	HeapTuple	tup;
	char	   *label;

	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(label_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for enum value %u", label_oid);
	label = pstrdup(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel));
	ReleaseSysCache(tup);
	return label;
}

/* The function's enum result with that label. */
static Datum
chat_enum_result(FunctionCallInfo fcinfo, const char *label)
{
	Oid			typoid = get_func_rettype(fcinfo->flinfo->fn_oid);

	return DirectFunctionCall2(enum_in, CStringGetDatum(label), ObjectIdGetDatum(typoid));
}

/*
 * Helpers
 */


/* Runs a statement and reports whether it returned or touched any row. */
static bool
run_exists(WastorePlan *plan, Datum *values, const char *nulls, bool read_only, int rc)
{
	return wastore_plan_execute(plan, values, nulls, read_only, rc) > 0;
}

/* The jsonb of the first column of the single result row, copied out of SPI. */
static Datum
first_jsonb_result(void)
{
	bool		isnull;
	Datum		value;

	Assert(SPI_processed == 1);
	value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	Assert(!isnull);
	return SPI_datumTransfer(value, false, -1);
}

/* Reads a jsonb state map: the stored one, or {} */
static Datum
read_state(FunctionCallInfo fcinfo, WastorePlan *plan, const char *id_name)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *id = chat_id_arg(fcinfo, 1, id_name);
	Datum		result = (Datum) 0;
	StoreRef	ref;

	if (store_find(store, &ref))
	{
		Datum		values[2] = {StoreRefGetDatum(&ref), PointerGetDatum(id)};

		SPI_connect();
		if (wastore_plan_execute(plan, values, NULL, true, SPI_OK_SELECT) == 1)
			result = first_jsonb_result();
		SPI_finish();
	}

	if (result == (Datum) 0)
		result = DirectFunctionCall1(jsonb_in, CStringGetDatum("{}"));
	PG_RETURN_DATUM(result);
}

static Datum
write_state(FunctionCallInfo fcinfo, WastorePlan *plan, const char *id_name)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *id = chat_id_arg(fcinfo, 1, id_name);
	Jsonb	   *state = chat_object_arg(fcinfo, 2, "state");
	Datum		values[3] = {(Datum) 0, PointerGetDatum(id), PointerGetDatum(state)};
	StoreRef	ref;

	SPI_connect();
	store_open(store, &ref);
	values[0] = StoreRefGetDatum(&ref);
	wastore_plan_execute(plan, values, NULL, false, SPI_OK_INSERT);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * Subscriptions
 */

PG_FUNCTION_INFO_V1(chat_subscribe);
Datum
chat_subscribe(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *thread_id = chat_id_arg(fcinfo, 1, "thread_id");
	Datum		values[2] = {(Datum) 0, PointerGetDatum(thread_id)};
	StoreRef	ref;

	SPI_connect();
	store_open(store, &ref);
	values[0] = StoreRefGetDatum(&ref);
	wastore_plan_execute(&subscribe_plan, values, NULL, false, SPI_OK_INSERT);
	SPI_finish();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(chat_unsubscribe);
Datum
chat_unsubscribe(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *thread_id = chat_id_arg(fcinfo, 1, "thread_id");
	StoreRef	ref;

	if (store_find(store, &ref))
	{
		Datum		values[2] = {StoreRefGetDatum(&ref), PointerGetDatum(thread_id)};

		SPI_connect();
		wastore_plan_execute(&unsubscribe_plan, values, NULL, false, SPI_OK_DELETE);
		SPI_finish();
	}
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(chat_is_subscribed);
Datum
chat_is_subscribed(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *thread_id = chat_id_arg(fcinfo, 1, "thread_id");
	StoreRef	ref;
	bool		found = false;

	if (store_find(store, &ref))
	{
		Datum		values[2] = {StoreRefGetDatum(&ref), PointerGetDatum(thread_id)};

		SPI_connect();
		found = run_exists(&is_subscribed_plan, values, NULL, true, SPI_OK_SELECT);
		SPI_finish();
	}
	PG_RETURN_BOOL(found);
}

/*
 * Thread and channel state
 */

PG_FUNCTION_INFO_V1(chat_thread_state);
Datum
chat_thread_state(PG_FUNCTION_ARGS)
{
	return read_state(fcinfo, &thread_state_plan, "thread_id");
}

PG_FUNCTION_INFO_V1(chat_put_thread_state);
Datum
chat_put_thread_state(PG_FUNCTION_ARGS)
{
	return write_state(fcinfo, &put_thread_state_plan, "thread_id");
}

PG_FUNCTION_INFO_V1(chat_channel_state);
Datum
chat_channel_state(PG_FUNCTION_ARGS)
{
	return read_state(fcinfo, &channel_state_plan, "channel_id");
}

PG_FUNCTION_INFO_V1(chat_put_channel_state);
Datum
chat_put_channel_state(PG_FUNCTION_ARGS)
{
	return write_state(fcinfo, &put_channel_state_plan, "channel_id");
}

/*
 * Dedupe
 */

PG_FUNCTION_INFO_V1(chat_is_duplicate);
Datum
chat_is_duplicate(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *adapter = chat_id_arg(fcinfo, 1, "adapter");
	text	   *message_id = chat_id_arg(fcinfo, 2, "message_id");
	StoreRef	ref;
	bool		found = false;

	if (store_find(store, &ref))
	{
		Datum		values[3] = {
			StoreRefGetDatum(&ref), PointerGetDatum(adapter), PointerGetDatum(message_id)
		};

		SPI_connect();
		found = run_exists(&is_duplicate_plan, values, NULL, true, SPI_OK_SELECT);
		SPI_finish();
	}
	PG_RETURN_BOOL(found);
}

PG_FUNCTION_INFO_V1(chat_mark_dedupe);
Datum
chat_mark_dedupe(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *adapter = chat_id_arg(fcinfo, 1, "adapter");
	text	   *message_id = chat_id_arg(fcinfo, 2, "message_id");
	int32		limit = DatumGetInt32(wastore_arg(fcinfo, 3, "dedupe_limit"));
	Datum		values[4];
	StoreRef	ref;
	bool		isnull;
	int64		min_seq = 1;
	int64		max_seq = 0;
	bool		added;

	if (limit <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dedupe_limit must be positive"),
				 errdetail("It is %d.", limit)));

	SPI_connect();
	store_open(store, &ref);

	/*
	 * Marks of one store run one after the other, to the end of their
	 * transactions.  Side by side, two would number their keys alike and each
	 * evict without the other's new key, leaving the store above its limit;
	 * one after the other, the second one's statements see the first one's
	 * committed key.  In the steady state (a full window) they would queue
	 * anyway: each deletes the same oldest row.
	 */
	locks_acquire_dedupe(&ref);

	values[0] = StoreRefGetDatum(&ref);
	wastore_plan_execute(&dedupe_bounds_plan, values, NULL, false, SPI_OK_SELECT);
	Assert(SPI_processed == 1);
	(void) SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull)
	{
		min_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 1, &isnull));
		max_seq = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 2, &isnull));
	}

	values[1] = PointerGetDatum(adapter);
	values[2] = PointerGetDatum(message_id);
	values[3] = Int64GetDatum(max_seq + 1);
	added = run_exists(&mark_dedupe_plan, values, NULL, false, SPI_OK_INSERT);
	if (added)
		max_seq++;

	/*
	 * Trimmed on every call, as the reference adapters do: a smaller limit
	 * takes effect at once, even when the key was known.
	 */
	if (max_seq - min_seq + 1 > limit)
	{
		values[1] = Int64GetDatum(min_seq);
		values[2] = Int64GetDatum(max_seq - limit);
		wastore_plan_execute(&trim_dedupe_plan, values, NULL, false, SPI_OK_DELETE);
	}
	SPI_finish();
	PG_RETURN_BOOL(added);
}

/*
 * Locks
 */

PG_FUNCTION_INFO_V1(chat_acquire_lock);
Datum
chat_acquire_lock(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	text	   *lock_key = chat_id_arg(fcinfo, 1, "lock_key");
	text	   *owner = chat_id_arg(fcinfo, 2, "owner");
	char	   *strategy = chat_enum_label_arg(fcinfo, 3, "strategy");
	Jsonb	   *metadata = chat_object_arg(fcinfo, 4, "metadata");
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz expires_at = 0;
	bool		has_ttl = !PG_ARGISNULL(5);
	const char *result = NULL;
	Datum		values[7];
	char		nulls[7];
	Datum		held_values[3];
	StoreRef	ref;

	if (has_ttl)
	{
		Interval   *ttl = PG_GETARG_INTERVAL_P(5);

		expires_at = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
															 TimestampTzGetDatum(now),
															 IntervalPGetDatum(ttl)));
		if (expires_at <= now)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("ttl must be positive"),
					 errdetail("It is %s.",
							   DatumGetCString(DirectFunctionCall1(interval_out,
																   IntervalPGetDatum(ttl))))));

		/*
		 * Whole milliseconds, as snapshots carry them, rounded up so that
		 * the lock lasts at least ttl.
		 */
		if (expires_at % 1000 != 0)
			expires_at += 1000 - expires_at % 1000;
	}

	/* concurrent: nothing is stored, but the store must still be the caller's */
	if (strcmp(strategy, "concurrent") == 0)
	{
		store_find(store, &ref);
		PG_RETURN_DATUM(chat_enum_result(fcinfo, "acquired"));
	}

	SPI_connect();
	store_open(store, &ref);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = StoreRefGetDatum(&ref);
	values[1] = PointerGetDatum(lock_key);
	values[2] = PointerGetDatum(owner);
	values[3] = CStringGetTextDatum(strategy);
	values[4] = PointerGetDatum(metadata);
	values[5] = TimestampTzGetDatum(expires_at);
	values[6] = TimestampTzGetDatum(now);
	if (!has_ttl)
		nulls[5] = 'n';

	held_values[0] = values[0];
	held_values[1] = values[1];
	held_values[2] = values[6];

	for (int round = 0; result == NULL; round++)
	{
		CHECK_FOR_INTERRUPTS();
		if (round >= CHAT_ACQUIRE_MAX_ROUNDS)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("lock \"%s\" changed hands too often to be acquired",
							text_to_cstring(lock_key))));

		/* free: insert it (a concurrent inserter makes us wait, then lose) */
		if (run_exists(&lock_insert_plan, values, nulls, false, SPI_OK_INSERT))
		{
			result = "acquired";
			break;
		}

		/* expired: take it over, if it is still expired once we get the row */
		if (run_exists(&lock_take_expired_plan, values, nulls, false, SPI_OK_UPDATE))
		{
			result = "acquired";
			break;
		}

		/*
		 * Held by someone (the caller too: a second request of the owner is
		 * treated like anyone's).  Queue and debounce lock the row, so that
		 * a release waits for their entry; if the row is gone or expired by
		 * now, start over.
		 */
		if (strcmp(strategy, "reject") == 0)
		{
			if (run_exists(&lock_held_plan, held_values, NULL, false, SPI_OK_SELECT))
				result = "busy";
		}
		else if (strcmp(strategy, "queue") == 0)
		{
			if (run_exists(&lock_held_share_plan, held_values, NULL, false, SPI_OK_SELECT))
			{
				wastore_plan_execute(&pending_append_plan, values, NULL, false, SPI_OK_INSERT);
				result = "queued";
			}
		}
		else
		{
			Assert(strcmp(strategy, "debounce") == 0);
			if (run_exists(&lock_held_update_plan, held_values, NULL, false, SPI_OK_SELECT))
			{
				wastore_plan_execute(&pending_replace_plan, values, NULL, false, SPI_OK_INSERT);
				result = "debounced";
			}
		}
	}

	SPI_finish();
	PG_RETURN_DATUM(chat_enum_result(fcinfo, result));
}

typedef struct ChatRelease
{
	text	   *store;
	text	   *lock_key;
	text	   *owner;			/* NULL: force */
	bool		released;
	Datum		pending;		/* jsonb array, when released */
} ChatRelease;

/* The body of a release; runs inside the savepoint commit. */
static void
release_work(void *arg)
{
	ChatRelease *rel = (ChatRelease *) arg;
	StoreRef	ref;
	Datum		values[3] = {
		(Datum) 0, PointerGetDatum(rel->lock_key), PointerGetDatum(rel->owner)
	};

	rel->released = false;
	SPI_connect();
	if (store_find(rel->store, &ref))
	{
		values[0] = StoreRefGetDatum(&ref);

		/*
		 * The lock row first: this waits for queue and debounce callers that
		 * hold it, so the pending list read next (a new statement, a new
		 * snapshot) has their entries.
		 */
		if (rel->owner)
			rel->released = run_exists(&lock_delete_owned_plan, values, NULL, false,
									   SPI_OK_DELETE);
		else
		{
			wastore_plan_execute(&lock_delete_plan, values, NULL, false, SPI_OK_DELETE);
			rel->released = true;
		}

		if (rel->released)
		{
			wastore_plan_execute(&pending_take_plan, values, NULL, false, SPI_OK_SELECT);
			rel->pending = first_jsonb_result();
		}
	}
	SPI_finish();
}

static void
run_release(ChatRelease *rel)
{
	CommitOutcome outcome;

	commit_run(release_work, rel, &outcome);
	if (!outcome.ok)
		ReThrowError(outcome.error);
}

PG_FUNCTION_INFO_V1(chat_release_lock);
Datum
chat_release_lock(PG_FUNCTION_ARGS)
{
	ChatRelease rel = {0};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	rel.store = wastore_store_arg(fcinfo, 0);
	rel.lock_key = chat_id_arg(fcinfo, 1, "lock_key");
	rel.owner = chat_id_arg(fcinfo, 2, "owner");

	InitMaterializedSRF(fcinfo, 0);
	run_release(&rel);

	values[0] = BoolGetDatum(rel.released);
	if (rel.released)
		values[1] = rel.pending;
	else
		nulls[1] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(chat_force_release_lock);
Datum
chat_force_release_lock(PG_FUNCTION_ARGS)
{
	ChatRelease rel = {0};

	rel.store = wastore_store_arg(fcinfo, 0);
	rel.lock_key = chat_id_arg(fcinfo, 1, "lock_key");

	run_release(&rel);
	if (!rel.released)
		PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
	PG_RETURN_DATUM(rel.pending);
}

/*
 * Snapshot
 */

PG_FUNCTION_INFO_V1(chat_snapshot);
Datum
chat_snapshot(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	StoreRef	ref;
	Datum		values[1];
	Datum		result;

	/*
	 * A missing store gives the empty snapshot: the statement builds it from
	 * no rows (incarnation 0 has none).
	 */
	store_find(store, &ref);
	values[0] = StoreRefGetDatum(&ref);
	SPI_connect();
	wastore_plan_execute(&snapshot_plan, values, NULL, true, SPI_OK_SELECT);
	result = first_jsonb_result();
	SPI_finish();
	PG_RETURN_DATUM(result);
}

typedef struct ChatLoad
{
	StoreRef	ref;			/* opened before the savepoint commit */
	Jsonb	   *snapshot;
} ChatLoad;

static void
load_work(void *arg)
{
	ChatLoad   *load = (ChatLoad *) arg;
	Datum		values[2] = {StoreRefGetDatum(&load->ref), PointerGetDatum(load->snapshot)};

	SPI_connect();
	chat_delete_all(&load->ref);

	wastore_plan_execute(&load_subscriptions_plan, values, NULL, false, SPI_OK_INSERT);
	wastore_plan_execute(&load_dedupe_plan, values, NULL, false, SPI_OK_INSERT);
	wastore_plan_execute(&load_thread_state_plan, values, NULL, false, SPI_OK_INSERT);
	wastore_plan_execute(&load_channel_state_plan, values, NULL, false, SPI_OK_INSERT);
	wastore_plan_execute(&load_locks_plan, values, NULL, false, SPI_OK_INSERT);
	wastore_plan_execute(&load_pending_plan, values, NULL, false, SPI_OK_INSERT);
	SPI_finish();
}

PG_FUNCTION_INFO_V1(chat_load_snapshot);
Datum
chat_load_snapshot(PG_FUNCTION_ARGS)
{
	text	   *store = wastore_store_arg(fcinfo, 0);
	ChatLoad	load;
	CommitOutcome outcome;

	load.snapshot = chat_object_arg(fcinfo, 1, "snapshot");

	/*
	 * The store is opened (created when missing), and its dedupe lock taken,
	 * outside the savepoint commit, which would release both locks on a
	 * retry.  Marks wait for the load, and the load for them.
	 */
	SPI_connect();
	store_open(store, &load.ref);
	SPI_finish();
	locks_acquire_dedupe(&load.ref);

	commit_run(load_work, &load, &outcome);
	if (!outcome.ok)
		ReThrowError(outcome.error);
	PG_RETURN_VOID();
}
