// wastore/baileys: Baileys' auth state in wastore, and the migration of
// useMultiFileAuthState folders.  See baileys.d.ts for the API.
export { useWastoreAuthState } from './auth-state.js';
export { importMultiFileAuthState, exportMultiFileAuthState, planImport, fileNameOf, parseFileName } from './multifile.js';
export { loadBaileys } from './baileys-module.js';
