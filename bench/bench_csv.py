"""CSV benchmark: a torch_npu ``operator_memory.csv`` read and aggregated by
ubscope and by DuckDB (issue 17).

Run: python bench/bench_csv.py [--size-mib 1024] [--repeats 3]

The file is generated here, in a temporary directory, in the layout torch_npu
writes (CRLF line ends, a TAB after every timestamp, empty release cells for
blocks still alive at the end, a few negative sizes for frees the profiler saw
without their allocation), with operator names and sizes like the real
export's. Both sides do the same work: every row read, per operator and device
the allocation count, released count, total and largest size and first and last
allocation time, the lifetime histogram per operator and the 100 largest
blocks. Each measurement runs in a child process (time, and peak RSS from
VmHWM), the two readers interleaved and repeated. DuckDB is a benchmark-only
peer: without it (``pip install duckdb``) only ubscope is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.peak_memory import child_script
from tests.helpers.vendor_csv import OPERATOR_HEADER

sys.path.insert(0, str(Path(__file__).resolve().parent))
from child_runs import CPU_SECONDS, TABLE_HEADER, summary_row

HEADER = OPERATOR_HEADER + "\r\n"
# Operators as a ResNet/LLM training step's torch_npu export names them.
OPERATORS = (
    "aten::empty_strided",
    "aten::empty",
    "aten::_convolution",
    "aten::max_pool2d_with_indices",
    "aten::mm",
    "aten::addmm",
    "aten::add",
    "aten::mul",
    "aten::layer_norm",
    "aten::_softmax",
    "aten::cat",
    "aten::copy_",
    "aten::native_batch_norm",
    "aten::relu",
    "aten::zeros",
    "npu::npu_incre_flash_attention",
    "npu::npu_fusion_attention",
    "npu::npu_rms_norm",
    "aten::convolution_backward",
    "aten::threshold_backward",
)
BLOCK_ROWS = 100_000
SEED = 17


def _text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _us(values: np.ndarray) -> pa.Array:
    """Epoch-µs text with three decimals and torch_npu's trailing TAB, from int ns."""
    whole, fraction = np.divmod(values, 1000)
    return pc.binary_join_element_wise(
        _text(whole), ".", pc.utf8_lpad(_text(fraction), 3, "0"), "\t", ""
    )


def _unless(alive: np.ndarray, text: pa.Array | str) -> pa.Array:
    """Empty cells for blocks still alive when the profile ended."""
    if isinstance(text, str):
        text = pa.array(np.full(alive.size, text))
    return pc.if_else(pa.array(alive), "", text)


def _block(rng: np.random.Generator, start_ns: int) -> bytes:
    """BLOCK_ROWS rows of operator_memory.csv, allocations from ``start_ns`` on."""
    n = BLOCK_ROWS
    names = pa.array(np.array(OPERATORS)[rng.zipf(1.6, n) % len(OPERATORS)])
    halves = rng.integers(1, 1 << 17, n)
    halves[rng.random(n) < 0.002] = -1024
    sizes = pc.binary_join_element_wise(_text(halves // 2), np.where(halves % 2, ".5", ".0"), "")
    alloc = start_ns + np.cumsum(rng.integers(1_000, 80_000, n))
    lifetime = rng.lognormal(10, 2.5, n).astype(np.int64) + 10
    allocated = _text(np.round(900 + rng.random(n) * 600, 4))
    after = _text(np.round(900 + rng.random(n) * 600, 4))
    alive = rng.random(n) < 0.09
    columns = [
        names,
        sizes,
        _us(alloc),
        _unless(alive, _us(alloc + lifetime)),
        _unless(alive, _us(alloc + lifetime - 300)),
        _unless(alive, _us(lifetime)),
        _unless(alive, _us(np.maximum(lifetime - 300, 0))),
        allocated,
        "1452.0",
        allocated,
        _unless(alive, after),
        _unless(alive, "1452.0"),
        _unless(alive, after),
        "897357296",
        "NPU:0",
    ]
    rows = pc.binary_join_element_wise(*columns, ",")
    return ("\r\n".join(rows.to_pylist()) + "\r\n").encode()


def write_operator_memory(path: Path, size_bytes: int) -> int:
    """Write ~``size_bytes`` of operator_memory.csv; returns the bytes written."""
    rng = np.random.default_rng(SEED)
    written = 0
    start_ns = 1_736_408_883_694_624_810
    with open(path, "wb") as handle:
        handle.write(HEADER.encode())
        while written < size_bytes:
            block = _block(rng, start_ns)
            start_ns += 10**12
            handle.write(block)
            written += len(block)
    return written


UBSCOPE_CHILD = """
from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu
report = read_torch_npu(PATH)
tables = report.tables
result = {
    "operators": len(tables["operator_memory_by_name"]),
    "allocations": int(tables["operator_memory_by_name"]["allocations"].sum()),
    "largest_kb": float(tables["operator_memory_top"]["size_kb"].iloc[0]),
}
"""
# The reducer's aggregations in SQL, over a typed read of the same columns.
DUCKDB_CHILD = """
import duckdb
con = duckdb.connect()
con.execute(f'''
CREATE TEMP VIEW rows AS SELECT
  "Name" AS name, "Device Type" AS device, "Size(KB)" AS size_kb,
  "Allocation Time(us)" AS alloc_us,
  coalesce("Duration(us)", "Release Time(us)" - "Allocation Time(us)") AS lifetime_us,
  "Allocation Total Allocated(MB)" AS alloc_allocated_mb,
  "Allocation Total Reserved(MB)" AS alloc_reserved_mb,
  "Release Total Allocated(MB)" AS release_allocated_mb,
  "Release Total Reserved(MB)" AS release_reserved_mb
FROM read_csv('{PATH}', header = true, nullstr = ['', 'NA', 'N/A'],
  types = {{'Size(KB)': 'DOUBLE', 'Allocation Time(us)': 'DECIMAL(20, 3)',
            'Release Time(us)': 'DECIMAL(20, 3)', 'Duration(us)': 'DECIMAL(20, 3)'}})
''')
con.execute('''CREATE TEMP TABLE by_name AS SELECT name, device, count(*) AS allocations,
  count(lifetime_us) AS released, sum(size_kb) AS total_kb, max(size_kb) AS max_kb,
  min(alloc_us) AS first_alloc, max(alloc_us) AS last_alloc
  FROM rows WHERE size_kb > 0 GROUP BY ALL''')
con.execute('''CREATE TEMP TABLE lifetimes AS SELECT name,
  floor(log10(lifetime_us::DOUBLE) * 3) AS bucket, count(*) AS blocks
  FROM rows WHERE size_kb > 0 AND lifetime_us IS NOT NULL GROUP BY ALL''')
con.execute('CREATE TEMP TABLE top AS SELECT * FROM rows ORDER BY size_kb DESC LIMIT 100')
result = {
    "operators": con.execute('SELECT count(*) FROM by_name').fetchone()[0],
    "allocations": int(con.execute('SELECT sum(allocations) FROM by_name').fetchone()[0]),
    "largest_kb": float(con.execute('SELECT max(size_kb) FROM top').fetchone()[0]),
}
"""
WRAPPER = """
import json, sys, time
PATH = sys.argv[1]
start = time.perf_counter()
{body}
result["seconds"] = time.perf_counter() - start
result["cpu_seconds"] = {cpu}
result["rss_bytes"] = peak_rss_bytes()
print(json.dumps(result))
"""


def _run(body: str, path: Path) -> dict:
    script = child_script(WRAPPER.format(body=textwrap.dedent(body), cpu=CPU_SECONDS))
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"benchmark child failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _have_duckdb() -> bool:
    return find_spec("duckdb") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="CSV size (default 1024)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each reader")
    args = parser.parse_args()
    peers = {"ubscope": UBSCOPE_CHILD}
    if _have_duckdb():
        peers["DuckDB"] = DUCKDB_CHILD
    else:
        print("duckdb is not installed (pip install duckdb): timing ubscope alone")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "operator_memory.csv"
        written = write_operator_memory(path, args.size_mib << 20)
        runs: dict[str, list[dict]] = {name: [] for name in peers}
        load = os.getloadavg()[0]
        for _ in range(args.repeats):
            for name, body in peers.items():
                runs[name].append(_run(body, path))
        load = max(load, os.getloadavg()[0])
    first = runs["ubscope"][0]
    for name, results in runs.items():
        if (results[0]["operators"], results[0]["allocations"]) != (
            first["operators"],
            first["allocations"],
        ):
            raise SystemExit(f"{name} disagrees with ubscope: {results[0]} vs {first}")
    print(
        f"operator_memory.csv: {written / 2**20:,.0f} MiB, {first['allocations']:,} allocations "
        f"of {first['operators']} operators; {args.repeats} interleaved runs each, "
        f"{os.cpu_count()} CPUs, load average up to {load:.1f}"
    )
    print(TABLE_HEADER.format(what="reader", floor="DuckDB"))
    for name, results in runs.items():
        print(summary_row(name, results, runs.get("DuckDB", runs["ubscope"])))


if __name__ == "__main__":
    main()
