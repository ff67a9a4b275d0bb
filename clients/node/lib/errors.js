// Errors of the wastore client.  A server error keeps its SQLSTATE in
// `code` and its detail, hint and context; errors the client raises itself
// use a SQLSTATE when the server has one for the case (55W01 "lease lost")
// and a WASTORE_* code otherwise.

const SERVER_FIELDS = ['detail', 'hint', 'where', 'schema', 'table', 'column', 'constraint', 'routine'];

export class WastoreError extends Error {
	/**
	 * @param {string} message
	 * @param {{ code?: string, detail?: string, hint?: string, cause?: unknown }} [fields]
	 */
	constructor(message, fields = {}) {
		super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
		this.name = 'WastoreError';
		for (const [k, v] of Object.entries(fields)) {
			if (k !== 'cause' && v !== undefined) this[k] = v;
		}
	}

	/** the SQLSTATE (same as `code` for server errors) */
	get sqlstate() {
		return /^[0-9A-Z]{5}$/.test(this.code ?? '') ? this.code : undefined;
	}
}

/** SQLSTATE of a write with a lease token that is not current (wastore's own). */
export const LEASE_LOST = '55W01';
/** code of `lease()` when another holder has the store's lease. */
export const LEASE_BUSY = 'WASTORE_LEASE_BUSY';

/**
 * Wraps an error of `pg` into a WastoreError with the same message, SQLSTATE
 * (`code`) and server fields; anything else (a connection refused, a bug)
 * is returned as it is.
 * @param {unknown} err
 * @returns {unknown}
 */
export function fromPg(err) {
	if (err instanceof WastoreError) return err;
	if (err && typeof err === 'object' && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) && 'severity' in err) {
		const fields = { code: err.code, cause: err };
		for (const f of SERVER_FIELDS) if (err[f] != null) fields[f] = err[f];
		return new WastoreError(err.message, fields);
	}
	return err;
}

/** @param {string} message @param {string} [detail] */
export function leaseLost(message = 'lease lost', detail) {
	return new WastoreError(message, {
		code: LEASE_LOST, detail,
		hint: 'another instance holds (or may take) this store: end the WhatsApp socket and never write again with this lease',
	});
}
