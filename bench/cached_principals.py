#!/usr/bin/env python3
"""Envoy's memory per cached principal, measured: the demo stack (scripts/stack.py) over a
policy folder of --principals principals shaped like the demo's alice (five data sources,
masks, a row filter, partitions), one request per key (each caches that key's decision: in
shared data and in the worker VM that served it), Envoy's RSS after one key and after all.

Usage: cached_principals.py [--principals 5000]   (after `make build`)
"""

import argparse
import hashlib
import http.client
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import gen_demo_data  # noqa: E402
import stack  # noqa: E402


def key(i):
    return f"mem-key-{i:06d}"


def make_policies(folder, count):
    folder.mkdir(parents=True)
    for name in ("data_sources.yaml", "rules.yaml"):
        shutil.copy(REPO / "policies" / name, folder / name)
    lines = ["principals:"]
    for i in range(count):
        lines += [f"  - name: mem-{i:06d}",
                  f"    key_sha256: {hashlib.sha256(key(i).encode()).hexdigest()}",
                  "    roles: [analyst]",
                  "    data_sources: [sales, customers, events, orders, purchases]",
                  "    attributes: {region: [eu, us], clearance: [support]}"]
    (folder / "principals.yaml").write_text("\n".join(lines) + "\n")


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def envoy_pid(s):
    # The child is Envoy itself (no shell in between).
    return s.children["envoy"].proc.pid


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--principals", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="s3gate-cached-"))
    make_policies(work / "policies", args.principals)
    data = work / "data"
    gen_demo_data.ensure(data)
    s = stack.Stack(data, work / "run", policies=work / "policies").start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)

        def ask(i):
            conn.request("GET", "/s3p", headers={"Authorization": f"AWS {key(i)}:immuta"})
            resp = conn.getresponse()
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"key {i}: status {resp.status}")

        ask(0)
        time.sleep(1)
        before = rss_kb(envoy_pid(s))
        started = time.monotonic()
        for i in range(1, args.principals):
            ask(i)
        took = time.monotonic() - started
        time.sleep(1)
        after = rss_kb(envoy_pid(s))
        calls = s.stat("wasmcustom.s3gate_policy_calls")
        per_key = (after - before) / (args.principals - 1)
        print(f"{args.principals} principals shaped like the demo's alice, Envoy --concurrency "
              f"2, {calls} policy calls in {took:.1f} s")
        print(f"Envoy RSS {before / 1024:.1f} MiB after one key, {after / 1024:.1f} MiB after "
              f"{args.principals}: {per_key:.2f} KiB per cached principal")
    finally:
        s.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
