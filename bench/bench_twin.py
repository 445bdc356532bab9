"""CPU twin benchmark (issue 16): event rate, add_custom and a 1024 x 1024
LayerNorm end to end, first compiles, the twin vs the Python model, and the
Matmul API (on an AIC, and from a mix block's AIVs) against numpy.

Run: python bench/bench_twin.py [SAMPLES_DIR]   (default ../shared/ascendc_samples)
Targets: >= 10 M events/s recorded by the twin; add_custom (8 x 2048 fp16, 8
blocks) from a cached build < 0.5 s; a 1024 x 1024 LayerNorm over 48 blocks
< 5 s; the twin much faster than the Python model of the same algorithm. The
Matmul has no target yet: its figures are its rate and its ratio to numpy.
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
# The Matmul's C = A x B: MM_SIZE cubed, fp16 into float, in 128 x 128 x 64 blocks.
MM_SIZE = 512


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


def matmul(chip, work: Path) -> None:
    """The tests' Matmul kernels at MM_SIZE cubed: AIC-only on one block, and
    the mix one (LeakyReLU on the AIVs, C through UB) on one block of two AIVs,
    each taking half of M; numpy's float32 matmul of the same operands is the floor."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.helpers.matmul_kernels import FP16, KERNEL, LEAKY, tiling
    from ubscope.probe.ascendc.runner import run_ascendc
    from ubscope.probe.ascendc.tiling import LaunchValues

    n = MM_SIZE
    rng = np.random.default_rng(0)
    a, b = (rng.integers(-2, 3, (n, n)).astype(np.float16) for _ in range(2))
    blocks = dict(baseM=128, baseN=128, baseK=64, depthA1=2, depthB1=2)
    aic_source, mix_source = work / "mm.cpp", work / "leaky.cpp"
    aic_source.write_text(KERNEL)
    mix_source.write_text(LEAKY)
    aic_values = {f"cube.{k}": str(v) for k, v in tiling(n, n, n, **blocks).items()}
    mix_cube = tiling(n, n, n, usedCoreNum=2, singleCoreM=n // 2, **blocks)
    mix_values = {f"cube.{k}": str(v) for k, v in mix_cube.items()} | {"alpha": "1"}
    outputs: dict[str, np.ndarray] = {}

    def on_the_aic() -> None:
        run = run_ascendc(
            aic_source, "mm", 1, {"a": a, "b": b, "bias": np.zeros(n, np.float32)},
            {"c": np.zeros((n, n), np.float32)}, chip, work / "mm.ubtrace",
            defines=(*FP16, "TRANS_A=0", "TRANS_B=0", "ATOMIC=0"),
            values=LaunchValues(tiling=aic_values),
        )  # fmt: skip
        outputs["aic"] = run.outputs["c"]

    def from_the_aivs() -> None:
        run = run_ascendc(
            mix_source, "leaky", 1, {"a": a, "b": b}, {"c": np.zeros((n, n), np.float32)},
            chip, work / "leaky.ubtrace", values=LaunchValues(tiling=mix_values),
        )  # fmt: skip
        outputs["mix"] = run.outputs["c"]

    def numpy_floor() -> None:
        outputs["numpy"] = a.astype(np.float32) @ b.astype(np.float32)

    compile_s = first_run(on_the_aic) + first_run(from_the_aivs)
    medians = interleaved(
        {"AIC-only": on_the_aic, "mix, LeakyReLU(alpha=1) on the AIVs": from_the_aivs,
         "numpy": numpy_floor}
    )  # fmt: skip
    for name in ("aic", "mix"):
        # Small integers: every sum is exact in float32, so the outputs are equal.
        np.testing.assert_array_equal(outputs[name], outputs["numpy"])
    print(f"Matmul {n}^3 fp16, both kernels' first runs (compile + run): {compile_s:.2f} s")
    floor = medians.pop("numpy")
    for name, seconds in medians.items():
        print(
            f"Matmul {n}^3 fp16 -> float, {name}, cached build, into a trace: {seconds:.3f} s, "
            f"{n**3 / seconds / 1e9:.3f} G MAC/s, {seconds / floor:.0f}x numpy's {floor * 1e3:.1f} ms"
        )


def add_samples_argument(parser: argparse.ArgumentParser) -> None:
    """The optional SAMPLES_DIR argument of the twin's benchmarks."""
    parser.add_argument(
        "samples",
        nargs="?",
        type=Path,
        default=Path("../shared/ascendc_samples"),
        help="the shared Ascend C samples folder (default ../shared/ascendc_samples)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description="CPU twin benchmark: event rate, add_custom and a 1024 x 1024 LayerNorm "
        "end to end, first compiles, the shared layer_norm sample, the twin vs the Python model, "
        "the Matmul API against numpy."
    )
    add_samples_argument(parser)
    samples = parser.parse_args().samples
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        os.environ["UBSCOPE_TWIN_CACHE"] = str(work / "cache")
        from ubscope.probe.chip import load_chip

        chip = load_chip("Ascend910B1")
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        event_rates(chip, work)
        layernorm(chip, work)
        matmul(chip, work)
        if (samples / "01_add_custom_neo").is_dir():
            add_custom(chip, samples, work)
            layer_norm_sample(chip, samples, work)
        else:
            print(f"{samples}: no shared samples, add_custom and layer_norm skipped")
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
