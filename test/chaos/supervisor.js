// The chaos run's supervisor: it plays WhatsApp's server for the worker
// processes (one per account instance, worker.js) and runs the fault
// schedule.
//
// As the server it hands out pre-key bundles (and asks an account to
// upload more when its stock runs low), accepts the ciphertexts a worker
// sends once its commit is done, keeps every recipient's undelivered
// messages and delivers them one at a time, in order, to the account's
// current instance, again and again until that account acknowledges (as
// WhatsApp re-delivers until the receipt).  It issues the workload: 1:1
// messages and messages to one group of every account (sender keys).
//
// The fault schedule is drawn from a seeded PRNG (the seed is printed;
// --seed reproduces the schedule): SIGKILL of the PostgreSQL postmaster
// and its backends, then a restart (crash recovery); SIGKILL of a worker
// (restarted, it rebuilds everything from the database); a second instance
// of an account that steals the lease (the first must fail with 55W01 and
// retire); a worker paused with SIGSTOP past its lease TTL while a
// replacement takes the expired lease, then continued (a zombie: its
// writes must be fenced, and it must retire).  --broken: no leases, and
// the fault is a second instance writing beside the first.
//
// Everything it does goes to supervisor.jsonl in --dir, next to the
// workers' histories; the checker (checker.js) reads them all at the end.
//
//   node supervisor.js --dir D --pgdir P --port N [--seed S] [--messages M]
//        [--faults F] [--ttl MS] [--broken]

import { fork, execFile } from 'node:child_process';
import { openSync, writeSync, writeFileSync } from 'node:fs';
import { randomBytes, createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const run = promisify(execFile);
const args = Object.fromEntries(process.argv.slice(2).join(' ').split(/\s*--/).filter(Boolean).map((kv) => {
	const [k, ...v] = kv.split(/\s+/);
	return [k, v.length ? v.join(' ') : true];
}));
const dir = args.dir;
const seed = args.seed != null ? Number(args.seed) >>> 0 : randomBytes(4).readUInt32BE(0);
const target = Number(args.messages ?? 300);
const nFaults = Number(args.faults ?? 8);
const ttlMs = Number(args.ttl ?? 4000);
const broken = !!args.broken;
const lease = !broken;
const drainMs = Number(args.drain ?? 120000);
const brokenOverlapMs = 4000;
const LOW = 8;

// --- seeded PRNGs (mulberry32): one stream for the faults, one for the workload
function prng(s) {
	return () => {
		s = (s + 0x6D2B79F5) >>> 0;
		let t = s;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}
const rndFault = prng(seed);
const rndWork = prng(seed ^ 0x9E3779B9);
const pick = (rnd, xs) => xs[Math.floor(rnd() * xs.length)];

const hist = openSync(`${dir}/supervisor.jsonl`, 'a');
const now = () => Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
const log = (ev) => writeSync(hist, `${JSON.stringify({ t: now(), ...ev })}\n`);
const say = (s) => process.stderr.write(`chaos: ${s}\n`);

const GROUP = '120363000000000001@g.us';
const accounts = [0, 1, 2, 3].map((i) => ({
	name: `a${i}`, jid: `49151000000${i}@s.whatsapp.net`, store: `chaos-a${i}`,
	// Baileys 6.17.16 and 7.0.0-rc14 accounts talking to each other
	baileys: (process.env.CHAOS_BAILEYS ?? 'baileys,baileys7').split(',')[i % 2],
	gen: 0, live: new Map(), current: null, starting: null,
	identity: null, stock: [], uploading: null, queue: [], inflight: null,
}));
const byJid = new Map(accounts.map((a) => [a.jid, a]));
const members = accounts.map((a) => a.jid);

const stats = { relayed: 0, relayed1: 0, relayedGroup: 0, notSent: 0, deliveries: 0, acks: 0, faults: {}, exits: {} };
let stopping = false;
let pgUp = true;
let msgSeq = 0;
let outstanding = 0;
const t0 = Date.now();

log({ ev: 'start', seed, target, nFaults, ttlMs, broken });

// --- instances
function startInstance(a, { steal = false } = {}) {
	const id = `${a.name}.${++a.gen}`;
	const cfg = { account: a.name, inst: id, jid: a.jid, store: a.store, dir, baileys: a.baileys, lease, ttlMs, steal };
	const errFd = openSync(`${dir}/${id}.stderr`, 'a');
	const child = fork(new URL('./worker.js', import.meta.url), [JSON.stringify(cfg)], { stdio: ['ignore', errFd, errFd, 'ipc'] });
	const rec = { id, a, child, ready: false, paused: false, exited: false, code: null, outstanding: 0 };
	a.live.set(id, rec);
	a.starting = rec;
	log({ ev: 'instance-start', inst: id, account: a.name, steal, pid: child.pid });
	child.on('message', (m) => onMessage(rec, m));
	child.on('exit', (code, signal) => onExit(rec, code, signal));
	child.on('error', () => {});
	return rec;
}

function send(rec, m) {
	if (rec.exited) return false;
	try {
		rec.child.send(m);
		return true;
	} catch {
		return false;
	}
}

function onMessage(rec, m) {
	const a = rec.a;
	switch (m.t) {
	case 'ready': {
		rec.ready = true;
		const idKey = JSON.stringify(m.identity);
		if (a.identity && a.identity !== idKey) log({ ev: 'identity-changed', inst: rec.id, account: a.name });
		a.identity = idKey;
		a.pub = m.identity;
		if (a.starting === rec) a.starting = null;
		const prev = a.current;
		a.current = rec;
		log({ ev: 'instance-ready', inst: rec.id, account: a.name, token: m.token, fresh: m.fresh, prev: prev?.id });
		// the message in flight to an older instance goes to this one now
		if (a.inflight && a.inflight.inst !== rec.id) a.inflight = null;
		// as Baileys at every connection: more pre-keys when the server is
		// low, and a few more anyway (uploads under faults)
		requestUpload(a, a.stock.length < LOW ? 20 : 5);
		deliverNext(a);
		break;
	}
	case 'bundle-req': {
		const b = byJid.get(m.of);
		const preKey = b.stock.shift();
		log({ ev: 'bundle-out', of: b.name, to: a.name, inst: rec.id, preKeyId: preKey?.keyId ?? null });
		send(rec, { t: 'bundle', rid: m.rid, bundle: { ...b.pub, preKey } });
		if (b.stock.length < LOW) requestUpload(b);
		break;
	}
	case 'uploaded': {
		a.stock.push(...m.preKeys);
		if (a.uploading === rec) a.uploading = null;
		log({ ev: 'upload', account: a.name, inst: rec.id, ids: m.preKeys.map((k) => k.keyId) });
		break;
	}
	case 'sent': {
		rec.outstanding--;
		outstanding--;
		if (!m.ok) {
			stats.notSent++;
			log({ ev: 'not-sent', id: m.id, inst: rec.id });
			break;
		}
		const to = Object.keys(m.envelopes).map((j) => byJid.get(j).name);
		const group = Object.values(m.envelopes)[0].kind === 'group';
		stats.relayed++;
		group ? stats.relayedGroup++ : stats.relayed1++;
		relays.add(m.id);
		log({ ev: 'relay', id: m.id, from: a.name, inst: rec.id, to, group });
		for (const [j, payload] of Object.entries(m.envelopes)) {
			const b = byJid.get(j);
			b.queue.push({ id: m.id, from: a.jid, payload });
			deliverNext(b);
		}
		if (group) send(rec, { t: 'relayed', id: m.id });
		break;
	}
	case 'ack': {
		stats.acks++;
		log({ ev: 'ack', id: m.id, account: a.name, inst: rec.id, error: m.error });
		if (a.queue[0]?.id === m.id) {
			a.queue.shift();
			if (a.inflight?.id === m.id) a.inflight = null;
		} else {
			log({ ev: 'late-ack', id: m.id, account: a.name, inst: rec.id });
		}
		deliverNext(a);
		break;
	}
	case 'nack': {
		log({ ev: 'nack', id: m.id, account: a.name, inst: rec.id });
		if (a.inflight?.id === m.id && a.inflight.inst === rec.id) {
			a.inflight = null;
			setTimeout(() => deliverNext(a), 300);
		}
		break;
	}
	}
}

function onExit(rec, code, signal) {
	const a = rec.a;
	rec.exited = true;
	rec.code = code;
	rec.signal = signal;
	a.live.delete(rec.id);
	outstanding -= rec.outstanding;
	rec.outstanding = 0;
	const why = signal ?? `code ${code}`;
	stats.exits[why] = (stats.exits[why] ?? 0) + 1;
	log({ ev: 'instance-exit', inst: rec.id, account: a.name, code, signal, ready: rec.ready });
	if (a.inflight?.inst === rec.id) a.inflight = null;
	if (a.uploading === rec) a.uploading = null;
	if (a.starting === rec) a.starting = null;
	if (a.current === rec) a.current = null;
	for (const w of exitWaiters.splice(0)) w();
	if (stopping || a.current || a.starting) return;
	// a restart: with steal only when no other instance of it is alive (we
	// know the holder is gone); a busy lease or a database that is down
	// is tried again a little later
	const delay = code === 75 ? 400 : code === 76 ? 700 : 250;
	setTimeout(() => {
		if (stopping || a.current || a.starting) return;
		startInstance(a, { steal: lease && a.live.size === 0 });
	}, delay);
}
const exitWaiters = [];

function requestUpload(a, count = 20) {
	if (a.uploading || !a.current || a.current.paused) return;
	a.uploading = a.current;
	log({ ev: 'upload-request', account: a.name, inst: a.current.id, stock: a.stock.length, count });
	send(a.current, { t: 'upload', count });
}

function deliverNext(a) {
	if (a.inflight || a.queue.length === 0 || !a.current || a.current.paused || stopping) return;
	const msg = a.queue[0];
	a.inflight = { id: msg.id, inst: a.current.id };
	stats.deliveries++;
	log({ ev: 'deliver', id: msg.id, account: a.name, inst: a.current.id });
	if (!send(a.current, { t: 'deliver', msg })) a.inflight = null;
}

// --- the workload
function instancesFor(a) {
	// broken variant: every live instance takes commands, the old one too
	const xs = broken ? [...a.live.values()] : [a.current];
	return xs.filter((r) => r && r.ready && !r.paused && !r.exited);
}
function issue(rec, to) {
	const a = rec.a;
	const id = `m${++msgSeq}`;
	const text = `${id} from ${a.name}: ${randomBytes(12).toString('hex')}`;
	let cmd;
	if (!to && rndWork() < Number(process.env.CHAOS_GROUP_SHARE ?? 0.25)) {
		cmd = { t: 'sendGroup', id, group: GROUP, members, text };
	} else {
		cmd = { t: 'send', id, to: to ?? pick(rndWork, accounts.filter((b) => b !== a)).jid, text };
	}
	rec.outstanding++;
	outstanding++;
	log({ ev: 'command', id, inst: rec.id, kind: cmd.t, to: cmd.to ? byJid.get(cmd.to).name : 'group', h: createHash('sha256').update(text).digest('hex').slice(0, 16) });
	if (!send(rec, cmd)) { rec.outstanding--; outstanding--; }
	return id;
}
// Every pair opens its session once, one pair at a time, the answer only
// after the first message arrived: libsignal-node tries a message on
// every session of a record and steps the ratchet of those it fails on
// before their MAC check fails, so the two sessions of a simultaneous
// start corrupt each other (Bad MAC) — a libsignal-node hazard, not the
// store's, kept out of the run.
async function bootstrap() {
	for (const a of accounts) {
		for (const b of accounts) {
			if (a === b) continue;
			const id = issue(a.current, b.jid);
			await waitFor(() => relays.has(id) && !b.queue.some((m) => m.id === id) && !b.inflight, 60000, `session ${a.name} → ${b.name}`);
		}
	}
}
const relays = new Set();
let workload = false;
// the workload runs up to the point of the fault after the current one:
// every fault meets traffic, and the faults spread over the whole run
let capAt = target;
/** n more messages from now on, whatever the cap */
const flow = (n) => { capAt = Math.min(target, Math.max(capAt, stats.relayed + outstanding + n)); };
function pumpWork() {
	if (!workload || stopping) return;
	for (const a of accounts) {
		for (const rec of instancesFor(a)) {
			while (rec.outstanding < 2 && stats.relayed + outstanding < capAt) issue(rec);
		}
	}
}

// --- the faults
const pg = (...xs) => run('bash', [new URL('./pg.sh', import.meta.url).pathname, ...xs], { timeout: 120000 });
const steady = () => pgUp && accounts.every((a) => a.current?.ready && !a.current.paused);
async function waitFor(cond, ms, what) {
	const end = Date.now() + ms;
	while (!cond()) {
		if (Date.now() > end) {
			log({ ev: 'timeout', what });
			say(`timed out waiting for ${what}`);
			return false;
		}
		await sleep(50);
	}
	return true;
}
async function waitExit(rec, ms) {
	return waitFor(() => rec.exited, ms, `${rec.id} to exit`);
}

async function fault(kind, i) {
	stats.faults[kind] = (stats.faults[kind] ?? 0) + 1;
	const a = pick(rndFault, accounts);
	const d = rndFault();
	log({ ev: 'fault', kind, n: i, account: kind === 'kill-pg' ? undefined : a.name, relayed: stats.relayed });
	say(`fault ${i + 1}/${nFaults}: ${kind}${kind === 'kill-pg' ? '' : ` ${a.name}`} (after ${stats.relayed} messages)`);
	switch (kind) {
	case 'kill-pg': {
		pgUp = false;
		await pg('kill', args.pgdir);
		log({ ev: 'pg-killed' });
		await sleep(200 + d * 1500);
		await pg('start', args.pgdir, String(args.port));
		log({ ev: 'pg-started' });
		pgUp = true;
		break;
	}
	case 'kill-worker': {
		const old = a.current;
		flow(10);
		process.kill(old.child.pid, 'SIGKILL');
		await waitExit(old, 10000);
		break;
	}
	case 'steal': {
		const old = a.current;
		const thief = startInstance(a, { steal: true });
		await waitFor(() => thief.ready || thief.exited, 30000, `${thief.id} ready`);
		// work for the robbed instance, which may not know yet
		if (thief.ready) for (let k = 0; k < 2; k++) issue(old);
		flow(30);
		const retired = await waitExit(old, 20000);
		log({ ev: 'steal-done', account: a.name, old: old.id, thief: thief.id, thiefReady: thief.ready, oldCode: old.code, retired });
		if (!retired) process.kill(old.child.pid, 'SIGKILL');
		break;
	}
	case 'zombie': {
		const z = a.current;
		z.paused = true;
		a.current = null;
		process.kill(z.child.pid, 'SIGSTOP');
		log({ ev: 'zombie-stopped', inst: z.id });
		// work it will find when it wakes up, with its old token
		for (let k = 0; k < 2; k++) issue(z);
		await sleep(ttlMs + 1000 + d * 1000);
		// the orchestrator gives up on it: a replacement takes the expired
		// lease (no steal: the zombie is not known to be dead)
		startInstance(a, { steal: false });
		await waitFor(() => a.current?.ready, 30000, `${a.name} replacement ready`);
		process.kill(z.child.pid, 'SIGCONT');
		z.paused = false;
		flow(30);
		log({ ev: 'zombie-continued', inst: z.id, replacement: a.current?.id });
		const retired = await waitExit(z, 20000);
		log({ ev: 'zombie-done', inst: z.id, code: z.code, retired });
		if (!retired) process.kill(z.child.pid, 'SIGKILL');
		break;
	}
	case 'double': {
		// broken: a second instance of the account, no lease, both writing
		const old = a.current;
		startInstance(a, {});
		await waitFor(() => a.current !== old && a.current?.ready, 30000, `${a.name} second instance`);
		flow(60);
		await sleep(brokenOverlapMs);
		log({ ev: 'double-done', old: old.id, new: a.current?.id });
		process.kill(old.child.pid, 'SIGKILL');
		await waitExit(old, 10000);
		break;
	}
	}
	log({ ev: 'fault-done', kind, n: i });
}

// --- the run
say(`seed ${seed} (reproduce with --seed ${seed}); ${target} messages, ${nFaults} faults, lease TTL ${ttlMs} ms${broken ? ', BROKEN: leases off, two instances writing' : ''}`);
for (const a of accounts) startInstance(a, {});
if (!(await waitFor(() => accounts.every((a) => a.current?.ready && a.stock.length >= LOW), 120000, 'the accounts to start'))) {
	log({ ev: 'abort' });
}
const kinds = broken ? ['double'] : ['kill-pg', 'kill-worker', 'steal', 'zombie'];
const schedule = [];
for (let i = 0; i < nFaults; i++) schedule.push(kinds[i % kinds.length]);
for (let i = schedule.length - 1; i > 0; i--) {
	const j = Math.floor(rndFault() * (i + 1));
	[schedule[i], schedule[j]] = [schedule[j], schedule[i]];
}
log({ ev: 'schedule', schedule });
await bootstrap();
const th = schedule.map((_, i) => Math.floor(((i + 1) * target) / (schedule.length + 1)));
th.push(target);
capAt = th[0];
workload = true;
const ticker = setInterval(pumpWork, 20);
let lastReport = 0;
const reporter = setInterval(() => {
	if (stats.relayed - lastReport >= Math.max(100, target / 10)) {
		lastReport = stats.relayed;
		say(`${stats.relayed}/${target} messages relayed, ${Math.round((Date.now() - t0) / 1000)} s`);
	}
}, 1000);
for (let i = 0; i < schedule.length; i++) {
	await waitFor(() => stats.relayed >= th[i], 600000, `message ${th[i]}`);
	capAt = th[i + 1];
	await waitFor(steady, 60000, 'a steady state before the fault');
	await fault(schedule[i], i);
}
await waitFor(() => stats.relayed >= target, 600000, 'the last message');
workload = false;
const drained = await waitFor(() => outstanding <= 0 && accounts.every((a) => a.queue.length === 0 && !a.inflight), drainMs, 'every message to be delivered');
clearInterval(ticker);
clearInterval(reporter);
stopping = true;
for (const a of accounts) for (const rec of a.live.values()) {
	if (rec.paused) process.kill(rec.child.pid, 'SIGCONT');
	send(rec, { t: 'stop' });
}
await waitFor(() => accounts.every((a) => a.live.size === 0), 30000, 'the workers to stop');
for (const a of accounts) for (const rec of a.live.values()) process.kill(rec.child.pid, 'SIGKILL');
const result = {
	seed, broken, messages: stats.relayed, oneToOne: stats.relayed1, group: stats.relayedGroup,
	notSent: stats.notSent, deliveries: stats.deliveries, faults: stats.faults, exits: stats.exits,
	drained, seconds: Math.round((Date.now() - t0) / 100) / 10,
};
writeFileSync(`${dir}/server.json`, JSON.stringify({
	result,
	accounts: accounts.map((a) => ({ name: a.name, store: a.store, jid: a.jid, stock: a.stock.map((k) => k.keyId), undelivered: a.queue.map((m) => m.id) })),
}, null, 1));
log({ ev: 'end', ...result });
say(`done: ${JSON.stringify(result)}`);
process.exit(0);
