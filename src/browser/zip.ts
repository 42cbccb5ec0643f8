// A minimal ZIP writer (the "stored" method: no compression), so a trained model folder downloads as one
// file. Safetensors weights are random-looking floats that deflate would barely shrink, so storing is the
// honest choice and keeps this file short. Format: PKWARE APPNOTE 6.3.x, sections 4.3.7 (local file header),
// 4.3.12 (central directory header) and 4.3.16 (end of central directory record); all numbers little-endian.
//
//   const zip = zipFiles(new Map([['shakespeare/config.json', bytes], ...]));   // → Uint8Array
//
// Does not handle: archives or files over 4 GiB (ZIP64), compression, timestamps (all files get 1980-01-01).

/** CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum ZIP stores for every file. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Example: `crc32(new TextEncoder().encode('123456789'))` → 0xcbf43926. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const LIMIT = 0xffffffff;
const DOS_DATE_1980_01_01 = (0 << 9) | (1 << 5) | 1; // year-1980 (7 bits) | month (4) | day (5)

/** A ZIP archive of `files` (path inside the archive → bytes), in the map's order. */
export function zipFiles(files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const encoder = new TextEncoder();
  const entries = [...files].map(([path, data]) => ({ name: encoder.encode(path), data, crc: crc32(data), offset: 0 }));
  let size = 22; // end record
  for (const e of entries) {
    if (e.data.length >= LIMIT) throw new Error(`zipFiles: ${new TextDecoder().decode(e.name)} is ${e.data.length} bytes; files of 4 GiB or more need ZIP64, which this writer does not do`);
    size += 30 + e.name.length + e.data.length + 46 + e.name.length;
  }
  if (size >= LIMIT) throw new Error(`zipFiles: the archive would be ${size} bytes; 4 GiB or more needs ZIP64`);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  const u16 = (v: number) => {
    view.setUint16(at, v, true);
    at += 2;
  };
  const u32 = (v: number) => {
    view.setUint32(at, v, true);
    at += 4;
  };
  const put = (bytes: Uint8Array) => {
    out.set(bytes, at);
    at += bytes.length;
  };
  // Shared by both headers: version needed 2.0, flags bit 11 (names are UTF-8), method 0 (stored), time, date, crc, sizes.
  const common = (e: (typeof entries)[number]) => {
    u16(20);
    u16(0x0800);
    u16(0);
    u16(0);
    u16(DOS_DATE_1980_01_01);
    u32(e.crc);
    u32(e.data.length);
    u32(e.data.length);
    u16(e.name.length);
  };
  for (const e of entries) {
    e.offset = at;
    u32(0x04034b50); // local file header signature
    common(e);
    u16(0); // extra field length
    put(e.name);
    put(e.data);
  }
  const dirStart = at;
  for (const e of entries) {
    u32(0x02014b50); // central directory header signature
    u16(20); // version made by
    common(e);
    u16(0); // extra field length
    u16(0); // comment length
    u16(0); // disk number
    u16(0); // internal attributes
    u32(0); // external attributes
    u32(e.offset);
    put(e.name);
  }
  const dirSize = at - dirStart;
  u32(0x06054b50); // end of central directory signature
  u16(0);
  u16(0);
  u16(entries.length);
  u16(entries.length);
  u32(dirSize);
  u32(dirStart);
  u16(0); // comment length
  return out;
}
