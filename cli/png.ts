// The PNG encoder lives in src/io/png.ts (the explain feature renders maps with it too); re-exported here for
// the commands that write plots.
export { crc32, encodePng } from '../src/io/png.js';
