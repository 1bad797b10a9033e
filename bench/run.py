#!/usr/bin/env python3
"""`make bench`: s3gate against its physical limits, measured in one run on this machine.

Variants, all over the same nginx upstream, every Envoy `--concurrency 1` and rendered from
envoy/envoy.yaml (access log, route timeouts and so on as shipped):
  direct         (c) nginx reached directly
  envoy          (a) Envoy without any HTTP filter but the router, cluster without signing
  wasm-min       (b) Envoy + bench/minimal-filter (reads 2 request headers, rewrites 2), no signing
  wasm-min+sign  (b') as (b), plus Envoy's aws_request_signing upstream filter on the cluster
  wasm-min+verify-sign  (b'') the minimal filter verifying the client's SigV4 and signing the
                 upstream request with s3gate's own code, nothing else (lever verify-sign)
  s3gate         the real filter and envoy.yaml as shipped (upstream signing in the filter)
  s3gate-other-signing  the same with upstream signing moved the other way (to Envoy's
                 signing filter; `render_envoy.py --upstream-signing`)
All Envoys run side by side and scenarios interleave the variants, so drift on a shared
machine hits every variant of a scenario alike. Load: `wrk -t1`, requests SigV4-signed by
botocore (fresh for each scenario) and replayed as fixed headers.

  s3gate@NAME    the shipped configuration with another build of s3gate.wasm
                 (`--compare NAME=PATH`): two builds side by side in one run
Usage: run.py [--duration 15s] [--only SCENARIO,...] [--skip-micro] [--compare NAME=PATH]
              [--variants VARIANT,...]
       BENCH_DURATION=3s make bench     # smoke run
Results: a Markdown report on stdout and in .bench/results/ (with the raw numbers as JSON).
"""

import argparse
import copy
import datetime
import hashlib
import http.client
import json
import math
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import render_envoy  # noqa: E402
import stack  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import parquet  # noqa: E402
import tables  # noqa: E402

BENCH = REPO / ".bench"
DATA = BENCH / "data"
POLICIES = BENCH / "policies"
RUN = BENCH / "run"
RESULTS = BENCH / "results"
LUA = REPO / "bench" / "lua"
NGINX_CONF = REPO / "bench" / "nginx.conf.in"
S3GATE_WASM = REPO / "target/wasm32-wasip1/release/s3gate.wasm"
MIN_WASM = REPO / "target/bench/wasm32-wasip1/release/s3gate_bench_minimal.wasm"
POLICY_BIN = REPO / "target/release/s3gate-policy"
CRITERION_DIR = REPO / "target/bench/criterion"
ENVOY = stack.BIN / "envoy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
# wrk's parser waits for the body a HEAD answer announces (wrk issue #198): HEAD runs use oha,
# built by `make bench` into target/bench/tools.
OHA = REPO / "target/bench/tools/bin/oha"
# Writes the generated CSV of the native transform benchmarks (bench/micro/examples/table.rs).
TABLE_EXAMPLE = REPO / "target/bench/release/examples/table"

DATA_VERSION = "s3gate-bench-data 3"
SECRET = "immuta"            # the seed's secret: every bench principal signs with it
HOT_KEY = "bench-hot-key"    # the cached principal of the single-key scenarios
MANY_KEYS = 10_000
TTL_SECONDS = 60
KEY_1K = "sales/bench/1k.bin"
KEY_1G = "documents/bench/1g.bin"
ONE_GIB = 1 << 30
LIST_DAYS = 200              # 200 folders x (4 data files + 1 .crc) = 1,000 keys, 20% hidden

# Who signs upstream requests in envoy/envoy.yaml as checked in, and the other way, measured
# side by side (`render_envoy.py --upstream-signing`).
SHIPPED_SIGNING = render_envoy.upstream_signing_mode(
    yaml.safe_load(render_envoy.SOURCE.read_text()))
OTHER_SIGNING = {"envoy": "filter", "filter": "envoy"}[SHIPPED_SIGNING]
SIGNING_TEXT = {"envoy": "Envoy's upstream signing filter", "filter": "signing in the filter"}
VARIANTS = {
    "direct": "(c) nginx direct",
    "envoy": "(a) Envoy, no filter",
    "wasm-min": "(b) minimal wasm",
    "wasm-min+sign": "(b') minimal wasm + Envoy's upstream signing",
    "wasm-min+verify-sign": "(b'') minimal wasm verifying and signing in wasm (s3gate's code, keys cached)",
    "s3gate": f"s3gate ({SIGNING_TEXT[SHIPPED_SIGNING]}, as shipped)",
    "s3gate-other-signing": f"s3gate with {SIGNING_TEXT[OTHER_SIGNING]}",
}
ENVOY_VARIANTS = [v for v in VARIANTS if v != "direct"]
# `--levers`: baseline (b) rebuilt with feature `levers`, one of s3gate's per-request habits
# switched on at a time (bench/minimal-filter), then all of them; 1 KiB GETs only.
LEVERS = ["all-request-headers", "sha256-key", "sigv4-shaped", "clock", "strip-credentials",
          "response-headers"]
LEVER_VARIANTS = {"lever:none": "(b) built with levers, none on"}
LEVER_VARIANTS.update({f"lever:{name}": f"(b) + {name}" for name in LEVERS})
LEVER_VARIANTS["lever:all"] = "(b) + all of them"
MIN_LEVERS_WASM = REPO / "target/bench/levers/wasm32-wasip1/release/s3gate_bench_minimal.wasm"
# Variants built from the levers build: (b'') is the floor of any filter that verifies the
# client's signature and signs the upstream request in wasm, whatever else it does.
LEVER_BUILT_VARIANTS = {"wasm-min+verify-sign": ["verify-sign"]}

# name: (method, virtual path (through a wasm filter), upstream path, connections, variants)
SCENARIOS = {
    "head-1k": ("HEAD", f"/s3p/immuta/{KEY_1K}",
                "/acme-warehouse-prod/curated/sales/bench/1k.bin", 32, list(VARIANTS)),
    "get-1k": ("GET", f"/s3p/immuta/{KEY_1K}",
               "/acme-warehouse-prod/curated/sales/bench/1k.bin", 32, list(VARIANTS)),
    # One connection: latency added per request, without queueing behind 31 others.
    "get-1k-c1": ("GET", f"/s3p/immuta/{KEY_1K}",
                  "/acme-warehouse-prod/curated/sales/bench/1k.bin", 1,
                  ["envoy", "wasm-min", "wasm-min+verify-sign", "s3gate", "s3gate-other-signing"]),
    # boto3's list_objects_v2(Prefix="sales/bench/list/"); the upstream path is what s3gate asks.
    "list-1000": ("GET", "/s3p/immuta?list-type=2&prefix=sales%2Fbench%2Flist%2F&encoding-type=url",
                  "/acme-warehouse-prod?list-type=2&max-keys=1000&prefix=curated%2Fsales%2Fbench%2Flist%2F",
                  32, ["direct", "envoy", "wasm-min", "s3gate", "s3gate-other-signing"]),
    # One connection: the latency of one listing, no queueing behind 31 others.
    "list-1000-c1": ("GET", "/s3p/immuta?list-type=2&prefix=sales%2Fbench%2Flist%2F&encoding-type=url",
                     "/acme-warehouse-prod?list-type=2&max-keys=1000&prefix=curated%2Fsales%2Fbench%2Flist%2F",
                     1, ["envoy", "s3gate"]),
    # One stream at a time: single-download throughput (32 x 1 GiB would not finish in a run).
    "get-1g": ("GET", f"/s3p/immuta/{KEY_1G}",
               "/acme-docs-archive/archive/documents/bench/1g.bin", 1,
               ["direct", "envoy", "wasm-min", "s3gate"]),
    # 1 KiB GETs cycling through 10,000 distinct API keys, from a cold cache.
    "keys-10k": ("GET", f"/s3p/immuta/{KEY_1K}",
                 "/acme-warehouse-prod/curated/sales/bench/1k.bin", 32, ["s3gate"]),
}
# Baseline of keys-10k in the ratio columns: the single-key GET of the same object.
RATIO_SCENARIO = {"keys-10k": "get-1k"}
# Decisions are cached per key for TTL_SECONDS: a single-key run may see its entry expire once
# or twice, one call each; more means concurrent misses each asked.
HOT_KEY_SCENARIOS = [name for name in SCENARIOS if name != "keys-10k"]


# --- data and policies -----------------------------------------------------------------------

def list_page():
    """The upstream ListObjectsV2 page (same shape as bench/micro's fixture)."""
    prefix = "curated/sales/bench/list/"
    keys = []
    for day in range(LIST_DAYS):
        folder = f"{prefix}day={day:03d}/"
        keys.append(f"{folder}.part-00000.csv.crc")
        keys += [f"{folder}part-{part:05d}.csv" for part in range(4)]
    keys.sort()
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
           'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>acme-warehouse-prod</Name>'
           f'<Prefix>{prefix}</Prefix><KeyCount>{len(keys)}</KeyCount><MaxKeys>1000</MaxKeys>'
           '<IsTruncated>false</IsTruncated>']
    for i, key in enumerate(keys):
        etag = hashlib.md5(key.encode()).hexdigest()
        out.append(f"<Contents><Key>{key}</Key><LastModified>2026-11-01T12:{i // 60 % 60:02d}:"
                   f"{i % 60:02d}.000Z</LastModified><ETag>&quot;{etag}&quot;</ETag>"
                   f"<Size>{1000 + i * 37}</Size><StorageClass>STANDARD</StorageClass></Contents>")
    out.append("</ListBucketResult>")
    return "".join(out)


def many_key(i):
    return f"bench-key-{i:05d}"


def digest(key):
    return hashlib.sha256(key.encode()).hexdigest()


def ensure_data(run_tables=True, run_parquet=True):
    """Objects, the listing page and a policies dir with 10,001 principals; idempotent. The
    masked tables' and Parquet objects (their own stamps) only for the runs that read them."""
    if run_tables:
        tables.ensure_data(DATA, TABLE_EXAMPLE)
    if run_parquet:
        parquet.ensure_data(DATA)
    stamp = BENCH / "stamp"
    if stamp.exists() and stamp.read_text() == DATA_VERSION:
        return
    obj = DATA / "acme-warehouse-prod/curated/sales/bench/1k.bin"
    obj.parent.mkdir(parents=True, exist_ok=True)
    obj.write_bytes(bytes(i * 7 % 251 for i in range(1024)))
    big = DATA / "acme-docs-archive/archive/documents/bench/1g.bin"
    big.parent.mkdir(parents=True, exist_ok=True)
    with open(big, "wb") as f:
        f.truncate(ONE_GIB)  # sparse: nginx sends zeros, the filter never looks at the bytes
    page = DATA / "_pages/list-1000.xml"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(list_page())

    # Own policies, independent of the demo's evolving rules: two data sources and the masked
    # tables' (bench/tables.py), the demo's housekeeping rule, the hot principal and 10,000
    # more.
    POLICIES.mkdir(parents=True, exist_ok=True)
    (POLICIES / "data_sources.yaml").write_text(yaml.safe_dump({"data_sources": [
        {"name": "sales", "upstream": "demo", "bucket": "acme-warehouse-prod",
         "prefix": "curated/sales/", "format": "csv"},
        {"name": "documents", "upstream": "demo", "bucket": "acme-docs-archive",
         "prefix": "archive/documents/", "format": "binary"},
        *tables.DATA_SOURCES,
        *parquet.DATA_SOURCES,
    ]}, sort_keys=False))
    (POLICIES / "rules.yaml").write_text(yaml.safe_dump({
        "decision_ttl_seconds": TTL_SECONDS, "roles": ["analyst"],
        "object_rules": [{"name": "housekeeping", "data_sources": ["*"],
                          "hide": ["_SUCCESS", "*.crc"]}],
        "column_masks": tables.COLUMN_MASKS + parquet.COLUMN_MASKS,
    }, sort_keys=False))
    principals = [{"name": "bench-hot", "key_sha256": digest(HOT_KEY), "roles": ["analyst"],
                   "data_sources": ["sales", "documents", *tables.NAMES, *parquet.NAMES]}]
    principals += [{"name": f"bench-{i:05d}", "key_sha256": digest(many_key(i)),
                    "roles": ["analyst"], "data_sources": ["sales"]} for i in range(MANY_KEYS)]
    text = "# Generated by bench/run.py; keys: bench-hot-key, bench-key-00000..09999\n"
    (POLICIES / "principals.yaml").write_text(
        text + yaml.safe_dump({"principals": principals}, sort_keys=False))
    check = subprocess.run([str(POLICY_BIN), "--check", "--policies", str(POLICIES)],
                           capture_output=True, text=True)
    if check.returncode != 0:
        raise SystemExit(f"bench policies rejected:\n{check.stdout}{check.stderr}")
    stamp.write_text(DATA_VERSION)


# --- processes -------------------------------------------------------------------------------

class Procs:
    """Everything this run started; stopped (process groups, SIGTERM then SIGKILL) at the end."""

    def __init__(self):
        self.children = []

    def start(self, child, ready, log=None, timeout=stack.START_TIMEOUT):
        self.children.append(child)
        child.start()
        deadline = time.monotonic() + timeout
        log = log or child.log
        while not ready():
            if not child.running():
                raise RuntimeError(f"{child.name} exited: {stack.log_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{child.name} not ready: {stack.log_tail(log)}")
            time.sleep(0.05)
        return child

    def stop(self, child=None):
        """Stops `child`, or everything."""
        stopping = [child] if child else list(reversed(self.children))
        stack.Stack._stop(stopping)
        self.children = [c for c in self.children if c not in stopping]


def start_nginx(procs, port):
    run = RUN / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / "nginx-tmp" / sub).mkdir(parents=True, exist_ok=True)
    # As root, workers would drop to `nobody`, who may not read the work tree.
    user = "user root;" if os.geteuid() == 0 else ""
    conf = NGINX_CONF.read_text().replace("@RUN@", str(run)).replace("@PORT@", str(port)) \
        .replace("@ROOT@", str(DATA)).replace("@USER@", user)
    (run / "nginx.conf").write_text(conf)
    child = stack.Child("nginx", [NGINX, "-p", str(run), "-e", str(run / "nginx-error.log"),
                                  "-c", str(run / "nginx.conf")], run / "nginx.out")
    return procs.start(child, lambda: stack.port_open(port))


# The token the bench's Envoys present to its policy service.
POLICY_TOKEN = "bench-policy-token"


def start_policy(procs, port):
    env = dict(os.environ, S3GATE_DEFAULT_SECRET=SECRET, S3GATE_POLICY_TOKEN=POLICY_TOKEN)
    child = stack.Child("policy", [str(POLICY_BIN), "--policies", str(POLICIES),
                                   "--listen", f"127.0.0.1:{port}"], RUN / "policy.log", env=env)
    return procs.start(child, lambda: stack.http_ok(f"http://127.0.0.1:{port}/healthz"))


MIN_FILTER_CONFIG = """authority s3.demo.internal
map /s3p/immuta/sales/ /acme-warehouse-prod/curated/sales/
map /s3p/immuta/documents/ /acme-docs-archive/archive/documents/
map /s3p/immuta? /acme-warehouse-prod?
"""


# `--compare NAME=PATH`: variant "s3gate@NAME" runs the build at PATH.
COMPARED_WASM = {}


def envoy_config(variant, out, port, admin_port, policy_port, upstream_port):
    """envoy/envoy.yaml with this run's ports, edited structurally for the baselines."""
    signing = OTHER_SIGNING if variant == "s3gate-other-signing" else None
    wasm = COMPARED_WASM.get(variant, S3GATE_WASM)
    render_envoy.render(out, wasm, port, admin_port, policy_port, upstream_port,
                        upstream_signing=signing)
    config = yaml.safe_load(out.read_text())
    static = config["static_resources"]
    # Only the gateway under /s3p: other listeners would share its VM (YAML aliases) and bind
    # fixed ports.
    static["listeners"] = [copy.deepcopy(render_envoy.named(static["listeners"], "s3gate"))]
    hcm = static["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    filters = hcm["http_filters"]
    upstream = render_envoy.named(static["clusters"], "s3_demo")
    options = upstream["typed_extension_protocol_options"][
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    route = hcm["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
    if variant in ("envoy", "wasm-min", *LEVER_BUILT_VARIANTS) or variant.startswith("lever:"):
        options.pop("http_filters")  # no upstream signing
    elif variant == "wasm-min+sign" and SHIPPED_SIGNING == "filter":
        render_envoy.set_upstream_signing(config, "envoy", [])  # Envoy's signer for (b')
    if not variant.startswith("s3gate"):
        route.pop("cluster_header")
        route["cluster"] = "s3_demo"
    if variant == "envoy":
        filters[:] = [f for f in filters if f["name"] != render_envoy.WASM_FILTER]
    elif variant.startswith(("wasm-min", "lever:")):
        plugin = render_envoy.named(filters, render_envoy.WASM_FILTER)["typed_config"]["config"]
        plugin["name"] = plugin["root_id"] = plugin["vm_config"]["vm_id"] = "bench-minimal"
        lever = variant.partition(":")[2]
        levers = LEVER_BUILT_VARIANTS.get(
            variant, {"": [], "none": [], "all": LEVERS}.get(lever, [lever]))
        lever_built = variant.startswith("lever:") or variant in LEVER_BUILT_VARIANTS
        wasm = MIN_LEVERS_WASM if lever_built else MIN_WASM
        plugin["vm_config"]["code"]["local"]["filename"] = str(wasm)
        plugin["configuration"]["value"] = MIN_FILTER_CONFIG + "".join(
            f"lever {name}\n" for name in levers)
    out.write_text(yaml.safe_dump(config, sort_keys=False))


class Envoy:
    def __init__(self, variant, policy_port, upstream_port):
        self.variant = variant
        self.port, self.admin_port = stack.free_ports(2)
        self.run = RUN / variant
        self.run.mkdir(parents=True, exist_ok=True)
        self.config = self.run / "envoy.yaml"
        envoy_config(variant, self.config, self.port, self.admin_port, policy_port,
                     upstream_port)
        self.child = None

    def start(self, procs, wrapper=(), binary=ENVOY, timeout=stack.START_TIMEOUT):
        """`wrapper`: a command that runs Envoy (`bench/instructions.py`'s valgrind)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = stack.DEFAULT_CREDENTIALS
        env["S3GATE_POLICY_TOKEN"] = POLICY_TOKEN
        env.update(tables.envoy_env())
        log, access = self.run / "envoy.log", self.run / "access.log"
        for old in (log, access):
            old.unlink(missing_ok=True)
        # stdout is the access log: kept, written to a local file, as part of the shipped
        # config's cost.
        self.child = stack.Child(f"envoy-{self.variant}", [
            *wrapper, str(binary), "-c", str(self.config), "--concurrency", "1",
            "--base-id", str(self.port), "-l", "info", "--log-path", str(log),
        ], access, env=env)
        procs.start(self.child, lambda: stack.http_ok(
            f"http://127.0.0.1:{self.admin_port}/ready"), log, timeout)

    @property
    def pid(self):
        return self.child.proc.pid

    def policy_answers(self):
        """Policy calls the service answered (2xx, 4xx), as opposed to ones that timed out or
        failed and will be asked again."""
        return sum(self.stat(f"cluster.policy.upstream_rq_{c}") for c in ("2xx", "4xx"))

    def stat(self, name):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
        try:
            conn.request("GET", f"/stats?filter=^{re.escape(name)}$")
            text = conn.getresponse().read().decode()
        finally:
            conn.close()
        match = re.search(rf"^{re.escape(name)}: (\d+)$", text, re.M)
        return int(match.group(1)) if match else 0


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    """Peak RSS of a process while a run lasts (VmHWM would include everything before)."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stopped = pid, 0.0, threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self.stopped.wait(0.05)

    def stop(self):
        self.stopped.set()
        self.join()
        return self.peak


# --- requests --------------------------------------------------------------------------------

def signed_headers(method, port, path, key):
    """Headers of a request signed by botocore's S3 SigV4 signer, dated now."""
    request = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}")
    S3SigV4Auth(Credentials(key, SECRET), "s3", "us-east-1").add_auth(request)
    headers = {"Host": f"127.0.0.1:{port}"}
    headers.update(request.headers.items())
    return headers


def lua_string(text):
    return '"' + "".join(c if c.isalnum() or c in " /:;=,.-_%?&*+()" else f"\\{ord(c):03d}"
                         for c in text) + '"'


def write_script(path, method, target_path, headers_list):
    """A wrk script: fixed headers for one key, or a list of raw requests cycled per key."""
    lines = ["-- generated by bench/run.py"]
    if len(headers_list) == 1:
        lines.append(f"wrk.method = {lua_string(method)}")
        lines.append(f"wrk.path = {lua_string(target_path)}")
        for name, value in headers_list[0].items():
            lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    else:
        lines.append("requests = {")
        for headers in headers_list:
            raw = f"{method} {target_path} HTTP/1.1\r\n" + "".join(
                f"{n}: {v}\r\n" for n, v in headers.items()) + "\r\n"
            lines.append(f"  {lua_string(raw)},")
        lines.append("}")
        lines.append(f"dofile({lua_string(str(LUA / 'cycle.lua'))})")
    lines.append(f"dofile({lua_string(str(LUA / 'report.lua'))})")
    path.write_text("\n".join(lines) + "\n")


def preflight(port, method, path, headers, scenario, variant):
    """One request before the load: the right answer, or the run is meaningless."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        if scenario == "get-1g":
            length = int(resp.getheader("content-length") or -1)
            body = b""
            ok = resp.status == 200 and length == ONE_GIB
        else:
            body = resp.read()
            if scenario.startswith("list"):
                want = 800 if variant.startswith("s3gate") else 1000
                ok = resp.status == 200 and body.count(b"<Contents>") == want
            elif method == "HEAD":
                ok = resp.status == 200 and resp.getheader("content-length") == "1024"
            else:
                ok = resp.status == 200 and len(body) == 1024
        if not ok:
            raise RuntimeError(f"{variant} {scenario}: {method} {path} answered {resp.status} "
                               f"{body[:300]!r}")
    finally:
        conn.close()


def wrk(url, script, connections, duration, timeout):
    argv = [WRK, "-t1", f"-c{connections}", f"-d{duration}", "--timeout", timeout,
            "-s", str(script), url]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                         timeout=parse_seconds(duration) + 120, preexec_fn=stack.die_with_parent)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON "):])
            result["argv"] = " ".join(argv[:-3] + ["-s", script.name, url])
            return result
    raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")


def oha(url, method, headers, connections, duration, timeout):
    """The HEAD runs: oha on one worker thread (as wrk -t1), with wrk's result shape."""
    argv = [str(OHA), "--no-tui", "--output-format", "json", "--worker-threads", "1",
            "-c", str(connections), "-z", duration, "-t", timeout, "-m", method]
    for name, value in headers.items():
        if name.lower() != "host":  # oha sends the URL's, which is what was signed
            argv += ["-H", f"{name}: {value}"]
    out = subprocess.run(argv + [url], capture_output=True, text=True, cwd=REPO,
                         timeout=parse_seconds(duration) + 120, preexec_fn=stack.die_with_parent)
    try:
        d = json.loads(out.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"oha failed: {out.stdout}{out.stderr}") from None
    codes = {int(k): v for k, v in d["statusCodeDistribution"].items()}
    # Requests still in flight when the duration ends are cut off, not failed.
    failed = sum(v for k, v in d["errorDistribution"].items() if "deadline" not in k)
    pct = d["latencyPercentiles"]
    us = lambda seconds: int((seconds or 0) * 1e6)  # noqa: E731
    return {
        "requests": sum(codes.values()), "duration_us": us(d["summary"]["total"]),
        "bytes": d["summary"]["totalData"], "p50_us": us(pct["p50"]), "p90_us": us(pct["p90"]),
        "p99_us": us(pct["p99"]), "max_us": us(d["summary"]["slowest"]),
        "mean_us": (d["summary"]["average"] or 0) * 1e6, "connect_errors": 0,
        "read_errors": failed, "write_errors": 0,
        "status_errors": sum(v for k, v in codes.items() if k >= 400), "timeouts": 0,
        "argv": " ".join(argv[:argv.index("-m") + 2]) + f" -H <signed headers> {url}",
    }


def parse_seconds(text):
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m)?", text.strip())
    if not match:
        raise SystemExit(f"bad duration {text!r}: use e.g. 15s or 1m")
    return float(match.group(1)) * (60 if match.group(2) == "m" else 1)


# --- one measured run ------------------------------------------------------------------------

def perf_split(data):
    """Share of samples per DSO (stripped Envoy: no symbols, but its code, V8's JIT code for
    the wasm module, libc and the kernel separate cleanly)."""
    out = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                          "--sort", "dso"], capture_output=True, text=True)
    split = {}
    for line in out.stdout.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+(.+?)\s*$", line)
        if match:
            split[match.group(2)] = float(match.group(1))
    return split


class Measured:
    """One variant of one scenario: signed, checked and warmed up once, then measured in rounds
    that interleave with the other variants, so drift on a shared machine spreads over all."""

    def __init__(self, scenario, variant, target, warm_up):
        method, virtual, upstream_path, connections, _ = SCENARIOS[scenario]
        port, self.envoy = target
        self.scenario, self.variant, self.method = scenario, variant, method
        self.path = upstream_path if variant in ("direct", "envoy") else virtual
        self.connections = connections
        self.run_dir = RUN / variant
        self.run_dir.mkdir(parents=True, exist_ok=True)
        url = f"http://127.0.0.1:{port}"
        script = self.run_dir / f"{scenario}.lua"
        hot = signed_headers(method, port, self.path, HOT_KEY)
        preflight(port, method, self.path, hot, scenario, variant)
        timeout = "60s" if scenario == "get-1g" else "10s"
        if scenario == "keys-10k":
            write_script(script, method, self.path,
                         [signed_headers(method, port, self.path, many_key(i))
                          for i in range(MANY_KEYS)])
        else:
            write_script(script, method, self.path, [hot])
        if method == "HEAD":
            self.load = lambda length: oha(url + self.path, method, hot, connections, length,
                                           timeout)
        else:
            self.load = lambda length: wrk(url, script, connections, length, timeout)
        if scenario not in ("get-1g", "keys-10k"):
            # V8 tiers up, the principal is cached: what a busy gateway looks like.
            self.load(warm_up)
        self.rounds = []

    def measure(self, duration, perf=False):
        envoy = self.envoy
        r = {}
        if envoy is not None:
            cpu0, calls0 = cpu_seconds(envoy.pid), envoy.stat("cluster.policy.upstream_rq_total")
            answered0 = envoy.policy_answers()
            r["rss_before_mb"] = rss_mb(envoy.pid)
            sampler = RssSampler(envoy.pid)
            sampler.start()
        recorder = None
        if perf and envoy is not None:
            data = self.run_dir / f"{self.scenario}.perf.data"
            recorder = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "1999",
                                         "-p", str(envoy.pid), "-o", str(data)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=stack.die_with_parent)
        r.update(self.load(duration))
        if recorder is not None:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=60)
            r["perf_dso"] = perf_split(data)
        if envoy is not None:
            r["rss_peak_mb"] = sampler.stop()
            r["cpu_s"] = cpu_seconds(envoy.pid) - cpu0
            r["rss_mb"] = rss_mb(envoy.pid)
            r["policy_calls"] = envoy.stat("cluster.policy.upstream_rq_total") - calls0
            r["policy_answers"] = envoy.policy_answers() - answered0
        self.rounds.append(r)
        return r

    def row(self):
        """The rounds together: counts and times add up; latency percentiles are the median
        of the rounds' (wrk and oha report percentiles, not histograms)."""
        rounds = self.rounds
        first = rounds[0]
        total = lambda key: sum(r[key] for r in rounds)  # noqa: E731
        median = lambda key: statistics.median(r[key] for r in rounds)  # noqa: E731
        row = {"scenario": self.scenario, "variant": self.variant, "method": self.method,
               "path": self.path, "connections": self.connections, "rounds": len(rounds),
               "argv": first["argv"]}
        for key in ("requests", "duration_us", "bytes", "connect_errors", "read_errors",
                    "write_errors", "status_errors", "timeouts"):
            row[key] = total(key)
        for key in ("p50_us", "p90_us", "p99_us", "mean_us"):
            row[key] = median(key)
        row["max_us"] = max(r["max_us"] for r in rounds)
        seconds = row["duration_us"] / 1e6
        row["rps"] = row["requests"] / seconds
        row["mb_s"] = row["bytes"] / seconds / 1e6
        row["errors"] = sum(row[k] for k in ("connect_errors", "read_errors", "write_errors",
                                             "status_errors", "timeouts"))
        if self.envoy is not None:
            # Per round too: the spread shows how far to trust a difference of a few µs.
            row["cpu_us_per_req_rounds"] = [r["cpu_s"] / max(r["requests"], 1) * 1e6
                                            for r in rounds]
            row["cpu_s"] = total("cpu_s")
            row["cpu_s_per_1k"] = row["cpu_s"] / max(row["requests"], 1) * 1000
            row["cpu_s_per_gib"] = row["cpu_s"] / max(row["bytes"], 1) * ONE_GIB
            row["rss_before_mb"] = first["rss_before_mb"]
            row["rss_peak_mb"] = max(r["rss_peak_mb"] for r in rounds)
            row["rss_mb"] = rounds[-1]["rss_mb"]
            row["policy_calls"] = total("policy_calls")
            row["policy_answers"] = total("policy_answers")
        if "perf_dso" in first:
            row["perf_dso"] = first["perf_dso"]
        if self.scenario == "keys-10k":
            row["keys"] = MANY_KEYS
            row["allowed_calls"] = MANY_KEYS * math.ceil(seconds / TTL_SECONDS)
        return row


# --- micro-benchmarks ------------------------------------------------------------------------

def run_micro(quick):
    env = dict(os.environ, CARGO_TARGET_DIR=str(REPO / "target/bench"))
    times = ["--warm-up-time", "1", "--measurement-time", "1" if quick else "3"]
    shutil.rmtree(CRITERION_DIR, ignore_errors=True)  # report only what this run measured
    subprocess.run(["cargo", "bench", "-p", "s3gate-bench", "--bench", "pure", "--"] + times,
                   cwd=REPO / "bench", env=env, check=True, stdout=subprocess.DEVNULL)
    rows = []
    for est in sorted(CRITERION_DIR.glob("*/*/new/estimates.json")):
        meta = json.loads((est.parent / "benchmark.json").read_text())
        mean_ns = json.loads(est.read_text())["mean"]["point_estimate"]
        row = {"name": meta["full_id"], "mean_ns": mean_ns}
        throughput = meta.get("throughput") or {}
        if "Bytes" in throughput:
            row["mb_s"] = throughput["Bytes"] / mean_ns * 1e3
        rows.append(row)
    return rows


# --- report ----------------------------------------------------------------------------------

def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal:")))

    def version(argv):
        out = subprocess.run(argv, capture_output=True, text=True)  # `wrk -v` exits 1
        lines = (out.stdout + out.stderr).strip().splitlines()
        return lines[0] if lines else "?"

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml"],
                           cwd=REPO, capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "envoy": (re.findall(r"/(\d+\.\d+\.\d+)/", version([str(ENVOY), "--version"]))
                  or ["?"])[0],
        "nginx": version([NGINX, "-v"]), "wrk": version([WRK, "-v"]),
        "commit": commit + (" (src modified)" if dirty else ""),
    }


def fmt(value, digits=0):
    return "–" if value is None else f"{value:,.{digits}f}"


def header(meta):
    return [f"Run {meta['date']} · commit {meta['commit']} · {meta['nproc']} cores "
            f"{meta['cpu']} · {meta['ram_gib']} GiB · Envoy {meta['envoy']} · {meta['nginx']} · "
            f"{meta['wrk'].split(' [')[0]} · {meta['duration']} per run in {meta['rounds']} "
            "interleaved rounds · "
            f"load average before {meta['load_before']}, after {meta['load_after']}", ""]


def perf_report(rows):
    out = ["", "Envoy CPU by DSO (perf, cpu-clock; wasm code runs as V8 JIT code in anonymous "
           "memory, so `[unknown]`/`//anon`/`[JIT]` are the filter plus V8's builtins):", ""]
    for r in rows:
        split = r.get("perf_dso")
        if split:
            top = ", ".join(f"{dso} {share:.1f}%" for dso, share in
                            sorted(split.items(), key=lambda kv: -kv[1])[:6])
            out.append(f"- {r['scenario']} / {r['variant']}: {top}")
    return "\n".join(out) + "\n"


def report_levers(meta, rows):
    """Envoy CPU per request of each habit over the same build with none switched on."""
    per_round = {r["variant"]: r["cpu_us_per_req_rounds"] for r in rows}
    base = statistics.median(per_round.get("lever:none", [0]))
    out = header(meta) + [
        "| 1 KiB GET, Envoy + | req/s | p99 ms | Envoy CPU µs/req, median of rounds (min–max) "
        "| Δ µs/req | errors |", "|---|--:|--:|--:|--:|--:|"]
    names = dict(LEVER_VARIANTS, **VARIANTS)
    for r in rows:
        rounds = per_round[r["variant"]]
        us = statistics.median(rounds)
        out.append(f"| {names.get(r['variant'], r['variant'])} | {fmt(r['rps'])} | "
                   f"{fmt(r['p99_us'] / 1000, 2)} | {us:.1f} ({min(rounds):.1f}–"
                   f"{max(rounds):.1f}) | {us - base:+.1f} | {r['errors']} |")
    return "\n".join(out) + "\n"


def report(meta, rows, micro):
    by = {(r["scenario"], r["variant"]): r for r in rows}
    out = header(meta)
    out.append("| scenario | variant | req/s | MB/s | p50 ms | p99 ms | Envoy CPU s/1k req "
               "| Envoy RSS MB | policy calls | × (a) | × (b) | p99 − (b) ms | errors |")
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for scenario in SCENARIOS:
        base = RATIO_SCENARIO.get(scenario, scenario)
        a, b = by.get((base, "envoy")), by.get((base, "wasm-min"))
        for variant in VARIANTS:
            r = by.get((scenario, variant))
            if r is None:
                continue
            metric = "mb_s" if scenario == "get-1g" else "rps"
            ra = r[metric] / a[metric] if a and variant != "envoy" else None
            rb = r[metric] / b[metric] if b and variant not in ("envoy", "wasm-min", "direct") \
                else None
            added = (r["p99_us"] - b["p99_us"]) / 1000 \
                if rb is not None and scenario != "get-1g" else None
            rss = r.get("rss_mb")
            if scenario == "get-1g" and rss is not None:
                rss_text = f"{fmt(rss)} (peak +{fmt(r['rss_peak_mb'] - r['rss_before_mb'], 1)})"
            else:
                rss_text = fmt(rss)
            cpu_text = fmt(r.get("cpu_s_per_1k"), 3)
            if scenario == "get-1g" and "cpu_s_per_gib" in r:
                cpu_text = f"{r['cpu_s_per_gib']:.2f} per GiB"
            calls = r.get("policy_calls")
            calls_text = fmt(calls)
            if scenario == "keys-10k":
                calls_text = f"{calls:,} for {r['keys']:,} keys"
                if r["policy_answers"] != calls:
                    calls_text += f" ({r['policy_answers']:,} answered)"
            out.append(
                f"| {scenario} | {VARIANTS[variant]} | {fmt(r['rps'])} | {fmt(r['mb_s'], 1)} | "
                f"{fmt(r['p50_us'] / 1000, 2)} | {fmt(r['p99_us'] / 1000, 2)} | "
                f"{cpu_text} | {rss_text} | {calls_text} | "
                f"{fmt(ra, 2)} | {fmt(rb, 2)} | {fmt(added, 2)} | {r['errors']} |")
    out += ["", "| micro-benchmark (native, criterion) | mean | throughput |", "|---|--:|--:|"]
    for m in micro:
        mean = m["mean_ns"]
        text = f"{mean / 1e6:.3f} ms" if mean > 1e5 else f"{mean:,.0f} ns"
        out.append(f"| {m['name']} | {text} | "
                   f"{fmt(m.get('mb_s'), 0) + ' MB/s' if 'mb_s' in m else ''} |")
    out += ["", "Targets:"] + targets(by, micro)
    out += ["", "Load per round (ports vary per run; the .lua scripts are generated in "
            ".bench/run/VARIANT/):"]
    for scenario in SCENARIOS:
        r = by.get((scenario, "s3gate")) or next((x for x in rows if x["scenario"] == scenario),
                                                 None)
        if r:
            out.append(f"- {scenario}: `{r['argv'].replace(str(REPO) + '/', '')}`")
    return "\n".join(out) + "\n"


def targets(by, micro):
    lines = []

    def check(ok, text):
        lines.append(f"- {'met' if ok else 'MISSED'}: {text}")

    # Capacity is judged against (b''), the minimal filter that only verifies and signs: no
    # design that checks the client's signature and signs upstream can beat it. (b)'s ratio
    # stays as context.
    for scenario in ("head-1k", "get-1k", "get-1k-c1"):
        s, b = by.get((scenario, "s3gate")), by.get((scenario, "wasm-min"))
        floor = by.get((scenario, "wasm-min+verify-sign"))
        if s and floor and scenario != "get-1k-c1":  # one connection: latency, not capacity
            ratio = s["rps"] / floor["rps"]
            context = f"; {s['rps'] / b['rps']:.2f}× of (b)" if b else ""
            check(ratio >= 0.90,
                  f"{scenario} req/s {ratio:.2f}× of (b'') (target ≥ 0.90×, heading for 0.95×"
                  f"{context})")
        if s and b:
            added = (s["p99_us"] - b["p99_us"]) / 1000
            check(added < 0.25, f"{scenario} p99 added over (b) {added:.2f} ms (target < 0.25)")
    listing = next((m for m in micro if "listing" in m["name"] and "mb_s" in m), None)
    if listing:
        check(listing["mb_s"] >= 300,
              f"listing rewrite natively {listing['mb_s']:.0f} MB/s (target ≥ 300)")
    s, a = by.get(("list-1000", "s3gate")), by.get(("list-1000", "envoy"))
    if s and a:
        extra = s["cpu_s_per_1k"] - a["cpu_s_per_1k"]  # s per 1k requests = ms per request
        check(extra < 2, f"1,000-key page inside Envoy: {extra:.2f} ms of Envoy CPU per listing "
                         "over passing the raw page through (a) (target < 2)")
    s, a = by.get(("list-1000-c1", "s3gate")), by.get(("list-1000-c1", "envoy"))
    if s and a:
        lines.append(f"- (latency, one connection: s3gate p50 {s['p50_us'] / 1000:.2f} ms vs "
                     f"raw page through (a) {a['p50_us'] / 1000:.2f} ms)")
    s, a = by.get(("get-1g", "s3gate")), by.get(("get-1g", "envoy"))
    if s and a:
        ratio = s["mb_s"] / a["mb_s"]
        growth = s["rss_peak_mb"] - s["rss_before_mb"]
        check(ratio >= 0.95, f"1 GiB GET {ratio:.2f}× of (a) throughput (target ≥ 0.95×)")
        check(growth < 32, f"1 GiB GET Envoy RSS growth {growth:.1f} MB (target < 32)")
    for scenario in HOT_KEY_SCENARIOS:
        s = by.get((scenario, "s3gate"))
        if s and s["policy_calls"]:
            expiries = math.ceil(s["duration_us"] / 1e6 / TTL_SECONDS) + 1
            check(s["policy_calls"] <= expiries,
                  f"{scenario}: {s['policy_calls']} policy calls for its one key in "
                  f"{s['duration_us'] / 1e6:.0f} s (TTL {TTL_SECONDS} s: at most {expiries})")
    s = by.get(("keys-10k", "s3gate"))
    if s:
        # A call that timed out or failed gave no answer to keep: asking again is right.
        failed = s["policy_calls"] - s["policy_answers"]
        check(s["policy_answers"] <= s["allowed_calls"],
              f"policy service {s['policy_answers']:,} answered calls for {s['keys']:,} keys in "
              f"{s['duration_us'] / 1e6:.0f} s, TTL {TTL_SECONDS} s (target ≤ "
              f"{s['allowed_calls']:,}); {failed:,} more failed and were asked again")
    return lines


def loadavg():
    return Path("/proc/loadavg").read_text().split()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default=os.environ.get("BENCH_DURATION", "15s"))
    parser.add_argument("--only", help="comma-separated scenarios (and tables, parquet)")
    parser.add_argument("--skip-micro", action="store_true")
    parser.add_argument("--rounds", type=int, default=3,
                        help="split each run into this many rounds, interleaving the variants")
    parser.add_argument("--perf", action="store_true",
                        help="perf record each Envoy during its runs; report CPU by DSO")
    parser.add_argument("--levers", action="store_true",
                        help="price s3gate's per-request habits one by one (1 KiB GETs)")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PATH",
                        help="also run variant s3gate@NAME with the s3gate.wasm at PATH, "
                             "wherever s3gate runs (repeatable)")
    parser.add_argument("--variants", help="comma-separated variants to run (of each "
                        "scenario's); the ratio columns need envoy and wasm-min")
    args = parser.parse_args()
    for spec in args.compare:
        name, _, path = spec.partition("=")
        if not name or not path:
            raise SystemExit(f"--compare {spec!r}: use NAME=PATH")
        variant = f"s3gate@{name}"
        COMPARED_WASM[variant] = Path(path).resolve()
        VARIANTS[variant] = f"s3gate, build {name}"
    duration = f"{max(1, round(parse_seconds(args.duration)))}s"  # wrk takes whole seconds
    run_tables = run_parquet = False
    if args.levers:
        plan = [("get-1k", list(LEVER_VARIANTS) + ["wasm-min+sign", "s3gate"])]
        needed = [MIN_LEVERS_WASM, MIN_WASM, S3GATE_WASM, POLICY_BIN, ENVOY]
    else:
        scenarios = args.only.split(",") if args.only else \
            list(SCENARIOS) + ["tables", "parquet"]
        run_tables, run_parquet = "tables" in scenarios, "parquet" in scenarios
        scenarios = [s for s in scenarios if s not in ("tables", "parquet")]
        unknown = [s for s in scenarios if s not in SCENARIOS]
        if unknown:
            raise SystemExit(f"unknown scenarios {unknown}: {', '.join(SCENARIOS)}, tables, "
                             "parquet")
        compared = list(COMPARED_WASM)
        plan = [(scenario, SCENARIOS[scenario][4]
                 + (compared if "s3gate" in SCENARIOS[scenario][4] else []))
                for scenario in scenarios]
        if args.variants:
            chosen = args.variants.split(",")
            plan = [(scenario, [v for v in variants if v in chosen]) for scenario, variants in plan]
        # Only what the chosen scenarios run (`--only parquet` needs no bench crate).
        needed = [S3GATE_WASM, POLICY_BIN, ENVOY, *COMPARED_WASM.values()]
        if any(v.startswith("wasm-min") for _, vs in plan for v in vs):
            needed.append(MIN_WASM)
        if run_tables:
            needed.append(TABLE_EXAMPLE)
        if any(v in LEVER_BUILT_VARIANTS for _, vs in plan for v in vs):
            needed.append(MIN_LEVERS_WASM)
    if any(SCENARIOS[scenario][0] == "HEAD" for scenario, _ in plan):
        needed.append(OHA)
    for missing in needed:
        if not Path(missing).exists():
            raise SystemExit(f"{missing} is missing: run `make bench`")
    envoy_variants = [v for v in dict.fromkeys(v for _, vs in plan for v in vs) if v != "direct"]
    if not args.levers and (run_tables or run_parquet) and "s3gate" not in envoy_variants:
        envoy_variants.append("s3gate")
    if not args.levers and run_parquet:
        envoy_variants += [v for v in COMPARED_WASM if v not in envoy_variants]

    signal.signal(signal.SIGTERM, stack.raise_exit)
    meta = machine()
    meta["duration"] = duration
    meta["rounds"] = args.rounds
    meta["load_before"] = loadavg()
    micro = [] if args.skip_micro or args.levers else run_micro(parse_seconds(duration) < 10)
    ensure_data(run_tables, run_parquet)
    procs = Procs()
    rows = []
    table_rows = {}
    parquet_rows = {}
    try:
        nginx_port, policy_port = stack.free_ports(2)
        start_nginx(procs, nginx_port)
        start_policy(procs, policy_port)
        targets_by_variant = {"direct": (nginx_port, None)}
        for variant in envoy_variants:
            envoy = Envoy(variant, policy_port, nginx_port)
            envoy.start(procs)
            targets_by_variant[variant] = (envoy.port, envoy)
        seconds = parse_seconds(duration)
        warm_up = f"{max(1, min(2, int(seconds / 3)))}s"
        for scenario, variants in plan:
            runs = [Measured(scenario, v, targets_by_variant[v], warm_up) for v in variants]
            # The cold-cache scenario counts policy calls from the first request: one round.
            rounds = 1 if scenario == "keys-10k" else args.rounds
            length = f"{max(1, round(seconds / rounds))}s"
            for i in range(rounds):
                for run in runs:
                    r = run.measure(length, perf=args.perf and i == 0)
                    print(f"bench: {scenario:13} {run.variant:24} round {i + 1}/{rounds} "
                          f"{r['requests'] / (r['duration_us'] / 1e6):10,.0f} req/s  "
                          f"p99 {r['p99_us'] / 1000:7.2f} ms", file=sys.stderr, flush=True)
            rows += [run.row() for run in runs]
        if not args.levers and run_tables:
            print("bench: masked tables", file=sys.stderr, flush=True)
            table_rows = tables.run(targets_by_variant["s3gate"][1], signed_headers, HOT_KEY,
                                    RssSampler)
        if not args.levers and run_parquet:
            print("bench: masked Parquet", file=sys.stderr, flush=True)
            envoy = targets_by_variant["s3gate"][1]
            compared = {v: (targets_by_variant[v][1],
                            tables.Client(targets_by_variant[v][0], HOT_KEY, signed_headers))
                        for v in COMPARED_WASM}
            length = f"{max(2, round(seconds / args.rounds))}s"

            def load(port, path):
                script = RUN / "s3gate" / "parquet-get.lua"
                write_script(script, "GET", path, [signed_headers("GET", port, path, HOT_KEY)])
                return wrk(f"http://127.0.0.1:{port}", script, 1, length, "60s")

            parquet_rows = parquet.run(envoy, tables.Client(envoy.port, HOT_KEY, signed_headers),
                                       nginx_port, RUN / "nginx" / "parquet-access.log",
                                       RssSampler, DATA, load, args.rounds, compared)
    finally:
        procs.stop()
    meta["load_after"] = loadavg()
    text = report_levers(meta, rows) if args.levers else report(meta, rows, micro)
    if table_rows:
        get_1g = next((r["mb_s"] for r in rows
                       if r["scenario"] == "get-1g" and r["variant"] == "s3gate"), None)
        text += "\n".join(tables.report(table_rows, micro, get_1g)) + "\n"
    if parquet_rows:
        text += "\n".join(parquet.report(parquet_rows)) + "\n"
    if args.perf:
        text += perf_report(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(
        {"meta": meta, "rows": rows, "micro": micro, "tables": table_rows,
         "parquet": parquet_rows}, indent=1))
    (RESULTS / f"{stamp}.md").write_text(text)
    shutil.copy(RESULTS / f"{stamp}.md", RESULTS / "latest.md")
    print(text)
    # Errors under load are a result (e.g. policy calls timing out in a cold burst), but more
    # than 1% means the numbers describe failures, not the gateway.
    if any(r["errors"] > 0.01 * max(r["requests"], 1) for r in rows):
        print("bench: some runs failed more than 1% of requests", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
