// wastore/chat: one behaviour suite run against the Chat SDK's own memory
// adapter, against createWastoreState, and against createWastoreState
// behind PgBouncer in transaction pooling mode (the same assertions for
// all); then a bot built with the real `chat` package on each of them,
// handling concurrent messages on one thread with every concurrency
// strategy the package has.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createMemoryState } from '@chat-adapter/state-memory';
import { createWastoreState } from '../lib/chat.js';
import { newPool } from './helpers.js';

const pool = newPool();
// scripts/test.sh starts a PgBouncer in transaction pooling mode (two server
// connections) and names it here; without it that backend is skipped
const bouncer = process.env.WASTORE_TEST_BOUNCER_HOST && process.env.WASTORE_TEST_BOUNCER_PORT
	? { host: process.env.WASTORE_TEST_BOUNCER_HOST, port: +process.env.WASTORE_TEST_BOUNCER_PORT }
	: null;
let bouncerPool;
const sharedBouncerPool = () => (bouncerPool ??= new pg.Pool({ ...bouncer, max: 4 }));
after(() => Promise.all([pool.end(), bouncerPool?.end()]));

const storeId = () => `chat-test-${randomUUID()}`;

// Each backend makes one adapter (`make`) and the states of a bot of n
// instances sharing one store (`shared`): the memory adapter can only be
// shared as one object; wastore gives every instance its own adapter on one
// store, and behind the bouncer its own pool too (ended with the bot).
const backends = [
	{
		name: 'memory',
		make: () => createMemoryState(),
		shared(n) {
			const s = createMemoryState();
			return { states: Array(n).fill(s), observer: s };
		},
	},
	{
		name: 'wastore',
		make: () => createWastoreState({ pool }, storeId()),
		shared(n) {
			const store = storeId();
			return {
				states: Array.from({ length: n }, () => createWastoreState({ pool }, store)),
				observer: createWastoreState({ pool }, store),
			};
		},
	},
	{
		name: 'wastore through PgBouncer',
		skip: bouncer ? false : 'no PgBouncer (WASTORE_TEST_BOUNCER_HOST/PORT unset)',
		make: () => createWastoreState({ pool: sharedBouncerPool() }, storeId()),
		shared(n) {
			const store = storeId();
			const pools = Array.from({ length: n }, () => new pg.Pool({ ...bouncer, max: 4 }));
			return {
				states: pools.map((p) => createWastoreState({ pool: p }, store)),
				observer: createWastoreState({ pool: sharedBouncerPool() }, store),
				close: () => Promise.all(pools.map((p) => p.end())),
			};
		},
	},
];

for (const { name, make, skip } of backends) {
	describe(`StateAdapter behaviour: ${name}`, { skip }, () => {
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


// A bot built with the real `chat` package: `instances` Chat instances (two
// service instances by default) on states that share one store, a test
// platform adapter each, and one handler that records every call (the
// message, context.skipped, totalSinceLastHandler, which instance) and can
// be held on a gate while more messages arrive.  h.send(i) delivers message
// m<i> to every instance at once (as a webhook retried elsewhere would be)
// and settles with each delivery's outcome.
const silent = { debug() {}, info() {}, warn() {}, error() {}, child() { return silent; } };

function testPlatform(posted, extra) {
	return {
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
		...extra,
	};
}

async function startBot(backend, { instances = 2, platform, handlers, ...config } = {}) {
	const { Chat, Message } = await import('chat');
	const { states, observer, close } = backend.shared(instances);
	await observer.connect();
	const h = {
		calls: [], done: [], posted: [], running: 0, maxRunning: 0, gates: new Map(), observer,
		/** holds the handler of message `id` until the returned function is called */
		gate(id) {
			let open;
			this.gates.set(id, new Promise((r) => { open = r; }));
			return open;
		},
		async handle(k, thread, message, context, kind) {
			for (const m of [message, ...(context?.skipped ?? [])]) this.check(m);
			this.running++;
			this.maxRunning = Math.max(this.maxRunning, this.running);
			this.calls.push({
				bot: k, id: message.id, kind,
				skipped: (context?.skipped ?? []).map((m) => m.id), total: context?.totalSinceLastHandler,
			});
			try {
				await this.gates.get(message.id);
				await thread.post(`got ${message.text}`);
			} finally {
				this.running--;
				this.done.push(message.id);
			}
		},
		/** a message the handler got back from the state must be whole (a Message, its Date revived) */
		sent: new Map(),
		t0: Date.now(),
		mangled: [],
		check(m) {
			const want = this.sent.get(m.id);
			const ok = m instanceof Message && m.text === want?.text && m.author?.userName === 'alice'
				&& m.metadata?.dateSent instanceof Date && m.metadata.dateSent.getTime() === want?.dateSent.getTime();
			if (!ok) this.mangled.push(m.id);
		},
		/** the handled messages: [id, [skipped ids]] in call order */
		turns() { return this.calls.map((c) => [c.id, c.skipped]); },
		msg(i, threadId = 'test:t1') {
			const m = new Message({
				id: `m${i}`, threadId, text: `hello ${i}`, formatted: { type: 'root', children: [] }, raw: {},
				author: { userId: 'u1', userName: 'alice', fullName: 'Alice', isBot: false, isMe: false },
				metadata: { dateSent: new Date(this.t0 - 1000 * i), edited: false }, attachments: [],
			});
			this.sent.set(m.id, { text: m.text, dateSent: m.metadata.dateSent });
			return m;
		},
		send(i, { to, thread = 'test:t1' } = {}) {
			const targets = to === undefined ? this.bots : [this.bots[to]];
			return Promise.allSettled(targets.map((b) => b.chat.processMessage(b.adapter, thread, this.msg(i, thread))));
		},
		async until(cond, what) {
			const deadline = Date.now() + 10_000;
			while (!(await cond())) {
				if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
				await sleep(5);
			}
		},
		/** the lock is free, the queue empty, and no message came back mangled */
		async assertIdle(threadId = 'test:t1') {
			assert.deepEqual(this.mangled, [], 'every message reached the handler whole');
			assert.equal(await observer.queueDepth(threadId), 0, 'the queue ends empty');
			const l = await observer.acquireLock(threadId, 1000);
			assert.ok(l, 'the thread lock was released');
			await observer.releaseLock(l);
		},
		async close() {
			await Promise.all(this.bots.map((b) => b.chat.shutdown()));
			await observer.disconnect();
			await close?.();
		},
	};
	h.bots = states.map((state, k) => {
		const adapter = testPlatform(h.posted, platform);
		const chat = new Chat({ userName: 'bot', adapters: { test: adapter }, logger: silent, state, ...config });
		if (handlers) handlers(chat, h, k);
		else chat.onNewMessage(/.*/, (thread, message, context) => h.handle(k, thread, message, context, 'new'));
		return { chat, adapter };
	});
	await Promise.all(h.bots.map((b) => b.chat.initialize()));
	return h;
}

// a broken adapter can leave a gated handler waiting for ever: fail instead
const bounded = { timeout: 20_000 };

/** outcomes of h.send: how many deliveries were refused with a LockError */
const lockErrors = (settled) => settled.filter((r) => r.status === 'rejected' && r.reason?.name === 'LockError').length;
const failures = (settled) => settled.filter((r) => r.status === 'rejected');

for (const backend of backends) {
	describe(`a Chat SDK bot on ${backend.name}: concurrent messages on one thread`, { skip: backend.skip }, () => {
		// drop (the default): a message that finds the thread locked is
		// discarded with a LockError; duplicates are dropped by the dedupe
		// claim before they reach the lock
		test('drop: messages arriving while the handler runs are refused with a LockError, never handled', bounded, async () => {
			const h = await startBot(backend, { concurrency: 'drop' });
			const open = h.gate('m0');
			const first = h.send(0, { to: 0 });
			await h.until(() => h.calls.length === 1, 'm0 to be handled');
			for (const i of [1, 2, 3]) {
				const r = await h.send(i);
				assert.equal(lockErrors(r), 1, `m${i}: one delivery refused, the duplicate skipped`);
				assert.equal(failures(r).length, 1);
			}
			open();
			assert.deepEqual(failures(await first), []);
			const r = await h.send(4);
			assert.deepEqual(failures(r), []);
			assert.deepEqual(h.turns(), [['m0', []], ['m4', []]]);
			assert.equal(h.maxRunning, 1);
			assert.equal(h.posted.length, 2);
			await h.assertIdle();
			await h.close();
		});

		// drop with onLockConflict (the deprecated hook): 'force' takes the
		// lock over (forceReleaseLock, then acquire); the overtaken handler's
		// release must not free the new holder's lock, so a later message is
		// still refused while the new holder runs
		test('drop with onLockConflict force: the lock is taken over; the old holder\'s release leaves the new lock held', bounded, async () => {
			const h = await startBot(backend, {
				concurrency: 'drop',
				onLockConflict: (threadId, message) => (message.id === 'm1' ? 'force' : 'drop'),
			});
			const open0 = h.gate('m0');
			const open1 = h.gate('m1');
			const first = h.send(0, { to: 0 });
			await h.until(() => h.calls.length === 1, 'm0 to be handled');
			const second = h.send(1, { to: 1 });
			await h.until(() => h.calls.length === 2, 'm1 to take the lock over');
			assert.equal(h.maxRunning, 2);
			open0();
			assert.deepEqual(failures(await first), []);
			assert.equal(lockErrors(await h.send(2)), 1, 'm2: m1 still holds the lock');
			open1();
			assert.deepEqual(failures(await second), []);
			assert.deepEqual(failures(await h.send(3)), []);
			assert.deepEqual(h.turns(), [['m0', []], ['m1', []], ['m3', []]]);
			await h.assertIdle();
			await h.close();
		});

		// queue: messages arriving while a handler runs wait in the state's
		// queue (enqueued by either instance); when it finishes, the holder
		// drains the queue: the latest message is handled, the others come in
		// context.skipped, oldest first; then it drains again
		test('queue: the latest queued message is handled with the others in context.skipped, in order; none lost or duplicated', bounded, async () => {
			const h = await startBot(backend, { concurrency: 'queue' });
			const open0 = h.gate('m0');
			const open4 = h.gate('m4');
			const first = h.send(0, { to: 0 });
			await h.until(() => h.calls.length === 1, 'm0 to be handled');
			for (const i of [1, 2, 3, 4]) assert.deepEqual(failures(await h.send(i)), []);
			assert.equal(await h.observer.queueDepth('test:t1'), 4, 'each message queued once');
			open0();
			await h.until(() => h.calls.length === 2, 'the first drain');
			// while m4's handler runs: two more, at once, to both instances
			await Promise.all([h.send(5), h.send(6)]);
			open4();
			assert.deepEqual(failures(await first), []);
			assert.deepEqual(h.turns().slice(0, 2), [['m0', []], ['m4', ['m1', 'm2', 'm3']]]);
			assert.equal(h.calls[1].total, 4);
			assert.equal(h.calls.length, 3);
			const [last, skipped] = h.turns()[2];
			assert.deepEqual([last, ...skipped].sort(), ['m5', 'm6']);
			assert.equal(skipped.length, 1);
			assert.ok(h.calls.every((c) => c.bot === 0), 'the lock holder drains what both instances queued');
			assert.equal(h.maxRunning, 1);
			assert.equal(h.posted.length, 3);
			await h.assertIdle();
			await h.close();
		});

		test('queue, maxQueueSize 2, onQueueFull drop-oldest: the oldest queued messages are evicted', bounded, async () => {
			const h = await startBot(backend, { concurrency: { strategy: 'queue', maxQueueSize: 2, onQueueFull: 'drop-oldest' } });
			const open = h.gate('m0');
			const first = h.send(0, { to: 0 });
			await h.until(() => h.calls.length === 1, 'm0 to be handled');
			for (const i of [1, 2, 3, 4]) await h.send(i);
			assert.equal(await h.observer.queueDepth('test:t1'), 2);
			open();
			await first;
			assert.deepEqual(h.turns(), [['m0', []], ['m4', ['m3']]]);
			await h.assertIdle();
			await h.close();
		});

		test('queue, maxQueueSize 2, onQueueFull drop-newest: messages beyond a full queue are dropped', bounded, async () => {
			const h = await startBot(backend, { concurrency: { strategy: 'queue', maxQueueSize: 2, onQueueFull: 'drop-newest' } });
			const open = h.gate('m0');
			const first = h.send(0, { to: 0 });
			await h.until(() => h.calls.length === 1, 'm0 to be handled');
			for (const i of [1, 2, 3, 4]) assert.deepEqual(failures(await h.send(i)), []);
			assert.equal(await h.observer.queueDepth('test:t1'), 2);
			open();
			await first;
			assert.deepEqual(h.turns(), [['m0', []], ['m2', ['m1']]]);
			await h.assertIdle();
			await h.close();
		});

		test('queue, queueEntryTtlMs: entries that expired while queued are never handled', bounded, async () => {
			const h = await startBot(backend, { concurrency: { strategy: 'queue', queueEntryTtlMs: 400 } });
			const open = h.gate('m0');
			const first = h.send(0, { to: 0 });
			await h.until(() => h.calls.length === 1, 'm0 to be handled');
			await h.send(1);
			await h.send(2);
			await sleep(500);
			await h.send(3);
			open();
			await first;
			assert.deepEqual(h.turns(), [['m0', []], ['m3', []]]);
			await h.assertIdle();
			await h.close();
		});

		// debounce: the first message waits debounceMs under the lock; what
		// arrives meanwhile replaces it, and only the last message of the
		// window is handled (chat 4.41 passes the replaced ones in
		// context.skipped).  The holder keeps the lock and debounces again:
		// a message arriving while the handler runs is the next window's.
		test('debounce: only the last message of the window is handled; a message arriving during the handler opens the next window', bounded, async () => {
			const h = await startBot(backend, { concurrency: { strategy: 'debounce', debounceMs: 400 } });
			const open2 = h.gate('m2');
			const first = h.send(0, { to: 0 });
			await h.until(async () => (await h.observer.queueDepth('test:t1')) === 1, 'm0 to wait in its window');
			await h.send(1);
			await h.send(2);
			await h.until(() => h.calls.length === 1, 'the window to close');
			assert.deepEqual(h.turns(), [['m2', ['m0', 'm1']]]);
			await h.send(3);
			open2();
			assert.deepEqual(failures(await first), []);
			assert.deepEqual(h.turns(), [['m2', ['m0', 'm1']], ['m3', []]]);
			assert.equal(h.maxRunning, 1);
			assert.equal(h.posted.length, 2);
			await h.assertIdle();
			await h.close();
		});

		// burst: even a lone message waits debounceMs, then the burst is
		// drained as by queue: the latest handled, the earlier ones in
		// context.skipped; what arrives while the handler runs is the next
		// turn.  A lone message on another thread: skipped [], total 1.
		test('burst: the window\'s messages are one turn (latest + skipped in order); those arriving during the handler the next', bounded, async () => {
			const h = await startBot(backend, { concurrency: { strategy: 'burst', debounceMs: 400 } });
			const open2 = h.gate('m2');
			const lone = h.send(9, { to: 1, thread: 'test:t2' });
			const first = h.send(0, { to: 0 });
			await h.until(async () => (await h.observer.queueDepth('test:t1')) === 1, 'm0 to wait in its window');
			await h.send(1);
			await h.send(2);
			await h.until(() => h.calls.some((c) => c.id === 'm2'), 'the burst to be handled');
			await h.send(3);
			await h.send(4);
			open2();
			assert.deepEqual(failures(await first), []);
			assert.deepEqual(failures(await lone), []);
			const t1 = h.calls.filter((c) => c.id !== 'm9');
			assert.deepEqual(t1.map((c) => [c.id, c.skipped, c.total]), [['m2', ['m0', 'm1'], 3], ['m4', ['m3'], 2]]);
			const t2 = h.calls.find((c) => c.id === 'm9');
			assert.deepEqual([t2.skipped, t2.total], [[], 1]);
			assert.equal(h.posted.length, 3);
			await h.assertIdle('test:t1');
			await h.assertIdle('test:t2');
			await h.close();
		});

		// concurrent: no lock at all, every message handled at once in its own
		// call; the dedupe claim still hands each message to one instance only
		test('concurrent: every message handled at once, exactly once, without taking the thread lock', bounded, async () => {
			const h = await startBot(backend, { concurrency: 'concurrent' });
			const opens = [0, 1, 2, 3].map((i) => h.gate(`m${i}`));
			const sends = [0, 1, 2, 3].map((i) => h.send(i));
			await h.until(() => h.calls.length === 4, 'four handlers to run');
			assert.equal(h.running, 4);
			const l = await h.observer.acquireLock('test:t1', 1000);
			assert.ok(l, 'no lock is held while they run');
			await h.observer.releaseLock(l);
			opens.forEach((o) => o());
			for (const r of await Promise.all(sends)) assert.deepEqual(failures(r), []);
			assert.deepEqual(h.calls.map((c) => c.id).sort(), ['m0', 'm1', 'm2', 'm3']);
			assert.ok(h.calls.every((c) => c.skipped.length === 0));
			assert.equal(h.posted.length, 4);
			await h.assertIdle();
			await h.close();
		});

		test('concurrent, maxConcurrent 2: at most two handlers per thread at once, all handled', bounded, async () => {
			const h = await startBot(backend, { instances: 1, concurrency: { strategy: 'concurrent', maxConcurrent: 2 } });
			const opens = new Map([0, 1, 2, 3].map((i) => [`m${i}`, h.gate(`m${i}`)]));
			const sends = [0, 1, 2, 3].map((i) => h.send(i));
			await h.until(() => h.calls.length === 2, 'two handlers to run');
			await sleep(50);
			assert.equal(h.calls.length, 2, 'the others wait for a slot');
			for (let n = 0; n < 4; n++) {
				await h.until(() => h.calls.length > n, 'a handler');
				opens.get(h.calls[n].id)();
			}
			for (const r of await Promise.all(sends)) assert.deepEqual(failures(r), []);
			assert.deepEqual(h.calls.map((c) => c.id).sort(), ['m0', 'm1', 'm2', 'm3']);
			assert.equal(h.maxRunning, 2);
			await h.assertIdle();
			await h.close();
		});

		// turn cancellation across instances (the key-value cache): the
		// instance running the handler publishes its turn (active-turn:…),
		// the other instance's abortTurn marks it aborted (abort-turn:…), the
		// runner's poll aborts thread.signal, and both keys are cleared
		test('abortTurn from the other instance aborts the running handler through the state', bounded, async () => {
			const h = await startBot(backend, {
				concurrency: 'queue',
				platform: { supportsTurnCancellation: true },
				handlers(chat, h, k) {
					chat.onNewMessage(/.*/, async (thread, message) => {
						h.calls.push({ bot: k, id: message.id });
						await new Promise((r) => {
							const t = setTimeout(r, 5000);
							thread.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
						});
						h.aborted = thread.signal.aborted;
					});
				},
			});
			const first = h.send(0, { to: 0 });
			await h.until(async () => (await h.observer.get('active-turn:test:t1')) !== null, 'the turn to be published');
			await h.bots[1].chat.abortTurn('test:t1');
			assert.deepEqual(failures(await first), []);
			assert.equal(h.aborted, true);
			assert.equal(await h.observer.get('active-turn:test:t1'), null);
			assert.equal(await h.observer.get('abort-turn:test:t1'), null);
			await h.assertIdle();
			await h.close();
		});

		// subscriptions and the thread history (a list) through the bot: the
		// first message subscribes the thread; the next ones, at either
		// instance, go to onSubscribedMessage; every incoming message and
		// every post of the bot is appended to the thread's history, oldest
		// first, raw dropped
		test('subscriptions and thread history: the bot subscribes, later messages reach onSubscribedMessage, history keeps them all', bounded, async () => {
			const h = await startBot(backend, {
				concurrency: 'queue',
				platform: { persistThreadHistory: true },
				handlers(chat, h, k) {
					chat.onNewMessage(/.*/, async (thread, message, context) => {
						await thread.subscribe();
						await h.handle(k, thread, message, context, 'new');
					});
					chat.onSubscribedMessage((thread, message, context) => h.handle(k, thread, message, context, 'subscribed'));
				},
			});
			assert.deepEqual(failures(await h.send(0, { to: 0 })), []);
			assert.equal(await h.observer.isSubscribed('test:t1'), true);
			assert.deepEqual(failures(await h.send(1, { to: 1 })), []);
			assert.deepEqual(failures(await h.send(2)), []);
			assert.deepEqual(h.calls.map((c) => [c.id, c.kind]), [['m0', 'new'], ['m1', 'subscribed'], ['m2', 'subscribed']]);
			const history = await h.observer.getList('msg-history:test:t1');
			assert.deepEqual(history.map((m) => [m.id, m.text, m.raw]), [
				['m0', 'hello 0', null], ['out-1', 'got hello 0', null],
				['m1', 'hello 1', null], ['out-2', 'got hello 1', null],
				['m2', 'hello 2', null], ['out-3', 'got hello 2', null],
			]);
			await h.assertIdle();
			await h.close();
		});
	});
}
