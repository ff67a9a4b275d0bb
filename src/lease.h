/*-------------------------------------------------------------------------
 *
 * lease.h
 *	  Leases with fencing tokens: one live client per store.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_LEASE_H
#define WASTORE_LEASE_H

#include "postgres.h"

#include "fmgr.h"

#include "store.h"

/*
 * A lost lease: a data exception of wastore's own in class 55 (object not
 * in prerequisite state), W01 in the implementation-defined range.
 */
#define ERRCODE_WASTORE_LEASE_LOST MAKE_SQLSTATE('5','5','W','0','1')

/*
 * The optional fencing token of a writing function (its `lease bigint
 * DEFAULT NULL` argument): true and the token when one was passed.
 */
extern bool lease_token_arg(FunctionCallInfo fcinfo, int argno, int64 *token);

/*
 * Fencing: raises 55W01, before the write changes anything, unless token
 * is the store's current, unexpired lease token; and again when the
 * transaction commits (or prepares), if it no longer is by then.  Takes the store's lease
 * lock in share mode to the end of the transaction, so that whatever moves
 * the lease (acquire, steal, release) waits for this write to commit; and
 * reads the lease as the latest committed state has it, whatever the
 * transaction's snapshot.  The caller has opened the store (store_open).
 */
extern void lease_check(const StoreRef *ref, int64 token);

#endif							/* WASTORE_LEASE_H */
