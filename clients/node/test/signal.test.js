// A real Signal conversation between two accounts whose whole state lives
// in wastore through useWastoreAuthState: Baileys' own signal repository
// (libsignal) over keys wrapped by Baileys' addTransactionCapability, as
// makeWASocket wires them; pre-key bundles handed over in-process.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newPool, baileysModule, openWastoreAccount, makeServer, countingClient, freshStore } from './helpers.js';

const VERSIONS = (process.env.WASTORE_TEST_BAILEYS ?? 'baileys,baileys7').split(',').filter(Boolean);

let pool;
before(() => { pool = newPool(); });
after(() => pool.end());

async function preKeyIds(store) {
	const { rows } = await pool.query("SELECT id FROM wastore.list_ids($1, 'pre-key') AS id", [store]);
	return rows.map((r) => +r.id).sort((a, b) => a - b);
}
async function storedCreds(store) {
	return (await pool.query('SELECT wastore.creds($1) AS c', [store])).rows[0].c;
}
/** rows [1, next) minus the consumed ones, and the counters agree with memory */
async function assertPreKeysInStep(acct, store, consumed) {
	const c = await storedCreds(store);
	assert.equal(c.nextPreKeyId, acct.creds.nextPreKeyId, 'nextPreKeyId in the store = in memory');
	assert.equal(c.firstUnuploadedPreKeyId, acct.creds.firstUnuploadedPreKeyId, 'firstUnuploadedPreKeyId in the store = in memory');
	const expected = [];
	for (let i = 1; i < c.nextPreKeyId; i++) if (!consumed.has(i)) expected.push(i);
	assert.deepEqual(await preKeyIds(store), expected, 'pre-key rows are exactly [1, nextPreKeyId) minus the consumed ones');
}

for (const name of VERSIONS) {
	test(`Signal conversation through wastore, restart, and on (${name})`, async (t) => {
		const B = await baileysModule(name);
		const server = makeServer();
		const [sa, sb] = [await freshStore(pool, 'alice'), await freshStore(pool, 'bob')];
		const aliceJid = '4915100000001@s.whatsapp.net';
		const bobJid = '4915100000002@s.whatsapp.net';
		const counted = countingClient(pool);
		let alice = await openWastoreAccount(B, pool, sa, aliceJid, { client: counted.client });
		// bob holds his store's lease: his reads come from the write-through cache
		let bob = await openWastoreAccount(B, pool, sb, bobJid, { lease: { holder: 'bob-1', ttlMs: 30000 } });
		const consumedA = new Set();
		const consumedB = new Set();

		await t.test('fresh stores mint creds in memory only; the pre-key upload is one commit carrying its creds counters', async () => {
			assert.equal(await storedCreds(sa), null);
			const before = { ...counted.counts };
			await alice.uploadPreKeys(server, 30);
			assert.equal(counted.counts.setText - before.setText, 1, 'one wastore.set for the whole Baileys commit');
			assert.equal(counted.counts.mergeCredsText - before.mergeCredsText, 0, 'the creds update rode in the key batch');
			const text = counted.counts.texts.at(-1);
			assert.match(text, /^\{"creds":\{"nextPreKeyId":31,"firstUnuploadedPreKeyId":31\},"pre-key":\{/);
			await bob.uploadPreKeys(server, 30);
			await assertPreKeysInStep(alice, sa, consumedA);
			await assertPreKeysInStep(bob, sb, consumedB);
			// the first full save: everything Baileys keeps in creds
			await alice.auth.saveCreds();
			await bob.auth.saveCreds();
			const c = await storedCreds(sa);
			assert.equal(c.registrationId, alice.creds.registrationId);
			assert.deepEqual(Buffer.from(c.signedIdentityKey.public.data, 'base64'), Buffer.from(alice.creds.signedIdentityKey.public));
		});

		await t.test('messages both ways; the pre-key is consumed in the commit that stores the session', async () => {
			const bundle = await bob.startSession(server, aliceJid);
			const first = await bob.send(aliceJid, 'hello alice');
			assert.equal(first.type, 'pkmsg');
			const before = counted.counts.setText;
			assert.equal(await alice.receive(bobJid, first), 'hello alice');
			assert.equal(counted.counts.setText - before, 1, 'the decrypt commit is one wastore.set');
			consumedA.add(bundle.preKey.keyId);
			assert.ok(!(await preKeyIds(sa)).includes(bundle.preKey.keyId), 'the used pre-key is gone');
			for (let i = 0; i < 5; i++) {
				const r = await alice.send(bobJid, `reply ${i}`);
				assert.equal(r.type, 'msg');
				assert.equal(await bob.receive(aliceJid, r), `reply ${i}`);
				const m = await bob.send(aliceJid, `message ${i}`);
				assert.equal(await alice.receive(bobJid, m), `message ${i}`);
			}
			// and the other direction opens a session of its own
			const b2 = await alice.startSession(server, bobJid);
			consumedB.add(b2.preKey.keyId);
			const m = await alice.send(bobJid, 'a new session from alice');
			assert.equal(m.type, 'pkmsg');
			assert.equal(await bob.receive(aliceJid, m), 'a new session from alice');
			const r = await bob.send(aliceJid, 'ok');
			assert.equal(await alice.receive(bobJid, r), 'ok');
			await assertPreKeysInStep(alice, sa, consumedA);
			await assertPreKeysInStep(bob, sb, consumedB);
			assert.ok(bob.auth.lease.active);
		});

		await t.test('restart: every object rebuilt from the database, and the conversation goes on', async () => {
			await alice.auth.close();
			await bob.auth.close();
			const pool2 = newPool();
			try {
				alice = await openWastoreAccount(B, pool2, sa, aliceJid);
				bob = await openWastoreAccount(B, pool2, sb, bobJid, { lease: { holder: 'bob-2', ttlMs: 30000 } });
				server.rebind(aliceJid, alice);
				server.rebind(bobJid, bob);
				assert.equal(alice.creds.nextPreKeyId, 31);
				for (let i = 0; i < 5; i++) {
					const m = await bob.send(aliceJid, `after restart ${i}`);
					assert.equal(await alice.receive(bobJid, m), `after restart ${i}`);
					const r = await alice.send(bobJid, `answer ${i}`);
					assert.equal(await bob.receive(aliceJid, r), `answer ${i}`);
				}
				// more pre-keys, then a third party's session on one of them
				await alice.uploadPreKeys(server, 10);
				assert.equal(alice.creds.nextPreKeyId, 41);
				await assertPreKeysInStep(alice, sa, consumedA);
				await alice.auth.close();
				await bob.auth.close();
			} finally {
				await pool2.end();
			}
		});
	});
}
