// A .wasm import is bundled by esbuild's "binary" loader: the file's bytes (see kernel_bytes.ts).
declare module '*.wasm' {
  const bytes: Uint8Array<ArrayBuffer>;
  export default bytes;
}
