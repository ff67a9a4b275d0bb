// JSON helpers shared by the entry points.

/**
 * The argument of `wastore.set` as JSON text: Baileys' `SignalDataSet` where
 * `undefined` deletes like `null` (JSON.stringify would silently drop it and
 * turn a delete into "no change"), optionally with a top-level `creds`.
 * @param {Record<string, Record<string, unknown> | undefined>} data
 * @param {((key: string, value: any) => any) | undefined} replacer
 */
export function setArgument(data, replacer) {
	// anything that is not an object goes to the server as it is: it names
	// the bad part with its SQLSTATE (22023), and try_set reports it
	if (data === null || typeof data !== 'object' || Array.isArray(data)) return JSON.stringify(data ?? null, replacer);
	const out = {};
	for (const family of Object.keys(data)) {
		const entries = data[family];
		if (entries === undefined) continue;
		if (family === 'creds' || entries === null || typeof entries !== 'object' || Array.isArray(entries)) { out[family] = entries; continue; }
		const fam = {};
		for (const id of Object.keys(entries)) {
			const v = entries[id];
			fam[id] = v === undefined ? null : v;
		}
		out[family] = fam;
	}
	return JSON.stringify(out, replacer);
}

/**
 * Node's legacy Buffer JSON, `{"type":"Buffer","data":[1,2,3]}` (what
 * `JSON.stringify(buffer)` gives, and what old adapters stored), into
 * Baileys' BufferJSON form `{"type":"Buffer","data":"<base64>"}`, at any
 * depth.  Anything else is returned as it is.
 * @param {unknown} value
 * @returns {{ value: unknown, converted: number }}
 */
export function convertLegacyBuffers(value) {
	let converted = 0;
	const walk = (v) => {
		if (Array.isArray(v)) return v.map(walk);
		if (v === null || typeof v !== 'object') return v;
		if (v.type === 'Buffer' && Array.isArray(v.data) && Object.keys(v).length === 2 &&
			v.data.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
			converted++;
			return { type: 'Buffer', data: Buffer.from(v.data).toString('base64') };
		}
		const o = {};
		for (const k of Object.keys(v)) o[k] = walk(v[k]);
		return o;
	};
	const out = walk(value);
	return { value: out, converted };
}
