// The core client's sharded mode against a PL/Proxy proxy database with
// wastore_proxy and its shards: test/proxy/run.sh starts one proxy and two
// shard clusters (4 partitions) and names the proxy in
// WASTORE_TEST_PROXY_HOST / _PORT (database "proxy"); without them those
// tests are skipped.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createClient, parseConninfo } from '../lib/index.js';

test('parseConninfo: libpq keyword/value strings as shard_for returns them', () => {
	assert.deepEqual(parseConninfo('host=/tmp/w/node1 port=5442 dbname=wastore_p0'),
		{ host: '/tmp/w/node1', port: 5442, database: 'wastore_p0' });
	assert.deepEqual(parseConninfo(" host = db1  dbname='a b' user=bot password='it\\'s \\\\ x' "),
		{ host: 'db1', database: 'a b', user: 'bot', password: "it's \\ x" });
	assert.throws(() => parseConninfo('host=db1 sslmode=require'), { code: 'WASTORE_CONNINFO' });
	assert.throws(() => parseConninfo('postgres://db1/x'), { code: 'WASTORE_CONNINFO' });
});

const host = process.env.WASTORE_TEST_PROXY_HOST;
const port = process.env.WASTORE_TEST_PROXY_PORT;
const skip = host && port ? false : 'no proxy (WASTORE_TEST_PROXY_HOST/PORT unset: test/proxy/run.sh runs these)';

describe('sharded mode through wastore_proxy', { skip }, () => {
	let proxy, client;
	const stores = Array.from({ length: 8 }, (_, i) => `node-shard-${process.pid}-${i}`);
	before(async () => {
		proxy = new pg.Pool({ host, port: +port, database: 'proxy', max: 4 });
		client = createClient({ pool: proxy, sharded: { poolConfig: { max: 4 } } });
		for (const s of stores) await client.dropStore(s);
	});
	after(async () => {
		await client?.end();
		await proxy?.end();
	});

	test('withTransaction runs on the shard shard_for names, and reads what the proxy wrote', async () => {
		const seen = new Set();
		for (const s of stores) {
			await client.set(s, { session: { a: { n: 0, store: s } } });
			const conninfo = await client.shardFor(s);
			const want = parseConninfo(conninfo);
			const got = await client.withTransaction(s, 'session:a', async (tx) => {
				const { rows: [r] } = await tx.query("SELECT current_database() AS db, current_setting('port')::int AS port");
				return { ...r, value: (await tx.get(s, 'session', ['a'])).a };
			});
			assert.deepEqual([got.db, got.port], [want.database, want.port], s);
			assert.deepEqual(got.value, { n: 0, store: s });
			seen.add(conninfo);
		}
		assert.ok(seen.size >= 2, `the stores span ${seen.size} partitions`);
		assert.equal(client.shardPools, seen.size, 'one pool per shard');
	});

	test('per-key transactions on the shard serialise on the lock; the proxy reads the result', async () => {
		const s = stores[0];
		await Promise.all(Array.from({ length: 8 }, () => client.withTransaction(s, 'session:a', async (tx) => {
			const { a } = await tx.get(s, 'session', ['a']);
			await tx.set(s, { session: { a: { ...a, n: a.n + 1 } } });
		})));
		assert.deepEqual(await client.get(s, 'session', ['a']), { a: { n: 8, store: s } });
	});

	test('a read routed through the proxy does not see the shard transaction\'s write before its commit', async () => {
		const s = stores[1];
		let during;
		await client.withTransaction(s, 'session:a', async (tx) => {
			await tx.set(s, { session: { a: { n: 99 } } });
			during = await client.get(s, 'session', ['a']);
		});
		assert.equal(during.a.n, 0);
		assert.equal((await client.get(s, 'session', ['a'])).a.n, 99);
	});

	test('list and listIds stream from the shard what the proxy wrote', async () => {
		const s = stores[2];
		const keys = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, { i }]));
		await client.set(s, { 'pre-key': keys });
		const ids = [];
		for await (const id of client.listIds(s, 'pre-key', { batchSize: 7 })) ids.push(id);
		assert.deepEqual(ids.sort(), Object.keys(keys).sort());
		let sum = 0;
		for await (const [, v] of client.list(s, 'pre-key', { batchSize: 7 })) sum += v.i;
		assert.equal(sum, 190);
		for (const st of stores) await client.dropStore(st);
	});
});

test('a client not in sharded mode: shardFor is null, no shard pools', async () => {
	const c = createClient({ pool: new pg.Pool({ max: 1 }) });
	assert.equal(await c.shardFor('x'), null);
	assert.equal(c.shardPools, 0);
	await c.pool.end();
});
