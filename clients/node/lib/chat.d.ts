// wastore/chat: a Chat SDK (`chat` npm) StateAdapter on wastore's chat functions.

import type { Pool } from 'pg';

/** the Chat SDK's Lock (chat's `Lock`) */
export interface Lock {
	expiresAt: number;
	threadId: string;
	token: string;
}

/** the Chat SDK's QueueEntry (chat's `QueueEntry`; `message` is the SDK's Message, stored as its JSON) */
export interface QueueEntry {
	enqueuedAt: number;
	expiresAt: number;
	message: any;
}

export type WastoreStateOptions =
	| { pool: Pool; connectionString?: never; store?: string }
	| { connectionString: string; pool?: never; store?: string };

/** structurally the Chat SDK's StateAdapter (chat@^4.41) */
export declare class WastoreStateAdapter {
	constructor(opts: WastoreStateOptions, store?: string);
	readonly store: string;
	connect(): Promise<void>;
	disconnect(): Promise<void>;
	subscribe(threadId: string): Promise<void>;
	unsubscribe(threadId: string): Promise<void>;
	isSubscribed(threadId: string): Promise<boolean>;
	acquireLock(threadId: string, ttlMs: number): Promise<Lock | null>;
	releaseLock(lock: Lock): Promise<void>;
	forceReleaseLock(threadId: string): Promise<void>;
	extendLock(lock: Lock, ttlMs: number): Promise<boolean>;
	get<T = unknown>(key: string): Promise<T | null>;
	set<T = unknown>(key: string, value: T, ttlMs?: number): Promise<void>;
	setIfNotExists(key: string, value: unknown, ttlMs?: number): Promise<boolean>;
	delete(key: string): Promise<void>;
	appendToList(key: string, value: unknown, options?: { maxLength?: number; ttlMs?: number }): Promise<void>;
	getList<T = unknown>(key: string): Promise<T[]>;
	enqueue(threadId: string, entry: QueueEntry, maxSize: number): Promise<number>;
	dequeue(threadId: string): Promise<QueueEntry | null>;
	queueDepth(threadId: string): Promise<number>;
}

/**
 * A Chat SDK StateAdapter keeping its state in the wastore store `store`
 * (the second argument, or `opts.store`). With `{ pool }` the pool stays the
 * caller's; with `{ connectionString }` the adapter opens a pool on connect()
 * and ends it on disconnect().
 */
export declare function createWastoreState(opts: WastoreStateOptions, store?: string): WastoreStateAdapter;
