// A small allocator over the one shared WebAssembly.Memory the kernels run on.
//
// Two kinds of blocks live there: the per-call work area (operands copied in, results, per-thread scratch),
// which is reused by every call and only grows; and blocks that belong to a JavaScript object — parameters
// allocated here, copies of weights — which live until that object is garbage-collected. Both come from this
// first-fit free list. Blocks are 64-byte aligned (a cache line), which also keeps v128 loads aligned.
//
// The memory grows on demand (never shrinks: WebAssembly memories cannot) up to its maximum; a request that
// does not fit even then is an error that says how much was asked for.
//
// Why the heap collects garbage itself: a model's weights here are held by small JavaScript views, so the
// JavaScript heap feels no pressure when a program drops model after model, and its collector may not run for
// a long time — meanwhile the dead models' blocks stay taken and the memory grows to its 4 GiB limit. (Even after
// a collection, FinalizationRegistry callbacks only run later, from the event loop.) So before the memory
// grows, the heap asks the platform for a full collection (Node can; a browser cannot, and only what its
// collector already found is reclaimed) and frees, at once, the blocks whose owner is gone. It sees an owner
// as gone through a WeakRef, and JavaScript keeps a WeakRef's target alive until the synchronous job that
// made (or read) the WeakRef ends: a model dropped before the program last returned to the event loop is
// reclaimed this way, one made and dropped within the same run of code (or chain of promises) is not.

import type { StepMark } from '../backend.js';

const PAGE = 65536;
const ALIGN = 64;

interface Span {
  start: number;
  size: number;
}

/** A block that lives as long as a JavaScript object (see WasmHeap.own). */
interface Owner {
  ref: WeakRef<object>;
  bytes: number;
  /** Called when the block is freed (by its owner's death or WasmHeap.freeNow). */
  onFree: (() => void) | undefined;
}

/** Below this many bytes held by owned blocks, a grow does not bother forcing a garbage collection. */
const COLLECT_MIN_OWNED = 64 << 20;

export class WasmHeap {
  private readonly free: Span[] = []; // sorted by start, never adjacent (merged on free)
  private readonly used = new Map<number, number>(); // start → size
  private f32View: Float32Array;
  private u8View: Uint8Array;
  /** Every buffer object the memory has had: a typed array over any of them lives in this memory. */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private lastBuffer: ArrayBufferLike | null = null;
  /** Blocks owned by JavaScript objects (ptr → owner), freed when the owner is collected. */
  private readonly owners = new Map<number, Owner>();
  private ownedBytes = 0;
  /** The usual way owned blocks come back: after a collection, from the event loop. */
  private readonly finalizer = new FinalizationRegistry<{ ptr: number; owner: Owner }>(({ ptr, owner }) => {
    if (this.owners.get(ptr) === owner) this.freeOwned(ptr, owner); // else freed already (by sweep or free)
  });

  /**
   * `collectGarbage`: a full, synchronous garbage collection, where the host can do one (Node: see
   * src/platform/node.ts); the heap calls it before growing the memory when owned blocks are plentiful.
   */
  constructor(
    readonly memory: WebAssembly.Memory,
    start: number,
    readonly maxBytes: number,
    private readonly collectGarbage?: () => void,
    /** The kernels' memset (kernels/index.ts zero_bytes); without it zero() uses TypedArray.fill. */
    private readonly zeroBytes?: (ptr: number, bytes: number) => void,
    /** The kernels' memmove (kernels/index.ts copy_bytes); without it copyBytes() uses copyWithin. */
    private readonly copyBytesFn?: (dst: number, src: number, bytes: number) => void,
  ) {
    const base = alignUp(start);
    const end = memory.buffer.byteLength;
    if (end > base) this.free.push({ start: base, size: end - base });
    this.f32View = new Float32Array(this.buffer());
    this.u8View = new Uint8Array(this.buffer());
  }

  /**
   * A zeroed Float32Array of n floats inside this memory (a view of it), so kernels read and write it where it
   * is, with no copy. The block is returned to the heap when the array is garbage-collected. Views of a shared
   * memory stay valid when it grows. Example: weights of a model loaded for inference. `zero` false leaves
   * the block's bytes as they are (Backend.allocate says when that is right).
   */
  allocFloat32(n: number, zero = true): Float32Array {
    const ptr = this.alloc(n * 4);
    const view = new Float32Array(this.buffer(), ptr, n);
    if (zero) this.zero(view); // the block may hold an earlier array's bytes
    this.own(view, ptr);
    return view;
  }

  /**
   * Set `a` to zeros. A view of this memory is zeroed by the kernels' memset: V8's TypedArray.fill walks a
   * shared buffer element by element (~14 GB/s, where memory.fill runs at ~90 for an array in cache), and a
   * training step zeroes many fresh arrays. Any other array is filled as usual.
   */
  zero(a: Float32Array): void {
    if (this.zeroBytes && a.length >= 64 && this.owns(a)) this.zeroBytes(a.byteOffset, a.byteLength);
    else a.fill(0);
  }

  /** Copy `bytes` bytes from address `src` to `dst` inside this memory; the ranges may overlap (memmove). */
  copyBytes(dst: number, src: number, bytes: number): void {
    if (this.copyBytesFn) this.copyBytesFn(dst, src, bytes);
    else this.u8.copyWithin(dst, src, src + bytes);
  }

  /**
   * Tie the block at `ptr` (from alloc) to `target`: it is freed once `target` is garbage-collected, or by
   * freeNow(ptr); `onFree` runs then. Example: matmul's copy of a weight array lives as long as that array.
   */
  own(target: object, ptr: number, onFree?: () => void): void {
    const bytes = this.used.get(ptr);
    if (bytes === undefined) throw new Error(`attn wasm heap: own(${ptr}) of an address that is not allocated`);
    const owner: Owner = { ref: new WeakRef(target), bytes, onFree };
    this.owners.set(ptr, owner);
    this.ownedBytes += bytes;
    this.finalizer.register(target, { ptr, owner }, owner);
  }

  /** Free a block now, whether or not it is owned (an owned one runs its onFree). */
  freeNow(ptr: number): void {
    const owner = this.owners.get(ptr);
    if (owner) {
      this.finalizer.unregister(owner);
      this.freeOwned(ptr, owner);
    } else this.release(ptr);
  }

  /**
   * Free the block of an array allocFloat32 returned, now; any other array (ordinary memory, a block freed
   * already, or one now owned by something else) is left alone.
   */
  freeArray(a: Float32Array): void {
    if (!this.owns(a)) return;
    const owner = this.owners.get(a.byteOffset);
    if (owner !== undefined && owner.ref.deref() === a) this.freeNow(a.byteOffset);
  }

  private freeOwned(ptr: number, owner: Owner): void {
    this.owners.delete(ptr);
    this.ownedBytes -= owner.bytes;
    this.release(ptr);
    owner.onFree?.();
  }

  /**
   * Free every owned block whose owner has been collected, without waiting for the finalizers; with
   * `collect`, run a full collection first. Returns the bytes freed. A WeakRef looked at during a synchronous
   * job keeps its target alive until the job ends, so the sweep looks only after the collection.
   */
  reclaim(collect: boolean): number {
    if (collect) this.collectGarbage?.();
    let freed = 0;
    for (const [ptr, owner] of this.owners) {
      if (owner.ref.deref() !== undefined) continue;
      this.finalizer.unregister(owner);
      this.freeOwned(ptr, owner);
      freed += owner.bytes;
    }
    return freed;
  }

  /**
   * The memory's buffer, for making a view of it: every view the heap hands out is made over this, so owns()
   * knows its buffer. A shared memory's buffer object is not stable: when any shared memory of this thread
   * grows, V8 gives every one of them a new buffer object (same bytes), so a buffer seen once is remembered.
   */
  buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    if (b !== this.lastBuffer) {
      this.buffers.add(b);
      this.lastBuffer = b;
    }
    return b;
  }

  /** Whether `a` is a view of this memory (then a.byteOffset is its address and kernels can use it in place). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /**
   * Byte address of `a` when it is a view of this memory (kernels then read and write it in place), else 0:
   * an ordinary array (or none), to be copied into the work area. No block starts at address 0.
   */
  addressOf(a: ArrayBufferView | null | undefined): number {
    return a && this.owns(a) ? a.byteOffset : 0;
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
    if (i < 0 && this.ownedBytes >= Math.max(COLLECT_MIN_OWNED, size) && this.reclaim(this.collectGarbage !== undefined) > 0) {
      // Dead models' blocks came back: perhaps enough to avoid growing (see the top of the file).
      i = this.free.findIndex((s) => s.size >= size);
    }
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
      this.f32View = new Float32Array(this.buffer());
    }
    return this.f32View;
  }

  /** A Uint8Array over the whole memory. */
  get u8(): Uint8Array {
    if (this.u8View.length !== this.memory.buffer.byteLength) {
      this.u8View = new Uint8Array(this.buffer());
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
    this.buffer(); // a grown shared memory hands out a new buffer object
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

/** The step arena's first chunk; later chunks are at least the size of everything taken so far. */
const ARENA_CHUNK = 32 << 20;

/**
 * Memory for one training step's activations and gradients (Backend.stepArena; src/tensor/step.ts says when a
 * step begins and ends). Arrays are cut one after another from chunks of the heap — taking one is an addition
 * — and all of them are given back at once by reset(), when the step is over. Next step's arrays reuse the
 * same bytes: no allocation, no page faults, no garbage collection, and kernels read and write them in place
 * (they live in this memory) instead of copying them in and out.
 *
 * When a step needs more than the chunks hold, another chunk is added, as large as all the others together, and
 * the chunks are kept for the next steps. Past `maxBytes` take() answers null and the caller uses an ordinary
 * array.
 */
export class StepArena {
  private chunks: Array<{ ptr: number; bytes: number }> = [];
  /** Index of the chunk being cut, and the bytes of it used. */
  private cur = 0;
  private used = 0;

  constructor(
    private readonly heap: WasmHeap,
    readonly maxBytes: number,
  ) {}

  /** n floats (contents left from earlier steps: callers that need zeros fill them), or null when full. */
  take(n: number): Float32Array | null {
    const bytes = alignUp(Math.max(n * 4, 4));
    let chunk = this.chunks[this.cur];
    while (chunk && this.used + bytes > chunk.bytes) {
      this.cur++;
      this.used = 0;
      chunk = this.chunks[this.cur];
    }
    if (!chunk) {
      let total = 0;
      for (const c of this.chunks) total += c.bytes;
      const size = Math.max(ARENA_CHUNK, bytes, total);
      if (total + size > this.maxBytes) return null;
      let ptr: number;
      try {
        ptr = this.heap.alloc(size);
      } catch {
        return null; // the memory is full: this array is an ordinary one
      }
      chunk = { ptr, bytes: size };
      this.chunks.push(chunk);
      this.cur = this.chunks.length - 1;
      this.used = 0;
    }
    const at = chunk.ptr + this.used;
    this.used += bytes;
    return new Float32Array(this.heap.buffer(), at, n);
  }

  /** Set `a` to zeros (WasmHeap.zero: the kernels' memset when it lies in this memory). */
  zero(a: Float32Array): void {
    this.heap.zero(a);
  }

  /** Whether `a` was handed out by take() (and lies in a chunk still held). */
  holds(a: Float32Array): boolean {
    if (!this.heap.owns(a)) return false;
    const at = a.byteOffset;
    for (const c of this.chunks) if (at >= c.ptr && at < c.ptr + c.bytes) return true;
    return false;
  }

  /**
   * The step is over: every array handed out may be overwritten from now on. The chunks are kept, so the
   * next step, which usually asks for the same arrays in the same order, gets the same addresses (and the
   * memory does not grow again).
   */
  reset(): void {
    this.cur = 0;
    this.used = 0;
  }

  /** Where the next take() cuts: rewindKeeping(mark, …) gives back everything taken after it. */
  mark(): StepMark {
    return { chunk: this.cur, used: this.used };
  }

  /**
   * Give back every array taken since `mark` except `keep` (arrays of this step memory, each listed once): they
   * are moved down to where the mark was, one after another, and their new views are returned in keep's order.
   * A layer run in inference keeps this way only what it returns; the next layer reuses the rest.
   *
   * Moving in the order the arrays were cut never overwrites one not yet moved: each lands at or before where
   * it was (everything before it that is not kept is given back), and memmove allows the overlap. The one
   * exception, a subarray that starts less than 64 bytes after the previous kept array ends (the next cut is
   * 64-byte aligned), stays where it is. Overlapping arrays must come as the one array that holds them.
   */
  rewindKeeping(mark: StepMark, keep: readonly Float32Array[]): Float32Array[] {
    const from = mark.chunk * 2 ** 32 + mark.used;
    const pos = keep.map((a) => this.positionOf(a));
    const moved = [...keep]; // arrays cut before the mark stay where they are
    const order = keep.map((_, i) => i).filter((i) => pos[i]! >= from).sort((i, j) => pos[i]! - pos[j]!);
    this.cur = mark.chunk;
    this.used = mark.used;
    for (const i of order) {
      const a = keep[i]!;
      const to = this.take(a.length)!;
      if (this.positionOf(to) > pos[i]!) {
        // Only an unaligned subarray lands past its own start: keep it in place, cut on after it.
        this.cur = Math.floor(pos[i]! / 2 ** 32);
        this.used = alignUp((pos[i]! % 2 ** 32) + a.byteLength);
      } else {
        if (to.byteOffset !== a.byteOffset) this.heap.copyBytes(to.byteOffset, a.byteOffset, a.byteLength);
        moved[i] = to;
      }
    }
    return moved;
  }

  /** The order in which take() cut `a`: chunk index, then offset in the chunk (throws for an array not taken here). */
  private positionOf(a: Float32Array): number {
    const at = a.byteOffset;
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks[c]!;
      if (at >= chunk.ptr && at < chunk.ptr + chunk.bytes) return c * 2 ** 32 + (at - chunk.ptr);
    }
    throw new Error(`attn step memory: the array at ${at} (${a.length} floats) was not taken from this step memory`);
  }
}
