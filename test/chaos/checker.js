// The chaos run's checker: reads the supervisor's and every worker
// instance's history (--dir) and the database (PGHOST, PGPORT, PGUSER,
// PGDATABASE), and verifies, as TAP lines ("ok - ..." / "not ok - ...",
// the findings as "# " lines):
//
//   1. every message the server accepted was decrypted exactly once by each
//      recipient, with the plaintext the sender encrypted; a decrypt whose
//      commit landed but whose instance was killed before its ack (or saw
//      the server go away mid-commit) counts once (its history has the
//      plaintext's hash before the commit, and the redelivery then finds
//      the message already consumed); every
//      other message is accounted for as not sent (the sender's commit
//      failed, or the sender died before the server had it);
//   2. no decrypt failed with Bad MAC, no session, an invalid pre-key or any
//      other crypto error, except a replay of a message already decrypted
//      (as in 1) or one the checker can tie to a sender whose committed
//      state is missing from the store (rolled back);
//   3. no write of a fenced instance is in the store: no write that got
//      55W01 (from the server or refused by the client after the loss),
//      and no write that began after a newer instance of the account had
//      opened it (its lease acquired), left its marker row;
//   4. every write acknowledged to a worker is in the store;
//   5. for every account, the creds exist, never changed identity, and
//      their pre-key counters match the pre-key rows: every row below
//      nextPreKeyId, every id the server still holds present, every
//      uploaded id below firstUnuploadedPreKeyId, every consumed id gone;
//   6. every robbed instance and every zombie retired with 55W01, and no
//      worker crashed;
//   7. every fault of the schedule was done.
//
// Exit status 1 when anything fails.  The last line, "# result {json}",
// sums the run up.
//
//   node checker.js --dir D

import { readFileSync, readdirSync } from 'node:fs';
import pg from '../../clients/node/node_modules/pg/lib/index.js';

const dir = process.argv[process.argv.indexOf('--dir') + 1];
const readJsonl = (f) => readFileSync(`${dir}/${f}`, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const sup = readJsonl('supervisor.jsonl');
const server = JSON.parse(readFileSync(`${dir}/server.json`, 'utf8'));
const start = sup.find((e) => e.ev === 'start');
const broken = !!start.broken;
const accountOf = (inst) => inst.split('.')[0];

// worker histories, by instance
const hist = new Map();
for (const f of readdirSync(dir)) {
	if (!/^a\d+\.\d+\.jsonl$/.test(f)) continue;
	hist.set(f.replace(/\.jsonl$/, ''), readJsonl(f));
}
const allEvents = [...hist.values()].flat().sort((x, y) => x.t - y.t);

const results = [];
function check(name, findings, summary) {
	results.push({ name, findings, summary });
}
const cap = (xs, n = 25) => (xs.length > n ? [...xs.slice(0, n), `… and ${xs.length - n} more`] : xs);

// --- the database
const pool = new pg.Pool({ max: 2 });
const landed = new Set();
const db = {};
for (const a of server.accounts) {
	const q = (sql) => pool.query(sql, [a.store]);
	for (const r of (await q("SELECT id FROM wastore.list_ids($1, 'tctoken') AS id")).rows) if (r.id.startsWith('chaos.')) landed.add(r.id);
	db[a.name] = {
		creds: (await q('SELECT wastore.creds($1) AS c')).rows[0].c,
		preKeys: new Set((await q("SELECT id FROM wastore.list_ids($1, 'pre-key') AS id")).rows.map((r) => Number(r.id))),
	};
}
await pool.end();

// --- writes: every attempt with its outcome
const writes = []; // { inst, s, t, token, ok, code, local, key }
for (const [inst, evs] of hist) {
	const byS = new Map();
	for (const e of evs) {
		if (e.ev === 'write') {
			const w = { inst, s: e.s, t: e.t, token: e.token, ok: null, key: `chaos.${inst}.${e.s}` };
			byS.set(e.s, w);
			writes.push(w);
		} else if (e.ev === 'write-result') {
			const w = byS.get(e.s);
			if (w) Object.assign(w, { ok: e.ok, code: e.code, local: e.local, msg: e.msg });
		}
	}
}
const writeByKey = new Map(writes.map((w) => [w.key, w]));

// instances in the order they opened their account (acquired its lease)
const opens = new Map(); // account -> [{ inst, t, token }]
for (const [inst, evs] of hist) {
	const o = evs.find((e) => e.ev === 'open');
	if (!o) continue;
	const acc = accountOf(inst);
	if (!opens.has(acc)) opens.set(acc, []);
	opens.get(acc).push({ inst, t: o.t, token: o.token });
}
for (const xs of opens.values()) xs.sort((x, y) => x.t - y.t);
/** when a newer instance of inst's account opened it, or Infinity */
function supersededAt(inst) {
	const xs = opens.get(accountOf(inst)) ?? [];
	const me = xs.find((x) => x.inst === inst);
	if (!me) return Infinity;
	const next = xs.find((x) => x.t > me.t && (broken || BigInt(x.token) > BigInt(me.token)));
	return next ? next.t : Infinity;
}

// --- 3 and 4: fenced writes, acknowledged writes
{
	const fenced = [];
	const lost = [];
	let refusedServer = 0;
	let refusedLocal = 0;
	let superseded = 0;
	for (const w of writes) {
		const inStore = landed.has(w.key);
		const after = w.t > supersededAt(w.inst);
		if (w.ok === false && w.code === '55W01') w.local ? refusedLocal++ : refusedServer++;
		if (after) superseded++;
		if (inStore && w.ok === false && w.code === '55W01') fenced.push(`${w.key}: refused with 55W01${w.local ? ' (by the client)' : ''}, yet in the store`);
		else if (inStore && after) fenced.push(`${w.key}: began ${Math.round(w.t - supersededAt(w.inst))} ms after a newer instance of ${accountOf(w.inst)} opened it, and is in the store`);
		if (w.ok === true && !inStore) lost.push(`${w.key}: acknowledged, not in the store`);
	}
	check('no write of a fenced instance is in the store', fenced,
		`${writes.length} writes; ${superseded} begun by superseded instances (zombies, robbed ones), ${refusedServer} refused by the server with 55W01, ${refusedLocal} refused by the client after its lease was lost; fenced writes found in the store: ${fenced.length}`);
	check('every acknowledged write is in the store', lost, `${writes.filter((w) => w.ok).length} acknowledged writes, ${lost.length} missing`);
	globalThis.fencedFound = fenced.length;
	globalThis.fencedAttempts = refusedServer + refusedLocal;
}

// --- 1 and 2: messages
const commands = new Map(sup.filter((e) => e.ev === 'command').map((e) => [e.id, e]));
const relays = new Map(sup.filter((e) => e.ev === 'relay').map((e) => [e.id, e]));
const dec = new Map(); // `${account}|${id}` -> events (decrypt-*), in time order
const sends = new Map(); // id -> events (send-*)
for (const e of allEvents) {
	if (e.ev.startsWith('decrypt-')) {
		const k = `${accountOf(e.inst)}|${e.id}`;
		if (!dec.has(k)) dec.set(k, []);
		dec.get(k).push(e);
	} else if (e.ev.startsWith('send-')) {
		if (!sends.has(e.id)) sends.set(e.id, []);
		sends.get(e.id).push(e);
	}
}
/** the send's commit is missing from the store (its sender state was rolled back) */
function rolledBack(id) {
	const c = (sends.get(id) ?? []).find((e) => e.ev === 'send-committed');
	if (!c?.writes?.length) return false;
	return !landed.has(`chaos.${c.inst}.${c.writes.at(-1)}`);
}
{
	const findings = [];
	let expected = 0;
	let once = 0;
	let viaKilled = 0;
	let replays = 0;
	const errFindings = [];
	let excusedRollback = 0;
	const kinds = {};
	for (const [id, r] of relays) {
		const cmd = commands.get(id);
		if (!(sends.get(id) ?? []).some((e) => e.ev === 'send-committed')) findings.push(`${id}: relayed, but its sender never committed it`);
		for (const to of r.to) {
			expected++;
			const evs = dec.get(`${to}|${id}`) ?? [];
			const oks = evs.filter((e) => e.ev === 'decrypt-ok');
			if (oks.length > 1) findings.push(`${id} → ${to}: decrypted ${oks.length} times (${oks.map((e) => e.inst).join(', ')})`);
			else if (oks.length === 1) {
				if (oks[0].h !== cmd.h) findings.push(`${id} → ${to}: decrypted to another plaintext`);
				else once++;
			} else {
				// a decrypt that got as far as "pending" (its plaintext known)
				// and then died, or failed at a commit whose outcome the client
				// cannot know (the server gone mid-commit): its commit landed
				// if a later delivery found the message consumed
				const pend = evs.filter((e) => e.ev === 'decrypt-pending' && !evs.some((x) => x.inst === e.inst && x.t > e.t && x.ev === 'decrypt-ok'));
				const dup = evs.find((e) => e.ev === 'decrypt-error' && e.kind === 'duplicate' && pend.some((p) => p.t < e.t));
				if (pend.length && dup && pend.every((p) => p.h === cmd.h)) { once++; viaKilled++; }
				else findings.push(`${id} → ${to}: never decrypted (${evs.map((e) => `${e.inst} ${e.ev}${e.kind ? `:${e.kind}` : ''}`).join(', ') || 'no attempt'})`);
			}
			for (const e of evs.filter((x) => x.ev === 'decrypt-error' && x.kind !== 'db')) {
				kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
				const earlier = evs.some((x) => (x.ev === 'decrypt-ok' || x.ev === 'decrypt-pending') && x.t < e.t);
				if (e.kind === 'duplicate' && earlier) { replays++; continue; }
				if (rolledBack(id)) { excusedRollback++; continue; }
				errFindings.push(`${id} → ${to} (${e.inst}): ${e.kind}: ${e.msg}${e.inner?.length ? ` [${e.inner.join(' | ').slice(0, 300)}]` : ''}`);
			}
		}
	}
	for (const a of server.accounts) if (a.undelivered.length) findings.push(`${a.name}: ${a.undelivered.length} messages still undelivered at the end (${cap(a.undelivered, 10).join(', ')})`);
	// the rest: accounted for as not sent
	const notSent = {};
	for (const [id] of commands) {
		if (relays.has(id)) continue;
		const evs = sends.get(id) ?? [];
		const why = evs.find((e) => e.ev === 'send-failed')
			? `commit failed (${evs.find((e) => e.ev === 'send-failed').code ?? 'error'})`
			: evs.some((e) => e.ev === 'send-committed') ? 'sender died before the server had it'
				: evs.length ? 'sender died before its commit' : 'sender gone before it started';
		notSent[why] = (notSent[why] ?? 0) + 1;
	}
	let dbErrors = 0;
	let uncommitted = 0;
	for (const evs of dec.values()) for (const e of evs) {
		if (e.ev === 'decrypt-error' && e.kind === 'db') dbErrors++;
		if (e.ev === 'decrypt-uncommitted') uncommitted++;
	}
	check('every relayed message was decrypted exactly once by each recipient', findings,
		`${relays.size} messages relayed, ${expected} deliveries: ${once} decrypted exactly once (${viaKilled} by an instance killed between its commit and its ack), ${replays} redeliveries of messages already decrypted, ${dbErrors + uncommitted} decrypts redelivered after a database error (${uncommitted} at their commit); not sent: ${JSON.stringify(notSent)}`);
	check('no decrypt error (Bad MAC, no session, invalid pre-key, other)', errFindings,
		`crypto errors by kind ${JSON.stringify(kinds)}: ${replays} replays of decrypted messages, ${excusedRollback} tied to a rolled-back sender, ${errFindings.length} unexplained`);
	globalThis.decryptErrors = errFindings.length;
	globalThis.msgSummary = { relayed: relays.size, deliveries: expected, viaKilled, replays, notSent };
}

// --- 5: creds and pre-keys
{
	const findings = [];
	const consumed = new Map(); // account -> Set(preKeyId)
	for (const [k, evs] of dec) {
		const acc = k.split('|')[0];
		for (const e of evs) {
			if ((e.ev === 'decrypt-ok' || e.ev === 'decrypt-pending') && e.preKeyId != null) {
				if (!consumed.has(acc)) consumed.set(acc, new Set());
				// a pending whose commit did not land consumed nothing; only
				// count it when the message was decrypted through it
				if (e.ev === 'decrypt-ok' || evs.some((x) => x.ev === 'decrypt-error' && x.kind === 'duplicate' && x.t > e.t)) consumed.get(acc).add(e.preKeyId);
			}
		}
	}
	const uploads = new Map();
	for (const e of sup.filter((x) => x.ev === 'upload')) {
		if (!uploads.has(e.account)) uploads.set(e.account, []);
		uploads.get(e.account).push(...e.ids);
	}
	let rows = 0;
	for (const a of server.accounts) {
		const { creds, preKeys } = db[a.name];
		rows += preKeys.size;
		if (!creds) { findings.push(`${a.name}: no creds in the store`); continue; }
		const regs = new Set();
		for (const [inst, evs] of hist) if (accountOf(inst) === a.name) for (const e of evs) if (e.ev === 'ready') regs.add(e.registrationId);
		if (regs.size !== 1 || !regs.has(creds.registrationId)) findings.push(`${a.name}: registration ids ${[...regs].join(', ')} in the instances, ${creds.registrationId} in the store (creds re-minted)`);
		const { nextPreKeyId: next, firstUnuploadedPreKeyId: first } = creds;
		if (!Number.isInteger(next) || !Number.isInteger(first) || first > next) findings.push(`${a.name}: counters nextPreKeyId ${next}, firstUnuploadedPreKeyId ${first}`);
		const above = [...preKeys].filter((k) => k >= next);
		if (above.length) findings.push(`${a.name}: pre-key rows ${cap(above, 10).join(', ')} at or above nextPreKeyId ${next}`);
		const missing = a.stock.filter((k) => !preKeys.has(k));
		if (missing.length) findings.push(`${a.name}: pre-keys ${cap(missing, 10).join(', ')} held by the server, missing from the store`);
		const upAbove = (uploads.get(a.name) ?? []).filter((k) => k >= first);
		if (upAbove.length) findings.push(`${a.name}: uploaded pre-keys ${cap(upAbove, 10).join(', ')} not below firstUnuploadedPreKeyId ${first}`);
		const still = [...(consumed.get(a.name) ?? [])].filter((k) => preKeys.has(k));
		if (still.length) findings.push(`${a.name}: pre-keys ${still.join(', ')} consumed by a decrypted message, still in the store`);
	}
	const identity = sup.filter((e) => e.ev === 'identity-changed').map((e) => `${e.inst}: another identity than its account's earlier instances`);
	check('creds counters match the pre-key rows of every account; no identity re-minted', [...findings, ...identity],
		`${server.accounts.map((a) => `${a.name}: nextPreKeyId ${db[a.name].creds?.nextPreKeyId}, ${db[a.name].preKeys.size} rows, ${a.stock.length} held by the server, ${consumed.get(a.name)?.size ?? 0} consumed`).join('; ')}`);
}

// --- 6: retirement and crashes
{
	const findings = [];
	let retired = 0;
	const lostOf = (inst) => (hist.get(inst) ?? []).find((e) => e.ev === 'lease-lost');
	if (!broken) {
		for (const e of sup.filter((x) => x.ev === 'steal-done' || x.ev === 'zombie-done')) {
			const inst = e.ev === 'steal-done' ? e.old : e.inst;
			const code = e.ev === 'steal-done' ? e.oldCode : e.code;
			const l = lostOf(inst);
			if (e.ev === 'steal-done' && !e.thiefReady) continue; // the thief never got the lease
			if (code === 3 && l?.code === '55W01') retired++;
			else findings.push(`${inst} (${e.ev === 'steal-done' ? 'robbed' : 'zombie'}): exit ${code}, lease loss ${l ? l.code : 'never seen'}`);
		}
	}
	for (const e of sup.filter((x) => x.ev === 'instance-exit' && x.code === 1)) {
		const x = (hist.get(e.inst) ?? []).find((y) => y.ev === 'exit');
		findings.push(`${e.inst} crashed: ${x?.err ?? 'no reason in its history'}`);
	}
	check('every robbed instance and zombie retired with 55W01; no worker crashed', findings, `${retired} retired with 55W01`);
}

// --- 7: the schedule ran whole (a run whose faults did not happen proves little)
{
	const schedule = sup.find((e) => e.ev === 'schedule')?.schedule ?? [];
	const done = sup.filter((e) => e.ev === 'fault-done');
	const findings = [];
	if (done.length !== schedule.length) findings.push(`${done.length} of the ${schedule.length} scheduled faults done`);
	const timeouts = sup.filter((e) => e.ev === 'timeout').map((e) => e.what);
	check('the fault schedule ran whole', findings,
		`${done.length} faults done (${schedule.join(', ') || 'none'})${timeouts.length ? `; waits that timed out: ${timeouts.join('; ')}` : ''}`);
}

// --- report
let n = 0;
let failed = 0;
for (const r of results) {
	n++;
	if (r.findings.length === 0) console.log(`ok - ${r.name}: ${r.summary}`);
	else {
		failed++;
		console.log(`not ok - ${r.name}: ${r.summary}`);
		for (const f of cap(r.findings)) console.log(`# ${f}`);
	}
}
const faults = {};
for (const e of sup.filter((x) => x.ev === 'fault')) faults[e.kind] = (faults[e.kind] ?? 0) + 1;
console.log(`# result ${JSON.stringify({
	seed: start.seed, broken, ...server.result, faults, ...globalThis.msgSummary,
	decryptErrors: globalThis.decryptErrors, fencedWritesFound: globalThis.fencedFound, fencedAttempts: globalThis.fencedAttempts,
	checks: n, failed,
})}`);
process.exit(failed ? 1 : 0);
