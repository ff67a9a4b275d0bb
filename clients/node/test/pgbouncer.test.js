// The package behind PgBouncer in transaction pooling mode (two server
// connections for every client): nothing of it may rest on session state.
// scripts/test.sh starts the bouncer and names it in
// WASTORE_TEST_BOUNCER_HOST / _PORT; without them the suite is skipped.
// The Chat SDK adapter's behaviour suite and the chat bot under every
// strategy also run through the bouncer, in chat.test.js; here two chat
// adapters on two pools share one store through it.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { baileysModule, openWastoreAccount, makeServer, freshStore } from './helpers.js';
import { createClient } from '../lib/index.js';
import { useWastoreAuthState } from '../lib/baileys.js';
import { createWastoreState } from '../lib/chat.js';

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

// Two service instances, each with its own pool through the bouncer, on one
// chat store: every call may run on either of the bouncer's two server
// connections, so nothing may rest on the session.
describe('through PgBouncer: two Chat SDK adapters on two pools share one store', { skip }, () => {
	let pools, a, b;
	before(async () => {
		const store = await freshStore(pool, 'pgb-chat');
		pools = [0, 1].map(() => new pg.Pool({ host, port: +port, max: 4 }));
		[a, b] = pools.map((p) => createWastoreState({ pool: p }, store));
		await a.connect();
		await b.connect();
	});
	after(async () => {
		await a?.disconnect();
		await b?.disconnect();
		await Promise.all((pools ?? []).map((p) => p.end()));
	});

	test('locks: one holder across both; a release with another token is a no-op; the token is the lock', async () => {
		const l = await a.acquireLock('t1', 5000);
		assert.ok(l);
		assert.equal(await b.acquireLock('t1', 5000), null);
		await b.releaseLock({ ...l, token: 'not-the-token' });
		assert.equal(await b.acquireLock('t1', 5000), null);
		assert.equal(await b.extendLock({ ...l, token: 'not-the-token' }, 5000), false);
		assert.equal(await b.extendLock(l, 5000), true, 'whichever pool carries it');
		await b.releaseLock(l);
		const got = await Promise.all(Array.from({ length: 16 }, (_, i) => [a, b][i % 2].acquireLock('t2', 5000)));
		assert.equal(got.filter(Boolean).length, 1, 'one winner among 16 acquirers on two pools');
		await b.forceReleaseLock('t2');
		const l2 = await a.acquireLock('t2', 5000);
		assert.ok(l2);
		await a.releaseLock(l2);
		assert.ok(await b.acquireLock('t1', 5000), 't1 was released');
	});

	test('dedupe and the key-value cache: one claim wins among both pools; TTLs and deletes seen from the other', async () => {
		const claims = await Promise.all(Array.from({ length: 16 }, (_, i) => [a, b][i % 2].setIfNotExists('dedupe:test:m1', i, 60_000)));
		assert.equal(claims.filter(Boolean).length, 1);
		assert.equal(await b.get('dedupe:test:m1'), claims.indexOf(true));
		await a.set('k', { v: 1 }, 150);
		assert.deepEqual(await b.get('k'), { v: 1 });
		await sleep(250);
		assert.equal(await b.get('k'), null);
		await b.set('k', 'again');
		await a.delete('k');
		assert.equal(await b.get('k'), null);
	});

	test('subscriptions and lists: appends racing on both pools keep the newest N, each once', async () => {
		await a.subscribe('t1');
		assert.equal(await b.isSubscribed('t1'), true);
		await b.unsubscribe('t1');
		assert.equal(await a.isSubscribed('t1'), false);
		await Promise.all(Array.from({ length: 30 }, (_, i) => [a, b][i % 2].appendToList('hist', i, { maxLength: 10 })));
		const list = await b.getList('hist');
		assert.equal(list.length, 10);
		assert.equal(new Set(list).size, 10);
		assert.deepEqual(await a.getList('hist'), list);
	});

	test('queue: enqueued on one pool, drained by both at once: every entry once, each share in FIFO order', async () => {
		const now = Date.now();
		for (let i = 0; i < 20; i++) await a.enqueue('q', { message: { id: `m${i}` }, enqueuedAt: now, expiresAt: now + 60_000 }, 100);
		assert.equal(await b.queueDepth('q'), 20);
		const drain = async (s) => {
			const ids = [];
			for (let e; (e = await s.dequeue('q'));) ids.push(+e.message.id.slice(1));
			return ids;
		};
		const [da, db] = await Promise.all([drain(a), drain(b)]);
		assert.deepEqual([...da, ...db].sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i));
		for (const d of [da, db]) assert.deepEqual(d, [...d].sort((x, y) => x - y));
		assert.equal(await a.queueDepth('q'), 0);
	});
});
