"""Masked Parquet through Envoy, for `make bench` (bench/run.py runs these after its other
scenarios, against the `s3gate` variant's Envoy; docs/benchmarks.md, "Masked Parquet").

Two Parquet objects, generated deterministically here with pyarrow (requirements.txt's version):
  data/big.parquet    ~200 MB of orders (order_id, customer_email, amount, region, order_ts;
                      snappy, dictionary, statistics, page index, a bloom filter on the email)
  wide/rg1000.parquet 1,000 row groups x 20 columns with statistics and the page index
                      (bench/parquet-footer/make_fixture.py: a footer of ~2.2 MB)
served through data sources over the same real objects:
  pqclear   no masks: the baseline, measured in the same run (carol)
  pqalice   customer_email null (alice's masks in the demo)
  pqerin    customer_email null, amount constant 0 (erin's)
  pqwide    c01 and c02 null, over wide/ (the footer target's case)
Each measurement is a few sequential requests timed from Python (one Envoy worker), not a wrk
run: a cold footer can be met only once per object version, so a cold HEAD is made by moving
the object's modification time (nginx's ETag is mtime and size: a new version, a new view).
"""

import hashlib
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BUCKET = "bench-parquet"
BIG = "data/big.parquet"
WIDE = "wide/rg1000.parquet"
BIG_ROWS = 9_000_000
ROW_GROUP_ROWS = 256 * 1024
WARM_HEADS = 200
COLD_HEADS = 8
DATA_VERSION = "parquet 1"
MAKE_WIDE = Path(__file__).resolve().parent / "parquet-footer" / "make_fixture.py"

DATA_SOURCES = [
    {"name": name, "upstream": "demo", "bucket": BUCKET, "prefix": prefix, "format": "parquet"}
    for name, prefix in [("pqclear", "data/"), ("pqalice", "data/"), ("pqerin", "data/"),
                         ("pqwide", "wide/")]
]
COLUMN_MASKS = [
    {"name": "bench-pq-email-null", "data_sources": ["pqalice", "pqerin"],
     "column": "customer_email", "mask": {"kind": "null"}},
    {"name": "bench-pq-amount-zero", "data_sources": ["pqerin"], "column": "amount",
     "mask": {"kind": "constant", "value": "0"}},
    {"name": "bench-pq-c01-null", "data_sources": ["pqwide"], "column": "c01",
     "mask": {"kind": "null"}},
    {"name": "bench-pq-c02-null", "data_sources": ["pqwide"], "column": "c02",
     "mask": {"kind": "null"}},
]
NAMES = [d["name"] for d in DATA_SOURCES]


def write_big(out):
    """~200 MB of orders, the same bytes for the same pyarrow and numpy."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(16)
    ids = pa.array(np.arange(BIG_ROWS, dtype=np.int64))
    emails = pc.binary_join_element_wise("customer", pc.cast(ids, pa.string()), "@example.com",
                                         "")
    amount = pa.array(np.round(rng.uniform(1, 1000, BIG_ROWS), 2))
    region = pa.DictionaryArray.from_arrays(
        pa.array(rng.integers(0, 4, BIG_ROWS).astype(np.int32)),
        pa.array(["eu", "us", "apac", "latam"]))
    micros = 1_700_000_000_000_000 + np.cumsum(rng.integers(1, 5_000_000, BIG_ROWS))
    table = pa.table({"order_id": ids, "customer_email": emails, "amount": amount,
                      "region": region,
                      "order_ts": pa.array(micros, pa.timestamp("us", tz="UTC"))})
    pq.write_table(table, out, row_group_size=ROW_GROUP_ROWS, compression="snappy",
                   use_dictionary=True, write_statistics=True, write_page_index=True,
                   bloom_filter_options={"customer_email": {"ndv": ROW_GROUP_ROWS,
                                                            "fpp": 0.05}})


def ensure_data(data):
    """The two objects; idempotent (a stamp names the version)."""
    root = data / BUCKET
    stamp = root / ".stamp"
    if stamp.exists() and stamp.read_text() == DATA_VERSION:
        return
    big, wide = root / BIG, root / WIDE
    big.parent.mkdir(parents=True, exist_ok=True)
    wide.parent.mkdir(parents=True, exist_ok=True)
    write_big(big)
    subprocess.run([sys.executable, str(MAKE_WIDE), str(wide)], check=True)
    stamp.write_text(DATA_VERSION)


def object_path(source, key):
    return f"/s3p/immuta/{source}/{key.split('/', 1)[1]}"


def timed(fn):
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start


def expect(status, wanted, what):
    if status != wanted:
        raise RuntimeError(f"bench parquet: {what} answered {status}, not {wanted}")


def vm_kb(pid, field):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def cpu_ns(pid):
    """CPU time of all of `pid`'s threads in ns (schedstat: finer than /proc/PID/stat's ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total


def footer_length(path):
    with open(path, "rb") as f:
        f.seek(-8, os.SEEK_END)
        return int.from_bytes(f.read(4), "little")


def new_version(path, step):
    """Moves `path`'s modification time: nginx's ETag changes, so the next HEAD is cold."""
    st = path.stat()
    os.utime(path, (st.st_atime, int(st.st_mtime) + step))


class Upstream:
    """What the s3gate Envoy asked of the upstream (nginx), from its cluster stats."""

    def __init__(self, envoy):
        self.envoy = envoy

    def snapshot(self):
        return {"requests": self.envoy.stat("cluster.s3_demo.upstream_rq_total"),
                "rx": self.envoy.stat("cluster.s3_demo.upstream_cx_rx_bytes_total")}

    def since(self, before):
        now = self.snapshot()
        return {k: now[k] - before[k] for k in now}


def run(envoy, client, nginx_port, nginx_log, rss_sampler, data, load, rounds=3,
        compared=None):
    """Every Parquet measurement against `envoy` (the s3gate variant); rows for the report.
    `client` is bench/tables.py's Client (signed requests, a fresh connection each); `load`
    (port, path) a wrk run of GETs on one connection for one round, its result as bench/run.py's
    wrk() gives it (the Python client alone cannot read as fast as Envoy serves).
    `compared`: {variant: (envoy, client)} of other builds (`run.py --compare`), whose
    200 MB GETs are interleaved with `envoy`'s in the same rounds."""
    rows = {}
    upstream = Upstream(envoy)
    root = data / BUCKET
    big_size = (root / BIG).stat().st_size

    # Cold HEADs of the big object: each view's footer read and masked once.
    for source in ("pqalice", "pqerin"):
        before = upstream.snapshot()
        (status, headers, _), seconds = timed(
            lambda: client.request("HEAD", object_path(source, BIG)))
        expect(status, 200, f"cold HEAD of {source}")
        if int(headers["content-length"]) != big_size:
            raise RuntimeError(f"bench parquet: {source}'s view is not the object's size")
        rows[f"head-cold {source}"] = {"ms": seconds * 1e3, **upstream.since(before)}

    # Warm HEADs: the upstream's HEAD only, no read of the object's bytes.
    for source in ("pqclear", "pqalice"):
        before = upstream.snapshot()
        latencies = []
        for _ in range(WARM_HEADS):
            (status, _, _), seconds = timed(
                lambda: client.request("HEAD", object_path(source, BIG)))
            expect(status, 200, f"warm HEAD of {source}")
            latencies.append(seconds)
        used = upstream.since(before)
        rows[f"head-warm {source}"] = {
            "p50_ms": statistics.median(latencies) * 1e3,
            "requests_per_head": used["requests"] / WARM_HEADS,
            "rx_per_head": used["rx"] / WARM_HEADS}
    # A reader's footer reads of a warm view: its last 8 bytes and the footer are answered
    # from the overlay; a 64 KiB suffix (pyarrow's first read) reaches past the footer into
    # unmasked bytes, so it goes upstream.
    footer_len = footer_length(root / BIG)
    for name, suffix in (("footer-read-warm pqalice", footer_len + 8),
                         ("suffix-64k-warm pqalice", 65536)):
        before = upstream.snapshot()
        status, headers, body = client.request("GET", object_path("pqalice", BIG),
                                               {"Range": f"bytes=-{suffix}"})
        expect(status, 206, f"{name}")
        rows[name] = {"bytes": len(body), **upstream.since(before)}

    # GETs of the whole 200 MB object, the three views (and builds) interleaved round by round:
    # first one read here, whole, for its bytes; then wrk's.
    builds = {"": (envoy, client)}
    builds.update({f" @{v}": pair for v, pair in (compared or {}).items()})
    runs = {(b, s): [] for b in builds for s in ("pqclear", "pqalice", "pqerin")}
    digests = {}
    for build, source in runs:
        digest = hashlib.sha256()
        status, headers, length = builds[build][1].request("GET", object_path(source, BIG),
                                                           sink=digest)
        expect(status, 200, f"GET of {source}{build}")
        if length != int(headers["content-length"]) or length != big_size:
            raise RuntimeError(f"bench parquet: {source} sent {length} bytes of "
                               f"{headers['content-length']} ({big_size} upstream)")
        digests.setdefault(source, set()).add(digest.hexdigest())
    # Every build serves the same bytes of a view, and the three views differ.
    if any(len(d) != 1 for d in digests.values()) or \
            len({next(iter(d)) for d in digests.values()}) != 3:
        raise RuntimeError("bench parquet: the views' bytes are not stable and distinct")
    hwm_before = vm_kb(envoy.pid, "VmHWM") / 1024
    for _ in range(rounds):
        for build, source in runs:
            target = builds[build][0]
            rss_before = vm_kb(target.pid, "VmRSS") / 1024
            sampler = rss_sampler(target.pid)
            sampler.start()
            cpu_before = cpu_ns(target.pid)
            r = load(target.port, object_path(source, BIG))
            cpu = (cpu_ns(target.pid) - cpu_before) / 1e9
            peak = sampler.stop()
            errors = sum(r[k] for k in ("connect_errors", "read_errors", "write_errors",
                                        "status_errors", "timeouts"))
            if errors or not r["bytes"]:
                raise RuntimeError(f"bench parquet: wrk's GETs of {source}{build}: {r}")
            runs[build, source].append((r["bytes"] / r["duration_us"], peak - rss_before,
                                        cpu * big_size / r["bytes"], r["argv"]))
    hwm_growth = vm_kb(envoy.pid, "VmHWM") / 1024 - hwm_before
    for (build, source), measured in runs.items():
        mb_s = statistics.median(m for m, _, _, _ in measured)
        rows[f"get-200m {source}{build}"] = {
            "seconds": big_size / 1e6 / mb_s, "mb_s": mb_s,
            "mb_s_all": [round(m) for m, _, _, _ in measured],
            "rss_growth_mb": max(g for _, g, _, _ in measured),
            "mb_s_best": max(m for m, _, _, _ in measured),
            "cpu_s": statistics.median(c for _, _, c, _ in measured),
            "cpu_s_min": min(c for _, _, c, _ in measured),
            "argv": measured[0][3]}
    rows["get-200m hwm"] = {"hwm_growth_mb": hwm_growth}

    # The footer of 1,000 row groups x 20 columns: cold HEADs (a new version each time: the
    # upstream HEAD, two tail reads, decode + rewrite) against warm HEADs (the upstream HEAD);
    # the two tail reads timed straight from nginx, and Envoy's CPU per HEAD.
    wide = root / WIDE
    wide_size = wide.stat().st_size
    footer_len = footer_length(wide)
    cold, cold_cpu, warm, warm_cpu, reads, gaps = [], [], [], [], [], []
    for i in range(COLD_HEADS):
        new_version(wide, 1 + i)
        logged = nginx_log.stat().st_size
        before = upstream.snapshot()
        cpu_before = cpu_ns(envoy.pid) / 1e9
        (status, _, _), seconds = timed(
            lambda: client.request("HEAD", object_path("pqwide", WIDE)))
        cold_cpu.append(cpu_ns(envoy.pid) / 1e9 - cpu_before)
        expect(status, 200, "cold HEAD of pqwide")
        cold.append(seconds)
        reads.append(upstream.since(before))
        gaps.append(footer_gap(nginx_log, logged, footer_len + 8))
        for _ in range(4):
            cpu_before = cpu_ns(envoy.pid) / 1e9
            (status, _, _), seconds = timed(
                lambda: client.request("HEAD", object_path("pqwide", WIDE)))
            warm_cpu.append(cpu_ns(envoy.pid) / 1e9 - cpu_before)
            expect(status, 200, "warm HEAD of pqwide")
            warm.append(seconds)
    direct = []
    tail = min(wide_size, 64 * 1024)
    for _ in range(COLD_HEADS):
        _, seconds = timed(lambda: (
            nginx_range(nginx_port, f"/{BUCKET}/{WIDE}", wide_size - tail, tail),
            nginx_range(nginx_port, f"/{BUCKET}/{WIDE}", wide_size - footer_len - 8,
                        footer_len + 8)))
        direct.append(seconds)
    rows["footer rg1000"] = {
        "footer_bytes": footer_len,
        "cold_ms": statistics.median(cold) * 1e3, "cold_all_ms": [round(s * 1e3, 1) for s in cold],
        "warm_ms": statistics.median(warm) * 1e3,
        "gap_ms": statistics.median(gaps) * 1e3, "gap_all_ms": [round(g * 1e3, 1) for g in gaps],
        "reads_direct_ms": statistics.median(direct) * 1e3,
        "cold_cpu_ms": statistics.median(cold_cpu) * 1e3,
        "warm_cpu_ms": statistics.median(warm_cpu) * 1e3,
        "cold_requests": statistics.median(r["requests"] for r in reads),
        "cold_rx": statistics.median(r["rx"] for r in reads),
    }
    return rows


def footer_gap(log, offset, footer_bytes):
    """Seconds from nginx's end of the footer's read (the gateway's second tail read, of
    exactly `footer_bytes`) to the forwarded HEAD that follows it, from nginx's log after
    `offset`: the gateway's work on the footer (into the VM, decode + rewrite, cache, answer)
    plus one loopback request."""
    with open(log) as f:
        f.seek(offset)
        entries = [line.split() for line in f.read().splitlines()]
    # In the log's order (times are in ms: the version's HEAD may share the read's).
    at = next(i for i, e in enumerate(entries)
              if e[1] == "GET" and e[-2] == "206" and int(e[-1]) == footer_bytes)
    head = next(e for e in entries[at + 1:] if e[1] == "HEAD")
    return float(head[0]) - float(entries[at][0])


def nginx_range(port, path, first, length):
    """A ranged GET straight from nginx: what the gateway's tail reads cost without it."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Range": f"bytes={first}-{first + length - 1}"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 206 or len(body) != length:
            raise RuntimeError(f"bench parquet: nginx answered {resp.status}, {len(body)} bytes")
    finally:
        conn.close()


def report(rows):
    """The Markdown section of the report, with the issue's targets."""
    out = ["", "Masked Parquet (one Envoy worker, a 200 MB Parquet object; the same object "
           "through every view):", "",
           "| measurement | s | MB/s | other |", "|---|--:|--:|---|"]
    for name, r in rows.items():
        other = []
        if "rss_growth_mb" in r:
            other.append(f"Envoy RSS growth {r['rss_growth_mb']:.1f} MB, Envoy CPU per GET "
                         f"{r['cpu_s']:.3f} s (least {r['cpu_s_min']:.3f}), rounds "
                         f"{r['mb_s_all']} MB/s")
        if "hwm_growth_mb" in r:
            other.append(f"Envoy VmHWM growth over all the GETs {r['hwm_growth_mb']:.1f} MB")
        if "p50_ms" in r:
            other.append(f"p50 {r['p50_ms']:.2f} ms, {r['requests_per_head']:.2f} upstream "
                         f"requests and {r['rx_per_head']:.0f} bytes received per HEAD")
        if "ms" in r:
            other.append(f"{r['ms']:.1f} ms, {r['requests']} upstream requests, "
                         f"{r['rx']:,} bytes received")
        if "bytes" in r:
            other.append(f"{r['bytes']:,} bytes sent, {r['requests']} upstream requests")
        if "footer_bytes" in r:
            other.append(
                f"footer {r['footer_bytes']:,} B; cold HEAD {r['cold_ms']:.1f} ms "
                f"(runs {r['cold_all_ms']}; {r['cold_requests']:.0f} upstream requests, "
                f"{r['cold_rx']:,.0f} bytes), warm HEAD {r['warm_ms']:.1f} ms, the two tail "
                f"reads straight from nginx {r['reads_direct_ms']:.1f} ms; Envoy CPU per HEAD "
                f"cold {r['cold_cpu_ms']:.1f} ms, warm {r['warm_cpu_ms']:.1f} ms; nginx's end "
                f"of the footer read to the forwarded HEAD {r['gap_ms']:.1f} ms "
                f"(runs {r['gap_all_ms']})")
        seconds = f"{r['seconds']:.2f}" if "seconds" in r else ""
        mb_s = f"{r['mb_s']:.0f}" if "mb_s" in r else ""
        out.append(f"| {name} | {seconds} | {mb_s} | {'; '.join(other)} |")
    lines = ["", "Parquet targets:"]

    def check(ok, text):
        lines.append(f"- {'met' if ok else 'MISSED'}: {text}")

    # Judged by the best round of each (a neighbour's load only takes away), with the medians
    # and Envoy's CPU per GET (least of the rounds: noise only adds) beside it.
    builds = [""] + sorted({name.split(" @", 1)[1] for name in rows if " @" in name})
    for build in builds:
        at = f" @{build}" if build else ""
        clear = rows[f"get-200m pqclear{at}"]
        for source in ("pqalice", "pqerin"):
            r = rows[f"get-200m {source}{at}"]
            ratio = r["mb_s_best"] / clear["mb_s_best"]
            line = (f"masked GET ({source}{at}) {ratio:.2f}× of the unmasked GET of the same "
                    f"object through the same build, best rounds ({r['mb_s_best']:.0f} vs "
                    f"{clear['mb_s_best']:.0f} MB/s; medians {r['mb_s'] / clear['mb_s']:.2f}×); "
                    f"Envoy CPU per GET {r['cpu_s_min'] / clear['cpu_s_min']:.2f}× the "
                    "unmasked (target ≥ 0.9× throughput)")
            if build:
                lines.append(f"- (build {build}: {line})")
            else:
                check(ratio >= 0.9, line)
    for source in ("pqalice", "pqerin"):
        r = rows[f"get-200m {source}"]
        check(r["rss_growth_mb"] < 32,
              f"Envoy RSS growth over a masked 200 MB GET ({source}) {r['rss_growth_mb']:.1f} MB "
              "(target < 32)")
    # No object bytes: every upstream request of a warm HEAD is a HEAD, as many bytes each as
    # the unmasked HEAD's one.
    warm, plain = rows["head-warm pqalice"], rows["head-warm pqclear"]
    per_request = warm["rx_per_head"] / max(warm["requests_per_head"], 1)
    check(per_request <= 1.1 * plain["rx_per_head"] and warm["rx_per_head"] < 4096,
          f"a warm HEAD reads none of the object: {warm['requests_per_head']:.2f} upstream "
          f"requests per HEAD of {per_request:.0f} bytes each received, as the unmasked HEAD's "
          f"one ({plain['rx_per_head']:.0f} bytes): the version's HEAD and the forwarded HEAD, "
          "no GET")
    f = rows["footer rg1000"]
    estimate = f["cold_ms"] - f["warm_ms"] - f["reads_direct_ms"]
    check(f["gap_ms"] < 20,
          f"footer decode + rewrite, 1,000 row groups × 20 columns, inside Envoy: "
          f"{f['gap_ms']:.1f} ms from nginx's end of the footer read to the gateway's next "
          f"request (target < 20; an upper bound: it also holds moving the 2.2 MB into the VM, "
          f"caching the overlay and one loopback request); cold − warm HEAD − the tail reads "
          f"straight from nginx {estimate:.1f} ms; Envoy CPU, cold − warm HEAD "
          f"{f['cold_cpu_ms'] - f['warm_cpu_ms']:.1f} ms")
    argv = rows["get-200m pqalice"]["argv"]
    return out + lines + ["", f"Load per round of the 200 MB GETs: `{argv}`"]
