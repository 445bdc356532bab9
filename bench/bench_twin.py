"""CPU twin benchmark (issue 16): event rate, add_custom and a 1024 x 1024
LayerNorm end to end, first compiles, and the twin vs the Python model.

Run: python bench/bench_twin.py [SAMPLES_DIR]   (default ../shared/ascendc_samples)
Targets: >= 10 M events/s recorded by the twin; add_custom (8 x 2048 fp16, 8
blocks) from a cached build < 0.5 s; a 1024 x 1024 LayerNorm over 48 blocks
< 5 s; the twin much faster than the Python model of the same algorithm.
Each comparison runs its sides interleaved, REPEATS times, in one run; the
figures are medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
# The LayerNorm of the targets: our in-place kernel (the shared layer_norm
# sample bakes its 16384 x 1024 shape into the source) at 1024 x 1024 on 48
# blocks, and the Python kernel of the same algorithm at the same parameters.
LN_ROWS, LN_HIDDEN, LN_BLOCKS, LN_EPS = 1024, 1024, 48, 1e-5


def interleaved(actions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds of each action, the actions taking turns REPEATS times."""
    times: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(REPEATS):
        for name, action in actions.items():
            start = time.perf_counter()
            action()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def first_run(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def child_alone(loop: Path, chip, work: Path) -> Callable[[], object]:
    """The compiled twin with no Python reading its events (they go to /dev/null)."""
    from ubscope.probe.ascendc.build import build
    from ubscope.probe.ascendc.runner import _launch_text, _layout

    binary = build(loop, "loop", (("x", "GM_ADDR"),))
    arrays = {"x": np.zeros(64, np.float32)}
    (work / "launch").write_text(
        _launch_text(chip, "vector", 1, _layout(arrays, 512), arrays, ["x"])
    )
    np.zeros(256, np.uint8).tofile(work / "gm")
    command = [str(binary), str(work / "launch"), str(work / "gm"), os.devnull]
    return lambda: subprocess.run(command, check=True)


def event_rates(chip, work: Path) -> None:
    from ubscope.probe.ascendc.runner import run_ascendc
    from ubscope.probe.recorder import NullRecorder, Recorder

    loop = work / "loop.cpp"
    loop.write_text(LOOP % LOOP_EVENTS)
    x1 = {"x": np.zeros(64, np.float32)}
    run_ascendc(loop, "loop", 1, x1, {}, chip, recorder=NullRecorder())  # compile
    medians = interleaved(
        {
            "the child alone, events to /dev/null": child_alone(loop, chip, work),
            "end to end into a Recorder": lambda: run_ascendc(
                loop, "loop", 1, x1, {}, chip, recorder=Recorder()
            ),
            "end to end into a .ubtrace": lambda: run_ascendc(
                loop, "loop", 1, x1, {}, chip, work / "loop.ubtrace"
            ),
        }
    )
    floor = medians["the child alone, events to /dev/null"]
    for name, seconds in medians.items():
        rate = LOOP_EVENTS / seconds / 1e6
        print(
            f"twin events/s ({LOOP_EVENTS:,} Adds), {name}: {rate:.1f} M ({seconds / floor:.2f}x)"
        )


def add_custom(chip, samples: Path, work: Path) -> None:
    from ubscope.probe.ascendc.runner import run_ascendc
    from ubscope.probe.device import Device
    from ubscope.probe.recorder import Recorder

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.helpers.add_custom import python_add_custom

    add = samples / "01_add_custom_neo" / "add_custom.cpp"
    rng = np.random.default_rng(0)
    x, y = (rng.uniform(1, 100, (8, 2048)).astype(np.float16) for _ in range(2))
    tensors = ({"x": x, "y": y}, {"z": np.zeros_like(x)})
    trace = work / "add.ubtrace"
    compile_s = first_run(lambda: run_ascendc(add, "add_custom", 8, *tensors, chip, trace))

    def python_model() -> None:
        device = Device(chip, Recorder())
        gx, gy = device.gm.tensor("x", x.ravel()), device.gm.tensor("y", y.ravel())
        gz = device.gm.empty("z", (8 * 2048,), np.float16)
        device.launch("add_custom", python_add_custom, 8, x=gx, y=gy, z=gz)

    medians = interleaved(
        {
            "twin": lambda: run_ascendc(add, "add_custom", 8, *tensors, chip, trace),
            "python": python_model,
        }
    )
    print(f"add_custom first run (compile + run): {compile_s:.2f} s")
    print(f"add_custom 8x2048 fp16, 8 blocks, cached build, into a trace: {medians['twin']:.3f} s")
    print(
        f"add_custom (640 events) twin {medians['twin'] * 1e3:.1f} ms vs Python model "
        f"{medians['python'] * 1e3:.1f} ms: {medians['python'] / medians['twin']:.1f}x"
    )


def layernorm(chip, work: Path) -> None:
    import ubscope.kernels
    from ubscope.kernels.layernorm import specs
    from ubscope.kernels.registry import run_kernel
    from ubscope.probe.ascendc.runner import run_ascendc

    source = Path(ubscope.kernels.__file__).parent / "ascendc" / "layernorm_inplace.cpp"
    # layernorm.run's inputs for seed 0, in its order of draws (as in
    # tests/ascendc/test_article_kernels.py).
    rng = np.random.default_rng(0)
    x = rng.standard_normal((LN_ROWS, LN_HIDDEN)).astype(np.float16)
    residual = rng.standard_normal((LN_ROWS, LN_HIDDEN)).astype(np.float16)
    gamma = (1.0 + 0.1 * rng.standard_normal(LN_HIDDEN)).astype(np.float16)
    beta = (0.1 * rng.standard_normal(LN_HIDDEN)).astype(np.float16)
    inputs = {"residual": residual, "gamma": gamma, "beta": beta}
    defines = (f"LN_ROWS={LN_ROWS}", f"LN_HIDDEN={LN_HIDDEN}")
    params = {
        "rows": LN_ROWS,
        "hidden": LN_HIDDEN,
        "inplace": True,
        "cores": LN_BLOCKS,
        "double_buffer": True,
        "eps": LN_EPS,
        "seed": 0,
    }
    twin_trace, python_trace = work / "ln_twin.ubtrace", work / "ln_python.ubtrace"

    def twin() -> int:
        run = run_ascendc(
            source, "layernorm_inplace", LN_BLOCKS, inputs, {"x": x}, chip, twin_trace,
            defines=defines,
        )  # fmt: skip
        return run.events

    compile_s = first_run(twin)
    events = twin()
    medians = interleaved(
        {
            "twin": twin,
            "python": lambda: run_kernel(specs.SPEC, params, chip, python_trace),
        }
    )
    shape = f"{LN_ROWS}x{LN_HIDDEN}, {LN_BLOCKS} blocks"
    print(f"layernorm_inplace.cpp {shape}, first run (compile + run): {compile_s:.2f} s")
    print(
        f"layernorm_inplace.cpp {shape}, cached build, into a trace ({events:,} events): "
        f"{medians['twin']:.3f} s"
    )
    print(
        f"layernorm {shape}: twin {medians['twin']:.3f} s vs Python kernel (inplace=true) "
        f"{medians['python']:.3f} s: {medians['python'] / medians['twin']:.1f}x"
    )


def layer_norm_sample(chip, samples: Path, work: Path) -> None:
    from ubscope.probe.ascendc.runner import run_ascendc
    from ubscope.probe.recorder import NullRecorder

    norm = samples / "08_layer_norm" / "layer_norm_custom.cpp"
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((16384, 1024)).astype(np.float32)
    g, b = (rng.standard_normal(1024).astype(np.float32) for _ in range(2))
    ins, outs = {"x": xs, "gamma": g, "beta": b}, {"res_out": np.zeros_like(xs)}
    run_ascendc(norm, "layer_norm_custom", 48, ins, outs, chip, recorder=NullRecorder())
    trace = work / "n.ubtrace"
    medians = interleaved(
        {"sample": lambda: run_ascendc(norm, "layer_norm_custom", 48, ins, outs, chip, trace)}
    )
    print(
        f"layer_norm sample 16384x1024 fp32, 48 blocks, cached build, into a trace: "
        f"{medians['sample']:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="CPU twin benchmark: event rate, add_custom and a 1024 x 1024 LayerNorm "
        "end to end, first compiles, the shared layer_norm sample, the twin vs the Python model."
    )
    parser.add_argument(
        "samples",
        nargs="?",
        type=Path,
        default=Path("../shared/ascendc_samples"),
        help="the shared Ascend C samples folder (default ../shared/ascendc_samples)",
    )
    samples = parser.parse_args().samples
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        os.environ["UBSCOPE_TWIN_CACHE"] = str(work / "cache")
        from ubscope.probe.chip import load_chip

        chip = load_chip("Ascend910B1")
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        event_rates(chip, work)
        layernorm(chip, work)
        if (samples / "01_add_custom_neo").is_dir():
            add_custom(chip, samples, work)
            layer_norm_sample(chip, samples, work)
        else:
            print(f"{samples}: no shared samples, add_custom and layer_norm skipped")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
