// isPlain, the write-through cache's shortcut: a value it calls plain is
// written with JSON.stringify alone and read back with JSON.parse alone, so
// it must give exactly what BufferJSON's replacer and reviver give, in
// Baileys 6.17 and in 7.0 (whose reviver also takes number-valued objects
// with numeric keys for Buffers).  No database needed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlain } from '../lib/auth-state.js';
import { baileysModule } from './helpers.js';

const VERSIONS = (process.env.WASTORE_TEST_BAILEYS ?? 'baileys,baileys7').split(',').filter(Boolean);

const plain = {
	'a libsignal session (strings, numbers, an unused key left undefined)': {
		_sessions: {
			BYQw: {
				_chains: { BXO6: { chainKey: { counter: 0, key: undefined }, chainType: 2, messageKeys: { 1: 'CkHi', 2: 'Ab==' } } },
				indexInfo: { used: 1795983869308, closed: -1, baseKey: 'BYQw', created: 1795983869308, baseKeyType: 2 },
				registrationId: 180,
			},
		},
		version: 'v1',
	},
	'a device list': ['0', '12', '15'],
	'a string': 'lid:12345',
	'an empty object': {},
	'nulls and booleans in arrays': [null, true, false, undefined],
	'a word "Buffer" that is not a type': { kind: 'Buffer', note: 'Buffer' },
	'numeric keys with string values': { 0: 'a', 1: 'b' },
	'numeric keys, one number and one undefined and one string': { 0: 1, 1: undefined, 2: 'x' },
};

const notPlain = {
	'a Buffer': Buffer.from([1, 2, 3]),
	'a key pair': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 2) },
	'a Uint8Array deep down': { a: [{ b: new Uint8Array([1, 2]) }] },
	'BufferJSON already': { type: 'Buffer', data: 'AQID' },
	'the 6.x buffer form': { buffer: true, value: 'AQID' },
	'numeric keys with number values (7.x revives them)': { 0: 1, 1: 2 },
	'numeric keys with number values, an undefined left out': { 0: 1, 1: undefined },
	'a class instance': new (class X { constructor() { this.a = 1; } })(),
	'a toJSON': { toJSON: () => 'x' },
	'a Date': new Date(0),
	'a function member': { f() {} },
};

for (const name of VERSIONS) {
	test(`isPlain agrees with BufferJSON (${name})`, async () => {
		const { BufferJSON } = await baileysModule(name);
		for (const [what, v] of Object.entries(plain)) {
			assert.equal(isPlain(v), true, `${what}: plain`);
			const text = JSON.stringify(v);
			assert.equal(text, JSON.stringify(v, BufferJSON.replacer), `${what}: the same text without the replacer`);
			assert.deepEqual(JSON.parse(text), JSON.parse(text, BufferJSON.reviver), `${what}: the same value without the reviver`);
		}
		for (const [what, v] of Object.entries(notPlain)) assert.equal(isPlain(v), false, `${what}: not plain`);
	});
}
