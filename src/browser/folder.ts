// A model folder in a browser: files under a URL (fetched, with progress, kept in the Cache API so a second
// visit works offline) or files the user picked (<input type="file" webkitdirectory>, drag and drop).
// Both look the same to the loader: ask for a file by name, get its bytes or text, or null when the folder
// has no such file.
//
//   const folder = openFolder('https://huggingface.co/gpt2/resolve/main/');  // or openFolder(input.files)
//   const config = await folder.text('config.json');                         // null when missing
//   const bytes = await folder.bytes('model.safetensors', (p) => bar(p.loaded / p.total));
//
// Errors say which file and what went wrong (HTTP status, a dropped connection with the byte counts), and
// nothing waits forever: a download that stalls for `stallSeconds` is aborted with an error.
//
// Does not handle: authentication (private Hub repos need a token header: pass your own `fetch`), sharded
// checkpoints, resuming a broken download.

/** Download progress of one file. `total` is null when the server did not say (no Content-Length). */
export interface FileProgress {
  file: string;
  loaded: number;
  total: number | null;
  /** Served from the Cache API (no network). */
  cached: boolean;
}

/** Where a folder comes from: a base URL, or files the user picked (FileList, File[], or name → Blob). */
export type FolderSource = string | URL | FileList | readonly File[] | ReadonlyMap<string, Blob>;

export interface FolderOptions {
  /**
   * Keep downloaded files in the Cache API under this cache name (default 'attn-models'), so loading the
   * same URL again needs no network; false: always download. Only complete, successful responses are kept.
   */
  cache?: string | false;
  /** The fetch to use (default: the global one); pass a wrapper to add headers such as Authorization. */
  fetch?: typeof fetch;
  /** Abort a download that receives nothing for this long (default 60 s). */
  stallSeconds?: number;
}

export interface Folder {
  /** For messages: the URL or "picked files". */
  readonly where: string;
  /** A file's bytes, or null when the folder has no such file. */
  bytes(name: string, onProgress?: (p: FileProgress) => void): Promise<Uint8Array | null>;
  /** A file's text (UTF-8), or null when the folder has no such file. */
  text(name: string): Promise<string | null>;
  /** Each file's bytes as it arrives, for a parser that checks early (model.safetensors); null when missing. */
  stream(name: string, onProgress?: (p: FileProgress) => void): Promise<ByteStream | null>;
}

/** A file arriving in chunks: `size` from the server when known. */
export interface ByteStream {
  readonly name: string;
  readonly size: number | null;
  /** Chunks in order; throws a descriptive error when the transfer breaks off. */
  chunks(): AsyncGenerator<Uint8Array, void, undefined>;
}

const DEFAULT_CACHE = 'attn-models';

/** Open a folder by URL or picked files. Example: `openFolder('/models/shakespeare/')`. */
export function openFolder(source: FolderSource, opts: FolderOptions = {}): Folder {
  if (typeof source === 'string' || source instanceof URL) return urlFolder(source, opts);
  return fileFolder(source);
}

// ---------------------------------------------------------------------------------------------------------
// A folder of picked files

function fileFolder(source: FileList | readonly File[] | ReadonlyMap<string, Blob>): Folder {
  // Picked folders carry paths ("gpt2/config.json"); the loader asks by base name.
  const byName = new Map<string, Blob>();
  if (source instanceof Map) for (const [name, blob] of source) byName.set(baseName(name), blob);
  else for (const f of Array.from(source as ArrayLike<File>)) byName.set(baseName(f.name), f);
  const where = `the picked files (${[...byName.keys()].sort().join(', ') || 'none'})`;
  const stream = async (name: string, onProgress?: (p: FileProgress) => void): Promise<ByteStream | null> => {
    const blob = byName.get(name);
    if (!blob) return null;
    return {
      name,
      size: blob.size,
      async *chunks() {
        const reader = blob.stream().getReader();
        let loaded = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          loaded += value.length;
          onProgress?.({ file: name, loaded, total: blob.size, cached: false });
          yield value;
        }
      },
    };
  };
  return {
    where,
    stream,
    bytes: async (name, onProgress) => {
      const s = await stream(name, onProgress);
      return s ? collect(s) : null;
    },
    text: async (name) => {
      const blob = byName.get(name);
      return blob ? blob.text() : null;
    },
  };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

// ---------------------------------------------------------------------------------------------------------
// A folder under a URL

function urlFolder(base: string | URL, opts: FolderOptions): Folder {
  const href = String(base);
  // "…/gpt2" and "…/gpt2/" both mean the folder: file URLs resolve against the folder with its slash.
  const folderUrl = new URL(href.endsWith('/') ? href : `${href}/`, globalThis.location?.href);
  const doFetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const cacheName = opts.cache === undefined ? DEFAULT_CACHE : opts.cache;
  const stallMs = (opts.stallSeconds ?? 60) * 1000;

  const open = async (name: string): Promise<{ response: Response; url: string; cached: boolean } | null> => {
    const url = new URL(name, folderUrl).href;
    const cache = cacheName !== false && typeof caches !== 'undefined' ? await caches.open(cacheName).catch(() => null) : null;
    const hit = cache ? await cache.match(url) : undefined;
    if (hit) return hit.status === 404 ? null : { response: hit, url, cached: true };
    let response: Response;
    try {
      response = await doFetch(url);
    } catch (e) {
      throw new Error(`${url}: could not be fetched (${(e as Error).message}); is the server reachable, and does it allow this page (CORS)?`);
    }
    if (response.status === 404) {
      // Remembered too: offline, "this folder has no tokenizer.json" must still be known.
      if (cache) await cache.put(url, response).catch(() => {});
      return null;
    }
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
    if (cache) {
      // Stored from a copy of the body as it streams; a broken transfer makes put() fail, so it is not kept.
      const copy = response.clone();
      cache.put(url, copy).catch(() => {});
    }
    return { response, url, cached: false };
  };

  const stream = async (name: string, onProgress?: (p: FileProgress) => void): Promise<ByteStream | null> => {
    const got = await open(name);
    if (!got) return null;
    const { response, url, cached } = got;
    // Content-Length counts the bytes on the wire; with a Content-Encoding (gzip) that is not the file size.
    const length = response.headers.get('content-length');
    const size = length !== null && !response.headers.get('content-encoding') ? Number(length) : null;
    const body = response.body;
    if (!body) throw new Error(`${url}: the response has no body`);
    return {
      name,
      size,
      async *chunks() {
        const reader = body.getReader();
        let loaded = 0;
        for (;;) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const stalled = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`${url}: no data for ${stallMs / 1000} s after ${loaded} bytes; download aborted`)), stallMs);
          });
          let result: ReadableStreamReadResult<Uint8Array>;
          try {
            result = await Promise.race([reader.read(), stalled]);
          } catch (e) {
            reader.cancel().catch(() => {});
            const msg = (e as Error).message;
            if (msg.startsWith(url)) throw e;
            throw new Error(`${url}: the download broke off after ${loaded}${size !== null ? ` of ${size}` : ''} bytes (${msg}); the file is incomplete`);
          } finally {
            clearTimeout(timer);
          }
          if (result.done) {
            if (size !== null && loaded !== size) {
              throw new Error(`${url}: the download ended after ${loaded} of ${size} bytes; the file is incomplete`);
            }
            return;
          }
          loaded += result.value.length;
          onProgress?.({ file: name, loaded, total: size, cached });
          yield result.value;
        }
      },
    };
  };

  return {
    where: folderUrl.href,
    stream,
    bytes: async (name, onProgress) => {
      const s = await stream(name, onProgress);
      return s ? collect(s) : null;
    },
    text: async (name) => {
      const bytes = await (async () => {
        const s = await stream(name);
        return s ? collect(s) : null;
      })();
      return bytes === null ? null : new TextDecoder().decode(bytes);
    },
  };
}

/** All of a stream's bytes in one array (sized once when the length is known). */
export async function collect(s: ByteStream): Promise<Uint8Array> {
  if (s.size !== null) {
    const out = new Uint8Array(s.size);
    let at = 0;
    for await (const chunk of s.chunks()) {
      if (at + chunk.length > out.length) throw new Error(`${s.name}: received more than the announced ${s.size} bytes`);
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of s.chunks()) {
    parts.push(chunk);
    n += chunk.length;
  }
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
