// The Node adapter and the parts of the WebAssembly backend that face the process: registration, the
// default thread count, choosing the kernel build (relaxed SIMD turned on by the adapter itself on Node 20,
// ATTN_WASM_SIMD=baseline forcing the fallback), and worker threads that never keep a process alive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { describe, test } from 'node:test';
import { availableBackends } from '../../src/backend/index.js';
import { chooseVariant, createWasmBackend, hasRelaxedSimd } from '../../src/backend/wasm/index.js';
import { nodePlatform } from '../../src/platform/node.js';

const adapterUrl = new URL('../../src/platform/node.js', import.meta.url).href;
const backendUrl = new URL('../../src/backend/index.js', import.meta.url).href;

/**
 * Run a module snippet in a fresh `node` started WITHOUT the relaxed-SIMD flag (as a user would start it),
 * with extra environment variables; returns its exit status and output.
 */
function runChild(code: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  delete childEnv['NODE_OPTIONS'];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: childEnv, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('wasm backend and the Node adapter', () => {
  test("importing the adapter registers 'wasm'", () => {
    assert.ok(availableBackends().includes('wasm'), `available: ${availableBackends().join(', ')}`);
  });

  test('threads default to the number of cores', () => {
    const b = createWasmBackend(nodePlatform, { simd: 'baseline' });
    assert.equal(b.threads, availableParallelism());
    assert.throws(() => createWasmBackend(nodePlatform, { threads: 0 }), /threads must be an integer from 1 to 256, got 0/);
  });

  test('ATTN_WASM_SIMD picks the build; a bad value is an error naming it', () => {
    const withEnv = (value: string | undefined) => ({ ...nodePlatform, env: (name: string) => (name === 'ATTN_WASM_SIMD' ? value : undefined) });
    assert.equal(chooseVariant(withEnv('baseline')), 'baseline');
    assert.equal(chooseVariant(withEnv(undefined)), hasRelaxedSimd() ? 'relaxed' : 'baseline');
    assert.equal(chooseVariant(withEnv('baseline'), 'relaxed'), hasRelaxedSimd() ? 'relaxed' : 'baseline', 'an explicit request wins over the variable');
    assert.throws(() => chooseVariant(withEnv('fast')), /ATTN_WASM_SIMD must be 'relaxed' or 'baseline', got 'fast'/);
  });

  test('a plain `node` process gets the relaxed build from the adapter, and exits with 2 threads running', () => {
    // A 2-thread matmul big enough to start the worker; the process must then exit on its own (workers are
    // unref()'d), and the adapter must have turned on relaxed SIMD without any command-line flag.
    const code = `
      await import(${JSON.stringify(adapterUrl)});
      const { setBackend } = await import(${JSON.stringify(backendUrl)});
      const b = setBackend('wasm', { threads: 2 });
      const n = 256, a = new Float32Array(n * n).fill(1), out = new Float32Array(n * n);
      b.matmul(a, a, out, { batch: 1, m: n, n, k: n, transA: false, transB: false, aBatchStride: 0, bBatchStride: 0, accumulate: false });
      console.log(b.variant, b.threads, out[0], out[n * n - 1]);
    `;
    const r = runChild(code);
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'relaxed 2 256 256');
  });

  test('ATTN_WASM_SIMD=baseline forces the fallback build in a fresh process', () => {
    const code = `
      await import(${JSON.stringify(adapterUrl)});
      const { setBackend } = await import(${JSON.stringify(backendUrl)});
      console.log(setBackend('wasm', { threads: 1 }).variant);
    `;
    const r = runChild(code, { ATTN_WASM_SIMD: 'baseline' });
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    assert.equal(r.stdout.trim(), 'baseline');
  });
});
