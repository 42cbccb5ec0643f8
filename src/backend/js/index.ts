// The reference backend: plain TypeScript loops, one thread, no tricks beyond a cache-friendly loop order.
//
// This file is the oracle the WebAssembly backend is tested against, so it is written to be read: every
// kernel is the textbook formula with its indexing spelled out. It is also what runs when WebAssembly is not
// available, so the loops are ordered so that the innermost one walks memory with stride 1.
//
// Shape letters: B batch, M/N/K matmul dims, H heads, Tq query length, Tk key length, D head size.
import type { AttentionForwardResult, AttentionSpec, Backend, LayerNormSpec, LinearSpec, MatmulSpec, RowsSpec } from '../backend.js';
import { dropKeeps, dropoutOf } from '../backend.js';

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
  }

  /**
   * out = softmax(scale·q·kᵀ + mask)·v, one query row at a time:
   *   s_j   = scale · q_i·k_j             for each visible key j
   *   lse_i = log Σ_j exp(s_j)             (computed as m + log Σ exp(s_j - m), m = max s_j, for stability)
   *   p_j   = exp(s_j - lse_i)
   *   out_i = Σ_j p_j v_j
   * A row with no visible key gets out = 0, lse = -Infinity and an all-zero weights row.
   */
  attentionForward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    spec: AttentionSpec,
    returnWeights: boolean,
  ): AttentionForwardResult {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale } = spec;
    const drop = dropoutOf(spec);
    const out = new Float32Array(B * H * Tq * D); // (B, H, Tq, D)
    const lse = new Float32Array(B * H * Tq); // (B, H, Tq)
    const weights = returnWeights ? new Float32Array(B * H * Tq * Tk) : undefined; // (B, H, Tq, Tk)
    const s = new Float64Array(Tk); // scores of one query row
    const visible = new Uint8Array(Tk);

    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        const qBase = bh * Tq * D; // q[b, h] is (Tq, D)
        const kvBase = bh * Tk * D; // k[b, h], v[b, h] are (Tk, D)
        for (let i = 0; i < Tq; i++) {
          const row = bh * Tq + i;
          const qRow = qBase + i * D;
          const nVisible = visibleKeys(spec, b, i, visible);
          if (nVisible === 0) {
            lse[row] = -Infinity; // out row and weights row stay 0
            continue;
          }
          // Scores and their max.
          let mx = -Infinity;
          for (let j = 0; j < Tk; j++) {
            if (!visible[j]) continue;
            const kRow = kvBase + j * D;
            let dot = 0;
            for (let d = 0; d < D; d++) dot += q[qRow + d] * k[kRow + d];
            s[j] = scale * dot;
            if (s[j] > mx) mx = s[j];
          }
          let sum = 0;
          for (let j = 0; j < Tk; j++) if (visible[j]) sum += Math.exp(s[j] - mx);
          const l = mx + Math.log(sum);
          lse[row] = l;
          // out_i = Σ_j p_j v_j  (with dropout, p_j · keep_ij / (1 − p_drop))
          const oRow = row * D;
          for (let j = 0; j < Tk; j++) {
            if (!visible[j]) continue;
            let p = Math.exp(s[j] - l);
            if (weights) weights[row * Tk + j] = p;
            if (drop) p *= dropKeeps(drop.seedHash, row * Tk + j, drop.threshold) ? drop.scale : 0;
            const vRow = kvBase + j * D;
            for (let d = 0; d < D; d++) out[oRow + d] += p * v[vRow + d];
          }
        }
      }
    }
    return weights ? { out, lse, weights } : { out, lse };
  }

  /**
   * Backward of attention, rebuilding the probabilities from lse instead of storing them (as FlashAttention):
   *   p_ij  = exp(s_ij - lse_i)
   *   dv_j += p_ij · dOut_i
   *   dp_ij = dOut_i · v_j
   *   Δ_i   = Σ_j p_ij dp_ij = dOut_i · out_i          (the softmax backward's row term)
   *   ds_ij = p_ij (dp_ij - Δ_i)
   *   dq_i += scale · Σ_j ds_ij k_j ;  dk_j += scale · ds_ij q_i
   * Rows that saw no key (lse = -Infinity) contribute nothing. With dropout (mask m_ij = keep/(1 − p_drop),
   * p̃ = p·m the probabilities the forward used): dv_j += p̃_ij dOut_i, dp_ij = m_ij (dOut_i · v_j), and Δ_i
   * is still dOut_i · out_i.
   */
  attentionBackward(
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    out: Float32Array,
    lse: Float32Array,
    dOut: Float32Array,
    spec: AttentionSpec,
  ): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
    const { batch: B, heads: H, tq: Tq, tk: Tk, headDim: D, scale } = spec;
    const drop = dropoutOf(spec);
    const dq = new Float32Array(B * H * Tq * D); // (B, H, Tq, D)
    const dk = new Float32Array(B * H * Tk * D); // (B, H, Tk, D)
    const dv = new Float32Array(B * H * Tk * D); // (B, H, Tk, D)
    const visible = new Uint8Array(Tk);

    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        const qBase = bh * Tq * D;
        const kvBase = bh * Tk * D;
        for (let i = 0; i < Tq; i++) {
          const row = bh * Tq + i;
          const l = lse[row];
          if (l === -Infinity) continue;
          visibleKeys(spec, b, i, visible);
          const qRow = qBase + i * D;
          // Δ_i = dOut_i · out_i
          let delta = 0;
          for (let d = 0; d < D; d++) delta += dOut[qRow + d] * out[qRow + d];
          for (let j = 0; j < Tk; j++) {
            if (!visible[j]) continue;
            const kRow = kvBase + j * D;
            let dot = 0; // q_i · k_j
            let dp = 0; // dOut_i · v_j
            for (let d = 0; d < D; d++) {
              dot += q[qRow + d] * k[kRow + d];
              dp += dOut[qRow + d] * v[kRow + d];
            }
            const p = Math.exp(scale * dot - l);
            const m = drop ? (dropKeeps(drop.seedHash, row * Tk + j, drop.threshold) ? drop.scale : 0) : 1;
            const ds = p * (m * dp - delta) * scale; // includes the scale of s = scale · q·k
            for (let d = 0; d < D; d++) {
              dv[kRow + d] += p * m * dOut[qRow + d];
              dq[qRow + d] += ds * k[kRow + d];
              dk[kRow + d] += ds * q[qRow + d];
            }
          }
        }
      }
    }
    return { dq, dk, dv };
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
   * Packed self-attention, spelled out: copy q, k, v out of qkv (B, T, 3, H, D) into (B, H, T, D) arrays,
   * run attentionForward, and copy out (B, H, T, D) back to (B, T, H, D). The WebAssembly backend reads and
   * writes the packed rows in place instead.
   */
  attentionPackedForward(qkv: Float32Array, spec: AttentionSpec, returnWeights: boolean): AttentionForwardResult {
    const [q, k, v] = unpackHeads(qkv, spec, 3);
    const res = this.attentionForward(q!, k!, v!, spec, returnWeights);
    return { ...res, out: packHeads([res.out], spec) };
  }

  /** dqkv (B, T, 3, H, D) from the split-head backward, packed the same way. */
  attentionPackedBackward(qkv: Float32Array, out: Float32Array, lse: Float32Array, dOut: Float32Array, spec: AttentionSpec, dqkv: Float32Array): void {
    const [q, k, v] = unpackHeads(qkv, spec, 3);
    const [o] = unpackHeads(out, spec, 1);
    const [g] = unpackHeads(dOut, spec, 1);
    const { dq, dk, dv } = this.attentionBackward(q!, k!, v!, o!, lse, g!, spec);
    dqkv.set(packHeads([dq, dk, dv], spec));
  }

  /**
   * Per row: m = max x, lse = m + log Σ e^(x − m) (subtracting m keeps every e^(·) ≤ 1, so nothing
   * overflows), sumX = Σ x; probs (when given) = e^(x − m) / Σ e^(x − m).
   */
  logSoftmaxRows(x: Float32Array, spec: RowsSpec, lse: Float32Array, sumX: Float32Array, probs: Float32Array | null): void {
    const { rows, cols: V } = spec;
    for (let i = 0; i < rows; i++) {
      const o = i * V;
      let m = -Infinity;
      for (let c = 0; c < V; c++) if (x[o + c] > m) m = x[o + c];
      let s = 0;
      let xs = 0;
      for (let c = 0; c < V; c++) {
        const e = Math.exp(x[o + c] - m);
        if (probs) probs[o + c] = e;
        s += e;
        xs += x[o + c];
      }
      if (probs) for (let c = 0; c < V; c++) probs[o + c] /= s;
      lse[i] = m + Math.log(s);
      sumX[i] = xs;
    }
  }

  /**
   * GELU, tanh form:  y = x·s,  s = ½(1 + tanh u),  u = √(2/π)(x + 0.044715x³).
   * tanh comes from tanhRational below (float32 tanh's accuracy at half the cost of Math.tanh).
   */
  geluTanh(x: Float32Array, out: Float32Array): void {
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      out[i] = v * geluGate(v);
    }
  }

  /**
   * dy/dx = s + x·½(1 − tanh²u)·du/dx = s + 2x·s(1 − s)·du/dx,  du/dx = √(2/π)(1 + 3·0.044715x²),
   * with s recomputed from x (nothing is saved between the passes).
   */
  geluTanhBackward(x: Float32Array, g: Float32Array, gx: Float32Array): void {
    const n = x.length;
    for (let i = 0; i < n; i++) {
      const v = x[i];
      const s = geluGate(v);
      const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * v * v);
      gx[i] = g[i] * (s + 2 * v * s * (1 - s) * du);
    }
  }

  /**
   * Per row of C = spec.cols values:
   *   μ = mean(x),  σ² = mean((x − μ)²),  r = 1/√(σ² + eps),  x̂ = (x − μ)·r,  y = x̂·w + b
   */
  layerNorm(x: Float32Array, w: Float32Array, b: Float32Array, spec: LayerNormSpec, out: Float32Array, mean: Float32Array, rstd: Float32Array): void {
    const { rows, cols: C, eps } = spec;
    for (let r = 0; r < rows; r++) {
      const o = r * C;
      let mu = 0;
      for (let j = 0; j < C; j++) mu += x[o + j];
      mu /= C;
      let v = 0;
      for (let j = 0; j < C; j++) {
        const d = x[o + j] - mu;
        v += d * d;
      }
      const rs = 1 / Math.sqrt(v / C + eps);
      mean[r] = mu;
      rstd[r] = rs;
      for (let j = 0; j < C; j++) out[o + j] = (x[o + j] - mu) * rs * w[j] + b[j];
    }
  }

  /**
   * Per row, with ĝ = g·w (x̂ rebuilt from the saved μ and r):
   *   dx = r · (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),   dw = Σ_rows g·x̂,   db = Σ_rows g
   */
  layerNormBackward(
    x: Float32Array,
    w: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    g: Float32Array,
    spec: LayerNormSpec,
    gx: Float32Array | null,
    gw: Float32Array,
    gb: Float32Array,
  ): void {
    const { rows, cols: C } = spec;
    const sw = new Float64Array(C);
    const sb = new Float64Array(C);
    for (let r = 0; r < rows; r++) {
      const o = r * C;
      const mu = mean[r];
      const rs = rstd[r];
      let meanG = 0; // mean(ĝ)
      let meanGX = 0; // mean(ĝ·x̂)
      for (let j = 0; j < C; j++) {
        const xh = (x[o + j] - mu) * rs;
        const gj = g[o + j];
        const gh = gj * w[j];
        meanG += gh;
        meanGX += gh * xh;
        sw[j] += gj * xh;
        sb[j] += gj;
      }
      if (!gx) continue;
      meanG /= C;
      meanGX /= C;
      // dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), with r·mean(ĝ) and r·mean(ĝ·x̂) taken out of the loop
      const a = rs * meanG;
      const c = rs * meanGX;
      for (let j = 0; j < C; j++) gx[o + j] = rs * g[o + j] * w[j] - a - (x[o + j] - mu) * rs * c;
    }
    gw.set(sw);
    gb.set(sb);
  }

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

/**
 * Marks in `visible` (length Tk) which keys query i of batch b may attend to; returns how many.
 * Query i sits at absolute position pos = Tk - Tq + i. Key j is hidden when
 *   causal and j > pos,  or  window > 0 and pos - j >= window,  or  keyMask[b, j] == 0.
 */
export function visibleKeys(spec: AttentionSpec, b: number, i: number, visible: Uint8Array): number {
  const { tq: Tq, tk: Tk, causal, window, keyMask } = spec;
  const pos = Tk - Tq + i;
  let n = 0;
  for (let j = 0; j < Tk; j++) {
    let ok = true;
    if (causal && j > pos) ok = false;
    else if (window > 0 && pos - j >= window) ok = false;
    else if (keyMask && keyMask[b * Tk + j] === 0) ok = false;
    visible[j] = ok ? 1 : 0;
    if (ok) n++;
  }
  return n;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** s = ½(1 + tanh u) of GELU's tanh form. */
function geluGate(x: number): number {
  return 0.5 + 0.5 * tanhRational(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
}

/**
 * tanh(c) as the rational function Eigen uses for float32 (odd degree-13 over even degree-6 polynomial),
 * exactly ±1 beyond |c| ≥ 7.9988 where float32 tanh rounds to ±1. Within a few float32 ulps of Math.tanh
 * and about twice as fast, which matters when it runs once per GELU element.
 */
function tanhRational(c: number): number {
  if (c >= 7.99881172180175781) return 1;
  if (c <= -7.99881172180175781) return -1;
  const c2 = c * c;
  const p =
    c *
    (4.89352455891786e-3 +
      c2 * (6.37261928875436e-4 + c2 * (1.48572235717979e-5 + c2 * (5.12229709037114e-8 + c2 * (-8.60467152213735e-11 + c2 * (2.00018790482477e-13 + c2 * -2.76076847742355e-16))))));
  const q = 4.89352518554385e-3 + c2 * (2.268434632439e-3 + c2 * (1.18534705686654e-4 + c2 * 1.19825839466702e-6));
  return p / q;
}

/**
 * (B, T, n, H, D) → n arrays (B, H, T, D): part p of row (b, t), head h, is x[((b·T + t)·n + p)·H·D + h·D + d].
 * With n = 3 that splits c_attn's output into q, k, v; with n = 1 it splits an (B, T, C) array into heads.
 */
function unpackHeads(x: Float32Array, spec: AttentionSpec, n: number): Float32Array[] {
  const { batch: B, heads: H, tq: T, headDim: D } = spec;
  const parts = Array.from({ length: n }, () => new Float32Array(B * H * T * D));
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let p = 0; p < n; p++) {
        for (let h = 0; h < H; h++) {
          const src = ((b * T + t) * n + p) * H * D + h * D;
          const dst = ((b * H + h) * T + t) * D;
          parts[p]!.set(x.subarray(src, src + D), dst);
        }
      }
    }
  }
  return parts;
}

/** The inverse of unpackHeads: n arrays (B, H, T, D) → one (B, T, n, H, D). */
function packHeads(parts: Float32Array[], spec: AttentionSpec): Float32Array {
  const { batch: B, heads: H, tq: T, headDim: D } = spec;
  const n = parts.length;
  const x = new Float32Array(B * T * n * H * D);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let p = 0; p < n; p++) {
        for (let h = 0; h < H; h++) {
          const src = ((b * H + h) * T + t) * D;
          x.set(parts[p]!.subarray(src, src + D), ((b * T + t) * n + p) * H * D + h * D);
        }
      }
    }
  }
  return x;
}

