// Finds the user's Baileys: BufferJSON, proto and initAuthCreds must come
// from the copy the socket uses (its reviver version, its proto classes).

/**
 * @param {object} [injected] a Baileys module (`await import('baileys')`)
 * @returns {Promise<{ BufferJSON: any, proto: any, initAuthCreds: () => any }>}
 */
export async function loadBaileys(injected) {
	let mod = injected;
	if (!mod) {
		for (const name of ['baileys', '@whiskeysockets/baileys']) {
			try {
				mod = await import(name);
				break;
			} catch (err) {
				if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
			}
		}
	}
	if (!mod) throw new Error('wastore/baileys: Baileys was not found: install "baileys" (or "@whiskeysockets/baileys"), or pass options.baileys');
	const pick = (k) => mod[k] ?? mod.default?.[k];
	const B = { BufferJSON: pick('BufferJSON'), proto: pick('proto'), initAuthCreds: pick('initAuthCreds') };
	for (const [k, v] of Object.entries(B)) if (!v) throw new Error(`wastore/baileys: the Baileys module given has no ${k}`);
	return B;
}
