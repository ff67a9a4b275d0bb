// The package behind PgBouncer in transaction pooling mode (two server
// connections for every client): nothing of it may rest on session state.
// scripts/test.sh starts the bouncer and names it in
// WASTORE_TEST_BOUNCER_HOST / _PORT; without them the suite is skipped.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { baileysModule, openWastoreAccount, makeServer, freshStore } from './helpers.js';
import { createClient } from '../lib/index.js';
import { useWastoreAuthState } from '../lib/baileys.js';

const host = process.env.WASTORE_TEST_BOUNCER_HOST;
const port = process.env.WASTORE_TEST_BOUNCER_PORT;
const skip = host && port ? false : 'no PgBouncer (WASTORE_TEST_BOUNCER_HOST/PORT unset)';

let pool;
before(() => { if (!skip) pool = new pg.Pool({ host, port: +port, max: 6 }); });
after(() => pool?.end());

test('through PgBouncer: a Signal conversation with a leased, cached account; streams; transactions', { skip }, async () => {
	const B = await baileysModule('baileys');
	const server = makeServer();
	const [sa, sb] = [await freshStore(pool, 'pgb-alice'), await freshStore(pool, 'pgb-bob')];
	const aliceJid = '4915100000021@s.whatsapp.net';
	const bobJid = '4915100000022@s.whatsapp.net';
	const alice = await openWastoreAccount(B, pool, sa, aliceJid, { lease: { holder: 'a', ttlMs: 30000 } });
	const bob = await openWastoreAccount(B, pool, sb, bobJid);
	await alice.uploadPreKeys(server, 20);
	await bob.uploadPreKeys(server, 20);
	await bob.startSession(server, aliceJid);
	// both ways, several messages in flight at once on the shared pool
	for (let i = 0; i < 5; i++) {
		assert.equal(await alice.receive(bobJid, await bob.send(aliceJid, `m${i}`)), `m${i}`);
		assert.equal(await bob.receive(aliceJid, await alice.send(bobJid, `r${i}`)), `r${i}`);
	}
	await alice.auth.close();
	await bob.auth.close();
	const db = createClient({ pool });
	const ids = [];
	for await (const id of db.listIds(sa, 'pre-key', { batchSize: 3 })) ids.push(+id);
	assert.equal(ids.length, 19, 'a cursor in its transaction streams through the bouncer');
	await db.set(sa, { session: { 'c.0': { n: 0 } } });
	await Promise.all(Array.from({ length: 8 }, () => db.withTransaction(sa, 'c', async (tx) => {
		const { 'c.0': v } = await tx.get(sa, 'session', ['c.0']);
		await tx.set(sa, { session: { 'c.0': { n: v.n + 1 } } });
	})));
	assert.deepEqual(await db.get(sa, 'session', ['c.0']), { 'c.0': { n: 8 } }, 'the lock held to each transaction\'s end');
});

test('through PgBouncer: the second instance cannot acquire; after a steal the first is fenced', { skip }, async () => {
	const B = await baileysModule('baileys');
	const store = await freshStore(pool, 'pgb-lease');
	const one = await useWastoreAuthState(pool, store, { baileys: B.mod, lease: { holder: 'one', ttlMs: 30000 } });
	await one.state.keys.set({ 'pre-key': { 1: { public: Buffer.alloc(1) } } });
	await assert.rejects(useWastoreAuthState(pool, store, { baileys: B.mod, lease: { holder: 'two', ttlMs: 30000 } }), { code: 'WASTORE_LEASE_BUSY' });
	const two = await useWastoreAuthState(pool, store, { baileys: B.mod, lease: { holder: 'two', ttlMs: 30000, steal: true } });
	await assert.rejects(one.state.keys.set({ 'pre-key': { 2: { public: Buffer.alloc(1) } } }), { code: '55W01' });
	assert.equal((await one.lease.lost).code, '55W01');
	await two.state.keys.set({ 'pre-key': { 3: { public: Buffer.alloc(1) } } });
	assert.deepEqual(Object.keys(await two.state.keys.get('pre-key', ['1', '2', '3'])).sort(), ['1', '3']);
	await two.close();
});
