/*-------------------------------------------------------------------------
 *
 * wastore.h
 *	  Settings, limits and the key families, shared by every part of wastore.
 *	  Argument checks are in args.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_H
#define WASTORE_H

#include "fmgr.h"

/* GUCs, defined in wastore.c */
extern int	wastore_max_commit_retries;
extern int	wastore_commit_retry_delay_ms;

/*
 * Longest ids accepted, in bytes.  They keep every key of the store's btree
 * indexes far below the index tuple limit (about 2.7 kB), so an overlong id
 * is a clear 22023 rather than an index error half way through a batch.
 */
#define WASTORE_MAX_STORE_ID_BYTES	256
#define WASTORE_MAX_KEY_ID_BYTES	1024

/*
 * The key families, in the order of the wastore.family enum (a pgTAP test
 * pins the two together).
 */
#define WASTORE_NFAMILIES 10
extern const char *const wastore_families[WASTORE_NFAMILIES];

/* index into wastore_families, or -1 for an unknown name */
extern int	wastore_family_index(const char *name, int len);

/*
 * The OID of one of wastore's tables, for the code that reads it directly
 * (name: a string literal), and the tables' owner, as whom wastore's
 * statements run.  Both cached per backend until a relcache invalidation.
 */
extern Oid	wastore_table_oid(const char *name);
extern Oid	wastore_tables_owner(void);

#endif							/* WASTORE_H */
