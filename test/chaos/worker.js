// One instance of one WhatsApp account in the chaos run: a real Baileys
// auth state kept in wastore (useWastoreAuthState, with a lease unless the
// run is the broken variant), its keys wrapped by Baileys'
// addTransactionCapability as makeWASocket wires them, and Baileys' own
// signal repository (libsignal) over them.  The supervisor (the "server")
// sends it commands — send a 1:1 message, send to the group, upload
// pre-keys, stop — and delivers messages; it answers over IPC.  One task at
// a time, in arrival order (Baileys 6's transactions are not keyed).
//
// Every step is appended to the instance's history (JSONL, written with a
// synchronous write before the step's effect is reported, so a SIGKILL
// never loses an event the supervisor saw the effect of): send-attempt,
// send-committed / send-failed, decrypt-pending (plaintext known, commit
// not yet done) then decrypt-ok / decrypt-uncommitted / decrypt-error
// (kind), write (every wastore.set with its sequence number and lease
// token) and write-result, lease-lost.  Every wastore.set also writes a
// marker row (family tctoken, id "chaos.<instance>.<seq>") in the same
// atomic batch, so that the checker can tell from the store which writes
// landed.
//
//   node worker.js '<json config>'   (forked by supervisor.js)

import { openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from '../../clients/node/node_modules/pg/lib/index.js';
import { baileysModule, logger } from '../../clients/node/test/helpers.js';
import { useWastoreAuthState } from '../../clients/node/lib/baileys.js';

const cfg = JSON.parse(process.argv[2]);
const { account, inst, jid, store, dir } = cfg;
const require = createRequire(new URL('../../clients/node/package.json', import.meta.url));
const { PreKeyWhisperMessage } = require('libsignal/src/protobufs');

const hist = openSync(`${dir}/${inst}.jsonl`, 'a');
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
const log = (ev) => writeSync(hist, `${JSON.stringify({ t: now(), inst, ...ev })}\n`);
const hash = (s) => createHash('sha256').update(s).digest('hex').slice(0, 16);

// libsignal reports the errors of every session it tried on stderr before
// it throws "No matching sessions found for message": kept, to tell a
// replayed message (MessageCounterError) from a Bad MAC.
let signalErrs = [];
console.error = (...a) => { signalErrs.push(a.map(String).join(' ')); };
for (const level of ['log', 'info', 'warn', 'debug']) console[level] = () => {};

function exit(code, ev) {
	log({ ev: 'exit', code, ...ev });
	process.exit(code);
}
process.on('unhandledRejection', (err) => exit(1, { why: 'unhandledRejection', err: String(err?.stack ?? err) }));
process.on('uncaughtException', (err) => exit(1, { why: 'uncaughtException', err: String(err?.stack ?? err) }));
process.on('disconnect', () => exit(0, { why: 'supervisor gone' }));

const errInfo = (err) => ({ code: err?.code, msg: String(err?.message ?? err).slice(0, 300) });
const isDbError = (err) => {
	if (!err) return false;
	if (err.name === 'WastoreError') return true;
	if (typeof err.code === 'string' && /^([0-9A-Z]{5}|E[A-Z]+)$/.test(err.code)) return true;
	return /Connection terminated|connect|timeout|Client has encountered|terminating connection|shutting down|the database system/i.test(String(err.message));
};
/** the kind of a decrypt error that is no database error */
function cryptoKind(err, inner) {
	const all = [String(err?.message ?? err), ...inner].join('\n');
	if (/MessageCounterError|Key used already|old counter/.test(all)) return 'duplicate';
	if (/Bad MAC/.test(all)) return 'bad-mac';
	if (/PreKey|pre-key|Missing SignedPreKey/i.test(all)) return 'invalid-pre-key';
	if (/No session|No sessions|No matching sessions|No SenderKeyRecord|No open session/i.test(all)) return 'no-session';
	return 'other';
}

const B = await baileysModule(cfg.baileys);
const pool = new pg.Pool({ max: 3, connectionTimeoutMillis: 10000 });
pool.on('error', () => {}); // an idle client's server went away: the next query says so

let auth;
try {
	auth = await useWastoreAuthState(pool, store, {
		baileys: B.mod,
		lease: cfg.lease ? { holder: inst, ttlMs: cfg.ttlMs, steal: !!cfg.steal } : undefined,
	});
} catch (err) {
	exit(err?.code === 'WASTORE_LEASE_BUSY' ? 75 : 76, { why: 'open', ...errInfo(err) });
}
const token = auth.lease?.token ?? null;
log({ ev: 'open', token, steal: !!cfg.steal, baileys: B.version });
auth.lease?.on('lost', (err) => {
	// another instance has the account: stop, never write again (after
	// this turn, so that the write that learnt it logs its result first)
	log({ ev: 'lease-lost', ...errInfo(err) });
	setImmediate(() => exit(3, { why: 'lease-lost', ...errInfo(err) }));
});

const creds = auth.state.creds;
const fresh = creds.me == null;
if (fresh) {
	// the first start of the account: its identity, saved before anything
	creds.me = { id: jid, name: account };
	try {
		await auth.saveCreds();
	} catch (err) {
		exit(76, { why: 'first saveCreds', ...errInfo(err) });
	}
}

// The key store the transactions commit into: auth.state.keys, with a
// marker row in every batch and every batch in the history.
// A read that failed inside a transaction makes the whole transaction
// fail: Baileys 7's signal storage catches a failed session read and
// answers "no session" (loadSession returns null), and a decrypt would
// then fail with "No session record", or a pre-key message would build a
// new session record over the stored one and commit it.  So this
// application never commits a transaction whose reads failed, and treats
// the decrypt as a database failure (delivered again), as WhatsApp's
// retry receipt would have it.
let seq = 0;
let txWrites = [];
let txReadErr = null;
const instrumented = {
	get: async (type, ids) => {
		try {
			return await auth.state.keys.get(type, ids);
		} catch (err) {
			txReadErr ??= err;
			log({ ev: 'read-failed', type, ...errInfo(err) });
			throw err;
		}
	},
	set: async (data) => {
		if (txReadErr) {
			log({ ev: 'commit-refused', why: 'a read of this transaction failed', ...errInfo(txReadErr) });
			throw txReadErr;
		}
		const s = ++seq;
		const rec = { s, ok: null };
		txWrites.push(rec);
		log({ ev: 'write', s, token: auth.lease?.token ?? null, families: Object.keys(data) });
		try {
			await auth.state.keys.set({ ...data, tctoken: { ...(data.tctoken ?? {}), [`chaos.${inst}.${s}`]: { s } } });
		} catch (err) {
			rec.ok = false;
			rec.err = err;
			const local = /must not write any more/.test(String(err?.message));
			log({ ev: 'write-result', s, ok: false, local, ...errInfo(err) });
			throw err;
		}
		rec.ok = true;
		log({ ev: 'write-result', s, ok: true });
	},
};
const keys = B.addTransactionCapability(instrumented, logger, { maxCommitRetries: 2, delayBetweenTriesMs: 200 });
const repo = B.v7 ? B.makeSignalRepository({ creds, keys }, logger, async () => []) : B.makeSignalRepository({ creds, keys });
const emitCredsUpdate = (update) => {
	Object.assign(creds, update);
	auth.saveCreds(update).catch((err) => log({ ev: 'saveCreds-failed', ...errInfo(err) }));
};

/**
 * Runs work in one Baileys transaction; resolves { committed, result }:
 * committed is false when the batch's last write attempt failed (Baileys 6
 * swallows that; Baileys 7 throws it) or the work threw a database error.
 */
async function tx(work, key) {
	txWrites = [];
	txReadErr = null;
	signalErrs = [];
	let result;
	try {
		result = await keys.transaction(work, key);
	} catch (err) {
		if (txReadErr) throw txReadErr; // whatever Baileys made of it
		if (txWrites.length && txWrites.at(-1).ok === false) return { committed: false, err };
		throw err;
	}
	if (txReadErr) return { committed: false, err: txReadErr };
	const last = txWrites.at(-1);
	return { committed: !last || last.ok === true, err: last?.err, result, writes: txWrites.map((w) => w.s) };
}

// --- the server's answers (bundles), by request id
let rid = 0;
const waiting = new Map();
const ask = (msg) => new Promise((resolve) => {
	const id = ++rid;
	waiting.set(id, resolve);
	process.send({ ...msg, rid: id });
});

const addr = (j) => `${j.split('@')[0]}.0`;
const b64 = (b) => Buffer.from(b).toString('base64');
const buf = (s) => Buffer.from(s, 'base64');

/** a session with `to`: what Baileys' assertSessions does, fetching a bundle from the server */
async function ensureSession(to) {
	const { [addr(to)]: s } = await keys.get('session', [addr(to)]);
	if (s) return null;
	const b = await ask({ t: 'bundle-req', of: to });
	const bundle = {
		registrationId: b.registrationId,
		identityKey: buf(b.identityKey),
		signedPreKey: { keyId: b.signedPreKey.keyId, publicKey: buf(b.signedPreKey.publicKey), signature: buf(b.signedPreKey.signature) },
		preKey: b.preKey ? { keyId: b.preKey.keyId, publicKey: buf(b.preKey.publicKey) } : undefined,
	};
	await repo.injectE2ESession({ jid: to, session: bundle });
	return b.preKey?.keyId ?? -1;
}

async function send({ id, to, text }) {
	log({ ev: 'send-attempt', id, to, h: hash(text) });
	let r;
	try {
		r = await tx(async () => {
			const preKeyId = await ensureSession(to);
			const m = await repo.encryptMessage({ jid: to, data: Buffer.from(text) });
			return { preKeyId, type: m.type, ct: b64(m.ciphertext) };
		}, to);
	} catch (err) {
		log({ ev: 'send-failed', id, ...errInfo(err) });
		return process.send({ t: 'sent', id, ok: false });
	}
	if (!r.committed) {
		log({ ev: 'send-failed', id, ...errInfo(r.err ?? { message: 'commit failed' }) });
		return process.send({ t: 'sent', id, ok: false });
	}
	log({ ev: 'send-committed', id, writes: r.writes, type: r.result.type, session: r.result.preKeyId });
	process.send({ t: 'sent', id, ok: true, envelopes: { [to]: { kind: '1:1', type: r.result.type, ct: r.result.ct } } });
}

async function sendGroup({ id, group, members, text }) {
	log({ ev: 'send-attempt', id, group, h: hash(text) });
	let r;
	try {
		r = await tx(async () => {
			const g = await repo.encryptGroupMessage({ group, meId: jid, data: Buffer.from(text) });
			const { [group]: memory } = await keys.get('sender-key-memory', [group]);
			const envelopes = {};
			const distributed = [];
			for (const m of members) {
				if (m === jid) continue;
				const env = { kind: 'group', group, skmsg: b64(g.ciphertext) };
				if (!memory?.[m]) {
					// the sender key goes to this member in a 1:1 Signal message
					await ensureSession(m);
					const skdm = await repo.encryptMessage({ jid: m, data: Buffer.from(g.senderKeyDistributionMessage) });
					env.skdm = { type: skdm.type, ct: b64(skdm.ciphertext) };
					distributed.push(m);
				}
				envelopes[m] = env;
			}
			return { envelopes, distributed };
		}, group);
	} catch (err) {
		log({ ev: 'send-failed', id, ...errInfo(err) });
		return process.send({ t: 'sent', id, ok: false });
	}
	if (!r.committed) {
		log({ ev: 'send-failed', id, ...errInfo(r.err ?? { message: 'commit failed' }) });
		return process.send({ t: 'sent', id, ok: false });
	}
	log({ ev: 'send-committed', id, writes: r.writes, distributed: r.result.distributed });
	// the sender-key memory is written once the server has the message
	// (not in the send's commit, as Baileys does: a sender killed between
	// its commit and the relay would believe the members have its key)
	pendingMemory.set(id, { group, members: r.result.distributed });
	process.send({ t: 'sent', id, ok: true, envelopes: r.result.envelopes });
}
const pendingMemory = new Map();

async function rememberSenderKey({ id }) {
	const p = pendingMemory.get(id);
	pendingMemory.delete(id);
	if (!p || p.members.length === 0) return;
	try {
		const r = await tx(async () => {
			const { [p.group]: memory } = await keys.get('sender-key-memory', [p.group]);
			const next = { ...(memory ?? {}) };
			for (const m of p.members) next[m] = true;
			await keys.set({ 'sender-key-memory': { [p.group]: next } });
		}, p.group);
		log({ ev: 'sender-key-memory', id, committed: r.committed });
	} catch (err) {
		log({ ev: 'sender-key-memory', id, committed: false, ...errInfo(err) });
	}
}

async function deliver({ msg }) {
	const { id, from, payload } = msg;
	log({ ev: 'decrypt-attempt', id, from });
	let r;
	let preKeyId;
	try {
		r = await tx(async () => {
			let plain;
			if (payload.kind === '1:1') {
				const ct = buf(payload.ct);
				if (payload.type === 'pkmsg') preKeyId = PreKeyWhisperMessage.decode(ct.subarray(1)).preKeyId;
				plain = await repo.decryptMessage({ jid: from, type: payload.type, ciphertext: ct });
			} else {
				if (payload.skdm) {
					const ct = buf(payload.skdm.ct);
					if (payload.skdm.type === 'pkmsg') preKeyId = PreKeyWhisperMessage.decode(ct.subarray(1)).preKeyId;
					const skdm = await repo.decryptMessage({ jid: from, type: payload.skdm.type, ciphertext: ct });
					await repo.processSenderKeyDistributionMessage({
						item: { groupId: payload.group, axolotlSenderKeyDistributionMessage: Buffer.from(skdm) }, authorJid: from,
					});
				}
				plain = await repo.decryptGroupMessage({ group: payload.group, authorJid: from, msg: buf(payload.skmsg) });
			}
			const text = Buffer.from(plain).toString();
			// known before the commit: if this process dies after the commit
			// and before its ack, the checker still knows what it decrypted
			log({ ev: 'decrypt-pending', id, h: hash(text), preKeyId });
			return text;
		}, payload.kind === '1:1' ? from : payload.group);
	} catch (err) {
		if (isDbError(err)) {
			log({ ev: 'decrypt-error', id, kind: 'db', ...errInfo(err) });
			return process.send({ t: 'nack', id });
		}
		const kind = cryptoKind(err, signalErrs);
		log({ ev: 'decrypt-error', id, kind, ...errInfo(err), inner: signalErrs.slice(0, 4).map((s) => s.split('\n')[0].slice(0, 200)) });
		// undecryptable for good: acknowledged (the checker judges it)
		return process.send({ t: 'ack', id, error: kind });
	}
	if (!r.committed) {
		log({ ev: 'decrypt-uncommitted', id, ...errInfo(r.err ?? { message: 'commit failed' }) });
		return process.send({ t: 'nack', id });
	}
	log({ ev: 'decrypt-ok', id, h: hash(r.result), preKeyId, writes: r.writes });
	process.send({ t: 'ack', id });
}

async function upload({ count }) {
	const before = { nextPreKeyId: creds.nextPreKeyId, firstUnuploadedPreKeyId: creds.firstUnuploadedPreKeyId };
	log({ ev: 'upload-attempt', count, ...before });
	let r;
	let preKeys;
	try {
		r = await tx(async () => {
			const got = await B.getNextPreKeys({ creds, keys }, count);
			preKeys = got.preKeys;
			emitCredsUpdate(got.update);
		}, `upload-pre-keys`);
	} catch (err) {
		r = { committed: false, err };
	}
	if (!r.committed) {
		// the creds in memory have moved on without their rows: stop, and
		// let the supervisor start the account again from the database
		// (a lost lease says so: that is the reason then)
		exit(auth.lease && !auth.lease.active ? 3 : 4, { why: 'pre-key upload not committed', ...errInfo(r.err ?? { message: 'commit failed' }) });
	}
	const ids = Object.keys(preKeys).map(Number).sort((a, b) => a - b);
	log({ ev: 'upload-ok', ids, nextPreKeyId: creds.nextPreKeyId });
	process.send({
		t: 'uploaded',
		preKeys: ids.map((k) => ({ keyId: k, publicKey: b64(B.generateSignalPubKey(preKeys[k].public)) })),
	});
}

// --- the task queue: one at a time, in arrival order
const tasks = [];
let running = false;
async function pump() {
	if (running) return;
	running = true;
	while (tasks.length) {
		const m = tasks.shift();
		if (m.t === 'send') await send(m);
		else if (m.t === 'sendGroup') await sendGroup(m);
		else if (m.t === 'relayed') await rememberSenderKey(m);
		else if (m.t === 'deliver') await deliver(m);
		else if (m.t === 'upload') await upload(m);
		else if (m.t === 'stop') {
			await auth.close().catch(() => {});
			await pool.end().catch(() => {});
			exit(0, { why: 'stop' });
		}
	}
	running = false;
}
process.on('message', (m) => {
	if (m.t === 'bundle') {
		const resolve = waiting.get(m.rid);
		waiting.delete(m.rid);
		resolve?.(m.bundle);
		return;
	}
	tasks.push(m);
	pump();
});

process.send({
	t: 'ready', inst, fresh, token,
	identity: {
		registrationId: creds.registrationId,
		identityKey: b64(B.generateSignalPubKey(creds.signedIdentityKey.public)),
		signedPreKey: {
			keyId: creds.signedPreKey.keyId,
			publicKey: b64(B.generateSignalPubKey(creds.signedPreKey.keyPair.public)),
			signature: b64(creds.signedPreKey.signature),
		},
	},
	nextPreKeyId: creds.nextPreKeyId,
});
log({ ev: 'ready', registrationId: creds.registrationId, nextPreKeyId: creds.nextPreKeyId, fresh });
