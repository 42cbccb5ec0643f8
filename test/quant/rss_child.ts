// The child process of rss.test.ts (not a test file itself): load a model folder on the WebAssembly backend,
// generate a few tokens with the KV cache, and print the process's peak resident set size. A fresh process, so
// the peak is that of one model and one generation, nothing else. On Linux the peak is read from /proc (VmHWM, this
// process's own high-water mark): ru_maxrss (process.resourceUsage().maxRSS) survives exec, so there a child
// started by a process that once held more memory reports at least that.
//   node rss_child.js DIR [dtype]   →   {"peak_rss_mb": …, "params": …, "tokens": [...]}
import { setBackend } from '../../src/backend/index.js';
import '../../src/platform/node.js';
import { generate } from '../../src/generate/index.js';
import { stepperFromModel } from '../../src/generate/from_model.js';
import { fromPretrained } from '../../src/models/pretrained.js';
import { existsSync, readFileSync } from 'node:fs';

/** Peak resident set size of this process in MB. */
function peakRssMb(): number {
  if (existsSync('/proc/self/status')) {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  }
  return process.resourceUsage().maxRSS / 1024;
}

const [dir, dtype] = process.argv.slice(2) as [string, 'float32' | 'int8' | 'int4' | undefined];
setBackend('wasm', { threads: 1 });
const { model, config } = fromPretrained(dir, dtype ? { dtype } : {});
const prompt = Array.from({ length: 16 }, (_, i) => (i * 977) % config.vocab_size);
const out = generate(stepperFromModel(model), [prompt], { max_new_tokens: 8, do_sample: false });
process.stdout.write(JSON.stringify({ peak_rss_mb: peakRssMb(), params: model.numParameters(), tokens: Array.from(out.sequences[0]!) }) + '\n');
