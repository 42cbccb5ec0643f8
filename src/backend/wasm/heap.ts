// A small allocator over the one shared WebAssembly.Memory the kernels run on.
//
// Two kinds of blocks live there: the per-call work area (operands copied in, results, per-thread scratch),
// which is reused by every call and only grows; and cached packed weight matrices, which live until their
// Float32Array is garbage-collected or their version changes. Both come from this first-fit free list.
// Blocks are 64-byte aligned (a cache line), which also keeps v128 loads aligned.
//
// The memory grows on demand (never shrinks: WebAssembly memories cannot) up to its maximum; a request that
// does not fit even then is an error that says how much was asked for.

const PAGE = 65536;
const ALIGN = 64;

interface Span {
  start: number;
  size: number;
}

export class WasmHeap {
  private readonly free: Span[] = []; // sorted by start, never adjacent (merged on free)
  private readonly used = new Map<number, number>(); // start → size
  private f32View: Float32Array;
  private u8View: Uint8Array;
  /** Every buffer object the memory has had: a typed array over any of them lives in this memory. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  /** Frees the block behind an array handed out by allocFloat32 once the array is garbage-collected. */
  private readonly finalizer = new FinalizationRegistry<number>((ptr) => this.release(ptr));

  constructor(
    readonly memory: WebAssembly.Memory,
    start: number,
    readonly maxBytes: number,
  ) {
    const base = alignUp(start);
    const end = memory.buffer.byteLength;
    if (end > base) this.free.push({ start: base, size: end - base });
    this.f32View = new Float32Array(memory.buffer);
    this.u8View = new Uint8Array(memory.buffer);
    this.buffers.add(memory.buffer);
  }

  /**
   * A zeroed Float32Array of n floats inside this memory (a view of it), so kernels read and write it where it
   * is, with no copy. The block is returned to the heap when the array is garbage-collected. Views of a shared
   * memory stay valid when it grows. Example: weights of a model loaded for inference.
   */
  allocFloat32(n: number): Float32Array {
    const ptr = this.alloc(n * 4);
    const view = new Float32Array(this.memory.buffer, ptr, n);
    view.fill(0); // the block may hold an earlier array's bytes
    this.finalizer.register(view, ptr);
    return view;
  }

  /** Whether `a` is a view of this memory (then a.byteOffset is its address and kernels can use it in place). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** Bytes currently handed out. */
  get usedBytes(): number {
    let n = 0;
    for (const s of this.used.values()) n += s;
    return n;
  }

  /** Allocate `bytes` (rounded up to 64); returns the byte address. Grows the memory when needed. */
  alloc(bytes: number): number {
    const size = alignUp(Math.max(bytes, 1));
    let i = this.free.findIndex((s) => s.size >= size);
    if (i < 0) {
      this.grow(size);
      i = this.free.findIndex((s) => s.size >= size);
      if (i < 0) throw new Error(`attn wasm heap: internal error, no block of ${size} bytes after growing`);
    }
    const span = this.free[i]!;
    const ptr = span.start;
    if (span.size === size) this.free.splice(i, 1);
    else {
      span.start += size;
      span.size -= size;
    }
    this.used.set(ptr, size);
    return ptr;
  }

  /** Return a block from alloc() to the free list, merging it with free neighbours. */
  release(ptr: number): void {
    const size = this.used.get(ptr);
    if (size === undefined) throw new Error(`attn wasm heap: release(${ptr}) of an address that is not allocated`);
    this.used.delete(ptr);
    let i = 0;
    while (i < this.free.length && this.free[i]!.start < ptr) i++;
    this.free.splice(i, 0, { start: ptr, size });
    // merge with the next block, then with the previous one
    const cur = this.free[i]!;
    const next = this.free[i + 1];
    if (next && cur.start + cur.size === next.start) {
      cur.size += next.size;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev && prev.start + prev.size === cur.start) {
      prev.size += cur.size;
      this.free.splice(i, 1);
    }
  }

  /** A Float32Array over the whole memory (re-made after the memory grows). Index = byte address / 4. */
  get f32(): Float32Array {
    if (this.f32View.length * 4 !== this.memory.buffer.byteLength) {
      this.f32View = new Float32Array(this.memory.buffer);
    }
    return this.f32View;
  }

  /** A Uint8Array over the whole memory. */
  get u8(): Uint8Array {
    if (this.u8View.length !== this.memory.buffer.byteLength) {
      this.u8View = new Uint8Array(this.memory.buffer);
    }
    return this.u8View;
  }

  /** Grow so that a free block of at least `size` bytes exists at the end of the memory. */
  private grow(size: number): void {
    const end = this.memory.buffer.byteLength;
    const last = this.free[this.free.length - 1];
    const tailFree = last && last.start + last.size === end ? last.size : 0;
    const need = size - tailFree;
    // Grow by at least what is needed, and at least by half the current size, so that a sequence of slightly
    // larger calls does not grow (and re-make views) every time.
    const bytes = Math.max(need, Math.floor(end / 2));
    let pages = Math.ceil(bytes / PAGE);
    const maxPages = Math.floor(this.maxBytes / PAGE);
    const curPages = end / PAGE;
    if (curPages + pages > maxPages) pages = Math.ceil(need / PAGE);
    if (curPages + pages > maxPages) {
      throw new Error(
        `attn wasm: out of WebAssembly memory: need ${fmtBytes(size)} more, ` +
          `${fmtBytes(this.usedBytes)} in use, limit ${fmtBytes(this.maxBytes)}`,
      );
    }
    this.memory.grow(pages);
    this.buffers.add(this.memory.buffer); // a grown shared memory hands out a new buffer object
    const added = pages * PAGE;
    if (tailFree > 0) last!.size += added;
    else this.free.push({ start: end, size: added });
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * The per-call work area: one block of the heap that every call lays its operands out in, reused from call
 * to call and replaced by a larger one only when a call needs more. Its contents are garbage between calls.
 */
export class WorkArea {
  private ptr = 0;
  private bytes = 0;

  constructor(private readonly heap: WasmHeap) {}

  /** Base address of at least `bytes` bytes of work space. */
  reserve(bytes: number): number {
    if (bytes > this.bytes) {
      if (this.ptr !== 0) this.heap.release(this.ptr);
      this.ptr = 0;
      this.bytes = 0;
      this.ptr = this.heap.alloc(bytes);
      this.bytes = bytes;
    }
    return this.ptr;
  }
}

/**
 * Lays out regions one after another (64-byte aligned) to size a call's work area:
 *   const l = new Layout(); const a = l.add(n * 4); ...; const base = work.reserve(l.size); ptr = base + a
 */
export class Layout {
  size = 0;
  /** Offset of a new region of `bytes` bytes. */
  add(bytes: number): number {
    const off = this.size;
    this.size += alignUp(Math.max(bytes, 0));
    return off;
  }
}
