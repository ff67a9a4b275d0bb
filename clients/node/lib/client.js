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

/**
 * libpq's keyword/value connection string (what wastore.shard_for returns:
 * `host=/run/pg port=5432 dbname=wastore_p0`, values optionally in single
 * quotes with \\ and \' escapes) as a pg.Pool config.
 */
export function parseConninfo(conninfo) {
	const out = {};
	const names = { host: 'host', hostaddr: 'host', port: 'port', dbname: 'database', user: 'user', password: 'password', application_name: 'application_name' };
	const re = /\s*([A-Za-z_]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|([^\s']*))/y;
	let m;
	let at = 0;
	while (at < conninfo.length && (m = re.exec(conninfo))) {
		const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3];
		const key = names[m[1]];
		if (!key) throw new WastoreError(`shard conninfo: unsupported keyword ${m[1]}`, { code: 'WASTORE_CONNINFO' });
		out[key] = key === 'port' ? Number(value) : value;
		at = re.lastIndex;
	}
	if (conninfo.slice(at).trim() !== '') throw new WastoreError(`shard conninfo: cannot parse ${JSON.stringify(conninfo)}`, { code: 'WASTORE_CONNINFO' });
	return out;
}

/**
 * Sharded mode (a proxy database with wastore_proxy): single calls go
 * through the proxy, which routes them; what needs one session on the
 * store's shard (a per-key transaction, a streamed list) opens on the
 * shard that wastore.shard_for names, through a pool per shard that the
 * client opens and ends.  shard_for is asked each time, so a partition
 * moved with ALTER SERVER is followed.
 */
function shardRouter(proxy, o) {
	const pools = new Map();
	const extra = (o && typeof o === 'object' && o.poolConfig) || {};
	return {
		async conninfo(store) {
			const { rows } = await run(proxy, 'SELECT wastore.shard_for($1) AS c', [store]);
			return rows[0]?.c ?? null;
		},
		async poolFor(store) {
			const c = await this.conninfo(store);
			if (!c) throw new WastoreError(`shard_for named no shard for store ${store}`, { code: 'WASTORE_NO_SHARD' });
			let p = pools.get(c);
			if (!p) {
				p = new pg.Pool({ ...parseConninfo(c), ...extra });
				pools.set(c, p);
			}
			return p;
		},
		get size() { return pools.size; },
		async end() {
			const all = [...pools.values()];
			pools.clear();
			await Promise.all(all.map((p) => p.end()));
		},
	};
}

export function createClient(opts) {
	const { pool, owned } = poolOf(opts);
	const ops = makeOps(() => pool);
	const shards = opts?.sharded ? shardRouter(pool, opts.sharded) : null;
	const poolFor = async (store) => (shards ? shards.poolFor(store) : pool);

	return {
		pool,
		...ops,

		async *list(store, family, o) {
			for await (const r of streamRows(await poolFor(store), 'SELECT id, value::text AS value FROM wastore.list($1, $2::wastore.family)', [store, family], o?.batchSize)) {
				yield [r.id, JSON.parse(r.value, o?.reviver)];
			}
		},
		async *listIds(store, family, o) {
			for await (const r of streamRows(await poolFor(store), 'SELECT id FROM wastore.list_ids($1, $2::wastore.family) AS id', [store, family], o?.batchSize)) {
				yield r.id;
			}
		},

		/** sharded mode: the conninfo of the store's shard (wastore.shard_for); null otherwise */
		async shardFor(store) {
			return shards ? shards.conninfo(store) : null;
		},
		/** sharded mode: how many shard pools the client has opened */
		get shardPools() { return shards ? shards.size : 0; },

		async withTransaction(store, scope, fn, o) {
			if (typeof fn !== 'function') throw new TypeError('withTransaction: fn must be a function');
			let conn;
			try { conn = await (await poolFor(store)).connect(); } catch (err) { throw fromPg(err); }
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
			await shards?.end();
			if (owned) await pool.end();
		},
	};
}
