/*-------------------------------------------------------------------------
 *
 * chat.h
 *	  Chat state, as the other parts of wastore see it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef WASTORE_CHAT_H
#define WASTORE_CHAT_H

#include "postgres.h"

/*
 * Deletes every chat row of the store (subscriptions, dedupe keys, thread
 * and channel state, locks, pending entries).  The caller is connected to
 * SPI.
 */
extern void chat_delete_all(text *store);

#endif							/* WASTORE_CHAT_H */
