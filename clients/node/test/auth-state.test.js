// useWastoreAuthState against Baileys' SignalKeyStore contract and the
// creds rules: missing ids absent, null/undefined delete, BufferJSON values,
// app-state-sync-key revived with fromObject, creds merged like the
// socket's Object.assign, never minted after a failed read.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newPool, baileysModule, freshStore } from './helpers.js';
import { useWastoreAuthState } from '../lib/baileys.js';

let pool;
let B;
before(async () => { pool = newPool(); B = await baileysModule('baileys'); });
after(() => pool.end());

test('keys.get/set: missing ids absent, null and undefined delete, Buffers round-trip, sync keys are protobuf messages', async () => {
	const s = await freshStore(pool, 'contract');
	const { state } = await useWastoreAuthState(pool, s, { baileys: B.mod });
	const { get, set } = state.keys; // called unbound, as Baileys does
	await set({
		'pre-key': { 1: { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) }, 2: { public: Buffer.alloc(32, 3), private: Buffer.alloc(32, 4) } },
		'app-state-sync-key': { 'AAAAAQ==': B.proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.alloc(32, 9), timestamp: 5 }) },
		'identity-key': { 'u.0': new Uint8Array([5, 6, 7]) },
	});
	const got = await get('pre-key', ['1', '2', '3']);
	assert.deepEqual(Object.keys(got).sort(), ['1', '2']);
	assert.ok(Buffer.isBuffer(got['1'].public));
	assert.deepEqual(got['1'].public, Buffer.alloc(32, 1));
	const sk = (await get('app-state-sync-key', ['AAAAAQ==']))['AAAAAQ=='];
	assert.ok(sk instanceof B.proto.Message.AppStateSyncKeyData);
	assert.deepEqual(Buffer.from(sk.keyData), Buffer.alloc(32, 9));
	assert.deepEqual((await get('identity-key', ['u.0']))['u.0'], Buffer.from([5, 6, 7]));
	// stored as BufferJSON: base64 text, never number arrays
	const raw = (await pool.query("SELECT value FROM wastore.get($1, 'pre-key', ARRAY['1'])", [s])).rows[0].value;
	assert.deepEqual(raw.public, { type: 'Buffer', data: Buffer.alloc(32, 1).toString('base64') });
	await set({ 'pre-key': { 1: null, 2: undefined } });
	assert.deepEqual(await get('pre-key', ['1', '2']), {});
	// the enumeration hooks
	const listed = [];
	for await (const [id, v] of state.keys.list('app-state-sync-key')) listed.push([id, v instanceof B.proto.Message.AppStateSyncKeyData]);
	assert.deepEqual(listed, [['AAAAAQ==', true]]);
	await state.keys.clear();
	assert.deepEqual(await get('identity-key', ['u.0']), {});
});

test('saveCreds merges like Object.assign over random partial updates', async () => {
	const s = await freshStore(pool, 'creds-merge');
	const auth = await useWastoreAuthState(pool, s, { baileys: B.mod });
	const live = auth.state.creds;
	await auth.saveCreds();
	let seed = 7;
	const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
	const fields = ['nextPreKeyId', 'firstUnuploadedPreKeyId', 'accountSyncCounter', 'accountSettings', 'me', 'platform', 'lastAccountSyncTimestamp', 'myAppStateKeyId', 'routingInfo'];
	for (let round = 0; round < 40; round++) {
		const update = {};
		for (let k = 0; k < 1 + rnd(3); k++) {
			const f = fields[rnd(fields.length)];
			update[f] = f === 'accountSettings' ? { unarchiveChats: !!rnd(2) } : f === 'me' ? { id: `49${rnd(1000)}@s.whatsapp.net`, name: 'x' } : f === 'routingInfo' ? Buffer.from([rnd(256)]) : rnd(100000);
		}
		Object.assign(live, update);
		const p = auth.saveCreds(update);
		if (rnd(3) === 0) await p;
	}
	await auth.flush();
	const fresh = await useWastoreAuthState(pool, s, { baileys: B.mod });
	assert.deepEqual(JSON.parse(JSON.stringify(fresh.state.creds, B.BufferJSON.replacer)), JSON.parse(JSON.stringify(live, B.BufferJSON.replacer)));
});

test('a failed creds read throws and never mints fresh creds; no creds at all mints them in memory only', async () => {
	const s = await freshStore(pool, 'creds-fail');
	const first = await useWastoreAuthState(pool, s, { baileys: B.mod });
	assert.equal(first.state.creds.nextPreKeyId, 1, 'fresh creds for a new store');
	assert.equal((await pool.query('SELECT wastore.creds($1) AS c', [s])).rows[0].c, null, '... not written until saved');
	await first.saveCreds();
	const broken = { query: () => Promise.reject(Object.assign(new Error('connection terminated'), { code: 'ECONNRESET' })), connect: () => pool.connect() };
	await assert.rejects(useWastoreAuthState(broken, s, { baileys: B.mod }), /connection terminated/);
	const again = await useWastoreAuthState(pool, s, { baileys: B.mod });
	assert.equal(again.state.creds.registrationId, first.state.creds.registrationId);
	// removeCreds: the logout purge
	await again.removeCreds();
	assert.equal((await pool.query('SELECT wastore.creds($1) AS c', [s])).rows[0].c, null);
});

test('a failed key batch leaves the store as it was and its creds are still saved', async () => {
	const s = await freshStore(pool, 'fail-batch');
	const auth = await useWastoreAuthState(pool, s, { baileys: B.mod });
	await auth.state.keys.set({ 'pre-key': { 1: { public: Buffer.alloc(1) } } });
	const saved = auth.saveCreds({ nextPreKeyId: 5 });
	await assert.rejects(auth.state.keys.set({ 'pre-key': { 2: { public: Buffer.alloc(1) } }, 'app-state-sync-version': { x: { version: -1 } } }), { code: '22023' });
	await saved;
	assert.deepEqual(Object.keys(await auth.state.keys.get('pre-key', ['1', '2'])), ['1']);
	assert.equal((await pool.query('SELECT wastore.creds($1) AS c', [s])).rows[0].c.nextPreKeyId, 5);
});
