// useWastoreAuthState: Baileys' AuthenticationState kept in wastore, the
// drop-in for useMultiFileAuthState.

import { createClient } from './client.js';
import { LEASE_LOST, leaseLost } from './errors.js';
import { Lease } from './lease.js';
import { loadBaileys } from './baileys-module.js';
import { run } from './ops.js';

/** JSON text in the write-through cache that is parsed without the reviver */
class PlainText {
	constructor(text) { this.text = text; }
}

/**
 * True when `v` holds nothing BufferJSON treats specially, so that
 * JSON.stringify(v) is JSON.stringify(v, BufferJSON.replacer) and parsing
 * that text with BufferJSON.reviver gives what JSON.parse gives — in
 * Baileys 6.x and 7.x alike: only strings, numbers, booleans, null, arrays
 * and plain objects, and no object that either reviver takes for a Buffer
 * (`type: 'Buffer'`, `buffer: true`, or every key numeric and every value a
 * number).  Anything else (Buffers, typed arrays, class instances such as
 * protobuf messages, functions) answers false and goes the BufferJSON way.
 * (undefined is fine: JSON leaves it out, or writes null in an array, with
 * the replacer or without.)
 */
export function isPlain(v, depth = 0) {
	if (v === null || v === undefined) return true;
	const t = typeof v;
	if (t === 'string' || t === 'number' || t === 'boolean') return true;
	if (t !== 'object' || depth > 64) return false;
	if (Array.isArray(v)) {
		for (let i = 0; i < v.length; i++) if (!isPlain(v[i], depth + 1)) return false;
		return true;
	}
	const proto = Object.getPrototypeOf(v);
	if (proto !== Object.prototype && proto !== null) return false;
	let n = 0, numericKeys = true, numberValues = true;
	for (const k in v) {
		const x = v[k];
		// a member JSON leaves out (libsignal's chainKey.key once used)
		if (x === undefined) continue;
		n++;
		if ((k === 'type' && x === 'Buffer') || (k === 'buffer' && x === true) || k === 'toJSON') return false;
		if (numericKeys && Number.isNaN(parseInt(k, 10))) numericKeys = false;
		if (typeof x !== 'number') numberValues = false;
		if (!isPlain(x, depth + 1)) return false;
	}
	return !(n > 0 && numericKeys && numberValues);
}

/** a wastore client, a pg.Pool, or a connection string */
export function clientOf(x) {
	if (x && typeof x.withTransaction === 'function' && typeof x.setText === 'function') return { client: x, owned: false };
	if (x && typeof x.query === 'function' && typeof x.connect === 'function') return { client: createClient({ pool: x }), owned: false };
	if (typeof x === 'string') return { client: createClient({ connectionString: x }), owned: true };
	throw new TypeError('useWastoreAuthState: pass a pg.Pool, a wastore client or a connection string');
}

export async function useWastoreAuthState(poolLike, store, options = {}) {
	if (typeof store !== 'string' || store === '') throw new TypeError('useWastoreAuthState: store must be a non-empty string');
	const { BufferJSON, proto, initAuthCreds } = await loadBaileys(options.baileys);
	const { client, owned } = clientOf(poolLike);
	const replacer = BufferJSON.replacer;

	let lease = null;
	if (options.lease) lease = options.lease instanceof Lease ? options.lease : await client.lease(store, options.lease);

	let stored;
	try {
		// a read error throws: never mint fresh creds over ones we failed to read
		stored = await client.creds(store, { reviver: BufferJSON.reviver });
	} catch (err) {
		await lease?.release().catch(() => {});
		throw err;
	}
	const creds = stored ?? initAuthCreds();

	// The write-through cache: only while this process holds the store's
	// lease (it is then the store's only writer).  family -> id -> JSON
	// text (to revive with BufferJSON.reviver), a PlainText (JSON that needs
	// no reviver), or null for "known absent"; values are parsed anew on
	// every read, so nothing Baileys does to a returned object reaches the
	// cache.
	let cache = lease ? new Map() : null;
	let cacheGen = 0;
	const dropCache = () => { cache = null; cacheGen++; };
	lease?.on('lost', dropCache);

	const revive = (family, text) => {
		const v = JSON.parse(text, BufferJSON.reviver);
		return family === 'app-state-sync-key' && v ? proto.Message.AppStateSyncKeyData.fromObject(v) : v;
	};
	const fromCache = (family, entry) => (entry instanceof PlainText ? JSON.parse(entry.text) : revive(family, entry));
	const opts = () => (lease ? { lease: lease.token } : undefined);
	const checkLease = () => {
		if (lease && !lease.active) throw leaseLost(`the lease of store "${store}" is ${lease.state}: this instance must not write any more`);
	};
	const onWriteError = (err) => {
		if (err?.code === LEASE_LOST && lease) lease.markLost(err);
	};

	// Every write goes through one chain, in call order: a creds patch
	// folded into a key batch can never overtake a later patch.
	let chain = Promise.resolve();
	const serial = (fn) => {
		const p = chain.then(fn);
		chain = p.catch(() => {});
		return p;
	};

	// Creds saved by saveCreds and not yet written: top-level key -> JSON
	// text of its value (a shallow merge, as the socket's Object.assign), and
	// the saveCreds promises waiting for them.
	let pending = new Map();
	let waiters = [];
	let flushScheduled = false;
	const takePending = () => {
		if (pending.size === 0) return null;
		const taken = { map: pending, waiters };
		pending = new Map();
		waiters = [];
		return taken;
	};
	const credsText = (map) => `{${[...map].map(([k, t]) => `${JSON.stringify(k)}:${t}`).join(',')}}`;
	const settle = (taken, err) => {
		for (const w of taken?.waiters ?? []) err ? w.reject(err) : w.resolve();
	};
	const requeue = (taken) => {
		for (const [k, t] of taken.map) if (!pending.has(k)) pending.set(k, t);
		waiters.push(...taken.waiters);
		scheduleFlush();
	};
	const flush = () => serial(async () => {
		const taken = takePending();
		if (!taken) return;
		try {
			checkLease();
			await client.mergeCredsText(store, credsText(taken.map), opts());
			settle(taken);
		} catch (err) {
			onWriteError(err);
			settle(taken, err);
		}
	});
	function scheduleFlush() {
		if (flushScheduled) return;
		flushScheduled = true;
		// after the current turn: a key batch committed meanwhile (Baileys
		// commits its transaction right after emitting creds.update) carries
		// the creds instead
		setImmediate(() => { flushScheduled = false; flush(); });
	}

	const keys = {
		get: async (type, idList) => {
			const out = {};
			const ids = idList.map(String);
			let missing = ids;
			const fc = cache && (cache.get(type) ?? cache.set(type, new Map()).get(type));
			if (fc) {
				missing = [];
				for (const id of ids) {
					if (!fc.has(id)) missing.push(id);
					else {
						const t = fc.get(id);
						if (t != null) out[id] = fromCache(type, t);
					}
				}
			}
			if (missing.length === 0) return out;
			const gen = cacheGen;
			const { rows } = await run(client.pool, 'SELECT id, value::text AS value FROM wastore.get($1, $2::wastore.family, $3::text[])',
				[store, type, missing]);
			const found = new Set();
			for (const r of rows) {
				out[r.id] = revive(type, r.value);
				found.add(r.id);
				// a write that finished meanwhile is newer than this read
				if (fc && gen === cacheGen && cache && !fc.has(r.id)) fc.set(r.id, r.value);
			}
			if (fc && gen === cacheGen && cache) for (const id of missing) if (!found.has(id) && !fc.has(id)) fc.set(id, null);
			return out;
		},
		set: (data) => serial(async () => {
			checkLease();
			const parts = [];
			const entries = [];
			for (const family of Object.keys(data ?? {})) {
				const fam = data[family];
				if (fam == null) continue;
				const items = [];
				for (const id of Object.keys(fam)) {
					const v = fam[id];
					let t = null, entry = null;
					if (v !== undefined && v !== null) {
						// a value without binary parts (a libsignal session:
						// strings and numbers) is the same JSON without the
						// replacer, natively, and is read back without the
						// reviver; anything else goes through BufferJSON
						if (isPlain(v)) { t = JSON.stringify(v); entry = new PlainText(t); }
						else entry = t = JSON.stringify(v, replacer);
					}
					if (cache) entries.push([family, id, entry]);
					items.push(`${JSON.stringify(id)}:${t ?? 'null'}`);
				}
				parts.push(`${JSON.stringify(family)}:{${items.join(',')}}`);
			}
			const taken = takePending();
			if (taken) parts.unshift(`"creds":${credsText(taken.map)}`);
			if (parts.length === 0) return;
			try {
				await client.setText(store, `{${parts.join(',')}}`, opts());
			} catch (err) {
				onWriteError(err);
				if (taken) {
					if (err?.code === LEASE_LOST) settle(taken, err);
					else requeue(taken);
				}
				throw err;
			}
			settle(taken);
			if (cache) {
				for (const [family, id, t] of entries) {
					const fc2 = cache.get(family) ?? cache.set(family, new Map()).get(family);
					fc2.set(id, t);
				}
			}
		}),
		clear: () => serial(async () => {
			checkLease();
			try {
				await client.clear(store, opts());
			} catch (err) {
				onWriteError(err);
				throw err;
			}
			if (cache) { cache = new Map(); cacheGen++; }
		}),
		// the optional enumeration hooks of Baileys' coming store contract
		list: async function* (type) {
			for await (const [id, v] of client.list(store, type, { reviver: BufferJSON.reviver })) {
				yield [id, type === 'app-state-sync-key' && v ? proto.Message.AppStateSyncKeyData.fromObject(v) : v];
			}
		},
		listIds: (type) => client.listIds(store, type),
	};

	/**
	 * Saves creds: `update` (the partial that creds.update carries) or, with
	 * no argument, the whole live creds object; merged shallowly, like the
	 * socket's Object.assign.  Written with the next key batch when one
	 * comes in this turn, else on its own.
	 */
	const saveCreds = (update) => {
		const patch = update && typeof update === 'object' ? update : creds;
		try {
			checkLease();
		} catch (err) {
			return Promise.reject(err);
		}
		for (const k of Object.keys(patch)) {
			const v = patch[k];
			if (v === undefined) continue;
			pending.set(k, JSON.stringify(v, replacer));
		}
		const p = new Promise((resolve, reject) => waiters.push({ resolve, reject }));
		scheduleFlush();
		return p;
	};

	return {
		state: { creds, keys },
		saveCreds,
		/** deletes every key of the store (creds stay) */
		clear: () => keys.clear(),
		/**
		 * the logout purge: drops the store (keys, creds, everything, and its
		 * lease).  With a lease, only while it is still current.
		 */
		removeCreds: () => serial(async () => {
			checkLease();
			if (lease) {
				await client.withTransaction(store, null, async (tx) => {
					const { rows } = await tx.query('SELECT wastore.lease_renew($1, $2::bigint, $3::double precision * interval \'1 millisecond\') AS ok', [store, lease.token, lease.ttlMs]);
					if (!rows[0].ok) throw leaseLost(`the lease of store "${store}" was taken or has expired`);
					await tx.dropStore(store);
				}).catch((err) => { onWriteError(err); throw err; });
				lease.markLost(leaseLost(`store "${store}" was dropped (removeCreds)`));
			} else {
				await client.dropStore(store);
			}
			dropCache();
			pending = new Map();
		}),
		/** the store's lease, when options.lease was given */
		lease: lease ?? undefined,
		/** waits for every write in flight (saveCreds included) */
		flush: async () => { await flush(); await chain; },
		/** releases the lease (if any) and ends the pool if it was made here */
		close: async () => {
			await flush().catch(() => {});
			await chain;
			if (lease?.active) await lease.release().catch(() => {});
			if (owned) await client.end();
		},
	};
}
