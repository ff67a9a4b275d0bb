// createClient: the core client over a pg.Pool.

import pg from 'pg';
import { WastoreError, fromPg } from './errors.js';
import { makeOps, run } from './ops.js';
import { acquireLease } from './lease.js';

const CURSOR_BATCH = 256;

function poolOf(opts) {
	if (opts?.pool) {
		const p = opts.pool;
		if (typeof p.query !== 'function' || typeof p.connect !== 'function') throw new TypeError('createClient: pool must be a pg.Pool (query and connect)');
		return { pool: p, owned: false };
	}
	if (typeof opts?.connectionString === 'string') return { pool: new pg.Pool({ connectionString: opts.connectionString }), owned: true };
	throw new TypeError('createClient: pass { pool } or { connectionString }');
}

/**
 * Streams the rows of a query through a cursor, CURSOR_BATCH at a time, on
 * a connection of its own in a read-only transaction; the connection goes
 * back to the pool when the iteration ends, early or not.
 */
async function* streamRows(pool, text, params, batch = CURSOR_BATCH) {
	let conn;
	try {
		conn = await pool.connect();
	} catch (err) {
		throw fromPg(err);
	}
	let ok = false;
	try {
		await run(conn, 'BEGIN READ ONLY');
		await run(conn, `DECLARE wastore_stream NO SCROLL CURSOR FOR ${text}`, params);
		for (;;) {
			const { rows } = await run(conn, `FETCH ${batch} FROM wastore_stream`);
			for (const r of rows) yield r;
			if (rows.length < batch) break;
		}
		await run(conn, 'COMMIT');
		ok = true;
	} finally {
		if (!ok) await conn.query('ROLLBACK').catch(() => {});
		conn.release();
	}
}

export function createClient(opts) {
	const { pool, owned } = poolOf(opts);
	const ops = makeOps(() => pool);

	return {
		pool,
		...ops,

		async *list(store, family, o) {
			for await (const r of streamRows(pool, 'SELECT id, value::text AS value FROM wastore.list($1, $2::wastore.family)', [store, family], o?.batchSize)) {
				yield [r.id, JSON.parse(r.value, o?.reviver)];
			}
		},
		async *listIds(store, family, o) {
			for await (const r of streamRows(pool, 'SELECT id FROM wastore.list_ids($1, $2::wastore.family) AS id', [store, family], o?.batchSize)) {
				yield r.id;
			}
		},

		async withTransaction(store, scope, fn, o) {
			if (typeof fn !== 'function') throw new TypeError('withTransaction: fn must be a function');
			let conn;
			try { conn = await pool.connect(); } catch (err) { throw fromPg(err); }
			let open = true;
			const txConn = () => {
				if (!open) throw new WastoreError('this transaction has ended', { code: 'WASTORE_TX_ENDED' });
				return conn;
			};
			const txOps = makeOps(txConn);
			const tx = Object.freeze({ ...txOps, query: async (text, params) => run(txConn(), text, params) });
			let broken = false;
			try {
				await run(conn, 'BEGIN');
				if (o?.lockTimeoutMs != null) await run(conn, `SELECT set_config('lock_timeout', $1, true)`, [`${Math.max(0, Math.floor(o.lockTimeoutMs))}ms`]);
				if (typeof scope === 'string') await txOps.lock(store, scope);
				else if (scope && typeof scope === 'object' && Array.isArray(scope.ids)) await txOps.lockRecords(store, scope.family, scope.ids);
				else if (scope != null) throw new TypeError('withTransaction: scope must be a lock label, { family, ids }, or null');
				const result = await fn(tx);
				await run(conn, 'COMMIT');
				return result;
			} catch (err) {
				try { await conn.query('ROLLBACK'); } catch { broken = true; }
				throw fromPg(err);
			} finally {
				open = false;
				conn.release(broken || undefined);
			}
		},

		lease(store, o) {
			return acquireLease(pool, store, o);
		},

		async end() {
			if (owned) await pool.end();
		},
	};
}
