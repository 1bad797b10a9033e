// Times the footer work of a wasm build under Node's V8 (the engine Envoy embeds). Two builds:
// - parquet-footer (the `parquet` crate): `mask_footer_len(ptr, len)` on the footer's bytes;
// - parquet-codec (s3gate-core's focused codec): `mask_tail_len(ptr, len, object_size)` on the
//   object's tail (footer, length, magic) and its size: the masked view's overlay.
// node bench/parquet-footer/time_wasm.mjs target/bench/wasm32-wasip1/release/s3gate_bench_parquet_footer.wasm /tmp/rg1000.parquet
// node bench/parquet-footer/time_wasm.mjs target/bench/wasm32-wasip1/release/s3gate_bench_parquet_codec.wasm /tmp/rg1000.parquet
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [wasmPath, parquetPath] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1" });
const module = await WebAssembly.compile(readFileSync(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
wasi.initialize(instance);
const file = readFileSync(parquetPath);
const len = file.readUInt32LE(file.length - 8);
const { alloc, memory, mask_footer_len, mask_tail_len } = instance.exports;
let call, what, input;
if (mask_tail_len) {
  input = file.subarray(file.length - 8 - len);
  what = "focused codec: masked view (2 columns null) of";
  call = (ptr) => mask_tail_len(ptr, input.length, BigInt(file.length));
} else {
  input = file.subarray(file.length - 8 - len, file.length - 8);
  what = "parquet crate: decode + mask 1 column + encode";
  call = (ptr) => mask_footer_len(ptr, input.length);
}
const ptr = alloc(input.length);
new Uint8Array(memory.buffer, ptr, input.length).set(input);
call(ptr); // warm up: compiled by TurboFan on use
const runs = 10;
const times = [];
let out = 0;
for (let i = 0; i < runs; i++) {
  const start = process.hrtime.bigint();
  out = call(ptr);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
times.sort((a, b) => a - b);
const mean = times.reduce((a, b) => a + b, 0) / runs;
console.log(`wasm (V8): ${what} ${len} bytes of footer: mean ${mean.toFixed(1)} ms, min ${times[0].toFixed(1)} ms, median ${times[runs >> 1].toFixed(1)} ms (${out} out)`);
