// The SQL of the key store, creds and locks, over anything with a pg-style
// `query(text, params)`: the pool (each call its own transaction) or the
// client of a `withTransaction`.

import { fromPg } from './errors.js';
import { setArgument } from './json.js';

/** The ten key families, as `wastore.family` spells them. */
export const FAMILIES = Object.freeze([
	'session', 'pre-key', 'sender-key', 'sender-key-memory', 'app-state-sync-key',
	'app-state-sync-version', 'lid-mapping', 'device-list', 'tctoken', 'identity-key',
]);

const token = (opts) => (opts?.lease == null ? null : String(typeof opts.lease === 'object' ? opts.lease.token : opts.lease));

export async function run(q, text, params) {
	try {
		return await q.query(text, params);
	} catch (err) {
		throw fromPg(err);
	}
}

const parse = (text, reviver) => (text == null ? null : JSON.parse(text, reviver));

/**
 * @param {() => { query: Function }} queryable  returns what to run a statement on
 */
export function makeOps(queryable) {
	const q = (text, params) => run(queryable(), text, params);
	return {
		async get(store, family, ids, opts) {
			if (!Array.isArray(ids)) throw new TypeError('get: ids must be an array of strings');
			const out = {};
			if (ids.length === 0) return out;
			const { rows } = await q('SELECT id, value::text AS value FROM wastore.get($1, $2::wastore.family, $3::text[])',
				[store, family, ids.map(String)]);
			for (const r of rows) out[r.id] = parse(r.value, opts?.reviver);
			return out;
		},
		async set(store, data, opts) {
			await q('SELECT wastore.set($1, $2::jsonb, $3::bigint)', [store, setArgument(data, opts?.replacer), token(opts)]);
		},
		/** set with the argument already as JSON text (wastore/baileys) */
		async setText(store, text, opts) {
			await q('SELECT wastore.set($1, $2::jsonb, $3::bigint)', [store, text, token(opts)]);
		},
		async trySet(store, data, opts) {
			const { rows } = await q('SELECT (r).ok, (r).attempts, (r).sqlstate, (r).message FROM wastore.try_set($1, $2::jsonb, $3::bigint) r',
				[store, setArgument(data, opts?.replacer), token(opts)]);
			return rows[0];
		},
		async clear(store, opts) {
			await q('SELECT wastore.clear($1, $2::bigint)', [store, token(opts)]);
		},
		async dropStore(store) {
			await q('SELECT wastore.drop_store($1)', [store]);
		},
		async creds(store, opts) {
			const { rows } = await q('SELECT wastore.creds($1)::text AS c', [store]);
			return parse(rows[0].c, opts?.reviver);
		},
		async mergeCreds(store, updates, opts) {
			if (updates === null || typeof updates !== 'object' || Array.isArray(updates)) throw new TypeError('mergeCreds: updates must be an object');
			const { rows } = await q('SELECT wastore.merge_creds($1, $2::jsonb, $3, $4::bigint)::text AS c',
				[store, JSON.stringify(updates, opts?.replacer), !!opts?.deep, token(opts)]);
			return parse(rows[0].c, opts?.reviver);
		},
		/** mergeCreds with the updates already as JSON text (wastore/baileys) */
		async mergeCredsText(store, text, opts) {
			const { rows } = await q('SELECT wastore.merge_creds($1, $2::jsonb, $3, $4::bigint)::text AS c', [store, text, !!opts?.deep, token(opts)]);
			return parse(rows[0].c, opts?.reviver);
		},
		async lock(store, key) {
			await q('SELECT wastore.lock($1, $2)', [store, key]);
		},
		async tryLock(store, key) {
			const { rows } = await q('SELECT wastore.try_lock($1, $2) AS ok', [store, key]);
			return rows[0].ok;
		},
		async lockRecords(store, family, ids) {
			await q('SELECT wastore.lock_records($1, $2::wastore.family, $3::text[])', [store, family, ids.map(String)]);
		},
	};
}
