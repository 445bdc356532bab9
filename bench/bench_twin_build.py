"""First builds of the CPU twin: how long a kernel's first ``ubscope run``
waits for the compiler.

Run: python bench/bench_twin_build.py [SAMPLES_DIR] [--repeat 3] [--before WORKTREE]

Builds, each in a fresh interpreter and an empty build cache, the shared
``add_custom`` sample (when SAMPLES_DIR, default ../shared/ascendc_samples,
holds it) and ubscope's own ``layernorm_inplace.cpp``: the kernel's
translation unit, the launcher ubscope generates, and the link. With
``--before`` (a ``git worktree add`` of an older commit) the older tree builds
the same sources, the two trees taking turns ``--repeat`` times; medians of
wall time and of the compilers' CPU time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_twin import add_samples_argument
from older_tree import older_tree, timed

KERNELS_DIR = Path(__file__).resolve().parents[1] / "kernels" / "ascendc"


def build_once(source: Path, entry: str) -> None:
    """One build of ``entry`` in ``source`` into an empty cache; prints its
    seconds (wall, and the compilers' CPU) as JSON."""
    from ubscope.probe.ascendc.build import build, entry_parameters

    with tempfile.TemporaryDirectory() as cache:
        os.environ["UBSCOPE_TWIN_CACHE"] = cache
        parameters = tuple(entry_parameters(source, source.read_text(), entry))
        start = time.perf_counter()
        build(source, entry, parameters)
        wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_samples_argument(parser)
    parser.add_argument("--repeat", type=int, default=3, help="builds of each (median)")
    parser.add_argument("--before", type=Path, help="a worktree of an older commit to compare")
    parser.add_argument("--child", nargs=2, metavar=("SOURCE", "ENTRY"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        build_once(Path(args.child[0]), args.child[1])
        return
    sources = [(KERNELS_DIR / "layernorm_inplace.cpp", "layernorm_inplace")]
    add_custom = args.samples / "01_add_custom_neo" / "add_custom.cpp"
    if add_custom.is_file():
        sources.insert(0, (add_custom, "add_custom"))
    else:
        print(f"{args.samples}: no shared samples, add_custom skipped")
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        old_env = older_tree(args.before, Path(tmp)) if args.before else None
        print("\n| kernel | this tree wall / CPU | before wall / CPU | before / this (wall) |")
        print("|---|---|---|---|")
        for source, entry in sources:
            command = [sys.executable, __file__, "--child", str(source), entry]
            new, old = [], []
            for _ in range(args.repeat):  # taking turns, so load hits both alike
                new.append(json.loads(timed(command)[2]))
                if old_env is not None:
                    old.append(json.loads(timed(command, old_env)[2]))
            cells = [_median_cell(new), "-", "-"]
            if old:
                ratio = statistics.median(r["seconds"] for r in old) / statistics.median(
                    r["seconds"] for r in new
                )
                cells[1:] = [_median_cell(old), f"{ratio:.2f}x"]
            print(f"| {source.name} | {' | '.join(cells)} |")
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


def _median_cell(runs: list[dict[str, float]]) -> str:
    wall = statistics.median(r["seconds"] for r in runs)
    cpu = statistics.median(r["cpu"] for r in runs)
    return f"{wall:.2f} s / {cpu:.2f} s"


if __name__ == "__main__":
    main()
