// Type declarations for the parts of the WebAssembly JS API attn uses.
//
// The project compiles with lib ES2022 and @types/node 20, and neither declares the WebAssembly global
// (TypeScript puts it in the DOM lib). Rather than pull in all of DOM for a Node library, these few lines
// describe exactly what the WebAssembly backend (and bench/_common.ts) touch. If the project ever adds
// "DOM" to its libs, delete this file.

declare global {
  namespace WebAssembly {
    type ImportValue = Memory | ((...args: number[]) => number | void) | number;
    type Imports = Record<string, Record<string, ImportValue>>;
    type ExportValue = ((...args: number[]) => number | void) | Memory | Global;

    interface ModuleImportDescriptor {
      module: string;
      name: string;
      kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
    }

    class Module {
      constructor(bytes: ArrayBufferView | ArrayBuffer);
      static imports(module: Module): ModuleImportDescriptor[];
    }

    class Instance {
      constructor(module: Module, imports?: Imports);
      readonly exports: Record<string, ExportValue>;
    }

    interface MemoryDescriptor {
      /** Size in 64 KiB pages. */
      initial: number;
      maximum?: number;
      shared?: boolean;
    }

    class Memory {
      constructor(descriptor: MemoryDescriptor);
      /** An ArrayBuffer, or a SharedArrayBuffer for shared memories; replaced by a longer one after grow(). */
      readonly buffer: ArrayBuffer | SharedArrayBuffer;
      /** Grow by `delta` pages; returns the previous size in pages; throws RangeError past the maximum. */
      grow(delta: number): number;
    }

    class Global {
      readonly value: number;
    }

    class RuntimeError extends Error {}
    class CompileError extends Error {}

    function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  }
}

export {};
