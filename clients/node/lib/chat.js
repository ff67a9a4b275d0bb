// wastore/chat: a Chat SDK (`chat` npm) StateAdapter on wastore's chat
// functions (docs/chat.md).  Every method is one SQL call, so each is atomic
// and every service instance sharing the database shares the state.

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { fromPg } from './errors.js';

const MS = '* interval \'1 millisecond\'';

function poolOf(opts) {
	if (opts?.pool) {
		const p = opts.pool;
		if (typeof p.query !== 'function') throw new TypeError('createWastoreState: pool must be a pg.Pool');
		return { pool: p, owned: false };
	}
	if (typeof opts?.connectionString === 'string') return { pool: null, owned: true };
	throw new TypeError('createWastoreState: pass { pool } or { connectionString }');
}

/** a TTL in ms, or null for none (0 and undefined mean none, as in the memory adapter) */
function ttlOf(ms) {
	if (ms === undefined || ms === null || ms === 0) return null;
	if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError(`ttlMs must be a positive number, got ${ms}`);
	return ms;
}

export class WastoreStateAdapter {
	#opts;
	#pool = null;
	#owned;
	#store;
	#connected = false;
	#connecting = null;

	constructor(opts = {}, store) {
		this.#owned = poolOf(opts).owned;
		this.#opts = opts;
		this.#store = store ?? opts.store;
		if (typeof this.#store !== 'string' || this.#store === '') throw new TypeError('createWastoreState: a store id (a non-empty string) is required');
	}

	get store() { return this.#store; }

	async connect() {
		if (this.#connected) return;
		this.#connecting ??= (async () => {
			this.#pool = this.#opts.pool ?? new pg.Pool({ connectionString: this.#opts.connectionString });
			try {
				await this.#pool.query('SELECT 1');
			} catch (err) {
				if (this.#owned) await this.#pool.end().catch(() => {});
				this.#pool = null;
				throw fromPg(err);
			}
			this.#connected = true;
		})().finally(() => { this.#connecting = null; });
		await this.#connecting;
	}

	async disconnect() {
		if (!this.#connected) return;
		this.#connected = false;
		const p = this.#pool;
		this.#pool = null;
		if (this.#owned && p) await p.end();
	}

	async #q(text, params) {
		if (!this.#connected) throw new Error('WastoreStateAdapter is not connected. Call connect() first.');
		try {
			return (await this.#pool.query(text, [this.#store, ...params])).rows;
		} catch (err) {
			throw fromPg(err);
		}
	}

	async #one(text, params) {
		const rows = await this.#q(text, params);
		return rows[0]?.v ?? null;
	}

	async subscribe(threadId) {
		await this.#q('SELECT wastore.chat_subscribe($1, $2)', [threadId]);
	}

	async unsubscribe(threadId) {
		await this.#q('SELECT wastore.chat_unsubscribe($1, $2)', [threadId]);
	}

	async isSubscribed(threadId) {
		return (await this.#one('SELECT wastore.chat_is_subscribed($1, $2) AS v', [threadId])) === true;
	}

	async acquireLock(threadId, ttlMs) {
		const token = `wastore_${randomUUID()}`;
		const rows = await this.#q(
			`SELECT result::text AS result, expires_at FROM wastore.chat_acquire_lock_until($1, $2, $3, 'reject', '{}', $4::double precision ${MS})`,
			[threadId, token, ttlMs]);
		const r = rows[0];
		if (!r || r.result !== 'acquired') return null;
		return { threadId, token, expiresAt: r.expires_at ? r.expires_at.getTime() : Date.now() + ttlMs };
	}

	async releaseLock(lock) {
		await this.#q('SELECT released FROM wastore.chat_release_lock($1, $2, $3)', [lock.threadId, lock.token]);
	}

	async forceReleaseLock(threadId) {
		await this.#q('SELECT wastore.chat_force_release_lock($1, $2)', [threadId]);
	}

	async extendLock(lock, ttlMs) {
		const ok = await this.#one(`SELECT wastore.chat_extend_lock($1, $2, $3, $4::double precision ${MS}) AS v`,
			[lock.threadId, lock.token, ttlMs]);
		if (ok) lock.expiresAt = Date.now() + ttlMs;
		return ok === true;
	}

	async get(key) {
		return this.#one('SELECT wastore.chat_kv_get($1, $2) AS v', [key]);
	}

	async set(key, value, ttlMs) {
		await this.#q(`SELECT wastore.chat_kv_set($1, $2, $3::jsonb, $4::double precision ${MS})`,
			[key, JSON.stringify(value ?? null), ttlOf(ttlMs)]);
	}

	async setIfNotExists(key, value, ttlMs) {
		return (await this.#one(`SELECT wastore.chat_kv_set_if_absent($1, $2, $3::jsonb, $4::double precision ${MS}) AS v`,
			[key, JSON.stringify(value ?? null), ttlOf(ttlMs)])) === true;
	}

	async delete(key) {
		await this.#q('SELECT wastore.chat_kv_delete($1, $2)', [key]);
	}

	async appendToList(key, value, options) {
		const max = options?.maxLength ? options.maxLength : null;
		await this.#q(`SELECT wastore.chat_list_append($1, $2, $3::jsonb, $4::integer, $5::double precision ${MS})`,
			[key, JSON.stringify(value ?? null), max, ttlOf(options?.ttlMs)]);
	}

	async getList(key) {
		return (await this.#one('SELECT wastore.chat_list_get($1, $2) AS v', [key])) ?? [];
	}

	async enqueue(threadId, entry, maxSize) {
		const expires = typeof entry?.expiresAt === 'number' ? entry.expiresAt : Date.now() + 90_000;
		return this.#one('SELECT wastore.chat_enqueue($1, $2, $3::jsonb, $4::integer, to_timestamp($5::double precision / 1000)) AS v',
			[threadId, JSON.stringify(entry), maxSize, expires]);
	}

	async dequeue(threadId) {
		return this.#one('SELECT wastore.chat_dequeue($1, $2) AS v', [threadId]);
	}

	async queueDepth(threadId) {
		return (await this.#one('SELECT wastore.chat_queue_depth($1, $2) AS v', [threadId])) ?? 0;
	}
}

/**
 * createWastoreState({ pool } | { connectionString }, store) or
 * createWastoreState({ pool | connectionString, store }): a Chat SDK StateAdapter.
 */
export function createWastoreState(opts, store) {
	return new WastoreStateAdapter(opts, store);
}
