// The file layer's browser-safe API: safetensors bytes in and out, 16-bit float conversion, JSON checking.
// Node-only helpers that touch the disk are imported from their own files so a browser bundle never pulls in
// `node:fs`: `src/io/node.ts` (loadSafetensorsFile, saveSafetensorsFile, openSafetensorsFile) and
// `src/io/atomic.ts` (writeFileAtomic, writeDirAtomic, recoverDirAtomic, readJsonFile).
export * from './safetensors.js';
export * from './half.js';
export * from './json.js';
