// A store's lease (wastore.lease_acquire / renew / release) held by this
// process: renewed at a third of its TTL, and reporting its loss once, as
// the event 'lost' and the promise `lost`.

import { EventEmitter } from 'node:events';
import { WastoreError, LEASE_BUSY, LEASE_LOST, leaseLost } from './errors.js';
import { run } from './ops.js';

const MS = '::double precision * interval \'1 millisecond\'';

function checkOptions(opts) {
	const { holder, ttlMs } = opts ?? {};
	if (typeof holder !== 'string' || holder === '') throw new TypeError('lease: holder must be a non-empty string');
	if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TypeError('lease: ttlMs must be a positive number of milliseconds');
}

export class Lease extends EventEmitter {
	#pool; #timer = null; #state = 'active'; #resolveLost; #renewing = null;

	constructor(pool, { store, holder, token, ttlMs, renewEveryMs }) {
		super();
		this.#pool = pool;
		/** @type {string} */ this.store = store;
		/** @type {string} */ this.holder = holder;
		/** @type {string} the fencing token (a bigint, in decimal) */ this.token = token;
		/** @type {number} */ this.ttlMs = ttlMs;
		/** @type {number} */ this.renewEveryMs = renewEveryMs ?? Math.max(1, Math.floor(ttlMs / 3));
		/** @type {number} when the last acquire or renew was confirmed (Date.now()) */
		this.confirmedAt = Date.now();
		/** @type {Promise<Error>} resolves (never rejects) with the reason once the lease is lost */
		this.lost = new Promise((resolve) => { this.#resolveLost = resolve; });
		this.#schedule(this.renewEveryMs);
	}

	/** true while the lease is held (not lost, not released) */
	get active() { return this.#state === 'active'; }
	/** 'active', 'lost' or 'released' */
	get state() { return this.#state; }

	#schedule(ms) {
		clearTimeout(this.#timer);
		if (this.#state !== 'active') return;
		this.#timer = setTimeout(() => { this.renew().catch(() => {}); }, ms);
		this.#timer.unref?.();
	}

	/**
	 * Extends the lease to now + ttlMs (the timer does this at a third of the
	 * TTL).  Resolves true when renewed; false, and the lease is lost, when
	 * the server refused (taken, expired); a connection error is retried by
	 * the timer until the TTL has passed since the last confirmation.
	 * @returns {Promise<boolean>}
	 */
	renew() {
		if (this.#state !== 'active') return Promise.resolve(false);
		if (this.#renewing) return this.#renewing;
		this.#renewing = (async () => {
			const started = Date.now();
			try {
				const { rows } = await run(this.#pool, `SELECT wastore.lease_renew($1, $2::bigint, $3${MS}) AS ok`,
					[this.store, this.token, this.ttlMs]);
				if (this.#state !== 'active') return false;
				if (!rows[0].ok) {
					this.markLost(leaseLost(`the lease of store "${this.store}" was taken or has expired`, `token ${this.token} of holder "${this.holder}" is no longer current`));
					return false;
				}
				this.confirmedAt = started;
				this.emit('renewed', this);
				this.#schedule(this.renewEveryMs);
				return true;
			} catch (err) {
				if (err?.code === LEASE_LOST) { this.markLost(err); return false; }
				this.emit('renewError', err);
				if (Date.now() - this.confirmedAt >= this.ttlMs) {
					this.markLost(leaseLost(`the lease of store "${this.store}" could not be renewed within its TTL`, String(err?.message ?? err)));
					return false;
				}
				this.#schedule(Math.min(this.renewEveryMs, 1000));
				throw err;
			} finally {
				this.#renewing = null;
			}
		})();
		return this.#renewing;
	}

	/**
	 * Marks the lease lost (a writer saw 55W01, or a renew was refused):
	 * stops renewing, emits 'lost' and resolves `lost`, once.
	 * @param {Error} [reason]
	 */
	markLost(reason = leaseLost()) {
		if (this.#state !== 'active') return;
		this.#state = 'lost';
		clearTimeout(this.#timer);
		this.#resolveLost(reason);
		this.emit('lost', reason);
	}

	/** throws the 55W01 error unless the lease is active */
	assertActive() {
		if (this.#state !== 'active') throw leaseLost(`the lease of store "${this.store}" is ${this.#state}`);
	}

	/**
	 * Stops renewing and ends the lease (wastore.lease_release).  Resolves
	 * true when it was still the current lease.
	 * @returns {Promise<boolean>}
	 */
	async release() {
		if (this.#state !== 'active') return false;
		this.#state = 'released';
		clearTimeout(this.#timer);
		await this.#renewing?.catch(() => {});
		const { rows } = await run(this.#pool, 'SELECT wastore.lease_release($1, $2::bigint) AS ok', [this.store, this.token]);
		this.emit('released', this);
		return rows[0].ok;
	}
}

/**
 * wastore.lease_acquire: resolves to a renewing Lease, or throws a
 * WastoreError with code WASTORE_LEASE_BUSY (and `holder`, `expiresAt`)
 * when another holder — or this holder, from an earlier process — has it.
 */
export async function acquireLease(pool, store, opts) {
	checkOptions(opts);
	const { holder, ttlMs, steal = false, renewEveryMs } = opts;
	const { rows } = await run(pool, `SELECT wastore.lease_acquire($1, $2, $3${MS}, $4)::text AS token`,
		[store, holder, ttlMs, !!steal]);
	const token = rows[0].token;
	if (token == null) {
		const cur = (await run(pool, 'SELECT holder, token::text AS token, expires_at FROM wastore.lease($1)', [store])).rows[0];
		throw new WastoreError(`the lease of store "${store}" is held by "${cur?.holder}" until ${cur?.expires_at?.toISOString?.() ?? cur?.expires_at}`, {
			code: LEASE_BUSY, holder: cur?.holder, expiresAt: cur?.expires_at,
			hint: 'wait for it to expire, or pass steal: true only when you know the holder is gone',
		});
	}
	return new Lease(pool, { store, holder, token, ttlMs, renewEveryMs });
}
