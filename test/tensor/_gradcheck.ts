// Finite-difference gradient checking: the outside oracle for every op's backward.
//
// For a function f of tensors, pick fixed random weights w and look at the scalar L = Σ f(x)·w. The analytic
// gradient comes from backward() with grad = w; the numeric one perturbs each input element by ±h and takes
// the central difference (L(x+h) − L(x−h)) / (2h), with L summed in float64 so float32 rounding of the output
// hardly matters. The actual step is measured after rounding x±h to float32.
import assert from 'node:assert/strict';
import { noGrad, Rng, Tensor, tensor } from '../../src/tensor/index.js';

export interface GradcheckOptions {
  /** Perturbation (default 1e-2). */
  h?: number;
  atol?: number;
  rtol?: number;
}

/** A float32 leaf with uniform values in [lo, hi), requiring grad. */
export function leaf(shape: number[], seed: number, lo = -1, hi = 1): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * rng.uniform();
  return tensor(data, shape, { requiresGrad: true });
}

/** Like leaf, but every value at least `gap` away from 0 (for kinks like relu, or division). */
export function leafAwayFromZero(shape: number[], seed: number, gap = 0.2, mag = 1.5): Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (rng.uniform() < 0.5 ? -1 : 1) * (gap + (mag - gap) * rng.uniform());
  return tensor(data, shape, { requiresGrad: true });
}

function weightedSum(out: Tensor, w: Float32Array): number {
  const o = out.toFloat32Array();
  let s = 0;
  for (let i = 0; i < o.length; i++) s += o[i] * w[i];
  return s;
}

/**
 * Checks the gradient of f with respect to every input that requires grad. Returns the number of elements
 * checked (so callers can see the check was not vacuous).
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): number {
  const { h = 1e-2, atol = 1e-3, rtol = 3e-3 } = opts;
  for (const x of inputs) x.grad = null;
  const out = f(...inputs);
  assert.ok(out.requiresGrad, 'gradcheck: output does not require grad');
  const rng = new Rng(1234);
  const w = new Float32Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = 2 * rng.uniform() - 1;
  out.backward(tensor(w, [...out.shape]));

  let checked = 0;
  for (let k = 0; k < inputs.length; k++) {
    const x = inputs[k];
    if (!x.requiresGrad) continue;
    assert.ok(x.grad, `gradcheck: input ${k} got no gradient`);
    const analytic = x.grad.toFloat32Array();
    const data = x.data as Float32Array;
    for (let i = 0; i < x.size; i++) {
      // Every in-place write bumps the version, as the Backend contract requires (packed-weight caches).
      const orig = data[i];
      data[i] = orig + h;
      x.version++;
      const up = data[i];
      const lPlus = noGrad(() => weightedSum(f(...inputs), w));
      data[i] = orig - h;
      x.version++;
      const down = data[i];
      const lMinus = noGrad(() => weightedSum(f(...inputs), w));
      data[i] = orig;
      x.version++;
      const numeric = (lPlus - lMinus) / (up - down);
      const err = Math.abs(numeric - analytic[i]);
      if (!(err <= atol + rtol * Math.abs(numeric))) {
        assert.fail(`gradient mismatch for input ${k} ${JSON.stringify(x.shape)} at element ${i}: analytic ${analytic[i]}, numeric ${numeric} (|diff| ${err.toExponential(2)})`);
      }
      checked++;
    }
  }
  assert.ok(checked > 0, 'gradcheck: no input required grad');
  return checked;
}
