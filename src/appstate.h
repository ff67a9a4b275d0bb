/*-------------------------------------------------------------------------
 *
 * appstate.h
 *	  App-state sync versions, stored normalised (wastore.sync_versions and
 *	  wastore.sync_index) and seen by clients as Baileys' LTHashState JSON.
 *
 * The key family app-state-sync-version (keys.c) reads and writes through
 * these functions.  All of them expect the caller to be connected to SPI and
 * to have resolved the store (store_find, or store_open for writers), and
 * writers run them inside the savepoint commit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_APPSTATE_H
#define WASTORE_APPSTATE_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "store.h"

#define APPSTATE_VERSION_FAMILY "app-state-sync-version"

/*
 * The collection's state as LTHashState JSON:
 * {"version": n, "hash": <Buffer>, "indexValueMap": {"<b64 index MAC>":
 * {"valueMac": <Buffer>}}}, where <Buffer> is {"type": "Buffer", "data":
 * "<base64>"}.  NULL when the store has no state for the collection.
 * Allocated in the current memory context.
 */
extern Jsonb *appstate_version_json(const StoreRef *ref, text *collection);

/*
 * Replaces the collection's state with the LTHashState JSON state, in
 * Baileys' camelCase or baileys_ex's snake_case, or deletes it when state is
 * NULL.  The state is checked whole first (22023 names the bad part): no
 * unknown member, one spelling, and a hash that is the LTHash of the
 * entries' value MACs.
 */
extern void appstate_put_version_json(const StoreRef *ref, text *collection, Jsonb *state);

/*
 * The family's rows for wastore.get (ids: the collections asked for) and
 * wastore.list / list_ids (ids NULL: every collection of the store, in
 * order), appended to the function's materialized result: (id, value), or
 * just id when the result has one column.
 */
extern void appstate_family_rows(ReturnSetInfo *rsinfo, const StoreRef *ref, ArrayType *ids);

/* deletes every app-state sync version of the store (wastore.clear) */
extern void appstate_clear(const StoreRef *ref);

#endif							/* WASTORE_APPSTATE_H */
