// Two instances of a service on one store, with one lease: the second
// cannot acquire; after a steal the first one's writes fail with 55W01,
// it learns of the loss, and nothing it wrote after the steal is in the
// store.  While it holds the lease, reads come from its cache.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { newPool, baileysModule, freshStore } from './helpers.js';
import { useWastoreAuthState } from '../lib/baileys.js';
import { createClient } from '../lib/index.js';

let pool;
let B;
before(async () => { pool = newPool(); B = await baileysModule('baileys'); });
after(() => pool.end());

const keyPair = (n) => ({ public: Buffer.alloc(32, n), private: Buffer.alloc(32, n + 1) });
const ids = async (store) => (await pool.query("SELECT id FROM wastore.list_ids($1, 'pre-key') AS id", [store])).rows.map((r) => r.id).sort();

/** a pool that counts the statements run through pool.query */
function countingPool() {
	const counter = { n: 0 };
	return { counter, pool: { query: (...a) => { counter.n++; return pool.query(...a); }, connect: () => pool.connect() } };
}

test('the second instance cannot acquire; after a steal the first one is fenced off', async () => {
	const store = await freshStore(pool, 'lease');
	const one = await useWastoreAuthState(pool, store, { baileys: B.mod, lease: { holder: 'instance-1', ttlMs: 5000 } });
	await one.state.keys.set({ 'pre-key': { 1: keyPair(1) } });
	await one.saveCreds();

	await assert.rejects(useWastoreAuthState(pool, store, { baileys: B.mod, lease: { holder: 'instance-2', ttlMs: 5000 } }),
		(err) => err.code === 'WASTORE_LEASE_BUSY' && err.holder === 'instance-1');
	assert.ok(one.lease.active);

	let lostEvent = null;
	one.lease.on('lost', (e) => { lostEvent = e; });
	const two = await useWastoreAuthState(pool, store, { baileys: B.mod, lease: { holder: 'instance-2', ttlMs: 5000, steal: true } });
	assert.equal(two.state.creds.registrationId, one.state.creds.registrationId, 'the thief reads the creds the first one saved');
	assert.ok(BigInt(two.lease.token) > BigInt(one.lease.token));

	// the first one writes after the steal: refused by the server
	await assert.rejects(one.state.keys.set({ 'pre-key': { 2: keyPair(2) }, session: { 'x.0': { a: 1 } } }), { code: '55W01' });
	assert.equal(await one.lease.lost.then((e) => e.code), '55W01');
	assert.equal(lostEvent?.code, '55W01');
	assert.equal(one.lease.active, false);
	// and every later write fails at once, creds included
	await assert.rejects(one.state.keys.set({ 'pre-key': { 3: keyPair(3) } }), { code: '55W01' });
	await assert.rejects(one.saveCreds({ nextPreKeyId: 99 }), { code: '55W01' });
	await assert.rejects(one.state.keys.clear(), { code: '55W01' });
	await assert.rejects(one.removeCreds(), { code: '55W01' });
	// a write without the lease option (a zombie that never had one) would
	// pass: the fencing is in the token each write carries
	assert.deepEqual(await ids(store), ['1']);
	const c = (await pool.query('SELECT wastore.creds($1) AS c', [store])).rows[0].c;
	assert.notEqual(c.nextPreKeyId, 99);
	assert.equal((await pool.query("SELECT count(*)::int AS n FROM wastore.get($1, 'session', ARRAY['x.0'])", [store])).rows[0].n, 0);

	// the new holder writes, and reads what is there
	await two.state.keys.set({ 'pre-key': { 4: keyPair(4) } });
	assert.deepEqual(await ids(store), ['1', '4']);
	assert.deepEqual(Object.keys(await two.state.keys.get('pre-key', ['1', '2', '3', '4'])).sort(), ['1', '4']);
	await two.close();
	assert.equal((await pool.query('SELECT count(*)::int AS n FROM wastore.lease($1)', [store])).rows[0].n, 0, 'close releases the lease');
});

test('a renewal finds the steal without any write, and the cache is dropped', async () => {
	const store = await freshStore(pool, 'lease-renew');
	const { pool: p, counter } = countingPool();
	const one = await useWastoreAuthState(p, store, { baileys: B.mod, lease: { holder: 'a', ttlMs: 600 } });
	await one.state.keys.set({ session: { 's.0': { v: 1 } } });
	// the cache: reads after the first load never reach the database
	const before = counter.n;
	for (let i = 0; i < 5; i++) assert.deepEqual((await one.state.keys.get('session', ['s.0', 'missing.0'])), { 's.0': { v: 1 } });
	assert.equal(counter.n - before, 1, 'one read for the miss, then memory');
	// renewals keep it alive past its TTL
	await sleep(900);
	assert.ok(one.lease.active, 'renewed at a third of the TTL');
	const thief = createClient({ pool });
	const l2 = await thief.lease(store, { holder: 'b', ttlMs: 5000, steal: true });
	await thief.set(store, { session: { 's.0': { v: 2 } } }, { lease: l2 });
	const reason = await Promise.race([one.lease.lost, sleep(2000).then(() => null)]);
	assert.equal(reason?.code, '55W01', 'the renewal reported the loss');
	// no cache any more: the first instance reads the database
	assert.deepEqual(await one.state.keys.get('session', ['s.0']), { 's.0': { v: 2 } });
	await assert.rejects(one.state.keys.set({ session: { 's.0': { v: 3 } } }), { code: '55W01' });
	await l2.release();
});
