// Test helpers for src/io: a seeded RNG and a safetensors *builder that does not use attn's writer*, so tests
// can state a file's exact bytes (and write broken files on purpose) independently of the code under test.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/io, sources and fixtures live under the root). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integer in [lo, hi] inclusive. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/**
 * A safetensors file from a header text and raw data bytes, exactly as the format says: u64 LE length of the
 * (space-padded to 8) header, the header, the data. `pad: false` keeps the header length as is;
 * `headerLength` overrides the length field (to write lies).
 */
export function buildFile(headerText: string, data: Uint8Array = new Uint8Array(0), opts: { pad?: boolean; headerLength?: bigint } = {}): Uint8Array {
  let header = new TextEncoder().encode(headerText);
  if (opts.pad ?? true) {
    const padded = new Uint8Array(Math.ceil(header.length / 8) * 8).fill(0x20);
    padded.set(header);
    header = padded;
  }
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, opts.headerLength ?? BigInt(header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

/** Little-endian bytes from a list of [kind, value] pairs, e.g. le(['f32', 1], ['u16', 0x3c00]). */
export function le(...items: [('f32' | 'f64' | 'u16' | 'i16' | 'i32' | 'u32' | 'i64' | 'u64' | 'u8' | 'i8'), number | bigint][]): Uint8Array {
  const size = { f32: 4, f64: 8, u16: 2, i16: 2, i32: 4, u32: 4, i64: 8, u64: 8, u8: 1, i8: 1 };
  const total = items.reduce((s, [k]) => s + size[k], 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let o = 0;
  for (const [k, v] of items) {
    switch (k) {
      case 'f32': dv.setFloat32(o, Number(v), true); break;
      case 'f64': dv.setFloat64(o, Number(v), true); break;
      case 'u16': dv.setUint16(o, Number(v), true); break;
      case 'i16': dv.setInt16(o, Number(v), true); break;
      case 'i32': dv.setInt32(o, Number(v), true); break;
      case 'u32': dv.setUint32(o, Number(v), true); break;
      case 'i64': dv.setBigInt64(o, BigInt(v), true); break;
      case 'u64': dv.setBigUint64(o, BigInt(v), true); break;
      case 'u8': dv.setUint8(o, Number(v)); break;
      case 'i8': dv.setInt8(o, Number(v)); break;
    }
    o += size[k];
  }
  return out;
}

/** Concatenate byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Catch the error thrown by `fn` (fails the test if nothing is thrown). */
export function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    if (e instanceof Error) return e;
    throw new Error(`expected an Error, got a thrown ${typeof e}: ${String(e)}`);
  }
  throw new Error('expected an error, but the call returned normally');
}

/** Content of "version v" of a folder written by atomic_child.ts: every file says v. */
export function versionFiles(v: number): Record<string, Uint8Array | string> {
  return {
    'a.bin': new Uint8Array(256 * 1024).fill(v % 251),
    'b.json': JSON.stringify({ version: v }),
    'c.txt': String(v),
  };
}
