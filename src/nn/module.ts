// Module: the base class of every layer and model. It finds parameters by walking the object's own fields,
// so a model declares its layers as ordinary fields and gets checkpoint-style names for free:
//
//   class Block extends Module { ln_1 = new LayerNorm(C); attn = new Attention(...); }
//   class GPT extends Module { wte = new Embedding(V, C); h = [new Block(), new Block()]; }
//   gpt.namedParameters()  // [['wte.weight', …], ['h.0.ln_1.weight', …], …]
//
// Rules of the walk, in field order: a Tensor field is a parameter; a Module field is walked with its name
// as a prefix; an array of Modules or Tensors uses the index (`h.0`, `h.1`, …). Fields whose name starts
// with '_' are skipped (caches, buffers, back-references). A tensor reachable under two names (tied
// weights) is listed once, under the first name.
import { getBackend } from '../backend/index.js';
import { fromStorage, Tensor } from '../tensor/index.js';

export class Module {
  /** Training mode (dropout active). New modules start in training mode, as in PyTorch. */
  training = true;

  /** Every parameter once, in field order. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * Replace the parameter called `name` (as namedParameters() names it) by `value`, which must have the same
   * shape: checkpoint loading adopts the arrays it read instead of copying them into the old ones.
   * Example: `model.setParameter('ln_f.weight', fromStorage(data, [768], { requiresGrad: true }))`.
   */
  setParameter(name: string, value: Tensor): void {
    const path = name.split('.');
    let owner: unknown = this;
    for (const key of path.slice(0, -1)) {
      owner = Array.isArray(owner) ? owner[Number(key)] : (owner as Record<string, unknown> | undefined)?.[key];
      if (owner === undefined) throw new RangeError(`setParameter: no parameter '${name}' (nothing at '${key}')`);
    }
    const last = path[path.length - 1]!;
    const container = owner as Record<string, unknown>;
    const old = container[last];
    if (!(old instanceof Tensor)) throw new RangeError(`setParameter: '${name}' is not a parameter of this module`);
    if (old.shape.length !== value.shape.length || old.shape.some((d, i) => d !== value.shape[i])) {
      throw new RangeError(`setParameter: '${name}' has shape [${old.shape.join(', ')}], the new value [${value.shape.join(', ')}]`);
    }
    container[last] = value;
  }

  /**
   * Give every parameter fresh storage where the backend computes (Backend.allocate: inside WebAssembly memory,
   * where matmul reads weights in place) and fill it with `init(name, data, shape)` (data starts as zeros).
   * Models call this for their own initialisation, after building their layers with init switched off
   * (setInitEnabled(false)), so no parameter is ever held twice.
   * Example: `model.initParameters((name, data) => { if (name.endsWith('.weight')) data.fill(1); })`.
   */
  initParameters(init: (name: string, data: Float32Array, shape: readonly number[]) => void): void {
    const be = getBackend();
    for (const [name, p] of this.namedParameters()) {
      const data = be.allocate(p.size);
      init(name, data, p.shape);
      // Buffers (tensors without requiresGrad, like Marian's final_logits_bias) stay buffers.
      this.setParameter(name, fromStorage(data, p.shape, { requiresGrad: p.requiresGrad }));
    }
  }

  /** [name, tensor] pairs with dotted names like `h.0.attn.c_attn.weight`. */
  namedParameters(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seenTensors = new Set<Tensor>();
    const seenModules = new Set<Module>();
    const visit = (m: Module, prefix: string): void => {
      if (seenModules.has(m)) return;
      seenModules.add(m);
      const addTensor = (name: string, t: Tensor): void => {
        if (seenTensors.has(t)) return;
        seenTensors.add(t);
        out.push([name, t]);
      };
      for (const [key, value] of Object.entries(m)) {
        if (key.startsWith('_')) continue;
        if (value instanceof Tensor) addTensor(prefix + key, value);
        else if (value instanceof Module) visit(value, `${prefix}${key}.`);
        else if (Array.isArray(value)) {
          value.forEach((item: unknown, i: number) => {
            if (item instanceof Tensor) addTensor(`${prefix}${key}.${i}`, item);
            else if (item instanceof Module) visit(item, `${prefix}${key}.${i}.`);
          });
        }
      }
    };
    visit(this, '');
    return out;
  }

  /** Child modules (direct and nested) with their dotted names, this module first as ''. */
  namedModules(): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, name: string): void => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      const prefix = name === '' ? '' : `${name}.`;
      for (const [key, value] of Object.entries(m)) {
        if (key.startsWith('_')) continue;
        if (value instanceof Module) visit(value, prefix + key);
        else if (Array.isArray(value)) {
          value.forEach((item: unknown, i: number) => {
            if (item instanceof Module) visit(item, `${prefix}${key}.${i}`);
          });
        }
      }
    };
    visit(this, '');
    return out;
  }

  /** Sets training mode on this module and every child (dropout on/off). */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  /** Same as train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Clears every parameter's gradient (sets .grad to null). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Total number of parameter elements (tied weights counted once). */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.size;
    return n;
  }
}
