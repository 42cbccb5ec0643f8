// Padding-free layers: which positions of a padded batch are real, and how to move between the padded
// (B, T, …) layout and the packed (N, …) one that holds only those N positions.
//
//   padded  (B, T, C):  [a a a a _ _]      packed (N, C):  [a a a a b b c c c]
//                       [b b _ _ _ _]
//                       [c c c _ _ _]
//
// A batch of sequences of different lengths is padded to the longest, and every product of a transformer
// layer (q/k/v/out projections, the FFN) then works on B·T rows, real or not. Only attention mixes positions;
// everything else is the same function applied to each row alone. So the rows can stay packed through the
// layers and be put into the padded layout just for attention (MultiHeadAttention's `rows` option):
//
//   x (N, C) ──q/k/v projections──▶ (N, 3C) ──unpack──▶ (B, T, 3C) ──attention──▶ (B, T, C) ──pack──▶ (N, C)
//
// On CMUdict words in random batches of 64 about 44 % of the padded rows are padding; packed, the products
// do that much less work. The real positions' results are those of the padded computation (the padding's
// keys are masked, and a causal decoder's trailing padding is never read by an earlier position), which the
// tests check, gradients included. The cost is two copies per attention call, small next to the products.

import { indexSelect, reshape, scatterRows, tensor, Tensor } from '../tensor/index.js';

/**
 * Per row of (B, T) labels, the positions up to and including its last label that is not -100 (0 for a row with
 * none): what a causal decoder must compute for the loss. `labelEnds(Int32Array.of(5, -100, 6, -100), 2, 2)` → [1, 1].
 */
export function labelEnds(labels: Int32Array, B: number, T: number): Int32Array {
  if (labels.length !== B * T) throw new RangeError(`labelEnds: ${labels.length} labels for B × T = ${B} × ${T}`);
  return Int32Array.from({ length: B }, (_, b) => {
    let end = T;
    while (end > 0 && labels[b * T + end - 1] === -100) end--;
    return end;
  });
}

export class Packing {
  /** B and T of the padded layout. */
  readonly batch: number;
  readonly length: number;
  /** N: how many positions are real. */
  readonly count: number;
  /** (N) int32: the flat position b·T + t of each real position, in order. */
  readonly index: Tensor;

  private constructor(batch: number, length: number, positions: Int32Array) {
    this.batch = batch;
    this.length = length;
    this.count = positions.length;
    this.index = tensor(positions, [positions.length], { dtype: 'int32' });
  }

  /**
   * The positions where a (B, T) 0/1 mask is 1 (an encoder's attention mask); undefined when every position
   * is real, since packing would then only copy.
   */
  static fromMask(mask: Uint8Array | undefined, B: number, T: number): Packing | undefined {
    if (mask === undefined) return undefined;
    if (mask.length !== B * T) throw new RangeError(`Packing.fromMask: the mask has ${mask.length} entries, expected B × T = ${B} × ${T}`);
    const positions: number[] = [];
    for (let i = 0; i < B * T; i++) if (mask[i] !== 0) positions.push(i);
    return positions.length === B * T ? undefined : new Packing(B, T, Int32Array.from(positions));
  }

  /**
   * What a causal decoder must compute for a loss on labels (B, T): each row's positions up to its last label
   * that is not -100 (an ignored label before a real one still feeds later positions, so it stays). Undefined
   * when that is every position.
   */
  static upToLastLabel(labels: Int32Array, B: number, T: number): Packing | undefined {
    const ends = labelEnds(labels, B, T);
    const positions: number[] = [];
    for (let b = 0; b < B; b++) for (let t = 0; t < ends[b]!; t++) positions.push(b * T + t);
    return positions.length === B * T ? undefined : new Packing(B, T, Int32Array.from(positions));
  }

  /** (B, T, …) → (N, …): the real positions, in order. Works on int32 tensors (ids, labels) too. */
  pack(x: Tensor): Tensor {
    if (x.shape[0] !== this.batch || x.shape[1] !== this.length) {
      throw new RangeError(`Packing.pack: expected (B, T, …) = (${this.batch}, ${this.length}, …), got [${x.shape.join(', ')}]`);
    }
    return indexSelect(reshape(x, [this.batch * this.length, ...x.shape.slice(2)]), 0, this.index); // (N, …)
  }

  /** (N, …) → (B, T, …), zeros at the padding. */
  unpack(x: Tensor): Tensor {
    if (x.shape[0] !== this.count) throw new RangeError(`Packing.unpack: expected ${this.count} packed rows, got [${x.shape.join(', ')}]`);
    return reshape(scatterRows(x, this.index, this.batch * this.length), [this.batch, this.length, ...x.shape.slice(1)]); // (B, T, …)
  }
}
