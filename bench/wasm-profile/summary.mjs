// Min-max ranges over the runs profile.mjs wrote with --json (see run.sh).
import { readFileSync } from 'node:fs';

const runs = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const range = (xs, digits = 1) => {
  const lo = Math.min(...xs).toFixed(digits), hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? lo : `${lo}-${hi}`;
};
for (const signing of [false, true]) {
  const rs = runs.filter((r) => r.filterSigning === signing);
  if (!rs.length) continue;
  console.log(`\n## ${signing ? 'upstream signing in the filter' : 'signing left to Envoy'} ` +
    `(${rs.length} runs of ${rs[0].requests} requests): µs per request`);
  console.log(`  plain loop (wasm + mock host + driver)  ${range(rs.map((r) => r.loopUs))}`);
  console.log(`  per callback: callback (incl. mock host) / wasm side`);
  for (const p of Object.keys(rs[0].phaseUs)) {
    console.log(`    ${p.padEnd(36)}  ${range(rs.map((r) => r.phaseUs[p]), 2)} / ${range(rs.map((r) => r.wasmPhaseUs[p]), 2)}`);
  }
  console.log(`  mock host JS                            ${range(rs.map((r) => r.hostUs))}`);
  console.log(`  wasm side (callbacks - host)            ${range(rs.map((r) => r.wasmUs))}`);
  console.log(`  wasm side (profile share x loop)        ${range(rs.map((r) => r.profileWasmUs))}`);
  console.log(`  profile: wasm share of samples          ${range(rs.map((r) => (100 * r.profileShares.wasm) / r.totalHits))}%`);
  console.log(`  host calls per request:`);
  for (const [k, n] of Object.entries(rs[0].callsPerRequest)) console.log(`    ${n}  ${k}`);
  console.log(`  top wasm functions, self time % of wasm samples (min-max over runs)`);
  for (const { name } of rs[0].topWasm) {
    const pcts = rs.map((r) => (r.wasmSelf ?? r.topWasm).find((t) => t.name === name)?.pctOfWasm ?? 0);
    console.log(`    ${range(pcts).padStart(9)}%  ${name}`);
  }
}
