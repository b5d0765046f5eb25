/** Rebuilds src/motion/diff-cells.wasm.ts from src/motion/diff-cells.wat (needs the wabt devDependency). */
import { writeFile } from 'node:fs/promises';
import { compileWat, renderWasmModule, WASM_MODULE, WAT_SOURCE } from './lib/wasm-module.js';

const bytes = await compileWat(WAT_SOURCE);
await writeFile(WASM_MODULE, renderWasmModule(bytes));
process.stderr.write(`${WASM_MODULE}: ${bytes.length} bytes of WebAssembly\n`);
