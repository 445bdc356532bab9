"""CPU twin benchmark (issue 16): event rate, add_custom end to end, first
compile, the shared layer_norm sample, and the twin vs the Python model.

Run: python bench/bench_twin.py [SAMPLES_DIR]   (default ../shared/ascendc_samples)
Targets: >= 10 M events/s recorded by the twin; add_custom (8 x 2048 fp16, 8
blocks) from a cached build < 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPEATS = 5
LOOP_EVENTS = 2_000_000
LOOP = """\
#include "kernel_operator.h"
using namespace AscendC;
extern "C" __global__ __aicore__ void loop(GM_ADDR x) {
    TPipe pipe;
    TBuf<QuePosition::VECCALC> buf;
    pipe.InitBuffer(buf, 256);
    LocalTensor<float> t = buf.Get<float>();
    for (int i = 0; i < %d; ++i) {
        Adds(t, t, 1.0f, 64);
    }
}
"""


def median_seconds(action) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def child_rates(loop: Path, chip, work: Path) -> None:
    """The compiled twin alone (no Python): events to a file, and to /dev/null."""
    from ubscope.probe.ascendc.build import build
    from ubscope.probe.ascendc.runner import _launch_text, _layout

    binary = build(loop, "loop", (("x", "GM_ADDR"),))
    arrays = {"x": np.zeros(64, np.float32)}
    (work / "launch").write_text(
        _launch_text(chip, "vector", 1, _layout(arrays, 512), arrays, ["x"])
    )
    np.zeros(256, np.uint8).tofile(work / "gm")
    for target in (work / "events", Path(os.devnull)):
        command = [str(binary), str(work / "launch"), str(work / "gm"), str(target)]
        seconds = median_seconds(lambda command=command: subprocess.run(command, check=True))
        print(
            f"twin events/s, the child alone, to {target.name}: {LOOP_EVENTS / seconds / 1e6:.1f} M"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="CPU twin benchmark: event rate, add_custom end to end, first compile, "
        "the layer_norm sample, the twin vs the Python model."
    )
    parser.add_argument(
        "samples",
        nargs="?",
        type=Path,
        default=Path("../shared/ascendc_samples"),
        help="the shared Ascend C samples folder (default ../shared/ascendc_samples)",
    )
    samples = parser.parse_args().samples
    with tempfile.TemporaryDirectory() as work:
        os.environ["UBSCOPE_TWIN_CACHE"] = str(Path(work) / "cache")
        from ubscope.probe.ascendc.runner import run_ascendc
        from ubscope.probe.chip import load_chip
        from ubscope.probe.device import Device
        from ubscope.probe.recorder import NullRecorder, Recorder

        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from tests.helpers.add_custom import python_add_custom

        chip = load_chip("Ascend910B1")
        loop = Path(work) / "loop.cpp"
        loop.write_text(LOOP % LOOP_EVENTS)
        x1 = {"x": np.zeros(64, np.float32)}
        run_ascendc(loop, "loop", 1, x1, {}, chip, recorder=NullRecorder())  # compile
        seconds = median_seconds(
            lambda: run_ascendc(loop, "loop", 1, x1, {}, chip, recorder=Recorder())
        )
        print(
            f"twin events/s, end to end into a Recorder ({LOOP_EVENTS:,} Adds): "
            f"{LOOP_EVENTS / seconds / 1e6:.1f} M"
        )
        child_rates(loop, chip, Path(work))

        add = samples / "01_add_custom_neo" / "add_custom.cpp"
        rng = np.random.default_rng(0)
        x, y = (rng.uniform(1, 100, (8, 2048)).astype(np.float16) for _ in range(2))
        tensors = ({"x": x, "y": y}, {"z": np.zeros_like(x)})
        start = time.perf_counter()
        run_ascendc(add, "add_custom", 8, *tensors, chip, Path(work) / "a.ubtrace")
        print(f"add_custom first run (compile + run): {time.perf_counter() - start:.2f} s")
        cached = median_seconds(
            lambda: run_ascendc(add, "add_custom", 8, *tensors, chip, Path(work) / "a.ubtrace")
        )
        print(f"add_custom 8x2048 fp16, 8 blocks, cached build, into a trace: {cached:.3f} s")

        def python_model() -> None:
            device = Device(chip, Recorder())
            gx, gy = device.gm.tensor("x", x.ravel()), device.gm.tensor("y", y.ravel())
            gz = device.gm.empty("z", (8 * 2048,), np.float16)
            device.launch("add_custom", python_add_custom, 8, x=gx, y=gy, z=gz)

        twin = median_seconds(
            lambda: run_ascendc(add, "add_custom", 8, *tensors, chip, recorder=Recorder())
        )
        python = median_seconds(python_model)
        print(
            f"add_custom twin {twin * 1e3:.1f} ms vs Python model {python * 1e3:.1f} ms: "
            f"{python / twin:.1f}x"
        )

        norm = samples / "08_layer_norm" / "layer_norm_custom.cpp"
        xs = rng.standard_normal((16384, 1024)).astype(np.float32)
        g, b = (rng.standard_normal(1024).astype(np.float32) for _ in range(2))
        ins, outs = {"x": xs, "gamma": g, "beta": b}, {"res_out": np.zeros_like(xs)}
        run_ascendc(norm, "layer_norm_custom", 48, ins, outs, chip, recorder=NullRecorder())
        seconds = median_seconds(
            lambda: run_ascendc(
                norm, "layer_norm_custom", 48, ins, outs, chip, Path(work) / "n.ubtrace"
            )
        )
        print(
            f"layer_norm sample 16384x1024 fp32, 48 blocks, cached build, into a trace: "
            f"{seconds:.2f} s"
        )


if __name__ == "__main__":
    main()
