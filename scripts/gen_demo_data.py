#!/usr/bin/env python3
"""Generate the demo data that `rclone serve s3 DIR` serves: one bucket per top-level folder.

Deterministic (seeded PRNG) and idempotent: a stamp file in DIR records the generator version,
and a matching stamp means there is nothing to do. The tree is built in a temporary sibling
folder and renamed into place, so a reader never sees half a tree and concurrent runs are safe.

Real bucket and prefix names are deliberately unlike the data source names (sales, customers,
orders, purchases, events, documents), and no file content mentions them, so the end-to-end tests
can grep every response for a leak.

`orders` is Parquet, written with pyarrow (several files of several row groups, dictionary
encoding, statistics, the page index and a bloom filter on `customer_email`): the same pyarrow
version (requirements.txt) writes the same bytes. `purchases` is the CSV kind of orders.

Usage: gen_demo_data.py DIR
"""

import json
import os
import random
import shutil
import sys
import zlib
from pathlib import Path

# Bump when the layout or contents change; an older tree is then regenerated.
VERSION = "s3gate-demo-data 4"
STAMP = ".s3gate-demo-stamp"
SEED = 20261101

WAREHOUSE = "acme-warehouse-prod"
ARCHIVE = "acme-docs-archive"
# Strings the e2e tests treat as leaks; no file may contain them.
FORBIDDEN = [b"acme-warehouse-prod", b"acme-docs-archive", b"curated/", b"raw/events",
             b"archive/documents", b"secrets"]

LARGE_SCAN_SIZE = 21 * 1024 * 1024 + 4321  # > 20 MB and not a multiple of any part size
ARCHIVE_SIZE = 50 * 1024 * 1024 + 12345  # a 50 MB download; the last ranged part is short
# More objects than two 1,000-key pages, so every client has to paginate.
DAY_PARTS = 3000
DAY = "2026-11-03"
# Keys with characters that clients and servers encode differently (space, '+', '%', '&', '<',
# '>', non-ASCII, emoji); '100%25.bin' is a literal name that a double decode would confuse.
ODD_NAMES = ["a+b.bin", "a b+c.bin", "100%.bin", "100%25.bin", "x&y<z>.bin",
             "caf\u00e9 d\u00e9j\u00e0 vu.bin", "emoji \U0001f389.bin"]

FIRST = ["Ada", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
         "Kemal", "Lena", "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tala"]
LAST = ["Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Horvat", "Ito",
        "Jansen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov", "Rossi", "Sato"]
PRODUCTS = ["widget", "gadget", "sprocket", "gizmo", "doohickey", "flange", "bracket"]


def sales_csv(rng, region, part):
    lines = ["order_id,region,product,amount,order_date"]
    for i in range(rng.randint(50, 200)):
        amount = rng.randint(100, 99999) / 100
        lines.append(f"{region.upper()}{part}{i:05d},{region},{rng.choice(PRODUCTS)},"
                     f"{amount:.2f},2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}")
    return ("\n".join(lines) + "\n").encode()


def crc_file(data):
    # Spark/Hadoop-style checksum sidecar: a small binary header plus the CRC32 of the data.
    return b"crc\x00" + zlib.crc32(data).to_bytes(4, "big")


def customers_csv(rng):
    lines = ["id,name,email,ssn,region"]
    for i in range(1, rng.randint(80, 120) + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        # SSN area numbers 900-999 are never issued: obviously fake.
        ssn = f"{rng.randint(900, 999)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
        lines.append(f"{i},{first} {last},{first.lower()}.{last.lower()}{i}@example.com,"
                     f"{ssn},{rng.choice(['eu', 'us'])}")
    return ("\n".join(lines) + "\n").encode()


ORDER_REGIONS = ["eu", "us", "apac"]
ORDER_FILES = 3
ORDER_ROWS = 1200  # per file, in row groups of ORDER_ROW_GROUP
ORDER_ROW_GROUP = 300


def orders_parquet(rng, emails, part):
    """One Parquet file of orders by the customers (their emails)."""
    import datetime
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    start = datetime.datetime(2026, 10, 1) + datetime.timedelta(days=20 * part)
    rows = ORDER_ROWS
    table = pa.table({
        "order_id": pa.array([part * rows + i + 1 for i in range(rows)], pa.int64()),
        "customer_email": pa.array([rng.choice(emails) for _ in range(rows)], pa.string()),
        "amount": pa.array([rng.randint(100, 99999) / 100 for _ in range(rows)], pa.float64()),
        "region": pa.array([rng.choice(ORDER_REGIONS) for _ in range(rows)], pa.string()),
        "order_ts": pa.array([start + datetime.timedelta(minutes=17 * i) for i in range(rows)],
                             pa.timestamp("us")),
    }, schema=pa.schema([
        pa.field("order_id", pa.int64(), nullable=False),
        pa.field("customer_email", pa.string()),
        pa.field("amount", pa.float64()),
        pa.field("region", pa.string()),
        pa.field("order_ts", pa.timestamp("us")),
    ]))
    out = io.BytesIO()
    pq.write_table(table, out, row_group_size=ORDER_ROW_GROUP, compression="snappy",
                   use_dictionary=True, write_statistics=True, write_page_index=True,
                   bloom_filter_options={"customer_email": {"ndv": 200, "fpp": 0.05}})
    return out.getvalue()


def orders_csv(rng, emails, month, count):
    """A month of orders by the customers (their emails, so a hashed email joins the tables)."""
    lines = ["order_id,email,product,amount,order_date"]
    for i in range(count):
        amount = rng.randint(100, 99999) / 100
        lines.append(f"O{month.replace('-', '')}{i:04d},{rng.choice(emails)},{rng.choice(PRODUCTS)},"
                     f"{amount:.2f},{month}-{rng.randint(1, 28):02d}")
    return ("\n".join(lines) + "\n").encode()


def events_jsonl(rng, day):
    out = []
    for i in range(rng.randint(60, 150)):
        out.append(json.dumps({
            "event_id": f"{day.replace('-', '')}-{i:05d}",
            "ts": f"{day}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z",
            "user_id": rng.randint(1, 120),
            "type": rng.choice(["page_view", "add_to_cart", "checkout", "search"]),
            "product": rng.choice(PRODUCTS),
        }, sort_keys=True))
    return ("\n".join(out) + "\n").encode()


def day_part(i):
    # A few hundred bytes: three events, no PRNG (3,000 of them must be quick to make).
    lines = [json.dumps({"event_id": f"{DAY.replace('-', '')}-{i:05d}-{n}", "part": i,
                         "product": PRODUCTS[(i + n) % len(PRODUCTS)],
                         "type": ("page_view", "search", "checkout")[n],
                         "user_id": (i * 7 + n) % 120 + 1}, sort_keys=True) for n in range(3)]
    return ("\n".join(lines) + "\n").encode()


def events_day(files):
    """A day folder of many small parts. Housekeeping for every 7th part, in both namings:
    Hadoop's `.part-N.jsonl.crc` (one run of hidden keys listed before every part) and
    `part-N.jsonl.crc` (listed right after its part), so hidden keys fall on page boundaries."""
    day = f"{WAREHOUSE}/raw/events/{DAY}"
    for i in range(DAY_PARTS):
        data = day_part(i)
        files[f"{day}/part-{i:05d}.jsonl"] = data
        if i % 7 == 0:
            files[f"{day}/.part-{i:05d}.jsonl.crc"] = crc_file(data)
            files[f"{day}/part-{i:05d}.jsonl.crc"] = crc_file(data)


def build(root):
    rng = random.Random(SEED)
    files = {}  # relative path -> bytes
    sales = f"{WAREHOUSE}/curated/sales"
    for region in ("eu", "us"):
        for part in range(2):
            files[f"{sales}/region={region}/part-{part:05d}.csv"] = sales_csv(rng, region, part)
        first = files[f"{sales}/region={region}/part-00000.csv"]
        files[f"{sales}/region={region}/.part-00000.csv.crc"] = crc_file(first)
    files[f"{sales}/_SUCCESS"] = b""
    files[f"{WAREHOUSE}/curated/customers/customers.csv"] = customers_csv(rng)
    for day in ("2026-11-01", "2026-11-02"):
        files[f"{WAREHOUSE}/raw/events/{day}.jsonl"] = events_jsonl(rng, day)
    # Decoys: they belong to no data source and must never be listed or served.
    files[f"{WAREHOUSE}/curated/sales_eu/leak.csv"] = b"order_id,amount\nDECOY1,1.00\n"
    files[f"{WAREHOUSE}/secrets/credentials.txt"] = b"access_key = DECOYDECOYDECOY\n"
    docs = f"{ARCHIVE}/archive/documents"
    files[f"{docs}/Q3 report \u2013 final.pdf"] = b"%PDF-1.4\n" + rng.randbytes(48 * 1024)
    files[f"{docs}/r\u00e9sum\u00e9 \u00fc.bin"] = rng.randbytes(3000)
    files[f"{docs}/notes/\u65e5\u672c\u8a9e \u30e1\u30e2.txt"] = "会議のメモ\n".encode() * 20
    files[f"{docs}/scan-0001.bin"] = rng.randbytes(200 * 1024)
    files[f"{docs}/large scan.bin"] = random.Random(SEED + 1).randbytes(LARGE_SCAN_SIZE)
    files[f"{docs}/big/archive 50MB.bin"] = random.Random(SEED + 2).randbytes(ARCHIVE_SIZE)
    for n, name in enumerate(ODD_NAMES):
        files[f"{docs}/odd names/{name}"] = f"odd name {n}\n".encode() + rng.randbytes(100 + n)
    events_day(files)
    # Orders last, from a PRNG of their own: every other file stays byte for byte as it was.
    customers = files[f"{WAREHOUSE}/curated/customers/customers.csv"].decode().splitlines()[1:]
    emails = [line.split(",")[2] for line in customers]
    orders_rng = random.Random(SEED + 3)
    for month, count in (("2026-10", 140), ("2026-11", 160)):
        files[f"{WAREHOUSE}/curated/purchases/{month}.csv"] = orders_csv(orders_rng, emails, month,
                                                                         count)
    parquet_rng = random.Random(SEED + 4)
    for part in range(ORDER_FILES):
        files[f"{WAREHOUSE}/curated/orders/part-{part:05d}.parquet"] = orders_parquet(
            parquet_rng, emails, part)

    for rel, data in files.items():
        bad = [f for f in FORBIDDEN if f in data]
        if bad:
            raise SystemExit(f"generated {rel} contains {bad}; change the seed or content")
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / STAMP).write_text(VERSION + "\n")


def is_current(root):
    try:
        return (root / STAMP).read_text().strip() == VERSION
    except OSError:
        return False


def ensure(root):
    """Generate the tree at root unless it is already current. True if it generated."""
    root = Path(root).resolve()
    if is_current(root):
        return False
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(f"{root.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    build(tmp)
    if root.exists() and not is_current(root):
        shutil.rmtree(root)
    try:
        tmp.rename(root)
    except OSError:
        if not is_current(root):  # lost a race to a concurrent run that wrote the same tree
            raise
        shutil.rmtree(tmp)
    return True


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    if ensure(sys.argv[1]):
        print(f"demo data generated in {sys.argv[1]}")


if __name__ == "__main__":
    main()
