// The reference backend: plain TypeScript loops, one thread, no tricks beyond a cache-friendly loop order.
//
// This file is the oracle the WebAssembly backend is tested against, so it is written to be read: every
// kernel is the textbook formula with its indexing spelled out. It is also what runs when WebAssembly is not
// available, so the loops are ordered so that the innermost one walks memory with stride 1.
//
// Shape letters: B batch, M/N/K matmul dims, H heads, Tq query length, Tk key length, D head size.
import type { AttentionGrads, AttentionOutputs, AttentionSpec, AttnOperand, Backend, LinearSpec, MatmulSpec, QuantizedMatmulSpec, QuantizedWeight, RowKernel } from '../backend.js';
import { checkAttention, checkQuantized, checkRows, dequantizeRow, dropKeeps, dropoutOf } from '../backend.js';
import { recurrentBackwardReference, recurrentForwardReference, type RecurrentGradients, type RecurrentOperands, type RecurrentSpec } from '../recurrent.js';

export class JsBackend implements Backend {
  readonly name = 'js';
  readonly threads = 1;

  /**
   * out[b] = op(A[b]) · op(B[b]) (+ out[b] when spec.accumulate).
   *
   * Element (i, p) of op(A) lives at  A[aBase + i*K + p]  (A stored (M, K)),
   *                                or A[aBase + p*M + i]  (transA: A stored (K, M)).
   * Element (p, j) of op(B) lives at  B[bBase + p*N + j]  (B stored (K, N)),
   *                                or B[bBase + j*K + p]  (transB: B stored (N, K)).
   *
   * Every output is a dot product: out[i, j] = Σ_p A[i, p]·Bᵀ[j, p], a row of A against a row of Bᵀ, both
   * read with stride 1. So A is brought to (M, K) and B to Bᵀ (N, K) — free when they are already stored
   * that way (nn.Linear's weight is), a transposing copy otherwise, O(n²) next to the O(n³) product.
   * When M is tiny (one token at a time) and B is stored (K, N), that copy would cost as much as the
   * product, so those rows are computed as out[i, :] += A[i, p]·B[p, :] instead, reading B as it is.
   */
  matmul(a: Float32Array, b: Float32Array, out: Float32Array, spec: MatmulSpec): void {
    const { batch, m: M, n: N, k: K, transA, transB, aBatchStride, bBatchStride, accumulate, bias } = spec;
    if (!accumulate) out.fill(0, 0, batch * M * N);
    if (bias) {
      // The bias first, then the products accumulate onto it.
      for (let r = 0; r < batch * M; r++) for (let j = 0; j < N; j++) out[r * N + j] += bias[j];
    }
    let aRows: Float32Array | null = null; // scratch for a transposed A, reused across the batch
    let bRows: Float32Array | null = null; // scratch for Bᵀ
    for (let bi = 0; bi < batch; bi++) {
      const aBase = bi * aBatchStride;
      const bBase = bi * bBatchStride;
      const oBase = bi * M * N;

      if (!transB && M < 4) {
        // Row form: out[i, :] += A[i, p]·B[p, :], the inner loop along rows of B and out (stride 1).
        const aStrideI = transA ? 1 : K;
        const aStrideP = transA ? M : 1;
        for (let i = 0; i < M; i++) {
          const oRow = oBase + i * N;
          for (let p = 0; p < K; p++) {
            const aip = a[aBase + i * aStrideI + p * aStrideP];
            const bRow = bBase + p * N;
            for (let j = 0; j < N; j++) out[oRow + j] += aip * b[bRow + j];
          }
        }
        continue;
      }

      // Dot form. A as (M, K) rows:
      let A = a;
      let aOff = aBase;
      if (transA) {
        aRows ??= new Float32Array(M * K);
        transposeInto(a, aBase, K, M, aRows); // stored (K, M) → (M, K)
        A = aRows;
        aOff = 0;
      }
      // Bᵀ as (N, K) rows (a shared B, bBatchStride 0, is transposed only once):
      let Bt = b;
      let bOff = bBase;
      if (!transB) {
        if (bRows === null || bBatchStride !== 0) {
          bRows ??= new Float32Array(N * K);
          transposeInto(b, bBase, K, N, bRows); // stored (K, N) → (N, K)
        }
        Bt = bRows;
        bOff = 0;
      }
      dotProducts(A, aOff, Bt, bOff, out, oBase, M, N, K);
    }
    // The activation, in place (a map kernel reads each element before it writes it).
    if (spec.epilogue) spec.epilogue.reference(batch * M, N, [out], [out], []);
  }

  /**
   * out = softmax(scale·q·kᵀ + bias + mask)·v × headMask, one query row at a time:
   *   s_j   = scale · q_i·k_j + bias_ij      for each visible key j (lo_i ≤ j ≤ hi_i and not padding)
   *   lse_i = log Σ_j exp(s_j)              (computed as m + log Σ exp(s_j - m), m = max s_j, for stability)
   *   p_j   = exp(s_j - lse_i)
   *   out_i = ξ · Σ_j p_j v_j                ξ = the head's mask value (1 without a head mask)
   * A row with no visible key gets out = 0, lse = -Infinity and an all-zero weights row.
   */
  attentionForward(spec: AttentionSpec, q: AttnOperand, k: AttnOperand, v: AttnOperand, res: AttentionOutputs): void {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    checkAttention('attentionForward (js)', spec, { q, k, v, out: res.out }, { lse: [res.lse, B * H * Tq], weights: [res.weights, B * H * Tq * Tk] });
    const drop = dropoutOf(spec);
    const { out, lse, weights } = res;
    const s = new Float64Array(Tk); // scores of one query row
    const acc = new Float64Array(D); // Σ_j p_j v_j of one query row
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        const xi = headMaskValue(spec, b, h);
        for (let i = 0; i < Tq; i++) {
          const row = bh * Tq + i;
          const qRow = rowAt(q, b, h, i);
          const oRow = rowAt(out, b, h, i);
          if (weights) weights.fill(0, row * Tk, (row + 1) * Tk);
          out.data.fill(0, oRow, oRow + D);
          // Scores of the visible keys, and their max.
          let mx = -Infinity;
          for (let j = spec.lo[i]!; j <= spec.hi[i]!; j++) {
            if (!keyVisible(spec, b, j)) continue;
            const kRow = rowAt(k, b, h, j);
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q.data[qRow + d]! * k.data[kRow + d]!;
            s[j] = spec.scale * dot + biasValue(spec, b, h, i, j);
            if (s[j]! > mx) mx = s[j]!;
          }
          if (mx === -Infinity) {
            lse[row] = -Infinity; // no visible key: out row and weights row stay 0
            continue;
          }
          let sum = 0;
          for (let j = spec.lo[i]!; j <= spec.hi[i]!; j++) if (keyVisible(spec, b, j)) sum += Math.exp(s[j]! - mx);
          const l = mx + Math.log(sum);
          lse[row] = l;
          // out_i = ξ Σ_j p_j v_j  (with dropout, p_j · keep_ij / (1 − p_drop))
          acc.fill(0);
          for (let j = spec.lo[i]!; j <= spec.hi[i]!; j++) {
            if (!keyVisible(spec, b, j)) continue;
            let p = Math.exp(s[j]! - l);
            if (weights) weights[row * Tk + j] = p * xi;
            if (drop) p *= dropKeeps(drop.seedHash, row * Tk + j, drop.threshold) ? drop.scale : 0;
            const vRow = rowAt(v, b, h, j);
            for (let d = 0; d < D; d++) acc[d] += p * v.data[vRow + d]!;
          }
          for (let d = 0; d < D; d++) out.data[oRow + d] = xi * acc[d]!;
        }
      }
    }
  }

  /**
   * Backward of attention, rebuilding the probabilities from lse instead of storing them (as FlashAttention).
   * With m_ij the dropout factor (keep/(1 − p_drop), or 1) and ξ the head's mask value:
   *   p_ij  = exp(s_ij - lse_i)
   *   dp_ij = dOut_i · v_j
   *   dv_j += ξ p_ij m_ij · dOut_i
   *   Δ_i   = dOut_i · out_i = ξ Σ_j p_ij m_ij dp_ij     (the softmax backward's row term)
   *   ds_ij = p_ij (ξ m_ij dp_ij - Δ_i)                 (the gradient of the score s_ij, = dBias_ij)
   *   dq_i += scale · Σ_j ds_ij k_j ;  dk_j += scale · ds_ij q_i
   *   dξ   += Σ_i Σ_j p_ij m_ij dp_ij                  (the head's output before the mask, dotted with dOut)
   * Rows that saw no key (lse = -Infinity) contribute nothing.
   */
  attentionBackward(
    spec: AttentionSpec,
    q: AttnOperand,
    k: AttnOperand,
    v: AttnOperand,
    out: AttnOperand,
    lse: Float32Array,
    dOut: AttnOperand,
    grads: AttentionGrads,
  ): void {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D } = spec;
    const { dq, dk, dv, dBias, dHeadMask } = grads;
    const biasB = spec.bias && spec.bias.sb === 0 ? 1 : B;
    checkAttention('attentionBackward (js)', spec, { q, k, v, out, dOut, dq, dk, dv }, {
      lse: [lse, B * H * Tq], dBias: [dBias, biasB * H * Tq * Tk], dHeadMask: [dHeadMask, B * H],
    });
    const drop = dropoutOf(spec);
    // Gradients of one head are summed in float64, then written.
    const gq = new Float64Array(Tq * D);
    const gk = new Float64Array(Tk * D);
    const gv = new Float64Array(Tk * D);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        const xi = headMaskValue(spec, b, h);
        gq.fill(0);
        gk.fill(0);
        gv.fill(0);
        let gxi = 0;
        for (let i = 0; i < Tq; i++) {
          const row = bh * Tq + i;
          const l = lse[row]!;
          if (l === -Infinity) continue;
          const qRow = rowAt(q, b, h, i);
          const gRow = rowAt(dOut, b, h, i);
          const oRow = rowAt(out, b, h, i);
          // Δ_i = dOut_i · out_i
          let delta = 0;
          for (let d = 0; d < D; d++) delta += dOut.data[gRow + d]! * out.data[oRow + d]!;
          for (let j = spec.lo[i]!; j <= spec.hi[i]!; j++) {
            if (!keyVisible(spec, b, j)) continue;
            const kRow = rowAt(k, b, h, j);
            const vRow = rowAt(v, b, h, j);
            let dot = 0; // q_i · k_j
            let dp = 0; // dOut_i · v_j
            for (let d = 0; d < D; d++) {
              dot += q.data[qRow + d]! * k.data[kRow + d]!;
              dp += dOut.data[gRow + d]! * v.data[vRow + d]!;
            }
            const p = Math.exp(spec.scale * dot + biasValue(spec, b, h, i, j) - l);
            const m = drop ? (dropKeeps(drop.seedHash, row * Tk + j, drop.threshold) ? drop.scale : 0) : 1;
            gxi += p * m * dp;
            const ds = p * (xi * m * dp - delta);
            if (dBias) dBias[((biasB === 1 ? 0 : b) * H + h) * Tq * Tk + i * Tk + j] += ds;
            for (let d = 0; d < D; d++) {
              gv[j * D + d] += xi * p * m * dOut.data[gRow + d]!;
              gq[i * D + d] += spec.scale * ds * k.data[kRow + d]!;
              gk[j * D + d] += spec.scale * ds * q.data[qRow + d]!;
            }
          }
        }
        if (dHeadMask) dHeadMask[bh] = gxi;
        for (let i = 0; i < Tq; i++) writeRow(dq, b, h, i, gq, i * D, D);
        for (let j = 0; j < Tk; j++) {
          writeRow(dk, b, h, j, gk, j * D, D);
          writeRow(dv, b, h, j, gv, j * D, D);
        }
      }
    }
  }

  /**
   * The linear layer's gradients as three plain computations:
   *   dx = dy·op(W)ᵀ   (op(W) is W (in, out) for 'in_out', Wᵀ for 'out_in')
   *   dW = xᵀ·dy ('in_out', (in, out)) or dyᵀ·x ('out_in', (out, in))
   *   db[j] = Σ_r dy[r, j]   (summed in float64)
   */
  linearBackward(x: Float32Array, w: Float32Array, dy: Float32Array, spec: LinearSpec, dx: Float32Array | null, dw: Float32Array | null, db: Float32Array | null): void {
    const { rows: R, inF, outF, layout } = spec;
    const mm = (m: number, n: number, k: number, transA: boolean, transB: boolean): MatmulSpec => ({
      batch: 1, m, n, k, transA, transB, aBatchStride: 0, bBatchStride: 0, accumulate: false,
    });
    if (dx) {
      const dxSpec = mm(R, inF, outF, false, layout === 'in_out');
      if (spec.wVersion !== undefined) dxSpec.bVersion = spec.wVersion; // W is a weight, as in the forward
      this.matmul(dy, w, dx, dxSpec);
    }
    if (dw) {
      if (layout === 'in_out') this.matmul(x, dy, dw, mm(inF, outF, R, true, false));
      else this.matmul(dy, x, dw, mm(outF, inF, R, true, false));
    }
    if (db) {
      const acc = new Float64Array(outF);
      for (let r = 0; r < R; r++) for (let j = 0; j < outF; j++) acc[j] += dy[r * outF + j];
      db.set(acc);
    }
  }

  /**
   * out[r, j] = bias[j] + Σ_k a[r, k] · w(j, k), each weight dequantised as it is read (dequantizeRow:
   * w(j, k) = scale[j, ⌊k / groupSize⌋] · q(j, k)), summed in float64. The activations stay exact here: this is
   * the definition; the WebAssembly kernels also round each activation to 8 bits (kernels/quant.ts).
   */
  quantizedMatmul(a: Float32Array, w: QuantizedWeight, out: Float32Array, spec: QuantizedMatmulSpec): void {
    checkQuantized('quantizedMatmul (js)', a, w, out, spec);
    const { rows: R, bias } = spec;
    const { n: N, k: K } = w;
    const row = new Float64Array(K); // one dequantised weight row, used for every row of a
    for (let j = 0; j < N; j++) {
      dequantizeRow(w, j, row);
      for (let r = 0; r < R; r++) {
        let s = bias ? bias[j]! : 0;
        for (let k = 0; k < K; k++) s += a[r * K + k]! * row[k]!;
        out[r * N + j] = s;
      }
    }
  }

  /** Row kernels run their own plain-TypeScript definition: that is what makes it the reference. */
  runRows(kernel: RowKernel, rows: number, cols: number, inputs: readonly Float32Array[], outputs: readonly (Float32Array | null)[], params: readonly number[] = []): void {
    checkRows(kernel, rows, cols, inputs, outputs);
    kernel.reference(rows, cols, inputs, outputs, params);
  }

  /** The recurrent time loop, step by step as src/backend/recurrent.ts writes the formulas. */
  recurrentForward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[]): void {
    recurrentForwardReference(spec, dirs);
  }

  recurrentBackward(spec: RecurrentSpec, dirs: readonly RecurrentOperands[], grads: readonly RecurrentGradients[]): void {
    recurrentBackwardReference(spec, dirs, grads);
  }

  /** Ordinary arrays are this backend's memory: no step memory. */
  readonly stepMemory = null;

  allocate(n: number): Float32Array {
    return new Float32Array(n);
  }

  /** Nothing to give back: allocate's arrays are ordinary ones, the garbage collector's to free. */
  release(): void {}

  close(): void {}
}

/** dst (C, R) = transpose of src's (R, C) matrix starting at src[offset]. */
function transposeInto(src: Float32Array, offset: number, R: number, C: number, dst: Float32Array): void {
  for (let r = 0; r < R; r++) {
    const row = offset + r * C;
    for (let c = 0; c < C; c++) dst[c * R + r] = src[row + c];
  }
}

/** Σ_p x[xOff + p]·y[yOff + p] over K elements, accumulated in a JS number (float64). */
function dot(x: Float32Array, xOff: number, y: Float32Array, yOff: number, K: number): number {
  let s = 0;
  for (let p = 0; p < K; p++) s += x[xOff + p] * y[yOff + p];
  return s;
}

/** Columns of out handled per pass: a block of Bᵀ rows (COL_BLOCK·K floats) that stays in cache. */
const COL_BLOCK = 64;

/**
 * out[i, j] += A[i, :]·Bt[j, :] for an (M, K) A and an (N, K) Bt, all row-major.
 * Outputs are computed 2×2 at a time: four dot products share each load of A[i..i+1, p] and Bt[j..j+1, p],
 * and their four running sums stay in registers. Odd edges fall back to single dot products.
 */
function dotProducts(A: Float32Array, aOff: number, Bt: Float32Array, bOff: number, out: Float32Array, oOff: number, M: number, N: number, K: number): void {
  const M2 = M - (M % 2);
  for (let j0 = 0; j0 < N; j0 += COL_BLOCK) {
    const j1 = Math.min(N, j0 + COL_BLOCK);
    const j2 = j1 - ((j1 - j0) % 2);
    for (let i = 0; i < M2; i += 2) {
      const a0 = aOff + i * K;
      const a1 = a0 + K;
      const o0 = oOff + i * N;
      const o1 = o0 + N;
      for (let j = j0; j < j2; j += 2) {
        const b0 = bOff + j * K;
        const b1 = b0 + K;
        let s00 = 0;
        let s01 = 0;
        let s10 = 0;
        let s11 = 0;
        for (let p = 0; p < K; p++) {
          const x0 = A[a0 + p];
          const x1 = A[a1 + p];
          const y0 = Bt[b0 + p];
          const y1 = Bt[b1 + p];
          s00 += x0 * y0;
          s01 += x0 * y1;
          s10 += x1 * y0;
          s11 += x1 * y1;
        }
        out[o0 + j] += s00;
        out[o0 + j + 1] += s01;
        out[o1 + j] += s10;
        out[o1 + j + 1] += s11;
      }
      if (j2 < j1) {
        out[o0 + j2] += dot(A, a0, Bt, bOff + j2 * K, K);
        out[o1 + j2] += dot(A, a1, Bt, bOff + j2 * K, K);
      }
    }
    if (M2 < M) {
      const aLast = aOff + M2 * K;
      for (let j = j0; j < j1; j++) out[oOff + M2 * N + j] += dot(A, aLast, Bt, bOff + j * K, K);
    }
  }
}

/** Start of row t of head h of batch entry b in an attention operand. */
function rowAt(o: AttnOperand, b: number, h: number, t: number): number {
  return o.offset + b * o.sb + h * o.sh + t * o.st;
}

/** Write D float64 sums into row t of head h of batch entry b (rounding to float32). */
function writeRow(o: AttnOperand, b: number, h: number, t: number, src: Float64Array, from: number, D: number): void {
  const r = rowAt(o, b, h, t);
  for (let d = 0; d < D; d++) o.data[r + d] = src[from + d]!;
}

/** Whether key j of batch entry b is a real token (not padding). */
function keyVisible(spec: AttentionSpec, b: number, j: number): boolean {
  return !spec.keyMask || spec.keyMask[b * spec.tk + j] !== 0;
}

/** The additive bias of score (b, h, i, j), 0 without one. */
function biasValue(spec: AttentionSpec, b: number, h: number, i: number, j: number): number {
  const o = spec.bias;
  return o ? o.data[o.offset + b * o.sb + h * o.sh + i * o.st + j]! : 0;
}

/** ξ of head h of batch entry b: the head mask (H) or (B, H), 1 without one. */
function headMaskValue(spec: AttentionSpec, b: number, h: number): number {
  const m = spec.headMask;
  if (!m) return 1;
  return m.length === spec.heads ? m[h]! : m[b * spec.heads + h]!;
}
