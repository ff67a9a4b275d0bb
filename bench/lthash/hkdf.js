// Node's crypto.hkdfSync doing the LTHash expansion, the baseline a Baileys
// user has: the same items as the SQL benchmark (SHA-256 of the 4-byte
// big-endian integers 1..n), expanded with HKDF-SHA256(item, empty salt,
// "WhatsApp Patch Integrity", 128) and added lane-wise (uint16 little-endian,
// mod 2^16) the way Baileys' LTHash does.
//
//   node hkdf.js [n]   prints  <items/s hkdf only>|<items/s hkdf+add>|<hex of the sum of items 1..1000>
'use strict';
const crypto = require('crypto');

const n = Number(process.argv[2] || 300000);
const items = [];
for (let i = 1; i <= n; i++) {
	const b = Buffer.alloc(4);
	b.writeInt32BE(i);
	items.push(crypto.createHash('sha256').update(b).digest());
}
const salt = Buffer.alloc(0);
const info = 'WhatsApp Patch Integrity';

function addAll(list) {
	const sum = new DataView(new ArrayBuffer(128));
	for (const m of list) {
		const e = new DataView(crypto.hkdfSync('sha256', m, salt, info, 128));
		for (let j = 0; j < 128; j += 2)
			sum.setUint16(j, (sum.getUint16(j, true) + e.getUint16(j, true)) & 0xffff, true);
	}
	return Buffer.from(sum.buffer);
}

function best(fn) {
	let b = Infinity;
	for (let r = 0; r < 3; r++) {
		const t = process.hrtime.bigint();
		fn();
		const s = Number(process.hrtime.bigint() - t) / 1e9;
		if (s < b) b = s;
	}
	return b;
}

addAll(items.slice(0, 1000));	// warm up
const hkdfOnly = best(() => { for (const m of items) crypto.hkdfSync('sha256', m, salt, info, 128); });
const withAdd = best(() => addAll(items));
console.log(`${(n / hkdfOnly).toFixed(0)}|${(n / withAdd).toFixed(0)}|${addAll(items.slice(0, 1000)).toString('hex')}`);
