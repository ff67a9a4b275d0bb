// The core client against the server: the key store, streaming, creds,
// errors with their SQLSTATE, per-key transactions, leases.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { newPool, freshStore } from './helpers.js';
import { createClient, WastoreError, FAMILIES } from '../lib/index.js';

let pool;
let db;
before(() => { pool = newPool(); db = createClient({ pool }); });
after(() => pool.end());

test('get and set: values as written, missing ids absent, null and undefined delete', async () => {
	const s = await freshStore(pool, 'core');
	await db.set(s, { 'pre-key': { 1: { public: 'a' }, 2: { public: 'b' } }, session: { 'u.0': { _sessions: {}, version: 'v1' } } });
	assert.deepEqual(await db.get(s, 'pre-key', ['1', '2', '3']), { 1: { public: 'a' }, 2: { public: 'b' } });
	await db.set(s, { 'pre-key': { 1: null, 2: undefined } });
	assert.deepEqual(await db.get(s, 'pre-key', ['1', '2']), {});
	assert.deepEqual(await db.get(s, 'session', ['u.0']), { 'u.0': { _sessions: {}, version: 'v1' } });
	assert.deepEqual(await db.get(s, 'session', []), {});
	// a reviver and a replacer (BufferJSON's, say) apply to values
	await db.set(s, { 'identity-key': { 'u.0': Buffer.from([5, 1]) } }, { replacer: (k, v) => (v?.type === 'Buffer' ? { type: 'Buffer', data: Buffer.from(v.data).toString('base64') } : v) });
	const got = await db.get(s, 'identity-key', ['u.0'], { reviver: (k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data, 'base64') : v) });
	assert.deepEqual(got['u.0'], Buffer.from([5, 1]));
	await db.dropStore(s);
});

test('list and listIds stream through a cursor, in id order, and give the connection back on an early break', async () => {
	const s = await freshStore(pool, 'stream');
	const data = {};
	for (let i = 0; i < 700; i++) data[String(i).padStart(4, '0')] = { n: i };
	await db.set(s, { 'pre-key': data });
	let n = 0;
	let last = '';
	for await (const [id, v] of db.list(s, 'pre-key')) {
		assert.ok(id > last);
		assert.equal(v.n, +id);
		last = id;
		n++;
	}
	assert.equal(n, 700);
	const ids = [];
	for await (const id of db.listIds(s, 'pre-key', { batchSize: 50 })) ids.push(id);
	assert.equal(ids.length, 700);
	for (let k = 0; k < 10; k++) {
		for await (const _ of db.list(s, 'pre-key')) break; // eslint-disable-line no-unused-vars
	}
	assert.equal(pool.totalCount - pool.idleCount, 0, 'no connection left checked out');
	await db.clear(s);
	assert.deepEqual(await db.get(s, 'pre-key', ['0001']), {});
	await db.dropStore(s);
});

test('errors keep their SQLSTATE and detail; trySet reports', async () => {
	const s = await freshStore(pool, 'errors');
	await assert.rejects(db.set(s, { bogus: {} }), (e) => e instanceof WastoreError && e.code === '22023' && /bogus/.test(e.message));
	await assert.rejects(db.set(s, { 'pre-key': { ['x'.repeat(1100)]: 1 } }), (e) => e.code === '22023' && /1100 bytes/.test(e.detail));
	await assert.rejects(db.set(s, { 'app-state-sync-version': { x: { version: -1 } } }),
		(e) => e.code === '22023' && e.sqlstate === '22023' && /family app-state-sync-version, id "x"/.test(e.detail));
	await assert.rejects(db.get(s, 'nope', ['1']), { code: '22P02' });
	assert.deepEqual(await db.trySet(s, { 'pre-key': 5 }), { ok: false, attempts: 1, sqlstate: '22023', message: 'the entries of family "pre-key" must be a JSON object' });
	const ok = await db.trySet(s, { 'pre-key': { 1: 1 } });
	assert.equal(ok.ok, true);
	await db.dropStore(s);
});

test('creds: NULL when none, shallow and deep merges, creds riding in a set', async () => {
	const s = await freshStore(pool, 'creds');
	assert.equal(await db.creds(s), null);
	assert.deepEqual(await db.mergeCreds(s, { a: { x: 1, y: 2 }, n: 1 }), { a: { x: 1, y: 2 }, n: 1 });
	assert.deepEqual(await db.mergeCreds(s, { a: { x: 3 } }), { a: { x: 3 }, n: 1 });
	assert.deepEqual(await db.mergeCreds(s, { a: { y: 4 } }, { deep: true }), { a: { x: 3, y: 4 }, n: 1 });
	await db.set(s, { creds: { n: 2 }, 'pre-key': { 1: { k: 1 } } });
	assert.deepEqual(await db.creds(s), { a: { x: 3, y: 4 }, n: 2 });
	await db.dropStore(s);
	assert.equal(await db.creds(s), null);
});

test('withTransaction: one key serialises read-modify-write; records lock; a throw rolls back; the handle is sealed', async () => {
	const s = await freshStore(pool, 'tx');
	await db.set(s, { session: { 'c.0': { n: 0 } } });
	const bump = () => db.withTransaction(s, 'session:c.0', async (tx) => {
		const { 'c.0': v } = await tx.get(s, 'session', ['c.0']);
		await sleep(5);
		await tx.set(s, { session: { 'c.0': { n: v.n + 1 } } });
	});
	await Promise.all(Array.from({ length: 6 }, bump));
	assert.deepEqual(await db.get(s, 'session', ['c.0']), { 'c.0': { n: 6 } }, 'no lost update');
	const byRecords = () => db.withTransaction(s, { family: 'session', ids: ['c.0', 'd.0'] }, async (tx) => {
		const { 'c.0': v } = await tx.get(s, 'session', ['c.0']);
		await tx.set(s, { session: { 'c.0': { n: v.n + 1 } } });
	});
	await Promise.all(Array.from({ length: 4 }, byRecords));
	assert.deepEqual(await db.get(s, 'session', ['c.0']), { 'c.0': { n: 10 } });
	await assert.rejects(db.withTransaction(s, 'k', async (tx) => {
		await tx.set(s, { session: { 'c.0': null } });
		throw new Error('boom');
	}), /boom/);
	assert.deepEqual(await db.get(s, 'session', ['c.0']), { 'c.0': { n: 10 } }, 'rolled back');
	let kept;
	const inTx = await db.withTransaction(s, 'k', async (tx) => {
		kept = tx;
		return (await tx.query('SELECT wastore.in_transaction($1, $2) AS t', [s, 'k'])).rows[0].t;
	});
	assert.equal(inTx, true);
	await assert.rejects(kept.get(s, 'session', ['c.0']), { code: 'WASTORE_TX_ENDED' });
	// lock_timeout: a second holder gives up with 55P03
	let release;
	const holding = db.withTransaction(s, 'busy', () => new Promise((r) => { release = r; }));
	await sleep(50);
	await assert.rejects(db.withTransaction(s, 'busy', async () => {}, { lockTimeoutMs: 100 }), { code: '55P03' });
	release();
	await holding;
	await db.dropStore(s);
});

test('lease: busy for a second holder, renewed, released; a write with a stale token is 55W01', async () => {
	const s = await freshStore(pool, 'lease-core');
	const l = await db.lease(s, { holder: 'h1', ttlMs: 300 });
	assert.match(l.token, /^[0-9]+$/);
	await assert.rejects(db.lease(s, { holder: 'h2', ttlMs: 300 }), { code: 'WASTORE_LEASE_BUSY' });
	await sleep(500);
	assert.ok(l.active, 'renewed at a third of the TTL');
	await db.set(s, { 'pre-key': { 1: 1 } }, { lease: l });
	assert.equal(await l.release(), true);
	assert.equal(l.state, 'released');
	await assert.rejects(db.set(s, { 'pre-key': { 2: 2 } }, { lease: l }), { code: '55W01' });
	await assert.rejects(db.lease(s, { holder: 'h', ttlMs: 0 }), TypeError);
	assert.equal(FAMILIES.length, 10);
	await db.dropStore(s);
});

test('createClient with a connection string owns and ends its pool', async () => {
	const url = `postgresql://${encodeURIComponent(process.env.PGUSER ?? 'postgres')}@/${encodeURIComponent(process.env.PGDATABASE ?? '')}?host=${encodeURIComponent(process.env.PGHOST ?? '/var/run/postgresql')}&port=${process.env.PGPORT ?? 5432}`;
	const c = createClient({ connectionString: url });
	assert.equal(await c.creds('nobody-has-this-store'), null);
	await c.end();
	assert.throws(() => createClient({}), TypeError);
});

test('a single-key set that fails names its key, with its savepoint and without (autocommit)', async () => {
	// a key id no one else writes, poisoned by a trigger of this test (the
	// suites connect as the superuser that owns the tables)
	const s = await freshStore(pool, 'poisoned');
	const c = await pool.connect();
	try {
		await c.query(`CREATE OR REPLACE FUNCTION public.wastore_test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.id = 'poison.node' THEN RAISE EXCEPTION 'poisoned key' USING ERRCODE = 'check_violation'; END IF;
				RETURN NEW;
			END $$`);
		await c.query('CREATE TRIGGER wastore_test_poison BEFORE INSERT OR UPDATE ON wastore.keys FOR EACH ROW EXECUTE FUNCTION public.wastore_test_poison()');
		const data = JSON.stringify({ session: { 'poison.node': { v: 1 } } });
		// autocommit: the set runs without its savepoint
		await assert.rejects(c.query('SELECT wastore.set($1, $2)', [s, data]), (e) =>
			e.code === '23514' && e.message === 'poisoned key' &&
			e.detail === 'Failed at family session, id "poison.node" after 1 attempt.');
		// in a transaction block: with its savepoint, the same error
		await c.query('BEGIN');
		await assert.rejects(c.query('SELECT wastore.set($1, $2)', [s, data]), (e) =>
			e.code === '23514' && e.detail === 'Failed at family session, id "poison.node" after 1 attempt.');
		await c.query('ROLLBACK');
		assert.deepEqual(await db.get(s, 'session', ['poison.node']), {});
	} finally {
		await c.query('ROLLBACK').catch(() => {});
		await c.query('DROP TRIGGER IF EXISTS wastore_test_poison ON wastore.keys');
		await c.query('DROP FUNCTION IF EXISTS public.wastore_test_poison()');
		c.release();
	}
	await db.dropStore(s);
});
