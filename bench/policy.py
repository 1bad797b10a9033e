#!/usr/bin/env python3
"""`make bench-policy` (and the end of `make bench`): the policy service alone under a
cold-start burst, as when thousands of Envoys restart at once and each asks for every active
key's decision.

A policy folder with --principals principals (the demo's data sources and rules; each principal
an analyst of every data source, so every answer carries masks, row filters and partitions) is
generated under .bench/policy/. The service runs pinned to one core (`taskset -c 0`), its log
going to a file as in a container; the load generator (bench/policy-load, built by `make
bench-build`) runs on the other core, with N kept-alive connections sending the filter's call
`GET /v1/entitlements/{digest}` (with `?scope=` for a SigV4 request, which makes the service
derive a signing key), every request another key. Reports lookups/s, latency percentiles and
the service's CPU per lookup (from /proc) per scenario.

Two kinds of load, each with and without a scope: closed (each connection sends its next
lookup when answered: the most the service answers) and open (--rate lookups/s in all, default
10,000, the target; latency counted from when each lookup was due).

Usage: policy.py [--duration 10s] [--principals 5000] [--connections 8,32,64] [--rate 10000]
                 [--rounds 1] [--compare NAME=PATH]   (another s3gate-policy build, interleaved)
Results: a Markdown table on stdout and JSON in .bench/results/policy-burst-*.json.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
POLICY_BIN = REPO / "target/release/s3gate-policy"
LOAD_BIN = REPO / "target/bench/release/policy-load"
WORK = REPO / ".bench/policy"
RESULTS = REPO / ".bench/results"
SERVICE_CPU, LOAD_CPU = "0", "1"
TARGET_LOOKUPS, TARGET_P99_MS = 10_000, 5.0


def seconds(text):
    text = str(text).strip()
    return float(text[:-1]) if text.endswith("s") else float(text)


def make_policies(folder, count):
    """The demo's data sources and rules, and `count` principals; returns their key digests."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("data_sources.yaml", "rules.yaml"):
        shutil.copy(REPO / "policies" / name, folder / name)
    digests, lines = [], ["principals:"]
    for i in range(count):
        digest = hashlib.sha256(f"bench-policy-key-{i:06d}".encode()).hexdigest()
        digests.append(digest)
        region = ("eu", "us", "eu, us")[i % 3]
        lines += [f"  - name: bench-{i:06d}", f"    key_sha256: {digest}",
                  "    roles: [analyst]",
                  "    data_sources: [sales, customers, events, orders, purchases]",
                  f"    attributes: {{region: [{region}]}}"]
    (folder / "principals.yaml").write_text("\n".join(lines) + "\n")
    return digests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_service(binary, policies, port, token, log):
    env = {**os.environ, "S3GATE_POLICY_TOKEN": token, "S3GATE_DEFAULT_SECRET": "immuta",
           "S3GATE_TOKEN_SECRET": secrets.token_hex(32)}
    env.pop("S3GATE_REGIONS", None)  # us-east-1, the scope asked for below
    out = open(log, "wb")
    proc = subprocess.Popen(["taskset", "-c", SERVICE_CPU, str(binary), "--policies",
                             str(policies), "--listen", f"127.0.0.1:{port}"],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the policy service exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the policy service did not start")


def run_load(port, token, digests_file, connections, scope, duration, warmup, rate):
    argv = ["taskset", "-c", LOAD_CPU, str(LOAD_BIN), "--addr", f"127.0.0.1:{port}",
            "--token", token, "--digests", str(digests_file), "--connections",
            str(connections), "--duration-secs", str(duration), "--warmup-secs", str(warmup)]
    if scope:
        argv += ["--scope", scope]
    if rate:
        argv += ["--rate", str(rate)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True,
                         timeout=duration + warmup + 60)
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", default=os.environ.get("BENCH_POLICY_DURATION", "10s"),
                        help="measured time per scenario (default 10s)")
    parser.add_argument("--principals", type=int, default=5000)
    parser.add_argument("--connections", default="8,32,64",
                        help="kept-alive connections, comma-separated (the service holds 64)")
    parser.add_argument("--rate", type=int, default=TARGET_LOOKUPS,
                        help="lookups/s of the open load (0: closed load only)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--compare", action="append", default=[], metavar="NAME=PATH",
                        help="also run this s3gate-policy build, interleaved (repeatable)")
    args = parser.parse_args()
    builds = {"s3gate-policy": POLICY_BIN}
    for spec in args.compare:
        name, _, path = spec.partition("=")
        builds[name] = Path(path)
    for path, what in ((POLICY_BIN, "make build"), (LOAD_BIN, "make bench-build")):
        if not path.exists():
            sys.exit(f"{path} is missing: run `{what}` first")
    if shutil.which("taskset") is None:
        sys.exit("taskset is missing (util-linux)")
    duration = seconds(args.duration)
    warmup = min(2.0, duration / 2)
    WORK.mkdir(parents=True, exist_ok=True)
    digests = make_policies(WORK / "policies", args.principals)
    digests_file = WORK / "digests.txt"
    digests_file.write_text("\n".join(digests) + "\n")
    token = secrets.token_urlsafe(32)
    services, load_seconds = {}, {}
    loadavg = os.getloadavg()
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    loads = [(None, c) for c in [int(c) for c in args.connections.split(",")]]
    if args.rate:
        loads += [(args.rate, c) for c in [int(c) for c in args.connections.split(",")]]
    rows = []
    try:
        for name, binary in builds.items():
            port, started = free_port(), time.monotonic()
            proc = start_service(binary, WORK / "policies", port, token, WORK / f"{name}.log")
            services[name] = (proc, port)
            load_seconds[name] = round(time.monotonic() - started, 2)
        for _ in range(args.rounds):
            for scope in (None, f"{today}/us-east-1/s3"):
                for rate, connections in loads:
                    for name, (proc, port) in services.items():
                        cpu_before = cpu_seconds(proc.pid)
                        result = run_load(port, token, digests_file, connections, scope,
                                          duration, warmup, rate)
                        cpu = cpu_seconds(proc.pid) - cpu_before
                        # The CPU of the warm-up and the measured window, over what both sent.
                        result["service_cpu_us_per_lookup"] = round(
                            cpu * 1e6 / max(1, result["total_sent"]), 1)
                        result["kind"] = "sigv4 (scope)" if scope else "plain"
                        result["load"] = f"open {rate}/s" if rate else "closed"
                        result["build"] = name
                        rows.append(result)
                        print(f"  {name} {result['kind']:>13} {result['load']:>12} "
                              f"c={connections:>3}: {result['lookups_per_second']:>8.0f}/s  "
                              f"p99 {result['p99_us'] / 1000:.2f} ms", file=sys.stderr,
                              flush=True)
    finally:
        for proc, _ in services.values():
            proc.terminate()
            proc.wait(timeout=10)
        # Two lines a lookup make hundreds of MB a run: keep the start and the last 64 KiB.
        for name in services:
            keep_head_and_tail(WORK / f"{name}.log")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip()
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, {_cpu_model()}"
    report = [f"Policy service cold-start burst, {stamp}, commit {commit}, {machine}, load "
              f"average {loadavg[0]:.1f} at the start",
              f"{args.principals} principals (loaded in {load_seconds} s), service on CPU "
              f"{SERVICE_CPU} (`taskset`), load on CPU {LOAD_CPU}, {duration:g} s per scenario",
              "",
              "| build | call | load | connections | lookups/s | p50 ms | p99 ms | p99.9 ms | "
              "max ms | service CPU µs/lookup | non-200 |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        bad = sum(n for s, n in r["statuses"].items() if s != "200") + r["errors"]
        report.append(f"| {r['build']} | {r['kind']} | {r['load']} | {r['connections']} | "
                      f"{r['lookups_per_second']:.0f} | "
                      f"{r['p50_us'] / 1000:.2f} | {r['p99_us'] / 1000:.2f} | "
                      f"{r['p999_us'] / 1000:.2f} | {r['max_us'] / 1000:.2f} | "
                      f"{r['service_cpu_us_per_lookup']} | {bad} |")
    report.append("")
    for name in builds:
        mine = [r for r in rows if r["build"] == name]
        met = [r for r in mine if r["lookups_per_second"] >= 0.99 * TARGET_LOOKUPS
               and r["p99_us"] / 1000 < TARGET_P99_MS]
        report.append(f"{name}: target (>= {TARGET_LOOKUPS} lookups/s with p99 < "
                      f"{TARGET_P99_MS:g} ms) met in {len(met)} of {len(mine)} scenarios")
    text = "\n".join(report)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"policy-burst-{stamp}.json").write_text(json.dumps(
        {"stamp": stamp, "commit": commit, "machine": machine, "principals": args.principals,
         "loadavg": loadavg, "builds": {k: str(v) for k, v in builds.items()}, "rows": rows},
        indent=1))
    (RESULTS / f"policy-burst-{stamp}.md").write_text(text + "\n")


def keep_head_and_tail(path, size=64 * 1024):
    with open(path, "rb") as f:
        head = f.read(size)
        f.seek(0, os.SEEK_END)
        if f.tell() <= 2 * size:
            return
        f.seek(-size, os.SEEK_END)
        tail = f.read()
    path.write_bytes(head + b"\n[... cut by bench/policy.py ...]\n" + tail)


def _cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


if __name__ == "__main__":
    main()
