// The V8 flags attn needs on this Node. Node 20 has relaxed SIMD (f32x4.relaxed_madd, our FMA) only behind
// --experimental-wasm-relaxed-simd; Node >= 22 enables it by default and Node 24 rejects the flag as a
// "bad option", so we pass it only where this Node still knows it.
import { spawnSync } from 'node:child_process';

export function nodeFlags() {
  const flag = '--experimental-wasm-relaxed-simd';
  const major = Number(process.versions.node.split('.')[0]);
  if (major >= 22) return [];
  const probe = spawnSync(process.execPath, [flag, '-e', '0'], { stdio: 'ignore' });
  return probe.status === 0 ? [flag] : [];
}
