#!/usr/bin/env node
// wastore import <folder> --store <id> [--overwrite] [--dry-run]
// wastore export <folder> --store <id> [--overwrite]
//
// The connection: --database-url, else DATABASE_URL, else libpq's PGHOST,
// PGPORT, PGUSER, PGDATABASE, PGPASSWORD.

import { parseArgs } from 'node:util';
import pg from 'pg';
import { importMultiFileAuthState, exportMultiFileAuthState } from '../lib/multifile.js';

const USAGE = `usage:
  wastore import <folder> --store <id> [--overwrite] [--dry-run] [--database-url <url>]
  wastore export <folder> --store <id> [--overwrite] [--database-url <url>]

import  copies a useMultiFileAuthState folder (creds.json, <type>-<id>.json) into a
        store, in one transaction; refuses a store that has creds or keys unless
        --overwrite (which replaces it); --dry-run lists what it would write.
export  writes a store out as a folder useMultiFileAuthState loads.

The database: --database-url, else DATABASE_URL, else PGHOST/PGPORT/PGUSER/PGDATABASE.`;

function progress(label) {
	const tty = process.stderr.isTTY;
	let lastDraw = 0;
	return {
		update({ done, total }) {
			if (!tty) return;
			const now = Date.now();
			if (now - lastDraw < 50 && done !== total) return;
			lastDraw = now;
			const width = 30;
			if (total) {
				const filled = Math.round((done / Math.max(total, 1)) * width);
				process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} keys`);
			} else {
				process.stderr.write(`\r${label} ${done} keys`);
			}
		},
		end() { if (tty) process.stderr.write('\n'); },
	};
}

async function main(argv) {
	let parsed;
	try {
		parsed = parseArgs({
			args: argv, allowPositionals: true,
			options: {
				store: { type: 'string' }, overwrite: { type: 'boolean' }, 'dry-run': { type: 'boolean' },
				'database-url': { type: 'string' }, help: { type: 'boolean', short: 'h' },
			},
		});
	} catch (err) {
		console.error(`wastore: ${err.message}\n${USAGE}`);
		return 2;
	}
	const { values, positionals } = parsed;
	if (values.help) { console.log(USAGE); return 0; }
	const [command, folder, ...rest] = positionals;
	if (!['import', 'export'].includes(command) || !folder || rest.length || !values.store) {
		console.error(USAGE);
		return 2;
	}
	if (command === 'export' && values['dry-run']) { console.error('wastore: --dry-run is for import'); return 2; }
	const url = values['database-url'] ?? process.env.DATABASE_URL;
	const pool = new pg.Pool(url ? { connectionString: url, max: 2 } : { max: 2 });
	const bar = progress(command === 'import' ? 'importing' : 'exporting');
	try {
		if (command === 'import') {
			const r = await importMultiFileAuthState({
				pool, store: values.store, folder, overwrite: !!values.overwrite, dryRun: !!values['dry-run'], onProgress: (p) => bar.update(p),
			});
			bar.end();
			if (r.dryRun) {
				console.log(`would write to store "${r.store}": creds (creds.json) and ${r.keys} keys`);
				for (const e of r.entries) console.log(`  ${e.family}\t${e.id}\t<- ${e.file}`);
			} else {
				console.log(`imported ${folder} into store "${r.store}": creds and ${r.keys} keys`);
			}
			for (const [f, n] of Object.entries(r.counts)) console.log(`  ${f}: ${n}`);
			if (r.converted) console.log(`  ${r.converted} legacy number-array Buffer value(s) converted to base64`);
			for (const s of r.skipped) console.log(`  skipped ${s.file}: ${s.reason}`);
		} else {
			const r = await exportMultiFileAuthState({ pool, store: values.store, folder, overwrite: !!values.overwrite, onProgress: (p) => bar.update(p) });
			bar.end();
			console.log(`exported store "${r.store}" to ${folder}: creds.json and ${r.keys} keys`);
			for (const [f, n] of Object.entries(r.counts)) console.log(`  ${f}: ${n}`);
		}
		return 0;
	} catch (err) {
		bar.end();
		console.error(`wastore ${command}: ${err.message}${err.code ? ` (${err.code})` : ''}`);
		if (err.detail) console.error(`  ${err.detail}`);
		if (err.hint) console.error(`  hint: ${err.hint}`);
		return 1;
	} finally {
		await pool.end();
	}
}

process.exitCode = await main(process.argv.slice(2));
