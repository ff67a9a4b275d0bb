// The Node package benchmark (issue 16): what a Baileys or Chat SDK user
// sees, measured through the real packages, side by side in one process,
// one run and one server.  bench/node/run.sh starts the server and creates
// the databases; this prints the table.
//
// Baileys rows.  Every store is wired as makeWASocket wires its auth state
// (the keys wrapped by Baileys' own addTransactionCapability, creds.update
// applied with Object.assign and then handed to the store's saveCreds), and
// the Signal work is Baileys' own signal repository over libsignal:
//   - keys in memory: a plain object per family, no serialisation at all
//     (the ceiling: what the Signal work itself costs);
//   - wastore with a lease held (useWastoreAuthState(pool, id, { lease }):
//     reads from its write-through cache, one fenced wastore.set per commit);
//   - wastore without a lease (every read and every commit a SQL call);
//   - Baileys' useMultiFileAuthState (one JSON file per key);
//   - postgres-baileys 1.5.0 from npm (usePostgreSQLAuthState(pool, id), as
//     its README wires it: one statement per key).
// Chat SDK rows: createWastoreState against @chat-adapter/state-pg, each in
// a database of its own on the same server, called as the `chat` package
// calls a state adapter.  And, for scale, a bare round trip and one fenced
// commit of a session, which is what a lease adds to a Baileys commit.
//
// The machine is shared and noisy, so variants are only compared side by
// side: within a round, the variants of a row take turns (of TURN messages,
// or of SLICE_MS), and each variant's time is summed over its turns; the
// rounds then rotate the order, and the table shows medians of the rounds.
//
//   node bench.js WORKDIR
//
//   PGHOST, PGPORT, PGUSER       the server (bench/node/run.sh sets them)
//   BENCH_DB_WASTORE             database with the extension (wastore, wastore/chat)
//   BENCH_DB_PGBAILEYS           database of postgres-baileys (its auth_data table)
//   BENCH_DB_STATEPG             database of @chat-adapter/state-pg (its tables)
//   BENCH_ROUNDS                 rounds (3)
//   BENCH_SECONDS                seconds per variant per round, the other rows (3)
//   BENCH_MESSAGES               messages per variant per round, row 1 (200)
//   BENCH_ONLY                   for profiling: only these rows and variants
//                                (comma-separated keys, e.g. msgs,lease,memory)

import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import * as baileys from 'baileys';
import { usePostgreSQLAuthState } from 'postgres-baileys';
import { createPostgresState } from '@chat-adapter/state-pg';
import { useWastoreAuthState } from 'wastore/baileys';
import { createWastoreState } from 'wastore/chat';
import { createClient } from 'wastore';

const B = baileys.default?.initAuthCreds ? baileys.default : baileys;
const makeSignalRepository = B.DEFAULT_CONNECTION_CONFIG.makeSignalRepository;
const work = process.argv[2];
if (!work) throw new Error('usage: node bench.js WORKDIR');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const DB = {
	wastore: process.env.BENCH_DB_WASTORE ?? 'bench',
	pgbaileys: process.env.BENCH_DB_PGBAILEYS ?? 'pgbaileys',
	statepg: process.env.BENCH_DB_STATEPG ?? 'statepg',
};

// libsignal tells the console about every session it closes or replaces
for (const level of ['log', 'info', 'warn']) {
	const orig = console[level].bind(console);
	console[level] = (first, ...rest) => {
		if (typeof first === 'string' && /^(Closing (open )?session|Session already|Migrating session|Decrypted message with closed session|V1 session storage migration)/.test(first)) return;
		orig(first, ...rest);
	};
}
const versionOf = (name) => JSON.parse(readFileSync(new URL(`node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
const logger = { level: 'silent', trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child() { return logger; } };
const pools = [];
const newPool = (database) => { const p = new pg.Pool({ database, max: 10 }); pools.push(p); return p; };

// ---------------------------------------------------------------------------
// The stores under test.  open(name) returns what useMultiFileAuthState
// returns: { state: { creds, keys }, saveCreds }.

/** Keys in memory: Baileys' SignalKeyStore contract over plain objects. */
function memoryAuth() {
	const data = {};
	return {
		state: {
			creds: B.initAuthCreds(),
			keys: {
				async get(type, ids) {
					const fam = data[type] ?? {};
					const out = {};
					for (const id of ids) if (fam[id] !== undefined) out[id] = fam[id];
					return out;
				},
				async set(batch) {
					for (const type in batch) {
						const fam = (data[type] ??= {});
						for (const id in batch[type]) {
							const v = batch[type][id];
							if (v) fam[id] = v; else delete fam[id];
						}
					}
				},
			},
		},
		saveCreds: async () => {},
	};
}

const wastorePool = newPool(DB.wastore);
const pgbPool = newPool(DB.pgbaileys);
// postgres-baileys creates its table in its constructor without awaiting it
// (the first read can race it): the same statement, awaited, beforehand
await pgbPool.query('CREATE TABLE IF NOT EXISTS auth_data (session_key VARCHAR(255) PRIMARY KEY, data TEXT NOT NULL)');

const run = randomUUID().slice(0, 8);
const STORES = [
	{ key: 'memory', label: 'keys in memory', open: async () => memoryAuth() },
	{
		key: 'lease', label: 'wastore, lease held',
		open: (name) => useWastoreAuthState(wastorePool, `${run}-lease-${name}`, { baileys: B, lease: { holder: `bench-${name}`, ttlMs: 60_000 } }),
	},
	{ key: 'nolease', label: 'wastore, no lease', open: (name) => useWastoreAuthState(wastorePool, `${run}-nolease-${name}`, { baileys: B }) },
	{
		key: 'multifile', label: 'useMultiFileAuthState',
		open: async (name) => {
			const dir = join(work, 'multifile', name);
			await rm(dir, { recursive: true, force: true });
			await mkdir(dir, { recursive: true });
			return B.useMultiFileAuthState(dir);
		},
	},
	{ key: 'pgbaileys', label: 'postgres-baileys', open: (name) => usePostgreSQLAuthState(pgbPool, `${run}-${name}`) },
];

// ---------------------------------------------------------------------------
// An account as makeWASocket wires it (the test suite's helpers.js, reduced):
// its keys wrapped by addTransactionCapability, creds.update applied with
// Object.assign and then saved, Baileys' signal repository over them.

function wireAccount(auth, jid) {
	const creds = auth.state.creds;
	// the commit retries of the README example; no commit fails here anyway
	const keys = B.addTransactionCapability(auth.state.keys, logger, { maxCommitRetries: 2, delayBetweenTriesMs: 200 });
	const saves = [];
	const emitCredsUpdate = (update) => {
		Object.assign(creds, update);
		saves.push(auth.saveCreds(update));
	};
	const repo = makeSignalRepository({ creds, keys });
	const tx = (fn, key) => keys.transaction(fn, key ?? jid);
	return {
		auth, jid, creds, keys, emitCredsUpdate,
		async settled() { await Promise.all(saves.splice(0)); },
		/** socket.uploadPreKeys, minus the upload: one commit with the creds counters */
		async uploadPreKeys(server, count) {
			const { update, preKeys } = await (async () => {
				let r;
				await tx(async () => {
					r = await B.getNextPreKeys({ creds, keys }, count);
					emitCredsUpdate(r.update);
				}, 'upload-pre-keys');
				return r;
			})();
			await this.settled();
			server.upload(jid, this, Object.entries(preKeys).map(([id, kp]) => ({ keyId: +id, publicKey: B.generateSignalPubKey(kp.public) })));
			return update;
		},
		send: (to, text) => tx(() => repo.encryptMessage({ jid: to, data: Buffer.from(text) }), to),
		async receive(from, { type, ciphertext }) {
			const plain = await tx(() => repo.decryptMessage({ jid: from, type, ciphertext }), from);
			return Buffer.from(plain).toString();
		},
		async startSession(server, to) {
			await tx(() => repo.injectE2ESession({ jid: to, session: server.fetchBundle(to) }), to);
		},
	};
}

/** WhatsApp's key server, in memory: the pre-key bundles accounts upload */
function makeServer() {
	const accounts = new Map();
	return {
		upload(jid, acct, preKeys) {
			const a = accounts.get(jid) ?? { preKeys: [] };
			a.acct = acct;
			a.preKeys.push(...preKeys);
			accounts.set(jid, a);
		},
		fetchBundle(jid) {
			const { acct, preKeys } = accounts.get(jid);
			const { creds } = acct;
			return {
				registrationId: creds.registrationId,
				identityKey: B.generateSignalPubKey(creds.signedIdentityKey.public),
				signedPreKey: {
					keyId: creds.signedPreKey.keyId,
					publicKey: B.generateSignalPubKey(creds.signedPreKey.keyPair.public),
					signature: creds.signedPreKey.signature,
				},
				preKey: preKeys.shift(),
			};
		},
	};
}

const ALICE = '4915100000001@s.whatsapp.net';
const BOB = '4915100000002@s.whatsapp.net';

/** two accounts of one store kind that have talked (sessions both ways) */
let convSeq = 0;
async function conversation(store) {
	const server = makeServer();
	const k = convSeq++;
	const alice = wireAccount(await store.open(`alice${k}`), ALICE);
	const bob = wireAccount(await store.open(`bob${k}`), BOB);
	await alice.uploadPreKeys(server, 10);
	await bob.uploadPreKeys(server, 10);
	await alice.auth.saveCreds();
	await bob.auth.saveCreds();
	await bob.startSession(server, ALICE);
	if (await alice.receive(BOB, await bob.send(ALICE, 'hello')) !== 'hello') throw new Error(`${store.key}: first message`);
	if (await bob.receive(ALICE, await alice.send(BOB, 'hi')) !== 'hi') throw new Error(`${store.key}: first reply`);
	return { alice, bob };
}

// ---------------------------------------------------------------------------
// Measurements.  The variants of a row are measured side by side: in turns
// of TURN messages (row 1) or of a slice of SLICE_MS (the others), in an order
// that rotates, each variant's time summed over its turns; so a burst of
// load from the machine's other work falls on every variant alike.  A row
// reports, per variant, operations per second of its own summed time.

const SLICE_MS = 100;
const now = () => process.hrtime.bigint();

/**
 * Interleaved slices: runs ops[v]() for each variant in turns of SLICE_MS
 * (at least one call each) until the row has run SECONDS per variant.
 * Returns { [v]: operations per second }.
 */
async function sliced(ops) {
	const vs = Object.keys(ops);
	const time = Object.fromEntries(vs.map((v) => [v, 0n]));
	const count = Object.fromEntries(vs.map((v) => [v, 0]));
	const until = now() + BigInt(Math.round(SECONDS * vs.length * 1e9));
	for (let turn = 0; now() < until || turn < 3; turn++) {
		for (let i = 0; i < vs.length; i++) {
			const v = vs[(i + turn) % vs.length];
			const t0 = now();
			const end = t0 + BigInt(SLICE_MS * 1e6);
			let t;
			do {
				await ops[v]();
				count[v]++;
				t = now();
			} while (t < end);
			time[v] += t - t0;
		}
	}
	return Object.fromEntries(vs.map((v) => [v, count[v] / (Number(time[v]) / 1e9)]));
}

/**
 * 1. messages: alice -> bob, bob -> alice, ... (each one encrypted and
 * decrypted), MESSAGES of them per variant in conversations opened for the
 * round (untimed), the variants taking turns of TURN messages.  Every
 * variant runs the same messages from the same start: libsignal keeps an
 * entry per ratchet step in the session record, so a session grows with
 * every turn of a ping-pong conversation (to about 12 kB of JSON after 200
 * messages), and a store measured further into its conversation would
 * carry bigger sessions.
 */
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const TURN = 10;
async function messages(stores) {
	const convs = {};
	for (const s of stores) convs[s.key] = await conversation(s);
	const vs = Object.keys(convs);
	const time = Object.fromEntries(vs.map((v) => [v, 0n]));
	for (let n = 0; n < MESSAGES; n += TURN) {
		for (let i = 0; i < vs.length; i++) {
			const v = vs[(i + n / TURN) % vs.length];
			const c = convs[v];
			const t0 = now();
			for (let k = n; k < Math.min(n + TURN, MESSAGES); k++) {
				const [from, to] = k % 2 === 0 ? [c.alice, c.bob] : [c.bob, c.alice];
				const text = `message ${k}`;
				if (await to.receive(from.jid, await from.send(to.jid, text)) !== text) throw new Error('decrypted text differs');
			}
			time[v] += now() - t0;
		}
	}
	for (const c of Object.values(convs)) {
		await c.alice.auth.close?.();
		await c.bob.auth.close?.();
	}
	return Object.fromEntries(vs.map((v) => [v, MESSAGES / (Number(time[v]) / 1e9)]));
}

/** 256 device sessions of a group, written once through the store's own set */
const GROUP = Array.from({ length: 256 }, (_, i) => `49152${String(i).padStart(5, '0')}.${i % 4}`);
async function writeGroupSessions(acct, session) {
	await acct.keys.set({ session: Object.fromEntries(GROUP.map((id) => [id, JSON.parse(JSON.stringify(session))])) });
}
/** 2. a group send's session read: one keys.get of 256 ids through the wrapper */
const groupRead = (acct) => async () => {
	const got = await acct.keys.get('session', GROUP);
	if (Object.keys(got).length !== GROUP.length) throw new Error('group read: sessions missing');
};

/** 812 key pairs, made once (the upload is timed, not the curve) */
const PREKEYS = Array.from({ length: 812 }, () => B.Curve.generateKeyPair());
/**
 * 3. the first connect's pre-key upload, as socket.uploadPreKeys does it:
 * in one Baileys transaction, 812 new pre-keys and the creds counters
 * (creds.update), committed as one keys.set; timed until the creds are
 * saved too.  Every upload takes new ids.
 */
const preKeyUpload = (acct) => async () => {
	await acct.keys.transaction(async () => {
		const first = acct.creds.nextPreKeyId;
		const batch = {};
		for (let i = 0; i < PREKEYS.length; i++) batch[first + i] = PREKEYS[i];
		await acct.keys.set({ 'pre-key': batch });
		acct.emitCredsUpdate({ nextPreKeyId: first + PREKEYS.length, firstUnuploadedPreKeyId: first + PREKEYS.length });
	}, 'upload-pre-keys');
	await acct.settled();
};

/** 4a. a dedupe claim for a new message id, as Chat.handleIncomingMessage makes it */
const dedupe = (state) => async () => {
	if (!(await state.setIfNotExists(`dedupe:whatsapp:${randomUUID()}`, true, 10 * 60_000))) throw new Error('a new id was not claimed');
};
/**
 * 4b. a lock/queue cycle, as the `chat` package's 'queue' strategy makes
 * it: message 1 takes the thread's lock; message 2 finds it held, reads the
 * depth and enqueues; the holder drains the queue (one entry, then empty;
 * after its handler ran, empty again) and releases.  Eight calls.
 */
const lockQueue = (state, thread) => async () => {
	const lock = await state.acquireLock(thread, 30_000);
	if (!lock) throw new Error('the lock is held');
	if (await state.acquireLock(thread, 30_000)) throw new Error('a held lock was acquired');
	await state.queueDepth(thread);
	const t = Date.now();
	await state.enqueue(thread, { message: { id: randomUUID(), threadId: thread, text: 'hello there' }, enqueuedAt: t, expiresAt: t + 90_000 }, 10);
	if (!(await state.dequeue(thread))) throw new Error('the entry is missing');
	if (await state.dequeue(thread)) throw new Error('the queue is not empty');
	await state.dequeue(thread);
	await state.releaseLock(lock);
};

// ---------------------------------------------------------------------------

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const t0 = Date.now();
const note = (s) => process.stderr.write(`==> ${s}\n`);

note('setting up: 256 group sessions per store');
const groupAccts = {}, uploadAccts = {};
for (const s of STORES) {
	// the 256 sessions: copies of a real session record (alice's with bob,
	// after the first message each way)
	const c = await conversation(s);
	const addr = `${BOB.split('@')[0]}.0`;
	const { [addr]: session } = await c.alice.keys.get('session', [addr]);
	if (!session) throw new Error(`${s.key}: no session to copy`);
	await c.alice.auth.close?.();
	await c.bob.auth.close?.();
	groupAccts[s.key] = wireAccount(await s.open('group'), ALICE);
	await writeGroupSessions(groupAccts[s.key], session);
	uploadAccts[s.key] = wireAccount(await s.open('upload'), ALICE);
}
// For scale (row 5): what one round trip and one commit cost on this server
// and machine, next to what the in-memory store's message costs: a lease's
// messages/s is bounded by the memory figure plus two awaited commits per
// message (the sender's encrypt and the receiver's decrypt are a Baileys
// transaction each).  The session committed is the one two accounts hold
// after 100 messages, the middle of row 1's conversations.
const scale = {};
{
	const c = await conversation(STORES[0]);
	for (let k = 0; k < 98; k++) {
		const [from, to] = k % 2 === 0 ? [c.alice, c.bob] : [c.bob, c.alice];
		await to.receive(from.jid, await from.send(to.jid, 'x'));
	}
	const addr = `${BOB.split('@')[0]}.0`;
	const { [addr]: session } = await c.alice.keys.get('session', [addr]);
	scale.sessionText = JSON.stringify({ session: { [addr]: session } });
	scale.client = createClient({ pool: wastorePool });
	scale.store = `${run}-scale`;
	scale.lease = await scale.client.lease(scale.store, { holder: 'bench', ttlMs: 600_000 });
}
const chatStates = {
	wastore: createWastoreState({ pool: newPool(DB.wastore) }, `${run}-chat`),
	statepg: createPostgresState({ client: newPool(DB.statepg), logger }),
};
for (const st of Object.values(chatStates)) await st.connect();

const pick = (vs, f) => Object.fromEntries(vs.map((v) => [v, f(v)]));
const ROWS = [
	{ key: 'msgs', title: 'messages', unit: 'msgs/s', variants: STORES.map((s) => s.key),
		measure: (vs) => messages(STORES.filter((s) => vs.includes(s.key))) },
	{ key: 'group', title: '256-session read', unit: 'reads/s', variants: STORES.map((s) => s.key),
		measure: (vs) => sliced(pick(vs, (v) => groupRead(groupAccts[v]))) },
	{ key: 'upload', title: '812 pre-key upload', unit: 'uploads/s', variants: STORES.map((s) => s.key),
		measure: (vs) => sliced(pick(vs, (v) => preKeyUpload(uploadAccts[v]))) },
	{ key: 'scale', title: 'for scale', unit: 'calls/s', variants: ['roundtrip', 'commit'],
		measure: (vs) => sliced(pick(vs, (v) => (v === 'roundtrip'
			? () => wastorePool.query('SELECT 1')
			: () => scale.client.setText(scale.store, scale.sessionText, { lease: scale.lease.token })))) },
	{ key: 'dedupe', title: 'Chat SDK dedupe claims', unit: 'claims/s', variants: ['wastore', 'statepg'],
		measure: (vs) => sliced(pick(vs, (v) => dedupe(chatStates[v]))) },
	{ key: 'queue', title: 'Chat SDK lock/queue cycles', unit: 'cycles/s', variants: ['wastore', 'statepg'],
		measure: (vs, r) => sliced(pick(vs, (v) => lockQueue(chatStates[v], `whatsapp:4915100000${r}@s.whatsapp.net`))) },
];
const only = process.env.BENCH_ONLY?.split(',');
if (only) {
	for (const row of ROWS) row.variants = row.variants.filter((v) => only.includes(v));
	ROWS.splice(0, ROWS.length, ...ROWS.filter((row) => only.includes(row.key) && row.variants.length));
}
const results = {};
for (let r = 0; r < ROUNDS; r++) {
	note(`round ${r + 1} of ${ROUNDS}`);
	for (const row of ROWS) {
		// the order of the variants rotates from round to round too
		const vs = row.variants.map((_, i) => row.variants[(i + r) % row.variants.length]);
		const got = await row.measure(vs, r);
		for (const v of vs) ((results[row.key] ??= {})[v] ??= []).push(got[v]);
	}
}
for (const s of STORES) {
	for (const a of [groupAccts[s.key], uploadAccts[s.key]]) await a.auth.close?.();
}
for (const st of Object.values(chatStates)) await st.disconnect();
await scale.lease.release();
const pgVersion = (await wastorePool.query('SHOW server_version')).rows[0].server_version;
await Promise.all(pools.map((p) => p.end()));

// ---------------------------------------------------------------------------
// The table: each line compares one wastore variant with one other store,
// medians of the rounds; the note says the issue's target.

const m = (row, v) => (results[row]?.[v] ? median(results[row][v]) : NaN);
const has = (row, v) => !!results[row]?.[v];
const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const lines = [];
const line = (title, a, b, unit, target) => {
	const ratio = a / b;
	const holds = target == null ? '' : ratio >= target ? `target >= ${target.toFixed(2)}x: holds` : `target >= ${target.toFixed(2)}x: MISSES`;
	lines.push(`${title.padEnd(50)} ${`${fmt(a)} ${unit}`.padStart(18)} ${`${fmt(b)} ${unit}`.padStart(18)} ${`${ratio.toFixed(2)}x`.padStart(8)}  ${holds}`);
};
const label = Object.fromEntries(STORES.map((s) => [s.key, s.label]));
const short = { memory: 'memory', multifile: 'multi-file', pgbaileys: 'postgres-baileys' };
for (const row of ROWS.filter((r) => ['msgs', 'group', 'upload'].includes(r.key))) {
	// with a lease: against the ceiling (memory) and against each peer
	const targets = row.key === 'msgs' ? { memory: 0.8, multifile: 2, pgbaileys: 1 } : { memory: null, multifile: 1, pgbaileys: 1 };
	for (const other of ['memory', 'multifile', 'pgbaileys']) {
		line(`${row.title}, lease vs ${short[other]}`, m(row.key, 'lease'), m(row.key, other), row.unit, targets[other]);
	}
	// without a lease: the figures (no target)
	for (const other of ['memory', 'multifile', 'pgbaileys']) {
		line(`${row.title}, no lease vs ${short[other]}`, m(row.key, 'nolease'), m(row.key, other), row.unit, null);
	}
}
for (const row of ROWS.filter((r) => r.key === 'dedupe' || r.key === 'queue')) {
	line(`${row.title} vs state-pg`, m(row.key, 'wastore'), m(row.key, 'statepg'), row.unit, 1);
}

console.log(`\nwastore Node package benchmark: medians of ${ROUNDS} interleaved rounds (${MESSAGES} messages, or ${SECONDS} s, per variant per round), ` +
	`${os.cpus().length} cores, PostgreSQL ${pgVersion}, Node ${process.versions.node}; the run took ${Math.round((Date.now() - t0) / 1000)} s`);
console.log(`baileys ${versionOf('baileys')}, libsignal ${versionOf('libsignal')}, postgres-baileys ${versionOf('postgres-baileys')}, ` +
	`@chat-adapter/state-pg ${versionOf('@chat-adapter/state-pg')}, wastore ${versionOf('wastore')}`);
console.log(`${''.padEnd(50)} ${'wastore'.padStart(18)} ${'other'.padStart(18)} ${'ratio'.padStart(8)}`);
for (const l of lines) console.log(l);
if (results.scale && results.msgs?.memory) {
	const us = (x) => `${(1e6 / x).toFixed(0)} us`;
	console.log(`\nfor scale: a message with keys in memory ${us(m('msgs', 'memory'))}, with a lease ${us(m('msgs', 'lease'))}; ` +
		`one round trip (SELECT 1) ${us(m('scale', 'roundtrip'))}; one fenced wastore.set of a ${(scale.sessionText.length / 1024).toFixed(1)} kB session ${us(m('scale', 'commit'))}`);
}
console.log('\nall figures (median, then each round):');
for (const row of ROWS) for (const v of row.variants) {
	console.log(`  ${`${row.title}, ${label[v] ?? v}`.padEnd(60)} ${fmt(m(row.key, v)).padStart(9)} ${row.unit}  [${results[row.key][v].map(fmt).join(', ')}]`);
}
