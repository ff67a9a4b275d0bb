// useMultiFileAuthState folders: file names, import into a store, export
// from one.
//
// Baileys writes creds.json and one file per key, `${type}-${id}.json`,
// through fixFileName: '/' -> '__' and ':' -> '-'.  The mapping is lossy, so
// reading a name back needs the rules of each family's ids:
//   - the longest family prefix wins (sender-key-memory- before sender-key-);
//   - app-state-sync-key ids are base64 (no '_' in its alphabet): '__' -> '/';
//   - sender-key ids are `group::user::device`, written `group--user--device`
//     (a group id has at most single '-'): '--' -> '::';
//   - every other family as written: tctoken's sentinel `__index` and the
//     collections `regular_high`, `critical_block`… keep their underscores.

import { readdir, readFile, writeFile, mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { WastoreError, fromPg } from './errors.js';
import { FAMILIES, run } from './ops.js';
import { convertLegacyBuffers } from './json.js';
import { createClient } from './client.js';

const BY_LENGTH = [...FAMILIES].sort((a, b) => b.length - a.length);

/** the file name useMultiFileAuthState gives a key */
export function fileNameOf(family, id) {
	return `${family}-${id}.json`.replace(/\//g, '__').replace(/:/g, '-');
}

/**
 * What a file of a useMultiFileAuthState folder holds:
 * `{ kind: 'creds' }`, `{ kind: 'key', family, id }` or `{ kind: 'skip', reason }`.
 * @param {string} name
 */
export function parseFileName(name) {
	if (name === 'creds.json') return { kind: 'creds' };
	if (name.startsWith('.') || !name.endsWith('.json') || /\.(tmp|temp|bak|swp)\b|~$/i.test(name)) {
		return { kind: 'skip', reason: 'not a key file (temporary or other)' };
	}
	const base = name.slice(0, -'.json'.length);
	const family = BY_LENGTH.find((f) => base.startsWith(`${f}-`));
	if (!family) return { kind: 'skip', reason: 'no key family prefix' };
	const raw = base.slice(family.length + 1);
	let id = raw;
	if (family === 'app-state-sync-key') id = raw.replace(/__/g, '/');
	else if (family === 'sender-key') id = raw.replace(/--/g, '::');
	return { kind: 'key', family, id };
}

function clientFrom({ client, pool, connectionString }) {
	if (client) return { client, owned: false };
	if (pool) return { client: createClient({ pool }), owned: false };
	if (connectionString) return { client: createClient({ connectionString }), owned: true };
	throw new TypeError('pass { pool }, { client } or { connectionString }');
}

async function readJson(path) {
	const text = await readFile(path, 'utf8');
	return JSON.parse(text);
}

/**
 * Reads a folder and plans the import: creds, keys, skipped files.
 * Refuses (throws) a missing or unreadable creds.json.
 */
export async function planImport(folder) {
	let names;
	try {
		names = (await readdir(folder, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name).sort();
	} catch (err) {
		throw new WastoreError(`cannot read the folder ${folder}: ${err.message}`, { code: 'WASTORE_IMPORT_FOLDER', cause: err });
	}
	const plan = { folder, creds: null, entries: [], skipped: [], converted: 0, counts: {} };
	if (!names.includes('creds.json')) {
		throw new WastoreError(`${folder} has no creds.json: not a useMultiFileAuthState folder, nothing imported`, { code: 'WASTORE_IMPORT_CREDS' });
	}
	for (const name of names) {
		const what = parseFileName(name);
		if (what.kind === 'skip') { plan.skipped.push({ file: name, reason: what.reason }); continue; }
		let value;
		try {
			value = await readJson(join(folder, name));
		} catch (err) {
			if (what.kind === 'creds') {
				throw new WastoreError(`creds.json in ${folder} is unreadable (${err.message}): refusing to import, nothing written`, { code: 'WASTORE_IMPORT_CREDS', cause: err });
			}
			plan.skipped.push({ file: name, reason: `unreadable: ${err.message}` });
			continue;
		}
		if (what.kind === 'creds' && (value === null || typeof value !== 'object' || Array.isArray(value))) {
			throw new WastoreError(`creds.json in ${folder} is not a JSON object: refusing to import, nothing written`, { code: 'WASTORE_IMPORT_CREDS' });
		}
		if (what.kind === 'key' && value === null) { plan.skipped.push({ file: name, reason: 'null value' }); continue; }
		const c = convertLegacyBuffers(value);
		plan.converted += c.converted;
		if (what.kind === 'creds') plan.creds = JSON.stringify(c.value);
		else {
			plan.entries.push({ file: name, family: what.family, id: what.id, text: JSON.stringify(c.value) });
			plan.counts[what.family] = (plan.counts[what.family] ?? 0) + 1;
		}
	}
	// two files naming the same key cannot both be right
	const seen = new Map();
	for (const e of plan.entries) {
		const k = `${e.family}\u0000${e.id}`;
		if (seen.has(k)) throw new WastoreError(`${seen.get(k)} and ${e.file} name the same key ${e.family} ${e.id}`, { code: 'WASTORE_IMPORT_DUPLICATE' });
		seen.set(k, e.file);
	}
	return plan;
}

/**
 * Imports a useMultiFileAuthState folder into a store, in one transaction.
 * Refuses a store that already has creds or keys unless `overwrite` (which
 * drops the store first, in the same transaction).  `dryRun` only plans.
 * @returns {Promise<{ store, dryRun, creds: boolean, keys: number, counts, converted, skipped, entries }>}
 */
export async function importMultiFileAuthState(options) {
	const { store, folder, overwrite = false, dryRun = false, batchSize = 500, onProgress } = options ?? {};
	if (typeof store !== 'string' || store === '') throw new TypeError('importMultiFileAuthState: store must be a non-empty string');
	if (typeof folder !== 'string') throw new TypeError('importMultiFileAuthState: folder must be a path');
	const plan = await planImport(folder);
	const summary = {
		store, folder, dryRun, creds: plan.creds != null, keys: plan.entries.length, counts: plan.counts,
		converted: plan.converted, skipped: plan.skipped,
		entries: plan.entries.map(({ file, family, id }) => ({ file, family, id })),
	};
	if (dryRun) return summary;
	const { client, owned } = clientFrom(options);
	try {
		await client.withTransaction(store, null, async (tx) => {
			const { rows } = await tx.query(`SELECT wastore.creds($1) IS NOT NULL AS has_creds,
				coalesce((SELECT sum(v::bigint) FROM wastore.stores s, jsonb_each_text(s.key_counts) AS e(k, v) WHERE s.store = $1), 0)::bigint AS n_keys`, [store]);
			const { has_creds: hasCreds, n_keys: nKeys } = rows[0];
			if (hasCreds || Number(nKeys) > 0) {
				if (!overwrite) {
					throw new WastoreError(`store "${store}" already has ${hasCreds ? 'creds' : ''}${hasCreds && Number(nKeys) ? ' and ' : ''}${Number(nKeys) ? `${nKeys} keys` : ''}: refusing to import over it (overwrite replaces it)`, { code: 'WASTORE_STORE_NOT_EMPTY' });
				}
				await tx.dropStore(store);
			}
			await tx.mergeCredsText(store, plan.creds);
			const total = plan.entries.length;
			onProgress?.({ done: 0, total });
			for (let i = 0; i < total; i += batchSize) {
				const batch = plan.entries.slice(i, i + batchSize);
				const byFamily = new Map();
				for (const e of batch) {
					if (!byFamily.has(e.family)) byFamily.set(e.family, []);
					byFamily.get(e.family).push(`${JSON.stringify(e.id)}:${e.text}`);
				}
				const text = `{${[...byFamily].map(([f, items]) => `${JSON.stringify(f)}:{${items.join(',')}}`).join(',')}}`;
				try {
					await tx.setText(store, text);
				} catch (err) {
					throw fromPg(err);
				}
				onProgress?.({ done: Math.min(i + batchSize, total), total });
			}
		});
	} finally {
		if (owned) await client.end();
	}
	return summary;
}

/**
 * Writes a store out as a folder useMultiFileAuthState loads: creds.json
 * (last, so that a half-written export has none) and one file per key.
 * Refuses a store without creds, and a folder that already holds JSON files
 * unless `overwrite`.
 */
export async function exportMultiFileAuthState(options) {
	const { store, folder, overwrite = false, onProgress } = options ?? {};
	if (typeof store !== 'string' || store === '') throw new TypeError('exportMultiFileAuthState: store must be a non-empty string');
	if (typeof folder !== 'string') throw new TypeError('exportMultiFileAuthState: folder must be a path');
	const { client, owned } = clientFrom(options);
	try {
		const { rows } = await run(client.pool, 'SELECT wastore.creds($1)::text AS c', [store]);
		if (rows[0].c == null) throw new WastoreError(`store "${store}" has no creds: nothing to export`, { code: 'WASTORE_NO_CREDS' });
		const info = await stat(folder).catch(() => null);
		if (info && !info.isDirectory()) throw new WastoreError(`${folder} is not a directory`, { code: 'WASTORE_EXPORT_FOLDER' });
		await mkdir(folder, { recursive: true });
		if (!overwrite && (await readdir(folder)).some((n) => n.endsWith('.json'))) {
			throw new WastoreError(`${folder} already holds JSON files: refusing to export into it (overwrite replaces them)`, { code: 'WASTORE_EXPORT_FOLDER' });
		}
		const counts = {};
		const names = new Map();
		let done = 0;
		const write = async (name, text) => {
			const tmp = join(folder, `.${name}.wastore-tmp`);
			await writeFile(tmp, text);
			await rename(tmp, join(folder, name));
		};
		for (const family of FAMILIES) {
			for await (const [id, value] of client.list(store, family)) {
				const name = fileNameOf(family, id);
				if (names.has(name)) {
					throw new WastoreError(`keys ${names.get(name)} and ${family} ${id} map to the same file name ${name}`, { code: 'WASTORE_EXPORT_COLLISION' });
				}
				names.set(name, `${family} ${id}`);
				await write(name, JSON.stringify(value));
				counts[family] = (counts[family] ?? 0) + 1;
				if (++done % 100 === 0) onProgress?.({ done });
			}
		}
		await write('creds.json', JSON.stringify(JSON.parse(rows[0].c)));
		onProgress?.({ done });
		return { store, folder, creds: true, keys: done, counts };
	} finally {
		if (owned) await client.end();
	}
}
