"""The stack the hostile Parquet passes share: the demo data, with a module's crafted objects
under `orders/crafted4/` (where `test_attacks_parquet_4.fetch` reads them), behind one real
stack for the module."""
import os
import shutil

import pyarrow as pa
import pyarrow.parquet as pq

from conftest import start_stack
from test_attacks_parquet_2 import refused
from test_attacks_parquet_4 import fetch


def crafted_stack(demo_dir, tmp_path_factory, label, crafted_objects):
    """Yields the started stack, with `first` (the first demo orders file, the objects' usual
    base), `objects` (`crafted_objects(first)`, by name), and the clear values a view must not
    hold: `emails` and `amounts` (each amount's float64 bytes)."""
    root = tmp_path_factory.mktemp(f"attack-parquet-{label}") / "data"
    shutil.copytree(demo_dir, root, copy_function=os.link)
    orders = root / "acme-warehouse-prod/curated/orders"
    crafted = orders / "crafted4"
    crafted.mkdir()
    first = sorted(orders.glob("*.parquet"))[0].read_bytes()
    objects = crafted_objects(first)
    for name, data in objects.items():
        (crafted / name).write_bytes(data)
    s = start_stack(root, tmp_path_factory.mktemp(f"run-attack-parquet-{label}"))
    s.first = first
    s.objects = objects
    tables = [pq.read_table(p) for p in orders.glob("*.parquet")]
    s.emails = {e.encode() for t in tables for e in t["customer_email"].to_pylist() if e}
    s.amounts = {pa.array([a], pa.float64()).buffers()[1].to_pybytes()
                 for t in tables for a in t["amount"].to_pylist() if a is not None}
    yield s
    s.stop()


def view_or_none(stack, principal, name):
    """`principal`'s view of the crafted object `name`, or None where the gateway refuses it."""
    status, headers, body = fetch(stack, principal, name)
    if refused(status, headers, body):
        return None
    assert status == 200, (status, body[:300])
    return body


def clear_in(stack, text):
    """The clear emails (up to five) in `text`."""
    return sorted(e.decode() for e in stack.emails if e in text)[:5]
