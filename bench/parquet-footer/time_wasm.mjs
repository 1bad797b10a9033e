// Times mask_footer_len of the wasm build under Node's V8 (the engine Envoy embeds):
// node bench/parquet-footer/time_wasm.mjs target/bench/wasm32-wasip1/release/s3gate_bench_parquet_footer.wasm /tmp/rg1000.parquet
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [wasmPath, parquetPath] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1" });
const module = await WebAssembly.compile(readFileSync(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.initialize(instance);
const file = readFileSync(parquetPath);
const len = file.readUInt32LE(file.length - 8);
const footer = file.subarray(file.length - 8 - len, file.length - 8);
const { alloc, mask_footer_len, memory } = instance.exports;
const ptr = alloc(footer.length);
new Uint8Array(memory.buffer, ptr, footer.length).set(footer);
mask_footer_len(ptr, footer.length); // warm up: compiled by TurboFan on use
const runs = 10;
const start = process.hrtime.bigint();
let out = 0;
for (let i = 0; i < runs; i++) out = mask_footer_len(ptr, footer.length);
const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs;
console.log(`wasm (V8): decode + mask + encode ${ms.toFixed(1)} ms per footer of ${footer.length} bytes (${out} out)`);
