// Shared by the suites: the database (PGHOST, PGPORT, PGUSER, PGDATABASE
// from the environment, as scripts/test.sh sets them), a silent logger,
// and Baileys accounts wired as makeWASocket wires them, with no network:
// a tiny "server" hands out the pre-key bundles they upload.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { useWastoreAuthState } from '../lib/baileys.js';
import { createClient } from '../lib/index.js';

// libsignal tells the console about every session it closes or replaces;
// the TAP output does not need it (WASTORE_TEST_VERBOSE=1 keeps it)
if (!process.env.WASTORE_TEST_VERBOSE) {
	for (const level of ['log', 'info', 'warn']) {
		const orig = console[level].bind(console);
		console[level] = (first, ...rest) => {
			if (typeof first === 'string' && /^(Closing (open )?session|Session already|Migrating session|Decrypted message with closed session|V1 session storage migration)/.test(first)) return;
			orig(first, ...rest);
		};
	}
}

export const logger = {
	level: 'silent', trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {},
	child() { return logger; },
};

export function newPool() {
	return new pg.Pool({ max: 4 });
}

/** loads a Baileys module by name and picks what the tests use */
export async function baileysModule(name) {
	const mod = await import(name);
	const pick = (k) => mod[k] ?? mod.default?.[k];
	const version = JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')).version;
	return {
		name, version, mod, v7: version.startsWith('7'),
		BufferJSON: pick('BufferJSON'), proto: pick('proto'), initAuthCreds: pick('initAuthCreds'),
		addTransactionCapability: pick('addTransactionCapability'), getNextPreKeys: pick('getNextPreKeys'),
		generateSignalPubKey: pick('generateSignalPubKey'), useMultiFileAuthState: pick('useMultiFileAuthState'),
		makeSignalRepository: pick('DEFAULT_CONNECTION_CONFIG').makeSignalRepository,
	};
}

/** a client whose writes are counted (setText = one wastore.set) */
export function countingClient(pool) {
	const c = createClient({ pool });
	const counts = { setText: 0, mergeCredsText: 0, texts: [] };
	const setText = c.setText;
	const mergeCredsText = c.mergeCredsText;
	c.setText = (store, text, o) => { counts.setText++; counts.texts.push(text); return setText(store, text, o); };
	c.mergeCredsText = (store, text, o) => { counts.mergeCredsText++; return mergeCredsText(store, text, o); };
	return { client: c, counts };
}

/**
 * An account: its auth state (`auth`: what useWastoreAuthState or
 * useMultiFileAuthState returned), its keys wrapped by Baileys'
 * addTransactionCapability, creds.update applied as the socket applies it
 * (Object.assign, then the user's saveCreds listener), and Baileys' own
 * signal repository (libsignal) over them.
 */
export function wireAccount(B, auth, jid) {
	const creds = auth.state.creds;
	const keys = B.addTransactionCapability(auth.state.keys, logger, { maxCommitRetries: 1, delayBetweenTriesMs: 0 });
	const saves = [];
	const emitCredsUpdate = (update) => {
		Object.assign(creds, update);
		saves.push(auth.saveCreds(update));
	};
	const repo = B.v7
		? B.makeSignalRepository({ creds, keys }, logger, async () => [])
		: B.makeSignalRepository({ creds, keys });
	const tx = (work, key) => keys.transaction(work, key ?? jid);
	return {
		B, auth, jid, creds, keys, repo, saves, emitCredsUpdate,
		async settled() { await Promise.all(saves.splice(0)); },
		/** what socket.uploadPreKeys does, minus the upload */
		async uploadPreKeys(server, count) {
			let update;
			await tx(async () => {
				({ update } = await B.getNextPreKeys({ creds, keys }, count));
				emitCredsUpdate(update);
			}, creds.me?.id ?? 'upload-pre-keys');
			await this.settled();
			// the "server" keeps the public halves
			const ids = [];
			for (let i = update.firstUnuploadedPreKeyId - count; i < update.firstUnuploadedPreKeyId; i++) ids.push(String(i));
			const got = await keys.get('pre-key', ids);
			server.upload(jid, this, ids.map((id) => ({ keyId: +id, publicKey: B.generateSignalPubKey(got[id].public) })));
		},
		async send(to, text) {
			return tx(() => repo.encryptMessage({ jid: to, data: Buffer.from(text) }), to);
		},
		async receive(from, { type, ciphertext }) {
			const plain = await tx(() => repo.decryptMessage({ jid: from, type, ciphertext }), from);
			return Buffer.from(plain).toString();
		},
		async startSession(server, to) {
			const bundle = server.fetchBundle(to);
			await tx(() => repo.injectE2ESession({ jid: to, session: bundle }), to);
			return bundle;
		},
		async sendGroup(group, text) {
			return tx(() => repo.encryptGroupMessage({ group, meId: jid, data: Buffer.from(text) }), group);
		},
		async receiveGroup(group, from, { ciphertext, senderKeyDistributionMessage }) {
			if (senderKeyDistributionMessage) {
				const item = { groupId: group, axolotlSenderKeyDistributionMessage: senderKeyDistributionMessage };
				await tx(() => repo.processSenderKeyDistributionMessage({ item, authorJid: from }), group);
			}
			const plain = await tx(() => repo.decryptGroupMessage({ group, authorJid: from, msg: ciphertext }), group);
			return Buffer.from(plain).toString();
		},
	};
}

/** WhatsApp's key server, in memory: bundles of uploaded pre-keys */
export function makeServer() {
	const accounts = new Map();
	return {
		upload(jid, acct, preKeys) {
			const a = accounts.get(jid) ?? { preKeys: [] };
			a.acct = acct;
			a.preKeys.push(...preKeys);
			accounts.set(jid, a);
		},
		rebind(jid, acct) { accounts.get(jid).acct = acct; },
		fetchBundle(jid) {
			const a = accounts.get(jid);
			const { creds, B } = a.acct;
			const preKey = a.preKeys.shift();
			return {
				registrationId: creds.registrationId,
				identityKey: B.generateSignalPubKey(creds.signedIdentityKey.public),
				signedPreKey: {
					keyId: creds.signedPreKey.keyId,
					publicKey: B.generateSignalPubKey(creds.signedPreKey.keyPair.public),
					signature: creds.signedPreKey.signature,
				},
				preKey,
			};
		},
	};
}

/** opens an account kept in wastore */
export async function openWastoreAccount(B, pool, store, jid, options) {
	const auth = await useWastoreAuthState(options?.client ?? pool, store, { baileys: B.mod, ...options });
	return wireAccount(B, auth, jid);
}

/** a fresh database name for a suite, created with the extension */
export async function freshStore(pool, prefix) {
	const store = `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
	await pool.query('SELECT wastore.drop_store($1)', [store]);
	return store;
}
