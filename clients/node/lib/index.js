// wastore: the core client.  See index.d.ts for the API.
export { createClient, parseConninfo } from './client.js';
export { WastoreError, LEASE_LOST, LEASE_BUSY } from './errors.js';
export { Lease } from './lease.js';
export { FAMILIES } from './ops.js';
