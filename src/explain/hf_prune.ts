// Hugging Face's head pruning, the index arithmetic (transformers/pytorch_utils.py, 4.36): which rows or columns
// of a layer's projections survive when heads are removed, so a folder pruned by attn holds exactly the tensors
// `model.prune_heads(...)` leaves in Python, and `pruned_heads` in config.json rebuilds the same shapes.
//
// Heads are named by their original index. A layer that already lost heads stores only the others, in
// ascending order, so original head h sits at position h − (number of already-pruned heads below h):
//
//   find_pruneable_heads_and_indices(heads, n_heads, head_size, already_pruned):
//     mask = ones(n_heads, head_size)                   n_heads: the layer's heads NOW
//     heads = set(heads) − already_pruned
//     for h in heads: mask[h − #{p ∈ already_pruned : p < h}] = 0
//     index = positions where mask is 1 (flattened)     the q/k/v/out dimensions to keep
//
// GPT-2's fused c_attn (in, 3·A) keeps index, index + A and index + 2A (A = the layer's attention width now):
// the q, k and v blocks; c_proj (A, C) keeps rows `index` and its whole bias. BERT's query/key/value keep the
// output rows `index` (nn.Linear stores (out, in)) and attention.output.dense the input columns.

/**
 * The heads to remove now (original indices, not already pruned) and the flat indices of the dimensions kept,
 * as transformers' find_pruneable_heads_and_indices. Example: `pruneableHeadsAndIndices([1], 3, 2, new Set())`
 * gives heads {1} and index [0, 1, 4, 5].
 */
export function pruneableHeadsAndIndices(heads: readonly number[], nHeads: number, headSize: number, alreadyPruned: ReadonlySet<number>): { heads: Set<number>; index: Int32Array } {
  const keep = new Uint8Array(nHeads * headSize).fill(1);
  const removing = new Set(heads.filter((h) => !alreadyPruned.has(h)));
  for (const head of removing) {
    // Its position among the heads still there: every already-pruned head below it moved it one to the left.
    let below = 0;
    for (const p of alreadyPruned) if (p < head) below++;
    const pos = head - below;
    if (pos < 0 || pos >= nHeads) throw new RangeError(`pruneableHeadsAndIndices: head ${head} is not among the layer's ${nHeads} remaining heads`);
    keep.fill(0, pos * headSize, (pos + 1) * headSize);
  }
  const index: number[] = [];
  keep.forEach((k, i) => {
    if (k) index.push(i);
  });
  return { heads: removing, index: Int32Array.from(index) };
}

/** Columns `cols` of a row-major (rows, n) matrix: (rows, cols.length). */
export function selectColumns(data: Float32Array, rows: number, n: number, cols: Int32Array): Float32Array {
  const out = new Float32Array(rows * cols.length);
  for (let r = 0; r < rows; r++) for (let j = 0; j < cols.length; j++) out[r * cols.length + j] = data[r * n + cols[j]!]!;
  return out;
}

/** Rows `rows` of a row-major (m, n) matrix (or entries of a vector, n = 1): (rows.length, n). */
export function selectRows(data: Float32Array, n: number, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * n);
  rows.forEach((r, i) => out.set(data.subarray(r * n, (r + 1) * n), i * n));
  return out;
}
