// Type declarations of `wastore/baileys`.  The auth state is typed
// structurally (it fits Baileys' AuthenticationState of 6.x and 7.x) so that
// these declarations do not need Baileys' own installed.

import type { Lease, LeaseOptions, WastoreClient, Family, PoolLike } from './index.js';

type AnyAuthState = {
	creds: any;
	keys: {
		get(type: string, ids: string[]): Promise<{ [id: string]: any }>;
		set(data: { [type: string]: { [id: string]: any } | undefined }): Promise<void>;
		clear(): Promise<void>;
		/** Baileys' coming optional hooks: every id and value of a family, streamed */
		list(type: Family): AsyncIterable<readonly [string, any]>;
		listIds(type: Family): AsyncIterable<string>;
	};
};

export interface WastoreAuthStateOptions {
	/**
	 * the Baileys module to take BufferJSON, proto and initAuthCreds from
	 * (`await import('baileys')`); default: import('baileys'), then
	 * import('@whiskeysockets/baileys')
	 */
	baileys?: object;
	/**
	 * hold the store's lease: every write carries its token; reads are served
	 * from a write-through cache after their first load (correct only while
	 * this is the one holder).  Throws WASTORE_LEASE_BUSY when someone else
	 * holds it.  A Lease from client.lease() may be passed instead.
	 */
	lease?: LeaseOptions | Lease;
}

export interface WastoreAuthState {
	/** pass as makeWASocket({ auth: state }) */
	state: AnyAuthState;
	/**
	 * sock.ev.on('creds.update', saveCreds): merges the partial update (or,
	 * with no argument, the whole live creds) shallowly, as the socket's
	 * Object.assign does.  Written with the next key batch when Baileys
	 * commits one in the same turn (pre-key rows and their counters in one
	 * commit), else on its own right after.  Resolves when written; rejects
	 * with the server's error (55W01 once the lease is lost).
	 */
	saveCreds(update?: object): Promise<void>;
	/** deletes every key of the store (wastore.clear); creds stay */
	clear(): Promise<void>;
	/** the logout purge: wastore.drop_store (keys, creds, lease: everything) */
	removeCreds(): Promise<void>;
	/** the store's lease, with options.lease: watch lease.lost / 'lost' and end the socket */
	lease?: Lease;
	/** waits for every write in flight (saveCreds included) */
	flush(): Promise<void>;
	/** flushes, releases the lease, ends a pool made from a connection string */
	close(): Promise<void>;
}

/**
 * The drop-in for Baileys' useMultiFileAuthState(folder): the account's
 * state in a wastore store.  Keys follow Baileys' SignalKeyStore contract:
 * missing ids are absent from get's result; null and undefined delete;
 * values are written and read as BufferJSON (Buffers as base64), and
 * app-state-sync-key values come back through
 * proto.Message.AppStateSyncKeyData.fromObject; every keys.set — one
 * Baileys transaction commit, every family of it — is one wastore.set,
 * atomic.  The creds are read once; a read error throws (fresh creds are
 * minted only when the store has none, and written only by saveCreds).
 * @param poolLike a pg.Pool, a wastore client, or a connection string
 * @param store the store id: one per WhatsApp account (not its JID)
 */
export declare function useWastoreAuthState(poolLike: PoolLike | WastoreClient | string, store: string, options?: WastoreAuthStateOptions): Promise<WastoreAuthState>;

export interface ImportOptions {
	pool?: PoolLike;
	client?: WastoreClient;
	connectionString?: string;
	store: string;
	/** a folder written by useMultiFileAuthState */
	folder: string;
	/** replace a store that already has creds or keys (dropped first, in the same transaction) */
	overwrite?: boolean;
	/** plan only: what would be written, nothing is */
	dryRun?: boolean;
	/** keys per wastore.set (default 500) */
	batchSize?: number;
	onProgress?: (p: { done: number; total: number }) => void;
}
export interface ImportSummary {
	store: string;
	folder: string;
	dryRun: boolean;
	creds: boolean;
	/** the number of keys (written, or to write) */
	keys: number;
	counts: Partial<Record<Family, number>>;
	/** legacy {"type":"Buffer","data":[…numbers]} values converted to base64 */
	converted: number;
	/** temporary and other files, and unreadable key files, with why */
	skipped: { file: string; reason: string }[];
	entries: { file: string; family: Family; id: string }[];
}
/**
 * Imports a useMultiFileAuthState folder in one transaction: creds.json
 * (missing or unreadable: refused, WASTORE_IMPORT_CREDS) and every
 * `<type>-<id>.json` (names decoded as Baileys' fixFileName wrote them: the
 * longest family prefix wins; app-state-sync-key "__" is "/"; sender-key
 * "--" is "::").  Temp files are skipped; only the legacy number-array
 * Buffer form is converted, everything else is stored as it is.  A store
 * with creds or keys is refused (WASTORE_STORE_NOT_EMPTY) unless overwrite.
 */
export declare function importMultiFileAuthState(options: ImportOptions): Promise<ImportSummary>;

/**
 * Writes a store out as a folder useMultiFileAuthState loads (file names by
 * fixFileName; creds.json written last).  Refuses a store without creds
 * (WASTORE_NO_CREDS), a folder with JSON files unless overwrite, and two
 * ids that would share a file name (WASTORE_EXPORT_COLLISION).
 */
export declare function exportMultiFileAuthState(options: {
	pool?: PoolLike; client?: WastoreClient; connectionString?: string;
	store: string; folder: string; overwrite?: boolean;
	onProgress?: (p: { done: number }) => void;
}): Promise<{ store: string; folder: string; creds: true; keys: number; counts: Partial<Record<Family, number>> }>;

/** a folder's plan, as importMultiFileAuthState makes it (no database) */
export declare function planImport(folder: string): Promise<{ folder: string; creds: string | null; entries: { file: string; family: Family; id: string; text: string }[]; skipped: { file: string; reason: string }[]; converted: number; counts: Partial<Record<Family, number>> }>;
/** the file name useMultiFileAuthState gives a key */
export declare function fileNameOf(family: Family, id: string): string;
/** what a file of such a folder holds */
export declare function parseFileName(name: string): { kind: 'creds' } | { kind: 'key'; family: Family; id: string } | { kind: 'skip'; reason: string };
/** BufferJSON, proto and initAuthCreds of the given (or the installed) Baileys */
export declare function loadBaileys(injected?: object): Promise<{ BufferJSON: any; proto: any; initAuthCreds: () => any }>;
