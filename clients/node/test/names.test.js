// No database: useMultiFileAuthState file names, the legacy Buffer form,
// the set argument.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileNameOf, parseFileName } from '../lib/multifile.js';
import { convertLegacyBuffers, setArgument } from '../lib/json.js';

const CASES = [
	// [family, id, file name as Baileys writes it]
	['pre-key', '17', 'pre-key-17.json'],
	['session', '4915112345678.0', 'session-4915112345678.0.json'],
	['session', '12345678901234_1.3', 'session-12345678901234_1.3.json'],
	['sender-key', '120363000000000001@g.us::4915112345678::0', 'sender-key-120363000000000001@g.us--4915112345678--0.json'],
	['sender-key', '4915100000000-1600000000@g.us::4915112345678_1::3', 'sender-key-4915100000000-1600000000@g.us--4915112345678_1--3.json'],
	['sender-key-memory', '120363000000000001@g.us', 'sender-key-memory-120363000000000001@g.us.json'],
	['sender-key-memory', '4915100000000-1600000000@g.us', 'sender-key-memory-4915100000000-1600000000@g.us.json'],
	['app-state-sync-key', 'AAAAAP/+q8w=', 'app-state-sync-key-AAAAAP__+q8w=.json'],
	['app-state-sync-key', 'a//b+/==', 'app-state-sync-key-a____b+__==.json'],
	['app-state-sync-version', 'regular_high', 'app-state-sync-version-regular_high.json'],
	['app-state-sync-version', 'critical_unblock_low', 'app-state-sync-version-critical_unblock_low.json'],
	['lid-mapping', '12345678901234_reverse', 'lid-mapping-12345678901234_reverse.json'],
	['device-list', '4915112345678', 'device-list-4915112345678.json'],
	['tctoken', '__index', 'tctoken-__index.json'],
	['tctoken', '4915112345678@s.whatsapp.net', 'tctoken-4915112345678@s.whatsapp.net.json'],
	['identity-key', '4915112345678.0', 'identity-key-4915112345678.0.json'],
];

test('file names: written as fixFileName does, read back by the longest family prefix and each family\'s id rules', () => {
	for (const [family, id, file] of CASES) {
		assert.equal(fileNameOf(family, id), file, `${family} ${id}`);
		assert.deepEqual(parseFileName(file), { kind: 'key', family, id }, file);
	}
	assert.deepEqual(parseFileName('creds.json'), { kind: 'creds' });
	for (const f of ['creds.json.tmp', '.pre-key-1.json.wastore-tmp', 'pre-key-1.json~', 'pre-key-1.json.bak', 'notes.txt', 'unknown-1.json', '.DS_Store']) {
		assert.equal(parseFileName(f).kind, 'skip', f);
	}
});

test('legacy number-array Buffers become base64, nothing else changes', () => {
	const { value, converted } = convertLegacyBuffers({
		a: { type: 'Buffer', data: [1, 2, 3] },
		b: { type: 'Buffer', data: 'AQID' },
		c: [{ type: 'Buffer', data: [] }, 'x', 1, null],
		d: { type: 'Buffer', data: [1, 300] },
		e: { '0': 1, '1': 2 },
	});
	assert.equal(converted, 2);
	assert.deepEqual(value, {
		a: { type: 'Buffer', data: 'AQID' },
		b: { type: 'Buffer', data: 'AQID' },
		c: [{ type: 'Buffer', data: '' }, 'x', 1, null],
		d: { type: 'Buffer', data: [1, 300] },
		e: { '0': 1, '1': 2 },
	});
});

test('the set argument: undefined deletes like null, creds ride along, bad shapes go to the server as they are', () => {
	assert.equal(setArgument({ 'pre-key': { 1: undefined, 2: null, 3: { a: 1 } } }), '{"pre-key":{"1":null,"2":null,"3":{"a":1}}}');
	assert.equal(setArgument({ creds: { n: 1 }, session: undefined }), '{"creds":{"n":1}}');
	assert.equal(setArgument({ 'pre-key': 5 }), '{"pre-key":5}');
	assert.equal(setArgument(null), 'null');
});
