/*-------------------------------------------------------------------------
 *
 * store.h
 *	  Store ids and ownership: the one check every entry point makes.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_STORE_H
#define WASTORE_STORE_H

#include "postgres.h"

/*
 * Checks that the current user may use the store: it owns the store, or is a
 * member of the owning role, or the store does not exist yet.  Raises 42501
 * otherwise.  With create, a missing store is created owned by the current
 * user.  Returns whether the store exists (afterwards).  The caller must be
 * connected to SPI.
 */
extern bool store_access(text *store, bool create);

#endif							/* WASTORE_STORE_H */
