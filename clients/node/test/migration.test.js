// Migration: a folder written by the real useMultiFileAuthState for an
// account that has talked is imported into wastore, the conversation goes
// on from the imported state; the export is a folder useMultiFileAuthState
// loads and goes on from.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newPool, baileysModule, wireAccount, openWastoreAccount, makeServer, freshStore } from './helpers.js';
import { importMultiFileAuthState, exportMultiFileAuthState } from '../lib/baileys.js';

const VERSIONS = (process.env.WASTORE_TEST_BAILEYS ?? 'baileys,baileys7').split(',').filter(Boolean);

let pool;
let dir;
before(async () => { pool = newPool(); dir = await mkdtemp(join(tmpdir(), 'wastore-node-')); });
after(async () => { await pool.end(); await rm(dir, { recursive: true, force: true }); });

for (const name of VERSIONS) {
	test(`migrating a useMultiFileAuthState folder in and out (${name})`, async (t) => {
		const B = await baileysModule(name);
		const server = makeServer();
		const folder = join(dir, `${name}-files`);
		const aliceJid = '4915100000011@s.whatsapp.net';
		const bobJid = '4915100000012@s.whatsapp.net';
		const group = '120363000000000001@g.us';
		const syncKeyId = 'AAAAAP/+q8w=';
		const [sb, sa] = [await freshStore(pool, 'mig-bob'), await freshStore(pool, 'mig-alice')];

		// alice on files, bob in wastore
		const filesAuth = await B.useMultiFileAuthState(folder);
		let alice = wireAccount(B, filesAuth, aliceJid);
		const bob = await openWastoreAccount(B, pool, sb, bobJid);

		await t.test('alice (files) and bob (wastore) talk, one to one and in a group', async () => {
			await alice.uploadPreKeys(server, 20);
			await alice.auth.saveCreds();
			await bob.uploadPreKeys(server, 20);
			await bob.startSession(server, aliceJid);
			assert.equal(await alice.receive(bobJid, await bob.send(aliceJid, 'hi')), 'hi');
			assert.equal(await bob.receive(aliceJid, await alice.send(bobJid, 'hi back')), 'hi back');
			const g = await alice.sendGroup(group, 'group hello');
			assert.equal(await bob.receiveGroup(group, aliceJid, g), 'group hello');
			// keys of the other families, as Baileys writes them
			await alice.keys.set({
				'sender-key-memory': { [group]: { [bobJid]: true } },
				'app-state-sync-key': { [syncKeyId]: B.proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.alloc(32, 7), fingerprint: { rawId: 1, currentIndex: 2, deviceIndexes: [0, 1] }, timestamp: 1700000000 }) },
				'app-state-sync-version': { regular_high: { version: 2, hash: Buffer.alloc(128), indexValueMap: {} } },
			});
			await alice.settled();
		});

		await t.test('the folder has what Baileys names: sender-key ids with "--", base64 "/" as "__"', async () => {
			const files = await readdir(folder);
			assert.ok(files.includes('creds.json'));
			assert.ok(files.some((f) => /^sender-key-120363000000000001@g\.us--4915100000011--0\.json$/.test(f)), files.join(' '));
			assert.ok(files.includes(`sender-key-memory-${group}.json`));
			assert.ok(files.includes('app-state-sync-key-AAAAAP__+q8w=.json'));
			assert.ok(files.includes('app-state-sync-version-regular_high.json'));
			// what a crashed or older writer leaves: a temp file, a legacy
			// number-array Buffer, and a file that is not a key
			await writeFile(join(folder, 'creds.json.tmp'), '{"half":');
			await writeFile(join(folder, 'tctoken-__index.json'), JSON.stringify({ token: { type: 'Buffer', data: [91, 93] } }));
			await writeFile(join(folder, 'notes.txt'), 'x');
		});

		await t.test('dry run lists and writes nothing', async () => {
			const r = await importMultiFileAuthState({ pool, store: sa, folder, dryRun: true });
			assert.equal(r.dryRun, true);
			assert.ok(r.entries.some((e) => e.family === 'sender-key' && e.id === `${group}::4915100000011::0`));
			assert.ok(r.entries.some((e) => e.family === 'sender-key-memory' && e.id === group));
			assert.ok(r.entries.some((e) => e.family === 'app-state-sync-key' && e.id === syncKeyId));
			assert.ok(r.entries.some((e) => e.family === 'tctoken' && e.id === '__index'));
			assert.deepEqual(r.skipped.map((s) => s.file).sort(), ['creds.json.tmp', 'notes.txt']);
			assert.equal(r.converted, 1);
			assert.equal((await pool.query('SELECT wastore.creds($1) AS c', [sa])).rows[0].c, null);
		});

		await t.test('import: one transaction; the legacy Buffer is converted; a second import is refused', async () => {
			const r = await importMultiFileAuthState({ pool, store: sa, folder });
			assert.equal(r.creds, true);
			const tok = (await pool.query("SELECT value FROM wastore.get($1, 'tctoken', ARRAY['__index'])", [sa])).rows[0].value;
			assert.deepEqual(tok, { token: { type: 'Buffer', data: Buffer.from('[]').toString('base64') } });
			await assert.rejects(importMultiFileAuthState({ pool, store: sa, folder }), { code: 'WASTORE_STORE_NOT_EMPTY' });
			const again = await importMultiFileAuthState({ pool, store: sa, folder, overwrite: true });
			assert.equal(again.keys, r.keys);
		});

		await t.test('alice goes on from the imported state: no decrypt error, both ways, group too', async () => {
			alice = await openWastoreAccount(B, pool, sa, aliceJid);
			server.rebind(aliceJid, alice);
			for (let i = 0; i < 3; i++) {
				assert.equal(await alice.receive(bobJid, await bob.send(aliceJid, `from bob ${i}`)), `from bob ${i}`);
				assert.equal(await bob.receive(aliceJid, await alice.send(bobJid, `from alice ${i}`)), `from alice ${i}`);
			}
			const g = await alice.sendGroup(group, 'group again');
			assert.equal(await bob.receiveGroup(group, aliceJid, { ciphertext: g.ciphertext }), 'group again');
			const k = (await alice.keys.get('app-state-sync-key', [syncKeyId]))[syncKeyId];
			assert.ok(k instanceof B.proto.Message.AppStateSyncKeyData, 'revived with fromObject');
			assert.deepEqual(Buffer.from(k.keyData), Buffer.alloc(32, 7));
			const v = (await alice.keys.get('app-state-sync-version', ['regular_high'])).regular_high;
			assert.equal(v.version, 2);
			assert.ok(Buffer.isBuffer(v.hash) && v.hash.length === 128);
			assert.equal(alice.creds.nextPreKeyId, 21);
			await alice.auth.close();
		});

		await t.test('export: useMultiFileAuthState loads the folder and goes on', async () => {
			const out = join(dir, `${name}-export`);
			const r = await exportMultiFileAuthState({ pool, store: sa, folder: out });
			assert.equal(r.creds, true);
			await assert.rejects(exportMultiFileAuthState({ pool, store: sa, folder: out }), { code: 'WASTORE_EXPORT_FOLDER' });
			const files = (await readdir(out)).sort();
			assert.ok(files.includes('creds.json'));
			assert.ok(files.includes('app-state-sync-key-AAAAAP__+q8w=.json'));
			assert.ok(files.some((f) => f.startsWith(`sender-key-${group}--`)));
			assert.ok(!files.some((f) => f.includes('wastore-tmp')));
			const creds = JSON.parse(await readFile(join(out, 'creds.json'), 'utf8'));
			assert.equal(creds.nextPreKeyId, 21);
			const filesAuth2 = await B.useMultiFileAuthState(out);
			alice = wireAccount(B, filesAuth2, aliceJid);
			server.rebind(aliceJid, alice);
			for (let i = 0; i < 3; i++) {
				assert.equal(await alice.receive(bobJid, await bob.send(aliceJid, `to files ${i}`)), `to files ${i}`);
				assert.equal(await bob.receive(aliceJid, await alice.send(bobJid, `from files ${i}`)), `from files ${i}`);
			}
			const g = await alice.sendGroup(group, 'group from files');
			assert.equal(await bob.receiveGroup(group, aliceJid, { ciphertext: g.ciphertext }), 'group from files');
			const k = (await alice.keys.get('app-state-sync-key', [syncKeyId]))[syncKeyId];
			assert.deepEqual(Buffer.from(k.keyData), Buffer.alloc(32, 7));
			await bob.auth.close();
		});
	});
}
