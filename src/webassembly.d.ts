/**
 * The part of the WebAssembly JavaScript API the detector uses. Node has it built in; TypeScript declares it only
 * in its DOM and web-worker libraries, which would bring browser globals into a Node program.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
}
