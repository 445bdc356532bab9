"""Small traces for the report tests: one recorded by a real kernel and one
synthetic trace whose every name is an HTML injection attempt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.html_injection import EVIL
from ubscope.analyzers import analyze_path
from ubscope.kernels.catalog import get_kernel
from ubscope.kernels.registry import run_kernel
from ubscope.probe.events import CoreKind, Flag, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import new_metadata, write_table

KIB = 1024


def _core0_overflow(rec: Recorder) -> None:
    """Three 64 KiB tiles fill UB exactly; a fourth lands past capacity."""
    aiv, ub, gm = int(CoreKind.AIV), int(Space.UB), int(Space.GM)
    t = 0
    for index in range(4):
        addr = index * 64 * KIB
        flags = int(Flag.REDZONE) if addr >= 192 * KIB else 0
        rec.alloc(aiv, 0, ub, addr, 64 * KIB, 64 * KIB, f"tile{index}", EVIL, t, flags=flags)
        if flags:
            rec.redzone_write(aiv, 0, ub, addr, 64 * KIB, 64 * KIB, EVIL, t)
        rec.copy(
            aiv,
            0,
            gm,
            0x1000_0000 + addr,
            ub,
            addr,
            64 * KIB,
            64 * KIB,
            64 * KIB,
            1,
            EVIL,
            EVIL,
            t,
            40_000,
            flags=flags,
            name=f"tile{index}",
        )
        rec.compute(
            aiv,
            0,
            ub,
            addr,
            64 * KIB,
            EVIL,
            32 * KIB,
            "compute",
            t + 40_000,
            10_000,
            out_bytes=64 * KIB,
        )
        t += 50_000
    rec.copy(
        aiv,
        0,
        ub,
        0,
        gm,
        0x2000_0000,
        64 * KIB,
        64 * KIB,
        64 * KIB,
        1,
        "out",
        "copyout",
        t,
        40_000,
        name="tile0",
    )
    for index in range(4):
        rec.free(aiv, 0, ub, index * 64 * KIB, 64 * KIB, 64 * KIB, f"tile{index}", EVIL, t + 50_000)


def _core1_fragmented(rec: Recorder) -> None:
    """A free list with holes: a 96 KiB request fails although 128 KiB are free."""
    aiv, ub = int(CoreKind.AIV), int(Space.UB)
    for index in range(6):
        rec.alloc(
            aiv, 1, ub, index * 32 * KIB, 32 * KIB, 32 * KIB, f"b{index}", "heap", index * 1000
        )
    for index in (0, 2, 4):
        rec.free(aiv, 1, ub, index * 32 * KIB, 32 * KIB, 32 * KIB, f"b{index}", "heap", 10_000)
    rec.alloc_fail(
        aiv,
        1,
        ub,
        128 * KIB,
        128 * KIB,
        "big",
        "heap",
        11_000,
        total_free=160 * KIB,
        largest_free=32 * KIB,
    )
    for index in (1, 3, 5):
        rec.free(aiv, 1, ub, index * 32 * KIB, 32 * KIB, 32 * KIB, f"b{index}", "heap", 20_000)


def write_hostile_trace(path: Path, chip) -> Path:
    """A trace whose kernel, tag, tensor and op names are all ``<script>``."""
    rec = Recorder()
    rec.kernel_begin(EVIL, 2, 0, "vector")
    _core0_overflow(rec)
    _core1_fragmented(rec)
    for page in range(3):
        rec.kv_page(
            True, EVIL, page, 4 * KIB, sequence=page % 2, tokens=16 if page else 4, t_ps=page * 1000
        )
    rec.kv_page(False, EVIL, 1, 4 * KIB, sequence=1, tokens=16, t_ps=30_000)
    rec.kernel_end(EVIL, 300_000, 300_000)
    meta = new_metadata(chip.to_dict(), EVIL, {EVIL: EVIL}, {"read": 256 * KIB, "write": 64 * KIB})
    write_table(path, meta, rec.table())
    return path


@pytest.fixture(scope="session")
def hostile_trace(tmp_path_factory, chip) -> Path:
    return write_hostile_trace(tmp_path_factory.mktemp("hostile") / "evil.ubtrace", chip)


# Two cores instead of eight keep the traces small; the planted problems stay.
SMALL = {
    "pool_no_reset": {"cores": 2, "n": 81920, "tile": 8192},
    "freelist_fragmentation": {"cores": 2, "n": 2 * 6 * 25600},
}


def _run(tmp_path_factory, chip, preset: str) -> Path:
    spec = get_kernel("pool_demo")
    params = spec.resolve(preset=preset, overrides=SMALL[preset])
    path = tmp_path_factory.mktemp("pool") / f"pool_{preset}.ubtrace"
    run_kernel(spec, params, chip, path, preset=preset)
    return path


@pytest.fixture(scope="session")
def overflow_trace(tmp_path_factory, chip) -> Path:
    return _run(tmp_path_factory, chip, "pool_no_reset")


@pytest.fixture(scope="session")
def fragmented_trace(tmp_path_factory, chip) -> Path:
    return _run(tmp_path_factory, chip, "freelist_fragmentation")


@pytest.fixture(scope="session")
def hostile_analysis(hostile_trace):
    return analyze_path(hostile_trace)


@pytest.fixture(scope="session")
def overflow_analysis(overflow_trace):
    return analyze_path(overflow_trace)


@pytest.fixture(scope="session")
def fragmented_analysis(fragmented_trace):
    return analyze_path(fragmented_trace)
