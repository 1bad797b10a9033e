// Runs s3gate.wasm under Node's V8 with a small mock proxy-wasm host (ABI 0.2.1) and measures
// where the filter's own wasm time goes on the hot path: a cached, SigV4-signed GET of a 1 KiB
// object. See README.md in this folder.
//
//   node bench/wasm-profile/profile.mjs --wasm target/wasm32-wasip1/release/s3gate.wasm \
//        [--filter-signing] [--requests 200000] [--warmup 20000] [--top 25] [--json OUT]

import { readFileSync, writeFileSync } from 'node:fs';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { WASI } from 'node:wasi';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';

// --- options ------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const WASM = opt('--wasm', 'target/wasm32-wasip1/release/s3gate.wasm');
const FILTER_SIGNING = args.includes('--filter-signing');
const REQUESTS = Number(opt('--requests', 200000));
const WARMUP = Number(opt('--warmup', 20000));
const PROFILED = Number(opt('--profile-requests', Math.min(REQUESTS, 100000)));
const TOP = Number(opt('--top', 25));
const JSON_OUT = opt('--json', null);

// --- the request (as botocore signs it) and the plugin configuration ------------------------------

const ACCESS_KEY = 'alice-demo-key';
const SECRET = 'immuta';
const REGION = 'us-east-1';
const AUTHORITY = '127.0.0.1:10000';
const PATH = '/s3p/immuta/sales/bench/1k.bin';
const EXPECTED_UPSTREAM_PATH = '/acme-warehouse-prod/curated/sales/bench/1k.bin';
const NOW_MS = Math.floor(Date.now() / 1000) * 1000; // the mock clock stands still here
const NOW_NS = BigInt(NOW_MS) * 1000000n;

const sha256 = (s) => createHash('sha256').update(s).digest('hex');
const hmac = (key, s) => createHmac('sha256', key).update(s).digest();
const amzDate = new Date(NOW_MS).toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
const day = amzDate.slice(0, 8);
const scope = `${day}/${REGION}/s3/aws4_request`;
const signingKey = hmac(hmac(hmac(hmac('AWS4' + SECRET, day), REGION), 's3'), 'aws4_request');
const payloadHash = sha256(''); // botocore hashes the (empty) payload over plain http
const canonicalRequest = ['GET', PATH, '', `host:${AUTHORITY}`,
  `x-amz-content-sha256:${payloadHash}`, `x-amz-date:${amzDate}`, '',
  'host;x-amz-content-sha256;x-amz-date', payloadHash].join('\n');
const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
const signature = hmac(signingKey, stringToSign).toString('hex');
const authorization = `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/${scope}, ` +
  `SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${signature}`;

// What Envoy hands the filter: the pseudo-headers, the client's headers, then its own.
const requestHeaders = () => [
  [':authority', AUTHORITY], [':path', PATH], [':method', 'GET'], [':scheme', 'http'],
  ['user-agent', 'Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#6.1 lang/python#3.11.2'],
  ['accept-encoding', 'identity'],
  ['x-amz-date', amzDate], ['x-amz-content-sha256', payloadHash], ['authorization', authorization],
  ['x-forwarded-proto', 'http'], ['x-request-id', randomUUID()],
];
// nginx's answer as the filter sees it in envoy/envoy.yaml: the route has already removed
// `server` and set `x-amz-request-id` to the request's `x-request-id` (added per stream).
const RESPONSE_HEADERS = [
  [':status', '200'], ['date', new Date(NOW_MS).toUTCString()],
  ['content-type', 'application/octet-stream'], ['content-length', '1024'],
  ['last-modified', 'Wed, 25 Nov 2026 10:00:00 GMT'], ['etag', '"6925b7d0-400"'],
  ['accept-ranges', 'bytes'],
];

// envoy/envoy.yaml's s3gate listener.
const upstreamDemo = { cluster: 's3_demo', authority: 's3.demo.internal' };
if (FILTER_SIGNING) upstreamDemo.sign = { region: REGION };
const PLUGIN_CONFIG = JSON.stringify({
  bucket: 'immuta', path_prefix: '/s3p', virtual_host_domain: 'localhost',
  policy_cluster: 'policy', policy_authority: 's3gate-policy', policy_timeout_ms: 2000,
  negative_cache_seconds: 5, legacy_seed_auth: true,
  upstream_cluster_header: 'x-s3gate-upstream', upstreams: { demo: upstreamDemo },
});
const WASI_ENV = FILTER_SIGNING
  ? { AWS_ACCESS_KEY_ID: 'GATEWAYKEYEXAMPLE', AWS_SECRET_ACCESS_KEY: 'gateway/secret/EXAMPLE' }
  : {};

// The policy service's answer (core/src/policy/entitlements.rs), for the bench's policies (bench/run.py):
// sales and documents, housekeeping files hidden, the signing key for the request's scope.
const ENTITLEMENTS = JSON.stringify({
  principal: 'alice', enabled: true, ttl_seconds: 60,
  data_sources: [
    { name: 'documents', upstream: 'demo', bucket: 'acme-docs-archive',
      prefix: 'archive/documents/', format: 'binary', hidden: ['_SUCCESS', '*.crc'] },
    { name: 'sales', upstream: 'demo', bucket: 'acme-warehouse-prod',
      prefix: 'curated/sales/', format: 'csv', hidden: ['_SUCCESS', '*.crc'] },
  ],
  policy_version: sha256('policies'), token_key: sha256('token'),
  signing_key: signingKey.toString('hex'),
});

// --- the mock host --------------------------------------------------------------------------------

const Status = { Ok: 0, NotFound: 1, BadArgument: 2, CasMismatch: 8 };
const MapType = { RequestHeaders: 0, ResponseHeaders: 2, CallResponseHeaders: 6 };
const BufferType = { ResponseBody: 1, CallResponseBody: 4, VmConfiguration: 6, PluginConfiguration: 7 };

const enc = new TextEncoder();
const dec = new TextDecoder();
let ex; // the instance's exports
let u8, dv;
const view = () => {
  if (u8 === undefined || u8.buffer !== ex.memory.buffer) {
    u8 = new Uint8Array(ex.memory.buffer);
    dv = new DataView(ex.memory.buffer);
  }
};
// Strings are nearly always short ASCII: read them without TextDecoder's per-call cost.
const str = (ptr, len) => {
  view();
  ptr >>>= 0; len >>>= 0;
  if (len > 64) return dec.decode(u8.subarray(ptr, ptr + len));
  let s = '';
  for (let i = ptr; i < ptr + len; i++) {
    const c = u8[i];
    if (c > 0x7f) return dec.decode(u8.subarray(ptr, ptr + len));
    s += String.fromCharCode(c);
  }
  return s;
};
const bytes = (ptr, len) => { view(); return u8.slice(ptr >>> 0, (ptr >>> 0) + (len >>> 0)); };
const putU32 = (ptr, v) => { view(); dv.setUint32(ptr >>> 0, v, true); };
// Copies bytes into memory the module allocates (as the host must) and returns them there.
const give = (data, retPtr, retSize) => {
  const ptr = ex.proxy_on_memory_allocate(data.length);
  view();
  u8.set(data, ptr >>> 0);
  putU32(retPtr, ptr);
  putU32(retSize, data.length);
  return Status.Ok;
};
const utf8 = (s) => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return null;
  return s;
};
// A string, the same way (ASCII written directly).
const giveStr = (s, retPtr, retSize) => {
  if (utf8(s) === null) return give(enc.encode(s), retPtr, retSize);
  const ptr = ex.proxy_on_memory_allocate(s.length) >>> 0;
  view();
  for (let i = 0; i < s.length; i++) u8[ptr + i] = s.charCodeAt(i);
  putU32(retPtr, ptr);
  putU32(retSize, s.length);
  return Status.Ok;
};
// proxy-wasm map serialization: count, (key len, value len)*, then key\0value\0 each.
const serializeMap = (pairs) => {
  const enc_ = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)]);
  let size = 4 + 8 * pairs.length;
  for (const [k, v] of enc_) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const d = new DataView(out.buffer);
  d.setUint32(0, pairs.length, true);
  let p = 4 + 8 * pairs.length;
  enc_.forEach(([k, v], i) => {
    d.setUint32(4 + 8 * i, k.length, true);
    d.setUint32(8 + 8 * i, v.length, true);
    out.set(k, p); p += k.length + 1;
    out.set(v, p); p += v.length + 1;
  });
  return out;
};
// The same, written straight into module memory when every header is ASCII (they are here).
const giveMap = (pairs, retPtr, retSize) => {
  let size = 4 + 8 * pairs.length;
  for (const [k, v] of pairs) {
    if (utf8(k) === null || utf8(v) === null) return give(serializeMap(pairs), retPtr, retSize);
    size += k.length + v.length + 2;
  }
  const base = ex.proxy_on_memory_allocate(size) >>> 0;
  view();
  dv.setUint32(base, pairs.length, true);
  let p = base + 4 + 8 * pairs.length;
  for (let i = 0; i < pairs.length; i++) {
    const [k, v] = pairs[i];
    dv.setUint32(base + 4 + 8 * i, k.length, true);
    dv.setUint32(base + 8 + 8 * i, v.length, true);
    for (let j = 0; j < k.length; j++) u8[p++] = k.charCodeAt(j);
    u8[p++] = 0;
    for (let j = 0; j < v.length; j++) u8[p++] = v.charCodeAt(j);
    u8[p++] = 0;
  }
  putU32(retPtr, base);
  putU32(retSize, size);
  return Status.Ok;
};
const deserializeMap = (data) => {
  const d = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = d.getUint32(0, true);
  const pairs = [];
  let p = 4 + 8 * n;
  for (let i = 0; i < n; i++) {
    const kl = d.getUint32(4 + 8 * i, true), vl = d.getUint32(8 + 8 * i, true);
    const k = dec.decode(data.subarray(p, p + kl)); p += kl + 1;
    const v = dec.decode(data.subarray(p, p + vl)); p += vl + 1;
    pairs.push([k, v]);
  }
  return pairs;
};

// Per-request (stream) state, and what the filter did to it.
let stream;
const newStream = (id) => {
  const request = requestHeaders();
  const requestId = request.find(([k]) => k === 'x-request-id')[1];
  const response = RESPONSE_HEADERS.map((p) => p.slice());
  response.push(['x-amz-request-id', requestId]);
  return { id, request, response, local: null, continued: 0, replaced: new Map(),
    removed: new Set(), call: null };
};
const streams = new Map();
let effective = 0;
const shared = new Map(); // key -> {value, cas}
let nextCas = 1;
let nextToken = 1;
let callResponse = null; // {headers, body} of the call being answered
const logs = [];
const metrics = [];

const mapOf = (type) => {
  const s = streams.get(effective) ?? stream;
  if (type === MapType.RequestHeaders) return s.request;
  if (type === MapType.ResponseHeaders) return s.response;
  if (type === MapType.CallResponseHeaders && callResponse) return callResponse.headers;
  return null;
};

const host = {
  proxy_log(level, ptr, len) {
    const line = str(ptr, len);
    logs.push([level, line]);
    if (level >= 3) console.error(`wasm log (level ${level}): ${line}`);
    return Status.Ok;
  },
  proxy_get_current_time_nanoseconds(ret) { view(); dv.setBigUint64(ret >>> 0, NOW_NS, true); return Status.Ok; },
  proxy_set_tick_period_milliseconds() { return Status.Ok; },
  proxy_get_buffer_bytes(type, start, max, retPtr, retSize) {
    let data;
    if (type === BufferType.PluginConfiguration) data = enc.encode(PLUGIN_CONFIG);
    else if (type === BufferType.CallResponseBody && callResponse) data = callResponse.body;
    else if (type === BufferType.ResponseBody) data = new Uint8Array(1024);
    else return Status.NotFound;
    return give(data.subarray(start >>> 0, (start >>> 0) + (max >>> 0)), retPtr, retSize);
  },
  proxy_set_buffer_bytes() { return Status.Ok; },
  proxy_get_header_map_pairs(type, retPtr, retSize) {
    const map = mapOf(type);
    return map ? giveMap(map, retPtr, retSize) : Status.NotFound;
  },
  proxy_set_header_map_pairs(type, ptr, len) {
    const map = mapOf(type);
    if (!map) return Status.NotFound;
    const pairs = deserializeMap(bytes(ptr, len));
    if (type === MapType.RequestHeaders) {  // record the whole-map write as its changes
      const before = new Map(map);
      for (const [k, v] of pairs) if (before.get(k) !== v) stream.replaced.set(k, v);
      for (const k of before.keys()) if (!pairs.some(([n]) => n === k)) stream.removed.add(k);
    }
    map.splice(0, map.length, ...pairs);
    return Status.Ok;
  },
  proxy_get_header_map_value(type, kPtr, kLen, retPtr, retSize) {
    const map = mapOf(type), key = str(kPtr, kLen);
    const pair = map && map.find(([k]) => k === key);
    return pair ? giveStr(pair[1], retPtr, retSize) : Status.NotFound;
  },
  proxy_replace_header_map_value(type, kPtr, kLen, vPtr, vLen) {
    const map = mapOf(type), key = str(kPtr, kLen), value = str(vPtr, vLen);
    if (!map) return Status.NotFound;
    const i = map.findIndex(([k]) => k === key);
    if (i < 0) map.push([key, value]); else map[i][1] = value;
    if (type === MapType.RequestHeaders) stream.replaced.set(key, value);
    return Status.Ok;
  },
  proxy_add_header_map_value(type, kPtr, kLen, vPtr, vLen) {
    const map = mapOf(type);
    if (!map) return Status.NotFound;
    map.push([str(kPtr, kLen), str(vPtr, vLen)]);
    return Status.Ok;
  },
  proxy_remove_header_map_value(type, kPtr, kLen) {
    const map = mapOf(type), key = str(kPtr, kLen);
    if (!map) return Status.NotFound;
    for (let i = map.length - 1; i >= 0; i--) if (map[i][0] === key) map.splice(i, 1);
    if (type === MapType.RequestHeaders) stream.removed.add(key);
    return Status.Ok;
  },
  proxy_get_shared_data(kPtr, kLen, retPtr, retSize, retCas) {
    const entry = shared.get(str(kPtr, kLen));
    if (!entry) return Status.NotFound;
    give(entry.value, retPtr, retSize);
    putU32(retCas, entry.cas);
    return Status.Ok;
  },
  proxy_set_shared_data(kPtr, kLen, vPtr, vLen, cas) {
    const key = str(kPtr, kLen), entry = shared.get(key);
    if (cas !== 0 && entry && entry.cas !== cas >>> 0) return Status.CasMismatch;
    shared.set(key, { value: bytes(vPtr, vLen), cas: nextCas++ });
    return Status.Ok;
  },
  proxy_http_call(cPtr, cLen, hPtr, hLen, bPtr, bLen, tPtr, tLen, timeout, retToken) {
    const token = nextToken++;
    stream.call = { token, cluster: str(cPtr, cLen), headers: deserializeMap(bytes(hPtr, hLen)), timeout };
    putU32(retToken, token);
    return Status.Ok;
  },
  proxy_send_local_response(status, dPtr, dLen, bPtr, bLen, hPtr, hLen) {
    stream.local = { status, body: str(bPtr, bLen), headers: deserializeMap(bytes(hPtr, hLen)) };
    return Status.Ok;
  },
  proxy_continue_stream() { stream.continued++; return Status.Ok; },
  proxy_close_stream() { return Status.Ok; },
  proxy_set_effective_context(id) { effective = id; return Status.Ok; },
  proxy_define_metric(type, nPtr, nLen, retId) { metrics.push(str(nPtr, nLen)); putU32(retId, metrics.length); return Status.Ok; },
  proxy_increment_metric() { return Status.Ok; },
  proxy_get_property() { return Status.NotFound; },
  proxy_done() { return Status.Ok; },
};

// Wraps every import: counts calls per name, and (when timing is on) the time spent in the host.
const calls = {};
let hostTiming = false;
const hostMs = [0, 0, 0, 0, 0, 0]; // per phase
let phase = 0; // the callback running, for the host call counts
const env = {};
const compiled = new WebAssembly.Module(readFileSync(WASM));
for (const imp of WebAssembly.Module.imports(compiled)) {
  if (imp.module !== 'env') continue;
  const impl = host[imp.name] ?? (() => Status.Ok);
  const counts = (calls[imp.name] = [0, 0, 0, 0, 0, 0]); // per phase (PHASES below)
  env[imp.name] = (a, b, c, d, e, f, g, h, i, j) => {
    counts[phase]++;
    if (!hostTiming) return impl(a, b, c, d, e, f, g, h, i, j);
    const t = performance.now();
    const r = impl(a, b, c, d, e, f, g, h, i, j);
    hostMs[phase] += performance.now() - t;
    return r;
  };
}

const wasi = new WASI({ version: 'preview1', env: WASI_ENV, args: ['s3gate'], returnOnExit: true });
const instance = new WebAssembly.Instance(compiled, { env, ...wasi.getImportObject() });
ex = instance.exports;
wasi.initialize(instance);

// --- driving it like Envoy ------------------------------------------------------------------------

const ROOT = 1;
const call = (id, fn) => { effective = id; return fn(); };
stream = newStream(ROOT);
streams.set(ROOT, stream);
const abi = ex.proxy_abi_version_0_2_1;
if (!abi) throw new Error('not a proxy-wasm ABI 0.2.1 module');
call(ROOT, () => ex.proxy_on_context_create(ROOT, 0));
if (!call(ROOT, () => ex.proxy_on_vm_start(ROOT, 0))) throw new Error('proxy_on_vm_start failed');
if (!call(ROOT, () => ex.proxy_on_configure(ROOT, PLUGIN_CONFIG.length))) {
  throw new Error(`proxy_on_configure refused the configuration: ${JSON.stringify(logs)}`);
}
streams.delete(ROOT);

// Phase times (ms, summed) of the measured requests.
const PHASES = ['context_create', 'request_headers', 'http_call_response', 'response_headers',
  'response_body', 'log_done_delete'];
let nextId = 2;
let policyCalls = 0;

function request(phases) {
  const id = nextId++;
  stream = newStream(id);
  streams.set(id, stream);
  effective = id;
  let t0 = performance.now(), t1;
  phase = 0; ex.proxy_on_context_create(id, ROOT);
  t1 = performance.now(); if (phases) phases[0] += t1 - t0; t0 = t1;
  phase = 1; let action = ex.proxy_on_request_headers(id, stream.request.length, 1);
  t1 = performance.now(); if (phases) phases[1] += t1 - t0;
  if (stream.call) {
    // The policy service answers (the first request; later ones hit the cache).
    policyCalls++;
    const { token, headers } = stream.call;
    const path = headers.find(([k]) => k === ':path')[1];
    const digest = sha256(ACCESS_KEY);
    if (!path.startsWith(`/v1/entitlements/${digest}?scope=${day}/${REGION}/s3`)) {
      throw new Error(`unexpected policy call ${path}`);
    }
    const body = enc.encode(ENTITLEMENTS);
    callResponse = { headers: [[':status', '200'], ['content-type', 'application/json'],
      ['content-length', String(body.length)]], body };
    effective = id;
    t0 = performance.now();
    phase = 2; ex.proxy_on_http_call_response(id, token, 3, body.length, 0);
    t1 = performance.now(); if (phases) phases[2] += t1 - t0;
    callResponse = null;
    if (stream.continued !== 1 && !stream.local) throw new Error('policy answer did not resume the request');
    action = 0;
  }
  if (stream.local || action !== 0 || stream.replaced.get(':path') !== EXPECTED_UPSTREAM_PATH) {
    throw new Error(`request ${id} was not forwarded: action ${action}, local response ` +
      `${JSON.stringify(stream.local)}, :path -> ${stream.replaced.get(':path')}, logs ` +
      JSON.stringify(logs.slice(-5)));
  }
  effective = id;
  t0 = performance.now();
  phase = 3; ex.proxy_on_response_headers(id, stream.response.length, 0);
  t1 = performance.now(); if (phases) phases[3] += t1 - t0; t0 = t1;
  phase = 4; ex.proxy_on_response_body(id, 1024, 1);
  t1 = performance.now(); if (phases) phases[4] += t1 - t0; t0 = t1;
  phase = 5; ex.proxy_on_log(id);
  ex.proxy_on_done(id);
  ex.proxy_on_delete(id);
  t1 = performance.now(); if (phases) phases[5] += t1 - t0;
  streams.delete(id);
}

const resetCalls = () => { for (const k in calls) calls[k].fill(0); };

// Warm-up: the first request fetches the decision; V8 tiers the hot functions up to TurboFan.
for (let i = 0; i < WARMUP; i++) request(null);
const first = { replaced: Object.fromEntries(stream.replaced), removed: [...stream.removed] };

// Timed in chunks of 1,000 requests, reporting the median chunk: other processes on the machine
// preempt some chunks, which the median leaves out.
const CHUNK = 1000;
const CHUNKS = Math.max(1, Math.round(REQUESTS / CHUNK));
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];

// 1. Plain loop: total time per request (wasm + mock host + this driver).
const loopChunks = [];
for (let c = 0; c < CHUNKS; c++) {
  const t = performance.now();
  for (let i = 0; i < CHUNK; i++) request(null);
  loopChunks.push(((performance.now() - t) * 1000) / CHUNK);
}
const loopUs = median(loopChunks);

// 2. Each callback timed, and every host call in it: wasm side = callback - host. The timers'
// own cost is subtracted: one per callback, two per host call inside the callback's span, of
// which one falls inside the host call's own span.
const timerStart = performance.now();
for (let i = 0; i < 1e6; i++) performance.now();
const timerUs = ((performance.now() - timerStart) * 1000) / 1e6; // one performance.now()
resetCalls();
hostTiming = true;
const phaseChunks = PHASES.map(() => []), hostChunks = PHASES.map(() => []);
for (let c = 0; c < CHUNKS; c++) {
  const phases = PHASES.map(() => 0);
  hostMs.fill(0);
  for (let i = 0; i < CHUNK; i++) request(phases);
  PHASES.forEach((p, i) => {
    phaseChunks[i].push((phases[i] * 1000) / CHUNK);
    hostChunks[i].push((hostMs[i] * 1000) / CHUNK);
  });
}
hostTiming = false;
const requests = CHUNKS * CHUNK;
const callsPerRequest = {}; // "phase: name" -> calls per request
const callsIn = PHASES.map(() => 0);
PHASES.forEach((p, i) => {
  for (const [name, counts] of Object.entries(calls)) {
    if (counts[i]) callsPerRequest[`${p}: ${name}`] = counts[i] / requests;
    callsIn[i] += counts[i] / requests;
  }
});
const TIMED = [1, 1, 0, 1, 1, 1]; // timer pairs per request in each phase (call response: never)
const phaseUs = {}, hostPhaseUs = {}, wasmPhaseUs = {};
PHASES.forEach((p, i) => {
  if (p === 'http_call_response') return;
  phaseUs[p] = median(phaseChunks[i]) - TIMED[i] * timerUs - 2 * callsIn[i] * timerUs;
  hostPhaseUs[p] = median(hostChunks[i]) - callsIn[i] * timerUs;
  wasmPhaseUs[p] = median(phaseChunks[i].map((x, c) => x - hostChunks[i][c])) -
    TIMED[i] * timerUs - callsIn[i] * timerUs;
});
const sum = (o) => Object.values(o).reduce((x, y) => x + y, 0);
const hostCalls = sum(callsIn);
const hostUs = sum(hostPhaseUs);

// 4. V8's sampling CPU profile of the same loop (the profiler --cpu-prof uses), self time.
const session = new Session();
session.connect();
const post = (m, p) => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))));
await post('Profiler.enable');
await post('Profiler.setSamplingInterval', { interval: 50 });
await post('Profiler.start');
for (let i = 0; i < PROFILED; i++) request(null);
const { profile } = await post('Profiler.stop');
session.disconnect();

// Rough demangling: legacy `_ZN..E` symbols exactly, v0 `_R..` ones (the precompiled std) as
// their identifiers joined with `::` (crate hashes, back-references and generics dropped).
const demangle = (raw) => {
  let name = raw.replace(/^\$/, '');
  // Length-prefixed identifiers; in v0 names, skip what is between them: tags, crate hashes
  // (`Cs<base62>_`), disambiguators (`s<base62>_`) and back-references (`B<base62>_`).
  const idents = (s, v0) => {
    const parts = [];
    for (let i = 0; i < s.length;) {
      const skip = v0 && /^(C?s|B)[0-9a-zA-Z]*_/.exec(s.slice(i));
      if (skip) { i += skip[0].length; continue; }
      const n = /^\d+/.exec(s.slice(i));
      if (!n) { i++; continue; }
      i += n[0].length;
      if (v0 && s[i] === '_') i++;
      parts.push(s.slice(i, i + Number(n[0])));
      i += Number(n[0]);
    }
    return parts;
  };
  const legacy = name.match(/^_ZN(.*)E(\.llvm\.\d+)?$/);
  if (legacy) {
    const parts = idents(legacy[1], false);
    if (/^h[0-9a-f]{16}$/.test(parts.at(-1))) parts.pop();
    name = parts.join('::');
  } else if (name.startsWith('_R')) {
    name = idents(name.slice(2), true).join('::');
  }
  const subs = { SP: '@', BP: '*', RF: '&', LT: '<', GT: '>', LP: '(', RP: ')', C: ',' };
  return name.replace(/\$([A-Z]{1,2})\$/g, (x, c) => subs[c] ?? x)
    .replace(/\$u([0-9a-f]+)\$/g, (x, h) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\.\./g, '::').replace(/^_</, '<');
};
const self = new Map();
let totalHits = 0;
const kinds = { wasm: 0, host: 0, other: 0 };
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (!hits) continue;
  totalHits += hits;
  const { functionName, url } = node.callFrame;
  const kind = url.startsWith('wasm://') ? 'wasm'
    : url.includes('wasm-profile') || url.startsWith('node:') ? 'host' : 'other';
  kinds[kind] += hits;
  const key = kind === 'wasm' ? demangle(functionName)
    : `[${kind === 'host' ? 'mock host/driver JS' : 'V8/other'}] ${functionName || '(anonymous)'}`;
  self.set(key, (self.get(key) ?? 0) + hits);
}
// Inclusive time of the filter's own functions (s3gate::*, sha2): each sample counts once for
// every such function on its stack (samples in the mock host's JS left out).
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map();
for (const n of profile.nodes) {
  if (!n.hitCount || !n.callFrame.url.startsWith('wasm://')) continue; // wasm samples only
  const seen = new Set();
  for (let id = n.id; id !== undefined; id = parent.get(id)) {
    const f = byId.get(id).callFrame;
    if (!f.url.startsWith('wasm://')) continue;
    const name = demangle(f.functionName);
    if (/s3gate::|sha2::|hmac::|proxy_wasm::hostcalls::|serde_json::/.test(name)) seen.add(name);
  }
  for (const name of seen) inclusive.set(name, (inclusive.get(name) ?? 0) + n.hitCount);
}
const topInclusive = [...inclusive.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)
  .map(([name, hits]) => ({ name, pctOfWasm: (100 * hits) / kinds.wasm }));
const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP)
  .map(([name, hits]) => ({ name, pct: (100 * hits) / totalHits }));
const wasmSelf = [...self.entries()].filter(([k]) => !k.startsWith('['))
  .sort((a, b) => b[1] - a[1])
  .map(([name, hits]) => ({ name, pctOfWasm: (100 * hits) / kinds.wasm }));
const topWasm = wasmSelf.slice(0, TOP);

// --- report ---------------------------------------------------------------------------------------

const callbacksUs = sum(phaseUs);
const wasmUs = sum(wasmPhaseUs);
const fmt = (x) => x.toFixed(2).padStart(7);
const out = [];
out.push(`s3gate.wasm under node ${process.version} (V8 ${process.versions.v8}): ${WASM}`);
out.push(`configuration: ${FILTER_SIGNING ? 'upstream signing in the filter (upstreams.demo.sign)' : 'signing left to Envoy (envoy.yaml)'}`);
out.push(`requests: ${WARMUP} warm-up (${policyCalls} policy call), then ${requests} per pass; forwarded as ${first.replaced[':path']}`);
out.push(`  request header changes: replaced ${Object.keys(first.replaced).join(' ')}; removed ${first.removed.join(' ') || '-'}`);
out.push('');
out.push(`µs per request (warm, cached decision; median of ${CHUNKS} chunks of ${CHUNK})`);
out.push(`  whole request, plain loop (wasm + mock host + driver) ${fmt(loopUs)}`);
out.push(`  per callback (timer ${timerUs.toFixed(3)} µs subtracted)  callback    host JS  wasm side`);
for (const p of Object.keys(phaseUs)) {
  out.push(`    ${p.padEnd(37)} ${fmt(phaseUs[p])}    ${fmt(hostPhaseUs[p])}    ${fmt(wasmPhaseUs[p])}`);
}
out.push(`    ${'sum'.padEnd(37)} ${fmt(callbacksUs)}    ${fmt(hostUs)}    ${fmt(wasmUs)}`);
out.push(`  => wasm-side time per request ${fmt(wasmUs)} (${hostCalls.toFixed(1)} host calls)`);
out.push(`  cross-check: the profile's wasm share x the plain loop ${fmt(loopUs * kinds.wasm / totalHits)}`);
out.push('');
out.push(`host calls per request`);
for (const [k, n] of Object.entries(callsPerRequest)) out.push(`  ${n.toFixed(2).padStart(6)}  ${k}`);
out.push('');
out.push(`CPU profile (${PROFILED} requests, ${totalHits} samples, ~${((profile.endTime - profile.startTime) / totalHits).toFixed(0)} µs apart): wasm ${(100 * kinds.wasm / totalHits).toFixed(1)}%, ` +
  `mock host + driver JS ${(100 * kinds.host / totalHits).toFixed(1)}%, V8/GC/other ${(100 * kinds.other / totalHits).toFixed(1)}%`);
out.push(`top ${TOP} wasm functions by self time (% of wasm samples)`);
for (const { name, pctOfWasm } of topWasm) out.push(`  ${pctOfWasm.toFixed(1).padStart(5)}%  ${name}`);
out.push('');
out.push(`top ${TOP} of the filter's functions by inclusive time (% of wasm samples; nested ones overlap)`);
for (const { name, pctOfWasm } of topInclusive) out.push(`  ${pctOfWasm.toFixed(1).padStart(5)}%  ${name}`);
console.log(out.join('\n'));

if (JSON_OUT) {
  writeFileSync(JSON_OUT, JSON.stringify({
    wasm: WASM, filterSigning: FILTER_SIGNING, requests, loopUs, phaseUs, hostPhaseUs, wasmPhaseUs,
    hostUs, wasmUs, profileWasmUs: loopUs * kinds.wasm / totalHits, callsPerRequest, profileShares: kinds, totalHits, top, topWasm, wasmSelf: wasmSelf.slice(0, 100), topInclusive,
  }, null, 1));
  writeFileSync(JSON_OUT.replace(/\.json$/, '') + '.cpuprofile', JSON.stringify(profile));
}
