"""TUI responsiveness on a large trace (default 10 million events).

Usage: ``python bench/bench_tui.py [TRACE] [--events N] [--runs 3]``

Measures, with Textual's Pilot in a fresh process per run (so imports count):

* first paint: from process start to the profile screen showing the trace's
  kernel, chip and parameters (read from the metadata, before the events);
* analysis ready: until the views are mounted on the finished analysis
  (reading the events and running the analyzers, in a worker thread);
* per key press, once ready: moving through the Events table (down, page
  down, end, go-to-sequence, a filter) and the Timeline / Memory map cursor:
  from posting the key to the whole screen rendered again.

Prints a markdown table of medians. The trace is generated with
``bench/make_big_trace.py`` when it does not exist.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

START = time.perf_counter()
HERE = Path(__file__).resolve().parent
KEYS = {
    "events: down": ("6", ["down"]),
    "events: page down": ("6", ["pagedown"]),
    "events: end / home": ("6", ["end", "home"]),
    "events: go to seq": ("6", ["g", "5", "0", "0", "0", "0", "0", "0", "enter"]),
    "events: apply filter kind=free": ("6", ["enter"]),
    "timeline: cursor right": ("3", ["right"]),
    "timeline: next event": ("3", ["right_square_bracket"]),
    "memory map: next event": ("4", ["right"]),
}
PRESSES = 15
CHARACTERS = {"slash": "/", "right_square_bracket": "]", "enter": "\r"}


async def _key_latency_ms(app, pilot, keys: list[str]) -> float:
    """Milliseconds per key from posting the key events to the screen being
    fully rendered again, without Pilot's idle-detection sleeps (which alone
    add 40-60 ms to every ``pilot.press``)."""
    from textual import events

    began = time.perf_counter()
    for key in keys:
        event = events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None))
        event.set_sender(app)
        app._driver.send_message(event)
        await pilot._wait_for_screen()
        await pilot._wait_for_screen()  # and what handling the key posted
    app.screen._compositor.render_update(full=True)
    return (time.perf_counter() - began) * 1000 / len(keys)


async def until_painted(pilot, on_screen, selector: str = "#pending-summary") -> None:
    """Until ``on_screen()`` holds and the screen has a ``selector`` widget, then
    one refresh: for the profile screen, the trace's metadata is on screen."""
    while not (on_screen() and pilot.app.screen.query(selector)):
        await pilot.pause(0.005)
    await pilot.pause(0)


async def _measure(trace: Path) -> dict[str, list[float] | float]:
    from textual.widgets import Input

    from ubscope.tui.app import UbscopeApp
    from ubscope.tui.loading import TraceRequest
    from ubscope.tui.profile import ProfileScreen

    app = UbscopeApp(request=TraceRequest(trace))
    result: dict[str, list[float] | float] = {}
    async with app.run_test(size=(120, 35)) as pilot:
        await until_painted(pilot, lambda: isinstance(app.screen, ProfileScreen))
        result["first paint (s)"] = time.perf_counter() - START
        screen = app.screen
        assert isinstance(screen, ProfileScreen)
        while not screen.ready:
            if app.error is not None:
                raise SystemExit(f"ubscope: error: {app.error}")
            await pilot.pause(0.05)
        await pilot.pause(0.05)
        result["analysis ready (s)"] = time.perf_counter() - START
        for name, (view, keys) in KEYS.items():
            await pilot.press(view)
            await pilot.pause()
            timings = []
            filtering = name.startswith("events: apply filter")
            for _ in range(3 if filtering else PRESSES):
                if filtering:  # typed text is not the cost: time the Enter that filters
                    app.screen.query_one("#events-filter", Input).value = "kind=free"
                    app.screen.query_one("#events-filter", Input).focus()
                timings.append(await _key_latency_ms(app, pilot, keys))
                await pilot.pause()
                if filtering:
                    await pilot.press("x")
            result[name] = timings
        await pilot.press("q")
    return result


def _child(trace: Path) -> None:
    import asyncio

    print(json.dumps(asyncio.run(_measure(trace))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "trace", nargs="?", type=Path, default=Path("/tmp/ubscope-bench-tui-10m.ubtrace")
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.trace)
        return 0
    if not args.trace.exists():
        print(f"generating {args.events:,} events into {args.trace} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(HERE / "make_big_trace.py"), str(args.events), str(args.trace)],
            check=True,
        )
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs} ...", file=sys.stderr)
        out = subprocess.run(
            [sys.executable, __file__, str(args.trace), "--child"],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(
            json.dumps(
                {
                    k: v if isinstance(v, float) else statistics.median(v)
                    for k, v in runs[-1].items()
                }
            ),
            file=sys.stderr,
        )
    size_mib = args.trace.stat().st_size / 2**20
    print(f"\nTUI on {args.trace.name} ({size_mib:.0f} MiB), median of {args.runs} runs\n")
    print("| measure | median | target |")
    print("|---|---|---|")
    for key in runs[0]:
        values = [
            v for run in runs for v in (run[key] if isinstance(run[key], list) else [run[key]])
        ]
        median = statistics.median(values)
        if key.endswith("(s)"):
            target = "< 2 s" if key.startswith("first paint") else "-"
            print(f"| {key[:-4]} | {median:.2f} s | {target} |")
        else:
            print(f"| {key} | {median:.1f} ms per key | < 100 ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
