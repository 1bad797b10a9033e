"""Writes a Parquet file of 1,000 row groups x 20 columns (statistics and the page index on),
the footer issue 16's target is stated for. Usage: make_fixture.py OUT.parquet"""
import sys

import pyarrow as pa
import pyarrow.parquet as pq

rows = 1000 * 10
columns = {f"c{i:02d}": pa.array([f"v{i}-{r}" if i % 2 else r for r in range(rows)])
           for i in range(20)}
pq.write_table(pa.table(columns), sys.argv[1], row_group_size=10, write_statistics=True,
               write_page_index=True)
