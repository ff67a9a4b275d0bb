// wastore/chat: one behaviour suite run against the Chat SDK's own memory
// adapter and against createWastoreState (the same assertions for both),
// then a bot built with the real `chat` package on wastore's state.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMemoryState } from '@chat-adapter/state-memory';
import { createWastoreState } from '../lib/chat.js';
import { newPool } from './helpers.js';

const pool = newPool();
after(() => pool.end());

const backends = [
	['memory', () => createMemoryState()],
	['wastore', () => createWastoreState({ pool }, `chat-test-${randomUUID()}`)],
];

for (const [name, make] of backends) {
	describe(`StateAdapter behaviour: ${name}`, () => {
		let s;
		before(async () => { s = make(); await s.connect(); });
		after(async () => { await s.disconnect(); });

		test('calls before connect() throw', async () => {
			const fresh = make();
			await assert.rejects(async () => fresh.isSubscribed('t'));
		});

		test('connect() twice is fine', async () => {
			await s.connect();
		});

		test('subscriptions', async () => {
			assert.equal(await s.isSubscribed('t1'), false);
			await s.subscribe('t1');
			await s.subscribe('t1');
			assert.equal(await s.isSubscribed('t1'), true);
			assert.equal(await s.isSubscribed('t2'), false);
			await s.unsubscribe('t1');
			await s.unsubscribe('t1');
			assert.equal(await s.isSubscribed('t1'), false);
		});

		test('locks: acquire, busy, release by token, force', async () => {
			const before = Date.now();
			const l = await s.acquireLock('L1', 5000);
			assert.ok(l);
			assert.equal(l.threadId, 'L1');
			assert.equal(typeof l.token, 'string');
			assert.ok(l.expiresAt >= before + 4000 && l.expiresAt <= Date.now() + 6000, `expiresAt ${l.expiresAt}`);
			assert.equal(await s.acquireLock('L1', 5000), null);
			await s.releaseLock({ ...l, token: 'someone-else' });
			assert.equal(await s.acquireLock('L1', 5000), null);
			await s.releaseLock(l);
			const l2 = await s.acquireLock('L1', 5000);
			assert.ok(l2);
			assert.notEqual(l2.token, l.token);
			await s.releaseLock(l); // a stale token does nothing
			assert.equal(await s.acquireLock('L1', 5000), null);
			await s.forceReleaseLock('L1');
			const l3 = await s.acquireLock('L1', 5000);
			assert.ok(l3);
			await s.releaseLock(l3);
		});

		test('locks: an expired lock is free, and cannot be extended', async () => {
			const l = await s.acquireLock('L2', 50);
			assert.ok(l);
			await sleep(120);
			assert.equal(await s.extendLock(l, 5000), false);
			const l2 = await s.acquireLock('L2', 5000);
			assert.ok(l2);
			assert.equal(await s.extendLock(l, 5000), false);
			await s.releaseLock(l2);
		});

		test('locks: extendLock keeps the lock past its first TTL', async () => {
			const l = await s.acquireLock('L3', 150);
			assert.ok(l);
			assert.equal(await s.extendLock(l, 5000), true);
			await sleep(250);
			assert.equal(await s.acquireLock('L3', 5000), null);
			assert.equal(await s.extendLock({ ...l, token: 'x' }, 5000), false);
			await s.releaseLock(l);
			assert.equal(await s.extendLock(l, 5000), false);
		});

		test('concurrent acquireLock: exactly one wins', async () => {
			const got = await Promise.all(Array.from({ length: 8 }, () => s.acquireLock('L4', 5000)));
			assert.equal(got.filter(Boolean).length, 1);
			await s.releaseLock(got.find(Boolean));
		});

		test('get/set/delete with values of any JSON type', async () => {
			assert.equal(await s.get('k-missing'), null);
			for (const v of [{ a: 1, b: [true, 'x'] }, 'str', 42, true, [1, 2]]) {
				await s.set('k1', v);
				assert.deepEqual(await s.get('k1'), v);
			}
			await s.delete('k1');
			assert.equal(await s.get('k1'), null);
			await s.delete('k1');
		});

		test('set with a TTL expires', async () => {
			await s.set('k2', { x: 1 }, 80);
			assert.deepEqual(await s.get('k2'), { x: 1 });
			await sleep(150);
			assert.equal(await s.get('k2'), null);
			await s.set('k2', 'forever');
			await sleep(20);
			assert.equal(await s.get('k2'), 'forever');
		});

		test('setIfNotExists: absent or expired only', async () => {
			assert.equal(await s.setIfNotExists('k3', 1, 80), true);
			assert.equal(await s.setIfNotExists('k3', 2), false);
			assert.equal(await s.get('k3'), 1);
			await sleep(150);
			assert.equal(await s.setIfNotExists('k3', 3), true);
			assert.equal(await s.get('k3'), 3);
		});

		test('setIfNotExists: exactly one of concurrent callers wins', async () => {
			const r = await Promise.all(Array.from({ length: 8 }, (_, i) => s.setIfNotExists('dedupe:x:m1', i, 60_000)));
			assert.equal(r.filter(Boolean).length, 1);
		});

		test('lists: append, maxLength keeps the newest, ttl', async () => {
			assert.deepEqual(await s.getList('list-missing'), []);
			for (let i = 1; i <= 5; i++) await s.appendToList('list1', { i }, { maxLength: 3 });
			assert.deepEqual(await s.getList('list1'), [{ i: 3 }, { i: 4 }, { i: 5 }]);
			await s.appendToList('list2', 'a', { ttlMs: 80 });
			await s.appendToList('list2', 'b', { ttlMs: 80 });
			assert.deepEqual(await s.getList('list2'), ['a', 'b']);
			await sleep(150);
			assert.deepEqual(await s.getList('list2'), []);
			await s.appendToList('list2', 'c');
			assert.deepEqual(await s.getList('list2'), ['c']);
		});

		test('queues: FIFO, depth, maxSize drops the oldest', async () => {
			const now = Date.now();
			const entry = (id) => ({ message: { id, text: `m${id}` }, enqueuedAt: now, expiresAt: now + 60_000 });
			assert.equal(await s.queueDepth('q1'), 0);
			assert.equal(await s.dequeue('q1'), null);
			assert.equal(await s.enqueue('q1', entry('1'), 3), 1);
			assert.equal(await s.enqueue('q1', entry('2'), 3), 2);
			assert.equal(await s.enqueue('q1', entry('3'), 3), 3);
			assert.equal(await s.enqueue('q1', entry('4'), 3), 3);
			assert.equal(await s.queueDepth('q1'), 3);
			assert.deepEqual(await s.dequeue('q1'), entry('2'));
			assert.deepEqual(await s.dequeue('q1'), entry('3'));
			assert.equal(await s.queueDepth('q1'), 1);
			assert.deepEqual(await s.dequeue('q1'), entry('4'));
			assert.equal(await s.dequeue('q1'), null);
			assert.equal(await s.queueDepth('q1'), 0);
		});
	});
}

test('createWastoreState: options', async () => {
	assert.throws(() => createWastoreState({}, 's'), TypeError);
	assert.throws(() => createWastoreState({ pool }), TypeError);
	const a = createWastoreState({ pool, store: `chat-test-${randomUUID()}` });
	await a.connect();
	await a.set('k', 1);
	assert.equal(await a.get('k'), 1);
	await a.disconnect();
	await a.disconnect();
	await assert.rejects(async () => a.get('k'), /not connected/);
});

test('createWastoreState: { connectionString } opens its own pool and ends it', async () => {
	const { PGHOST, PGPORT, PGUSER, PGDATABASE } = process.env;
	const q = new URLSearchParams();
	if (PGHOST) q.set('host', PGHOST);
	if (PGPORT) q.set('port', PGPORT);
	const url = `postgresql://${encodeURIComponent(PGUSER ?? '')}@/${encodeURIComponent(PGDATABASE ?? '')}?${q}`;
	const a = createWastoreState({ connectionString: url, store: `chat-test-${randomUUID()}` });
	await a.connect();
	await a.subscribe('t');
	assert.equal(await a.isSubscribed('t'), true);
	await a.disconnect();
});

// A bot built with the real `chat` package on wastore's state: two Chat
// instances (two service instances) share one store; messages for one thread
// arrive at both at once, with the `queue` strategy.  Every message is
// handled once (as the handled message or in context.skipped), duplicates
// are dropped, handlers never overlap, and the lock and queue end empty.
describe('a Chat SDK bot on wastore', () => {
	test('concurrent messages on one thread across two instances', async () => {
		const { Chat, Message } = await import('chat');
		const store = `chat-bot-${randomUUID()}`;
		const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };
		const posted = [];
		const makeAdapter = () => ({
			name: 'test',
			userName: 'bot',
			async initialize() {},
			encodeThreadId: (d) => `test:${d.id}`,
			decodeThreadId: (t) => ({ id: t.slice(5) }),
			channelIdFromThreadId: (t) => t,
			isDM: () => false,
			parseMessage: (raw) => raw,
			renderFormatted: (f) => String(f),
			async postMessage(threadId, msg) { posted.push({ threadId, msg }); return { id: `out-${posted.length}`, threadId, raw: {} }; },
			async editMessage(threadId, id) { return { id, threadId, raw: {} }; },
			async deleteMessage() {},
			async addReaction() {},
			async removeReaction() {},
			async startTyping() {},
			async fetchMessages() { return { messages: [] }; },
			async fetchThread(threadId) { return { id: threadId, channelId: threadId, metadata: {} }; },
			async handleWebhook() { return new Response('ok'); },
		});
		const seen = [];
		let running = 0, overlap = false;
		let releaseFirst;
		const firstGate = new Promise((r) => { releaseFirst = r; });
		const bots = [0, 1].map(() => {
			const adapter = makeAdapter();
			const chat = new Chat({
				userName: 'bot', adapters: { test: adapter }, logger: silent,
				state: createWastoreState({ pool }, store),
				concurrency: 'queue',
			});
			chat.onNewMessage(/.*/, async (thread, message, context) => {
				running++;
				if (running > 1) overlap = true;
				seen.push({ id: message.id, skipped: (context?.skipped ?? []).map((m) => m.id) });
				if (seen.length === 1) await firstGate;
				await thread.post(`got ${message.text}`);
				running--;
			});
			return { chat, adapter };
		});
		await Promise.all(bots.map((b) => b.chat.initialize()));
		const msg = (i) => new Message({
			id: `m${i}`, threadId: 'test:t1', text: `hello ${i}`, formatted: { type: 'root', children: [] }, raw: {},
			author: { userId: 'u1', userName: 'alice', fullName: 'Alice', isBot: false, isMe: false },
			metadata: { dateSent: new Date(), edited: false }, attachments: [],
		});
		const first = bots[0].chat.processMessage(bots[0].adapter, 'test:t1', msg(0));
		while (seen.length === 0) await sleep(10);
		// while the first handler holds the lock: five more, each delivered
		// to both instances (as a webhook retried elsewhere would be)
		await Promise.all([1, 2, 3, 4, 5].flatMap((i) => bots.map((b) => b.chat.processMessage(b.adapter, 'test:t1', msg(i)))));
		releaseFirst();
		await first;
		const ids = seen.flatMap((s) => [s.id, ...s.skipped]).sort();
		assert.deepEqual(ids, ['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
		assert.equal(overlap, false);
		assert.equal(seen[0].id, 'm0');
		// the other five waited in wastore's queue (enqueued by both
		// instances) and were drained in one turn: the latest, four skipped
		assert.equal(seen.length, 2);
		assert.equal(seen[1].skipped.length, 4);
		assert.equal(posted.length, seen.length);
		const s = createWastoreState({ pool }, store);
		await s.connect();
		assert.equal(await s.queueDepth('test:t1'), 0);
		const l = await s.acquireLock('test:t1', 1000);
		assert.ok(l, 'the thread lock was released');
		await s.releaseLock(l);
		await Promise.all(bots.map((b) => b.chat.shutdown?.()));
	});
});
