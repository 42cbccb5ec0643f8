// The page side of `npm run bench -- browser`: the workloads of bench/_browser_workloads.ts, run in
// Chromium on the browser adapter with 1 or 2 threads (bench/browser.ts calls run() and reads the numbers).
import { prepareBrowserBackend } from '../../../src/platform/browser.js';
import { KERNEL_BYTES } from '../../../src/browser/kernel_bytes.js';
import { decodeGpt2, matmul768, matmul768InMemory, trainStepMini } from '../../../bench/_browser_workloads.js';

export async function run(task: 'matmul' | 'matmul-mem' | 'decode' | 'train', threads: number): Promise<{ value: number; note: string }> {
  const info = await prepareBrowserBackend({ kernels: KERNEL_BYTES, workerUrl: new URL('/attn/attn-worker.js', location.href).href, threads });
  const value = task === 'matmul' ? matmul768() : task === 'matmul-mem' ? matmul768InMemory() : task === 'decode' ? decodeGpt2() : trainStepMini();
  return { value, note: `${info.backend} ${info.simd}, ${info.threads} threads, engine on the page's main thread` };
}
