// The command: wastore import|export, refusals, one transaction.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, mkdir, writeFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newPool, freshStore } from './helpers.js';

const BIN = fileURLToPath(new URL('../bin/wastore.js', import.meta.url));
const run = promisify(execFile);
const cli = (...args) => run(process.execPath, [BIN, ...args]).then((r) => ({ code: 0, ...r }), (e) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }));

let pool;
let dir;
before(async () => { pool = newPool(); dir = await mkdtemp(join(tmpdir(), 'wastore-cli-')); });
after(async () => { await pool.end(); await rm(dir, { recursive: true, force: true }); });

async function folder(name, files) {
	const f = join(dir, name);
	await mkdir(f, { recursive: true });
	for (const [n, text] of Object.entries(files)) await writeFile(join(f, n), text);
	return f;
}
const credsOf = async (s) => (await pool.query('SELECT wastore.creds($1) AS c', [s])).rows[0].c;
const keyCount = async (s) => Number((await pool.query("SELECT coalesce((SELECT sum(v::bigint) FROM wastore.stores st, jsonb_each_text(st.key_counts) e(k, v) WHERE st.store = $1), 0) AS n", [s])).rows[0].n);

test('import: dry run, import, refusal of a non-empty store, --overwrite; export', async () => {
	const s = await freshStore(pool, 'cli');
	const f = await folder('ok', {
		'creds.json': JSON.stringify({ registrationId: 7, noiseKey: { public: { type: 'Buffer', data: [1, 2] } } }),
		'pre-key-1.json': JSON.stringify({ public: { type: 'Buffer', data: 'AQ==' } }),
		'session-49.0.json': JSON.stringify({ _sessions: {}, version: 'v1' }),
		'creds.json.tmp': '{',
	});
	const dry = await cli('import', f, '--store', s, '--dry-run');
	assert.equal(dry.code, 0, dry.stderr);
	assert.match(dry.stdout, /would write to store .*2 keys/);
	assert.match(dry.stdout, /pre-key\t1\t<- pre-key-1\.json/);
	assert.match(dry.stdout, /skipped creds\.json\.tmp/);
	assert.equal(await credsOf(s), null);
	const imp = await cli('import', f, '--store', s);
	assert.equal(imp.code, 0, imp.stderr);
	assert.deepEqual(await credsOf(s), { registrationId: 7, noiseKey: { public: { type: 'Buffer', data: 'AQI=' } } });
	assert.equal(await keyCount(s), 2);
	const again = await cli('import', f, '--store', s);
	assert.equal(again.code, 1);
	assert.match(again.stderr, /already has creds and 2 keys.*WASTORE_STORE_NOT_EMPTY/);
	const over = await cli('import', f, '--store', s, '--overwrite');
	assert.equal(over.code, 0, over.stderr);
	const out = join(dir, 'out');
	const exp = await cli('export', out, '--store', s);
	assert.equal(exp.code, 0, exp.stderr);
	assert.deepEqual((await readdir(out)).sort(), ['creds.json', 'pre-key-1.json', 'session-49.0.json']);
	assert.equal((await cli('export', out, '--store', s)).code, 1, 'a folder with JSON files is refused');
	assert.equal((await cli('export', join(dir, 'none'), '--store', `${s}-missing`)).code, 1, 'a store without creds is refused');
	assert.equal((await cli('import', f)).code, 2, 'usage');
});

test('import refuses an unreadable creds.json, and is one transaction', async () => {
	const s = await freshStore(pool, 'cli-bad');
	const bad = await folder('badcreds', { 'creds.json': '', 'pre-key-1.json': '{}' });
	const r = await cli('import', bad, '--store', s);
	assert.equal(r.code, 1);
	assert.match(r.stderr, /creds\.json .* unreadable.*WASTORE_IMPORT_CREDS/);
	const none = await folder('nocreds', { 'pre-key-1.json': '{}' });
	assert.equal((await cli('import', none, '--store', s)).code, 1);
	// the last key is refused by the server: nothing of the import stays
	const files = { 'creds.json': '{"registrationId": 1}' };
	for (let i = 0; i < 1200; i++) files[`pre-key-${i}.json`] = '{"public": {"type": "Buffer", "data": "AQ=="}}';
	files['app-state-sync-version-regular.json'] = '{"version": -1}';
	const half = await folder('half', files);
	const r2 = await cli('import', half, '--store', s);
	assert.equal(r2.code, 1);
	assert.match(r2.stderr, /22023/);
	assert.equal(await credsOf(s), null);
	assert.equal(await keyCount(s), 0);
});
