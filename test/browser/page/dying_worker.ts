// A worker script whose pool workers die right after joining the pool (an uncaught error, as a crash would
// be), to check that the supervisor reports the death and the waiting job fails instead of hanging.
import { serveWorkerScript } from '../../../src/platform/browser_worker.js';

serveWorkerScript((init) => {
  throw new Error(`test: pool worker ${init.index} dies on purpose`);
});
