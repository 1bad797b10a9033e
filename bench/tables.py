"""Masked tables through Envoy, for `make bench` (bench/run.py runs these after its wrk
scenarios, against the `s3gate` variant's Envoy; docs/benchmarks.md, "Masked tables").

One generated CSV of 200 MB (`bench/micro/examples/table.rs`: the rows the native `transform`
micro-benchmarks mask) is served through three data sources over the same real object:
  tclear   no masks: the baseline, measured in the same run
  tdemo    the demo's masks: email hashed, ssn partial (last four kept)
  tnull    null and partial only: address null, ssn partial
and 1,000 objects of 100 KB under `tlist` (the demo's masks) for a listing whose sizes are all
cold. Each measurement is a few sequential requests timed from Python (one Envoy worker), not
a wrk run: a cold index can be met only once per object.
"""

import hashlib
import http.client
import statistics
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

BUCKET = "bench-tables"
BIG_BYTES = 200_000_000
SMALL_BYTES = 100_000
SMALL_OBJECTS = 1000
RANGE_BYTES = 8 * 1024 * 1024
RANGE_THREADS = 4   # boto3's download_file runs up to 10; one Envoy worker serves them all
WARM_HEADS = 200
MASK_SECRET = "bench mask secret: not a secret, at least 32 bytes long"
DATA_VERSION = "tables 1"

DATA_SOURCES = [
    {"name": name, "upstream": "demo", "bucket": BUCKET, "prefix": prefix, "format": "csv"}
    for name, prefix in [("tclear", "data/"), ("tdemo", "data/"), ("tnull", "data/"),
                         ("tlist", "list/")]
]
COLUMN_MASKS = [
    {"name": "bench-email-hashed", "data_sources": ["tdemo", "tlist"], "column": "email",
     "mask": {"kind": "hash"}},
    {"name": "bench-ssn-last-four", "data_sources": ["tdemo", "tnull", "tlist"],
     "column": "ssn", "mask": {"kind": "partial", "keep_first": 0, "keep_last": 4}},
    {"name": "bench-address-null", "data_sources": ["tnull"], "column": "address",
     "mask": {"kind": "null"}},
]
NAMES = [d["name"] for d in DATA_SOURCES]


def ensure_data(data, table_example):
    """The objects and nginx's listing page of them; idempotent (a stamp names the version)."""
    stamp = data / BUCKET / ".stamp"
    if stamp.exists() and stamp.read_text() == DATA_VERSION:
        return
    big = data / BUCKET / "data" / "big.csv"
    big.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(table_example), str(BIG_BYTES), str(big)], check=True)
    small = data / BUCKET / "list" / "part-0000.csv"
    small.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(table_example), str(SMALL_BYTES), str(small)], check=True)
    content = small.read_bytes()
    for i in range(1, SMALL_OBJECTS):
        (small.parent / f"part-{i:04d}.csv").write_bytes(content)
    page = data / "_pages" / "list-tables.xml"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(listing_page(sorted((small.parent).glob("part-*.csv"))))
    stamp.write_text(DATA_VERSION)


def nginx_etag(stat):
    """nginx's ETag of a static file: mtime and size in hex. The listing must name it, as the
    gateway reads the objects with If-Match on the listed ETag."""
    return f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'


def listing_page(files):
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
           f'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>{BUCKET}</Name>'
           f'<Prefix>list/</Prefix><KeyCount>{len(files)}</KeyCount><MaxKeys>1000</MaxKeys>'
           '<IsTruncated>false</IsTruncated>']
    for f in files:
        st = f.stat()
        modified = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(st.st_mtime)))
        etag = nginx_etag(st).replace('"', "&quot;")
        out.append(f"<Contents><Key>list/{f.name}</Key><LastModified>{modified}</LastModified>"
                   f"<ETag>{etag}</ETag><Size>{st.st_size}</Size>"
                   "<StorageClass>STANDARD</StorageClass></Contents>")
    out.append("</ListBucketResult>")
    return "".join(out)


class Client:
    """Signed requests to one Envoy, each on a fresh connection (no keep-alive surprises)."""

    def __init__(self, port, key, sign):
        self.port, self.key, self.sign = port, key, sign

    def request(self, method, path, extra=None, sink=None):
        """Status, headers and the body (or, with `sink`, its length and digest)."""
        headers = self.sign(method, self.port, path, self.key)
        headers.update(extra or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            if sink is None:
                return resp.status, dict(resp.getheaders()), resp.read()
            length = 0
            while chunk := resp.read(1 << 20):
                length += len(chunk)
                sink.update(chunk)
            return resp.status, dict(resp.getheaders()), length
        finally:
            conn.close()


def object_path(source, name="big.csv"):
    return f"/s3p/immuta/{source}/{name}"


def timed(fn):
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start


def expect(status, wanted, what):
    if status != wanted:
        raise RuntimeError(f"bench tables: {what} answered {status}, not {wanted}")


def run(envoy, sign, key, rss_sampler):
    """Every table measurement against `envoy` (the s3gate variant); rows for the report."""
    client = Client(envoy.port, key, sign)
    rows = {}
    rx = lambda: envoy.stat("cluster.s3_demo.upstream_cx_rx_bytes_total")  # noqa: E731

    for source in ("tdemo", "tnull"):
        # The pass (8 MiB reads into the VM) is where a masked object's memory goes.
        rss_before = envoy_rss(envoy)
        sampler = rss_sampler(envoy.pid)
        sampler.start()
        (status, headers, _), seconds = timed(lambda: client.request("HEAD", object_path(source)))
        peak = sampler.stop()
        expect(status, 200, f"cold HEAD of {source}")
        rows[f"head-cold {source}"] = {"seconds": seconds, "mb_s": BIG_BYTES / 1e6 / seconds,
                                       "view_bytes": int(headers["content-length"]),
                                       "rss_growth_mb": peak - rss_before}

    before = rx()
    latencies = []
    for _ in range(WARM_HEADS):
        (status, _, _), seconds = timed(lambda: client.request("HEAD", object_path("tdemo")))
        expect(status, 200, "warm HEAD")
        latencies.append(seconds)
    rows["head-warm tdemo"] = {
        "p50_ms": statistics.median(latencies) * 1e3,
        "rx_bytes_per_head": (rx() - before) / WARM_HEADS,
    }

    digests = {}
    for source in ("tclear", "tdemo", "tnull"):
        # The first GET warms nothing the others need: the HEADs above built the indexes.
        runs = []
        for _ in range(3):
            digest = hashlib.sha256()
            rss_before = envoy_rss(envoy)
            sampler = rss_sampler(envoy.pid)
            sampler.start()
            (status, headers, length), seconds = timed(
                lambda: client.request("GET", object_path(source), sink=digest))
            peak = sampler.stop()
            expect(status, 200, f"GET of {source}")
            if length != int(headers["content-length"]):
                raise RuntimeError(f"bench tables: {source} sent {length} bytes of "
                                   f"{headers['content-length']}")
            runs.append((seconds, peak - rss_before))
            digests[source] = (digest.hexdigest(), length)
        seconds = statistics.median(s for s, _ in runs)
        rows[f"get-200m {source}"] = {
            "seconds": seconds, "mb_s": BIG_BYTES / 1e6 / seconds,
            "view_bytes": digests[source][1], "rss_growth_mb": max(g for _, g in runs),
        }

    for source in ("tdemo", "tnull"):
        want_digest, size = digests[source]
        parts = [(a, min(a + RANGE_BYTES, size) - 1) for a in range(0, size, RANGE_BYTES)]
        got = {}
        lock = threading.Lock()

        def fetch(todo):
            while True:
                with lock:
                    if not todo:
                        return
                    first, last = todo.pop()
                status, _, body = client.request("GET", object_path(source),
                                                 {"Range": f"bytes={first}-{last}"})
                expect(status, 206, f"range of {source}")
                with lock:
                    got[first] = body

        todo = list(reversed(parts))
        threads = [threading.Thread(target=fetch, args=(todo,)) for _ in range(RANGE_THREADS)]
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - start
        whole = hashlib.sha256(b"".join(got[a] for a, _ in parts)).hexdigest()
        if whole != want_digest:
            raise RuntimeError(f"bench tables: the 8 MB ranges of {source} differ from its GET")
        rows[f"ranges-8m {source}"] = {"seconds": seconds, "mb_s": BIG_BYTES / 1e6 / seconds,
                                       "requests": len(parts)}

    for state in ("cold", "warm"):
        before = rx()
        (pages, listed), seconds = timed(lambda: list_all(client, "tlist/"))
        if listed != SMALL_OBJECTS:
            raise RuntimeError(f"bench tables: the {state} listing named {listed} objects")
        rows[f"list-1000 tlist {state}"] = {"seconds": seconds, "pages": pages,
                                            "rx_mb": (rx() - before) / 1e6}
    return rows


def list_all(client, prefix):
    """(pages, objects) of a ListObjectsV2 of `prefix`, following its continuation tokens."""
    token, pages, listed = None, 0, 0
    while True:
        query = f"list-type=2&prefix={quote(prefix, safe='')}"
        if token:
            query += f"&continuation-token={quote(token, safe='')}"
        status, _, body = client.request("GET", f"/s3p/immuta?{query}")
        expect(status, 200, "listing")
        pages += 1
        text = body.decode()
        listed += text.count("<Contents>")
        if "<Size>0</Size>" in text:
            raise RuntimeError("bench tables: a listed masked object measured 0 bytes")
        if "<IsTruncated>true</IsTruncated>" not in text:
            return pages, listed
        token = text.split("<NextContinuationToken>")[1].split("</")[0]


def envoy_rss(envoy):
    for line in Path(f"/proc/{envoy.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def report(rows, micro, get_1g):
    """The Markdown section of the report, with the issue's targets."""
    out = ["", "Masked tables (one Envoy worker, 200 MB CSV; MB/s of upstream CSV in):", "",
           "| measurement | s | MB/s | view bytes | other |", "|---|--:|--:|--:|---|"]
    for name, r in rows.items():
        other = []
        if "rss_growth_mb" in r:
            other.append(f"Envoy RSS growth {r['rss_growth_mb']:.1f} MB")
        if "p50_ms" in r:
            other.append(f"p50 {r['p50_ms']:.2f} ms, upstream {r['rx_bytes_per_head']:.0f} "
                         "bytes received per HEAD")
        if "pages" in r:
            other.append(f"{r['pages']} pages, {r['rx_mb']:.1f} MB from upstream")
        if "requests" in r:
            other.append(f"{r['requests']} ranges, {RANGE_THREADS} at a time")
        seconds = f"{r['seconds']:.2f}" if "seconds" in r else ""
        mb_s = f"{r['mb_s']:.0f}" if "mb_s" in r else ""
        view = f"{r['view_bytes']:,}" if "view_bytes" in r else ""
        out.append(f"| {name} | {seconds} | {mb_s} | {view} | {'; '.join(other)} |")
    lines = ["", "Table targets:"]

    def check(ok, text):
        lines.append(f"- {'met' if ok else 'MISSED'}: {text}")

    clear = rows["get-200m tclear"]["mb_s"]
    for source, target, native_name in (("tdemo", 100, "hash + partial"),
                                        ("tnull", 250, "null + partial")):
        r = rows[f"get-200m {source}"]
        check(r["mb_s"] >= target, f"masked GET ({native_name}) {r['mb_s']:.0f} MB/s through "
              f"Envoy (target ≥ {target}; {r['mb_s'] / clear:.2f}× of the unmasked GET of the "
              "same object)")
        native = next((m for m in micro if m["name"] == f"transform/20 MB CSV, {native_name}"),
                      None)
        if native:
            check(native["mb_s"] >= 2 * target,
                  f"native transform ({native_name}) {native['mb_s']:.0f} MB/s (target ≥ "
                  f"{2 * target}; {native['mb_s'] / r['mb_s']:.1f}× of it through Envoy)")
        growth = max(r["rss_growth_mb"], rows[f"head-cold {source}"]["rss_growth_mb"])
        check(growth < 32,
              f"Envoy RSS growth over a masked 200 MB object ({source}: its cold HEAD's pass, "
              f"then GETs) {growth:.1f} MB (target < 32)")
    warm = rows["head-warm tdemo"]
    check(warm["rx_bytes_per_head"] < 4096,
          f"a warm HEAD reads no object bytes: {warm['rx_bytes_per_head']:.0f} bytes from "
          "upstream per HEAD (headers of the HEAD call and the HEAD itself)")
    if get_1g:
        lines.append(f"- (unmasked: get-1g {get_1g:.0f} MB/s in this run, its own target above)")
    return out + lines


def envoy_env():
    """What the bench's Envoys need in their environment for masked tables."""
    return {"S3GATE_MASK_SECRET": MASK_SECRET}
