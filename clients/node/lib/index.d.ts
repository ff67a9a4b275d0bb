// Type declarations of `wastore`, the core client.  Written by hand next to
// index.js; every function maps to one wastore SQL function (see the
// README's reference) and keeps its behaviour.

import type { EventEmitter } from 'node:events';

/**
 * What the client needs of a pg.Pool (typed structurally, so that these
 * declarations do not need @types/pg).
 */
export interface PoolLike {
	query(text: string, params?: unknown[]): Promise<QueryResultLike>;
	connect(): Promise<{ query(text: string, params?: unknown[]): Promise<QueryResultLike>; release(err?: unknown): void }>;
	end?(): Promise<void>;
}
export interface QueryResultLike {
	rows: any[];
	rowCount: number | null;
}

/** The ten key families of `wastore.family`, spelled as Baileys spells them. */
export type Family =
	| 'session' | 'pre-key' | 'sender-key' | 'sender-key-memory' | 'app-state-sync-key'
	| 'app-state-sync-version' | 'lid-mapping' | 'device-list' | 'tctoken' | 'identity-key';
export declare const FAMILIES: readonly Family[];

/** A JSON value as wastore stores it (`jsonb`). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * `{ "<family>": { "<id>": value | null | undefined } }`, Baileys' `SignalDataSet`:
 * `null` and `undefined` delete.  A top-level `creds` object is merged into the
 * store's creds like `mergeCreds(store, creds)` in the same atomic commit.
 */
export type SetData = { [family: string]: { [id: string]: unknown } | undefined } & { creds?: Record<string, unknown> };

/** `JSON.parse` reviver / `JSON.stringify` replacer (e.g. Baileys' BufferJSON). */
export type Reviver = (key: string, value: any) => any;
export type Replacer = (key: string, value: any) => any;

/** A lease's fencing token: the Lease itself or its token (a bigint in decimal). */
export type LeaseToken = Lease | string | bigint | number;

export interface WriteOptions {
	/** the store's lease: the write lands only while it is current, else 55W01 */
	lease?: LeaseToken;
	/** applied to every value before it is sent (default: none) */
	replacer?: Replacer;
}
export interface ReadOptions {
	/** applied to every value read (default: none, plain JSON) */
	reviver?: Reviver;
}

/**
 * An error of wastore: a server error keeps its SQLSTATE in `code` (and
 * `sqlstate`), its `detail` (for `set`: the family and id that failed),
 * `hint` and `where`; the pg error is its `cause`.  Errors of the client
 * itself: `55W01` (lease lost), `WASTORE_LEASE_BUSY`, `WASTORE_TX_ENDED`,
 * `WASTORE_STORE_NOT_EMPTY`, `WASTORE_IMPORT_*`, `WASTORE_EXPORT_*`,
 * `WASTORE_NO_CREDS`.  Connection errors of `pg` are thrown as they are.
 */
export declare class WastoreError extends Error {
	code?: string;
	readonly sqlstate?: string;
	detail?: string;
	hint?: string;
	where?: string;
	/** WASTORE_LEASE_BUSY: who holds the lease, until when */
	holder?: string;
	expiresAt?: Date;
}
/** '55W01': a write with a lease token that is not the store's current one */
export declare const LEASE_LOST: '55W01';
/** 'WASTORE_LEASE_BUSY': lease() found the store leased by someone else */
export declare const LEASE_BUSY: 'WASTORE_LEASE_BUSY';

export interface LeaseOptions {
	/** who holds it (an instance id); 1 to 1024 bytes */
	holder: string;
	/** time to live in milliseconds; renewed every ttlMs / 3 */
	ttlMs: number;
	/** take it even when held and unexpired (only when the holder is known gone) */
	steal?: boolean;
	/** renewal period in milliseconds (default ttlMs / 3) */
	renewEveryMs?: number;
}

/**
 * A store's lease held by this process (`wastore.lease_acquire`), renewed
 * at a third of its TTL by an unref'd timer.  Its loss — a renewal refused,
 * a write that got 55W01, no renewal for a whole TTL — is reported once:
 * the event `'lost'` and the promise `lost` (resolves with the 55W01 error,
 * never rejects).  After that, close the WhatsApp socket: another instance
 * has (or may take) the store.  Events: 'lost' (err), 'renewed', 'renewError'
 * (a connection error; retried), 'released'.
 */
export declare class Lease extends EventEmitter {
	readonly store: string;
	readonly holder: string;
	/** the fencing token (bigint, in decimal): pass it (or the Lease) to every write */
	readonly token: string;
	readonly ttlMs: number;
	readonly renewEveryMs: number;
	/** Date.now() when the last acquire or renewal was started */
	readonly confirmedAt: number;
	readonly lost: Promise<WastoreError>;
	readonly active: boolean;
	readonly state: 'active' | 'lost' | 'released';
	/**
	 * wastore.lease_renew now (the timer calls it every renewEveryMs): true
	 * when renewed; false, and the lease lost, when refused; rejects on a
	 * connection error (the timer retries until a whole TTL has passed)
	 */
	renew(): Promise<boolean>;
	/** marks the lease lost (a writer saw 55W01); once */
	markLost(reason?: Error): void;
	/** throws the 55W01 WastoreError unless active */
	assertActive(): void;
	/** stops renewing and wastore.lease_release; true when it was still current */
	release(): Promise<boolean>;
	on(event: 'lost', listener: (reason: WastoreError) => void): this;
	on(event: 'renewed' | 'released', listener: (lease: Lease) => void): this;
	on(event: 'renewError', listener: (err: unknown) => void): this;
}

export interface TryResult {
	ok: boolean;
	attempts: number;
	sqlstate: string | null;
	message: string | null;
}

/**
 * The key store, creds and lock functions.  On the client each call is one
 * statement in its own transaction; in withTransaction they run in its one.
 * Limits (the server's, 22023 when passed): a store id is 1 to 256 bytes, a
 * key id at most 1024 bytes.  Every server error is a WastoreError with its
 * SQLSTATE in `code` (the README's table lists them: 22004 a NULL, 22023 a
 * bad shape or length, 22P02 an unknown family, 42501 another role's store,
 * 55W01 a lease that is not current, 40001/40P01/55P03 after the retries).
 */
export interface TransactionOps {
	/**
	 * wastore.get: the values of the ids that exist; missing ids are absent
	 * (Baileys' SignalKeyStore.get).  Values as written (JSON), through `reviver`.
	 */
	get(store: string, family: Family, ids: string[], options?: ReadOptions): Promise<Record<string, any>>;
	/**
	 * wastore.set: the whole batch atomically (Baileys' keys.set(mutations) of
	 * one commit); null and undefined delete; a top-level `creds` is merged in
	 * the same commit.  Transient failures are retried by the server (GUCs
	 * wastore.max_commit_retries, commit_retry_delay_ms), then the original
	 * SQLSTATE is thrown with the family and id in `detail`.
	 */
	set(store: string, data: SetData, options?: WriteOptions): Promise<void>;
	/** wastore.try_set: like set, but every failure is reported, never thrown (a cancel still throws) */
	trySet(store: string, data: SetData, options?: WriteOptions): Promise<TryResult>;
	/** wastore.clear: every key of every family (creds and the rest stay) */
	clear(store: string, options?: WriteOptions): Promise<void>;
	/** wastore.drop_store: the logout purge — every row of the store, its lease too */
	dropStore(store: string): Promise<void>;
	/** wastore.creds: the creds, or null when there are none (never invented) */
	creds(store: string, options?: ReadOptions): Promise<Record<string, any> | null>;
	/**
	 * wastore.merge_creds: shallow (`deep: false`, the default: Baileys'
	 * Object.assign) or deep (objects merge recursively: baileys_ex) in one
	 * locked step; resolves to the new creds
	 */
	mergeCreds(store: string, updates: Record<string, unknown>, options?: WriteOptions & ReadOptions & { deep?: boolean }): Promise<Record<string, any>>;
	/** wastore.lock: waits for the transaction lock on a label (Baileys' transaction key); useful inside withTransaction only */
	lock(store: string, key: string): Promise<void>;
	/** wastore.try_lock: takes it if free now */
	tryLock(store: string, key: string): Promise<boolean>;
	/** wastore.lock_records: sorted, deduplicated, never deadlocks with another caller */
	lockRecords(store: string, family: Family, ids: string[]): Promise<void>;
	/** any statement in the transaction */
	query(text: string, params?: unknown[]): Promise<QueryResultLike>;
}

export interface WastoreClient extends Omit<TransactionOps, 'query'> {
	readonly pool: PoolLike;
	/**
	 * wastore.list: every id and value of the family, in id (byte) order,
	 * streamed through a cursor (batchSize rows per fetch, default 256) on a
	 * connection of its own in a read-only transaction; breaking out early
	 * gives the connection back.
	 */
	list(store: string, family: Family, options?: ReadOptions & { batchSize?: number }): AsyncIterable<[id: string, value: any]>;
	/** wastore.list_ids, streamed like list */
	listIds(store: string, family: Family, options?: { batchSize?: number }): AsyncIterable<string>;
	/**
	 * Runs fn in one database transaction holding wastore's lock on `scope`:
	 * a label (wastore.lock, Baileys' transaction key) or records
	 * ({ family, ids }: wastore.lock_records), or null for none.  Commits
	 * when fn resolves, rolls back when it throws (and rethrows).  The locks
	 * are released at the end; `lockTimeoutMs` sets lock_timeout for the
	 * transaction (55P03 when exceeded; 40P01 on a deadlock).  The handle
	 * throws WASTORE_TX_ENDED once the transaction has ended.
	 */
	withTransaction<T>(store: string, scope: string | { family: Family; ids: string[] } | null,
		fn: (tx: TransactionOps) => Promise<T>, options?: { lockTimeoutMs?: number }): Promise<T>;
	/**
	 * wastore.lease_acquire: a renewing Lease; throws WastoreError
	 * WASTORE_LEASE_BUSY (with holder and expiresAt) when another holder —
	 * or the same one, from an earlier process — has it unexpired.
	 */
	lease(store: string, options: LeaseOptions): Promise<Lease>;
	/**
	 * Sharded mode: the conninfo of the shard that owns `store`
	 * (wastore.shard_for on the proxy), asked each time; null when the client
	 * is not sharded.
	 */
	shardFor(store: string): Promise<string | null>;
	/** Sharded mode: how many shard pools the client has opened (0 when not sharded) */
	readonly shardPools: number;
	/** ends the pool when it was made from a connection string, and the shard pools of sharded mode */
	end(): Promise<void>;
}

/**
 * Sharded mode, for a proxy database with wastore_proxy: single calls go
 * through the proxy, which routes each to its store's shard; withTransaction,
 * list and listIds open on the shard that wastore.shard_for names, through a
 * pool per shard that the client opens (with `poolConfig` added to the
 * conninfo: user, password, max…) and ends on `end()`.
 */
export interface ShardedOptions {
	poolConfig?: Record<string, unknown>;
}

/** libpq's keyword/value connection string (as shard_for returns it) as a pg.Pool config */
export declare function parseConninfo(conninfo: string): { host?: string; port?: number; database?: string; user?: string; password?: string; application_name?: string };

/**
 * A client over a pg.Pool (yours, left open) or one made from a connection
 * string (ended by `end()`).  Values are JSON; pass a reviver/replacer (e.g.
 * Baileys' BufferJSON) to map them.  Each call is one statement in its own
 * transaction, except inside withTransaction.
 */
export declare function createClient(options: ({ pool: PoolLike } | { connectionString: string }) & { sharded?: boolean | ShardedOptions }): WastoreClient;
