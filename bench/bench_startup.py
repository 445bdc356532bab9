"""Start-up and ``trace info`` against their floors (issue 17).

Usage: ``python bench/bench_startup.py [TRACE] [--events N] [--rounds 15] [--info-rounds 3]
[--only startup|tui|info] [--no-bytecode-cache]``

Every measure runs in a fresh process, the measures of a group taking turns
round after round (interleaved, so a change of load on this shared machine
hits them alike) after one untimed round; the tables give medians, and ratios
from this one run. The children load compiled bytecode as an installed
package does: they write it to a scratch PYTHONPYCACHEPREFIX in the untimed
round, even where PYTHONDONTWRITEBYTECODE is set (``--no-bytecode-cache``
leaves the environment as it is: every ubscope module compiled from source in
every run, site-packages not).

* start-up, wall and CPU time of the whole process: ``python -c pass``,
  ``python -c "import ubscope"`` (the floor of ``--version``), ``ubscope
  --version``, ``ubscope --help``, and ``ubscope COMMAND --help`` of every command;
* TUI first paint, from the child's start to the profile screen showing the
  trace's metadata, against a bare Textual app painting one line (both wait
  as bench/bench_tui.py does), wall and CPU time; and the same in a terminal:
  ``ubscope tui TRACE`` (the command: parsing, checks, the app) and the bare
  app run as a script, each on a pseudo-terminal of 120x35, from the spawn to
  the first bytes of its screen text in the terminal's output;
* ``trace info`` on TRACE (default 10 M events, made by bench/make_big_trace.py
  when missing): ubscope's streaming summary, the whole read it replaced
  (``read_trace`` and the analysis layer's modelled time), and the floor,
  pyarrow counting kinds batch by batch; time from the child's start, imports
  included, and its peak RSS (VmHWM).

Targets: ``--version`` <= 2x ``import ubscope``; ``--help`` and every ``COMMAND
--help`` <= 0.3 s; first paint <= 1.5x the bare app.
"""

from __future__ import annotations

import time

START = time.perf_counter()
CPU_START = time.process_time()

# After START: a TUI child times its imports too.
import argparse  # noqa: E402
import asyncio  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pty  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import termios  # noqa: E402
import textwrap  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.helpers.peak_memory import child_script  # noqa: E402

# The trace info children; each leaves the event count in ``events``.
INFO = {
    "ubscope trace info (streaming)": """
        from ubscope.probe.trace_info import summarize_trace
        events = summarize_trace(path)["events"]
    """,
    "whole read (read_trace + modelled time)": """
        from ubscope.analyzers import TraceContext
        from ubscope.probe.trace import read_trace
        trace = read_trace(path)
        TraceContext(trace).modelled_time_ps
        events = trace.event_count
    """,
    "floor: pyarrow counting kinds per batch": """
        import numpy as np
        import pyarrow as pa
        counts = {}
        with pa.OSFile(path) as source:
            for batch in pa.ipc.open_stream(source):
                kind = batch.column("kind")
                found = np.bincount(kind.indices.to_numpy(), minlength=len(kind.dictionary))
                for label, count in zip(kind.dictionary.to_pylist(), found.tolist()):
                    counts[label] = counts.get(label, 0) + count
        events = sum(counts.values())
    """,
}
_INFO_HEAD = """
import json, sys, time
start = time.perf_counter()
path = sys.argv[1]
"""
_INFO_TAIL = """
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rss_bytes": peak_rss_bytes(), "events": events}))
"""


def _info_script(body: str) -> str:
    return child_script(_INFO_HEAD + textwrap.dedent(body) + _INFO_TAIL)


def _ubscope() -> str:
    found = shutil.which("ubscope", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("ubscope is not installed beside this python (pip install -e .)")
    return found


def startup_commands() -> dict[str, list[str]]:
    from ubscope.commands import COMMANDS

    python, ubscope = sys.executable, _ubscope()
    return {
        "python -c pass": [python, "-c", "pass"],
        'python -c "import ubscope"': [python, "-c", "import ubscope"],
        "ubscope --version": [ubscope, "--version"],
        "ubscope --help": [ubscope, "--help"],
        **{f"ubscope {c.name} --help": [ubscope, c.name, "--help"] for c in COMMANDS},
    }


# The children's environment (main() sets the bytecode cache up).
CHILD_ENV = dict(os.environ)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str]) -> dict[str, float]:
    """Wall time of the whole process, and its CPU time (user and system; the
    load of this shared machine inflates the first more than the second)."""
    began, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=CHILD_ENV)
    return {"seconds": time.perf_counter() - began, "cpu_seconds": _children_cpu() - cpu}


def _child_json(command: list[str]) -> dict:
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=CHILD_ENV)
    return json.loads(done.stdout.strip().splitlines()[-1])


def in_terminal(command: list[str], marker: bytes, timeout: float = 60) -> dict[str, float]:
    """Wall time from spawning ``command`` on a 120x35 pseudo-terminal until
    ``marker`` appears in what it writes there; then the child is killed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 35, 120, 0, 0))
    began = time.perf_counter()
    child = subprocess.Popen(
        command,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env={**CHILD_ENV, "TERM": "xterm-256color"},
        start_new_session=True,
    )
    os.close(follower)
    seen = b""
    try:
        while marker not in seen:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                raise SystemExit(f"{command}: no {marker!r} within {timeout} s")
            seen = seen[-len(marker) :] + os.read(leader, 1 << 16)
        seconds = time.perf_counter() - began
    finally:
        child.kill()
        child.wait()
        os.close(leader)
    return {"seconds": seconds}


def interleaved(measures: dict[str, Callable[[], dict]], rounds: int) -> dict[str, dict]:
    """Median of each field of each measure, the measures taking turns after
    one untimed round (which also fills the bytecode cache)."""
    for measure in measures.values():
        measure()
    runs: dict[str, list[dict]] = {name: [] for name in measures}
    for round_number in range(rounds):
        print(f"  round {round_number + 1}/{rounds}", file=sys.stderr)
        for name, measure in measures.items():
            runs[name].append(measure())
    return {
        name: {key: statistics.median(run[key] for run in results) for key in results[0]}
        for name, results in runs.items()
    }


# -- TUI children ---------------------------------------------------------------------
async def _tui_first_paint(trace: Path) -> dict[str, float]:
    from bench_tui import until_painted

    from ubscope.tui.app import UbscopeApp
    from ubscope.tui.loading import TraceRequest
    from ubscope.tui.profile import ProfileScreen

    app = UbscopeApp(request=TraceRequest(trace))
    async with app.run_test(size=(120, 35)) as pilot:
        await until_painted(pilot, lambda: isinstance(app.screen, ProfileScreen))
        painted = _since_start()
        app.exit()
    return painted


# The bare app; run as a script (``__main__``) it paints in the terminal.
async def _bare_first_paint() -> dict[str, float]:
    from bare_app import Bare
    from bench_tui import until_painted

    app = Bare()
    async with app.run_test(size=(120, 35)) as pilot:
        await until_painted(pilot, lambda: True)
        painted = _since_start()
        app.exit()
    return painted


def _since_start() -> dict[str, float]:
    """Wall time since START, and this process's CPU time (all threads; before
    the first paint the TUI runs no worker) since START."""
    return {"seconds": time.perf_counter() - START, "cpu_seconds": time.process_time() - CPU_START}


def _tui_child(which: str, trace: Path) -> None:
    sys.path.insert(0, str(HERE))
    if which == "bare":
        painted = asyncio.run(_bare_first_paint())
    else:
        painted = asyncio.run(_tui_first_paint(trace))
    print(json.dumps(painted))


# -- report ---------------------------------------------------------------------------
def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def _print_startup(results: dict[str, dict]) -> None:
    floor = results['python -c "import ubscope"']["seconds"]
    print("| command | median | vs `import ubscope` | CPU time | target |")
    print("|---|---|---|---|---|")
    for name, result in results.items():
        seconds = result["seconds"]
        target = "<= 2x" if name == "ubscope --version" else "<= 0.3 s"
        print(
            f"| `{name}` | {seconds * 1000:.0f} ms | {seconds / floor:.2f}x "
            f"| {result['cpu_seconds'] * 1000:.0f} ms "
            f"| {target if name.startswith('ubscope') else '-'} |"
        )


def _print_tui(results: dict[str, dict]) -> None:
    """Each measure against the bare app measured the same way (the row before)."""
    print("| first paint | median | vs bare app | CPU time | vs bare app | target |")
    print("|---|---|---|---|---|---|")
    bare: dict = {}
    for name, result in results.items():
        is_bare = name.startswith("bare")
        if is_bare:
            bare = result
        seconds = result["seconds"]
        cpu = result.get("cpu_seconds")
        cpu_cells = f"{cpu:.2f} s | {cpu / bare['cpu_seconds']:.2f}x" if cpu else "- | -"
        print(
            f"| {name} | {seconds:.2f} s | {seconds / bare['seconds']:.2f}x | {cpu_cells} "
            f"| {'-' if is_bare else '<= 1.5x'} |"
        )


def _print_info(results: dict[str, dict], trace: Path) -> None:
    floor = results["floor: pyarrow counting kinds per batch"]
    events = int(floor["events"])
    print(f"`trace info` on {trace.name}: {events:,} events, {trace.stat().st_size >> 20} MiB\n")
    print("| | time | vs floor | peak RSS | vs floor |")
    print("|---|---|---|---|---|")
    for name, result in results.items():
        if int(result["events"]) != events:
            raise SystemExit(f"{name} counted {int(result['events'])} events, not {events}")
        print(
            f"| {name} | {result['seconds']:.2f} s | {result['seconds'] / floor['seconds']:.2f}x "
            f"| {result['rss_bytes'] / 2**20:.0f} MiB "
            f"| {result['rss_bytes'] / floor['rss_bytes']:.2f}x |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "trace", nargs="?", type=Path, default=Path("/tmp/ubscope-bench-tui-10m.ubtrace")
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=15, help="start-up and TUI rounds")
    parser.add_argument("--info-rounds", type=int, default=3, help="trace info rounds")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="run the children in this environment as it is (see above)",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=("startup", "tui", "info"),
        help="measure this group only (repeatable; default: all three)",
    )
    parser.add_argument("--child", choices=("tui", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _tui_child(args.child, args.trace)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-startup-pyc-") as cache:
        if not args.no_bytecode_cache:
            CHILD_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            CHILD_ENV["PYTHONPYCACHEPREFIX"] = cache
        return _measure(args)


def _measure(args: argparse.Namespace) -> int:
    groups = args.only or ["startup", "tui", "info"]
    if not args.trace.exists() and {"tui", "info"} & set(groups):
        print(f"generating {args.events:,} events into {args.trace} ...", file=sys.stderr)
        make = [sys.executable, str(HERE / "make_big_trace.py"), str(args.events), str(args.trace)]
        subprocess.run(make, check=True)
    bytecode = "from source" if args.no_bytecode_cache else "cached in a scratch folder"
    print(f"before: {_load()}; ubscope's bytecode {bytecode}\n")
    for group in groups:
        print(f"{group} ...", file=sys.stderr)
        GROUPS[group](args)
        print()
    print(f"after: {_load()}")
    return 0


def _startup(args: argparse.Namespace) -> None:
    commands = startup_commands()
    _print_startup(
        interleaved(
            {name: partial(_timed, command) for name, command in commands.items()},
            args.rounds,
        )
    )


def _tui(args: argparse.Namespace) -> None:
    child = [sys.executable, __file__, str(args.trace), "--child"]
    tui = interleaved(
        {
            "bare Textual app (Pilot)": lambda: _child_json([*child, "bare"]),
            "`UbscopeApp` (Pilot, as bench/bench_tui.py)": lambda: _child_json([*child, "tui"]),
            "bare Textual app (script, in a terminal)": partial(
                in_terminal, [sys.executable, str(HERE / "bare_app.py")], b"bench_tiled"
            ),
            "`ubscope tui TRACE` (in a terminal)": partial(
                in_terminal, [_ubscope(), "tui", str(args.trace)], b"analysing the trace"
            ),
        },
        args.rounds,
    )
    _print_tui(tui)


def _info(args: argparse.Namespace) -> None:
    info = interleaved(
        {
            name: partial(_child_json, [sys.executable, "-c", _info_script(body), str(args.trace)])
            for name, body in INFO.items()
        },
        args.info_rounds,
    )
    _print_info(info, args.trace)


GROUPS: dict[str, Callable[[argparse.Namespace], None]] = {
    "startup": _startup,
    "tui": _tui,
    "info": _info,
}


if __name__ == "__main__":
    sys.exit(main())
