// Baileys' multi-file auth state (useMultiFileAuthState), the store most
// Baileys users start with: one JSON file per key, written with fs/promises,
// one mutex per file, Buffers through BufferJSON.  This is a faithful copy of
// its keys.get / keys.set paths, so the benchmark compares wastore with the
// real thing rather than a straw man.
//
//   node multifile.js upload DIR ROUNDS   812 pre-keys in one keys.set
//   node multifile.js read DIR ROUNDS     256 sessions in one keys.get
//
// Prints the median milliseconds per call.
'use strict';
const { readFile, writeFile, unlink, mkdir, rm } = require('fs/promises');
const { join } = require('path');
const { randomBytes } = require('crypto');

const BufferJSON = {
	replacer: (k, value) => {
		if (Buffer.isBuffer(value) || value instanceof Uint8Array || value?.type === 'Buffer')
			return { type: 'Buffer', data: Buffer.from(value?.data || value).toString('base64') };
		return value;
	},
	reviver: (_, value) => {
		if (typeof value === 'object' && value !== null && value.type === 'Buffer' && typeof value.data === 'string')
			return Buffer.from(value.data, 'base64');
		return value;
	},
};

// async-mutex's Mutex, reduced to what the store uses: FIFO per file.
const locks = new Map();
function withFileLock(path, work) {
	const prev = locks.get(path) || Promise.resolve();
	const run = prev.then(work, work);
	locks.set(path, run.catch(() => {}));
	return run;
}

const fixFileName = (file) => file?.replace(/\//g, '__')?.replace(/:/g, '-');

function store(folder) {
	const writeData = (data, file) => {
		const filePath = join(folder, fixFileName(file));
		return withFileLock(filePath, () => writeFile(filePath, JSON.stringify(data, BufferJSON.replacer)));
	};
	const readData = async (file) => {
		try {
			const filePath = join(folder, fixFileName(file));
			return await withFileLock(filePath, async () =>
				JSON.parse(await readFile(filePath, { encoding: 'utf-8' }), BufferJSON.reviver));
		} catch (error) {
			return null;
		}
	};
	const removeData = (file) => unlink(join(folder, fixFileName(file))).catch(() => {});
	return {
		get: async (type, ids) => {
			const data = {};
			await Promise.all(ids.map(async (id) => { data[id] = await readData(`${type}-${id}.json`); }));
			return data;
		},
		set: async (data) => {
			const tasks = [];
			for (const category in data)
				for (const id in data[category]) {
					const value = data[category][id];
					const file = `${category}-${id}.json`;
					tasks.push(value ? writeData(value, file) : removeData(file));
				}
			await Promise.all(tasks);
		},
	};
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

async function main() {
	const [mode, dir, roundsArg] = process.argv.slice(2);
	const rounds = Number(roundsArg || 20);
	const times = [];
	if (mode === 'upload') {
		for (let r = 0; r < rounds; r++) {
			const folder = join(dir, `upload-${r}`);
			await rm(folder, { recursive: true, force: true });
			await mkdir(folder, { recursive: true });
			const keys = store(folder);
			const preKeys = {};
			for (let i = 1; i <= 812; i++)
				preKeys[i] = { public: randomBytes(32), private: randomBytes(32) };
			const t0 = process.hrtime.bigint();
			await keys.set({ 'pre-key': preKeys });
			times.push(Number(process.hrtime.bigint() - t0) / 1e6);
		}
	} else if (mode === 'read') {
		const folder = join(dir, 'read');
		await rm(folder, { recursive: true, force: true });
		await mkdir(folder, { recursive: true });
		const keys = store(folder);
		const sessions = {};
		for (let i = 1; i <= 256; i++)
			sessions[`4915100${i}.0`] = { type: 'Buffer', data: randomBytes(750) };
		await keys.set({ session: sessions });
		const ids = Object.keys(sessions);
		for (let r = 0; r < rounds; r++) {
			const t0 = process.hrtime.bigint();
			const got = await keys.get('session', ids);
			times.push(Number(process.hrtime.bigint() - t0) / 1e6);
			if (Object.values(got).some((v) => v === null)) throw new Error('a session went missing');
		}
	} else {
		throw new Error('usage: multifile.js upload|read DIR ROUNDS');
	}
	console.log(median(times).toFixed(3));
}

main().catch((e) => { console.error(e); process.exit(1); });
