"""The cube's fractal layouts (Nd2Nz, LoadData, Mmad, Fixpipe) and TPipe's
32 B rounding of InitBuffer blocks in every space, with hand-computed figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers import analyze_trace
from ubscope.probe.errors import ParameterError
from ubscope.probe.events import Flag
from ubscope.probe.memory import fractal
from ubscope.probe.memory.cube import fixpipe, mmad
from ubscope.probe.memory.datacopy import data_copy
from ubscope.probe.memory.fractal import LoadData2DParams, Nd2NzParams, load_data
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.tpipe import TPipe, TQue
from ubscope.probe.trace import Trace, new_metadata


def events(recorder):
    return recorder.table().to_pandas()


def on_cube_core(device, body):
    """Run ``body(core, pipe)`` on the AIC of a one-block cube launch."""
    box = {}

    def kernel(block):
        box["out"] = body(block.aic, TPipe(block.aic))

    device.launch("t", kernel, 1, mode="cube")
    return box["out"]


def test_padded_footprints():
    # L0C: rows padded to 16, 4-byte accumulators. m=17 -> 32 rows:
    # 32 x 960 x 4 = 122,880 B, double-buffered 245,760 B > 128 KiB;
    # m=33 -> 48 rows: 48 x 448 x 4 = 86,016 B, double-buffered 172,032 B.
    assert 2 * fractal.l0c_bytes(17, 960) == 245_760
    assert 2 * fractal.l0c_bytes(33, 448) == 172_032
    # L0A (ZZ) of one fp16 row and 64 K columns: 16 rows x 64 x 2 B = 2048 B.
    assert fractal.nz_bytes(1, 64, 2) == 2048
    # int8 fractals are 16 x 32 on the A side and 32 x 16 on the B side.
    assert fractal.nz_bytes(17, 33, 1) == 32 * 64
    assert fractal.zn_bytes(33, 17, 1) == 64 * 32


def test_init_buffer_rounds_to_32_bytes_in_every_space(device, recorder, chip):
    """Ascend C rounds InitBuffer lengths to 32 B, not to the space's alignment:
    two 128 B L0A blocks sit at 0 and 128, and the second is off the 512 B
    L0A alignment; 100 B rounds to 128 B (not 512 B) on L0B."""

    def body(core, pipe):
        a, b = TQue(TPosition.A2, name="a"), TQue(TPosition.B2, name="b")
        pipe.init_buffer(a, 2, 128)
        pipe.init_buffer(b, 2, 100)
        return list(a.blocks), list(b.blocks)

    a_blocks, b_blocks = on_cube_core(device, body)
    assert a_blocks == [(0, 128), (128, 128)]
    assert b_blocks == [(0, 128), (128, 128)]
    assert chip.space_alignment("L0A") == 512
    meta = new_metadata(chip.to_dict(), "t", {}, {})
    trace = Trace(path=Path("t.ubtrace"), meta=meta, events=events(recorder))
    findings = [f for f in analyze_trace(trace).findings if f.code == "ALN001"]
    # one per space: the second L0A block and the second L0B block, both at 0x80
    assert [(f.evidence["required_alignment"], f.evidence["events"]) for f in findings] == [
        (512, 1),
        (512, 1),
    ]
    assert all("first 0x80" in f.message for f in findings)


def test_nd2nz_lays_columns_out_in_blocks_of_c0_and_zero_fills_the_last(device, recorder):
    """A 20 x 24 fp16 matrix (GM rows of 24) into L1 with 32 padded rows per
    column block: element (r, c) lands at (c // 16) * 32 * 16 + r * 16 + c % 16;
    columns 24..31 of the second block are zero."""
    matrix = np.arange(20 * 24, dtype=np.float16).reshape(20, 24)

    def body(core, pipe):
        que = TQue(TPosition.A1, name="a1")
        pipe.init_buffer(que, 1, 2 * 32 * 16 * 2)
        l1 = que.alloc_tensor(np.float16)
        l1.array[:] = np.float16(np.nan)
        x = core.device.gm.tensor("x", matrix)
        data_copy(l1, x, params=Nd2NzParams(20, 24, 24, 32))
        return l1.array.copy()

    flat = on_cube_core(device, body)
    for r, c in ((0, 0), (19, 15), (5, 16), (19, 23)):
        assert flat[(c // 16) * 32 * 16 + r * 16 + c % 16] == matrix[r, c]
    second_block = flat[32 * 16 :].reshape(32, 16)
    assert (second_block[:20, 8:] == 0).all()
    copy = events(recorder).query("kind == 'copy'").iloc[0]
    # 20 rows of 48 B asked; 20 rows x 2 blocks of 32 B land in L1.
    assert (copy["size"], copy["aligned_size"]) == (20 * 48, 20 * 2 * 32)


def test_nd2nz_parameters_are_checked_against_their_ranges():
    with pytest.raises(ParameterError, match="dst_nz_c0_stride=0"):
        Nd2NzParams(16, 16, 16, 0)
    with pytest.raises(ParameterError, match="repeat_times=256"):
        LoadData2DParams(256)


def test_matmul_through_the_fractal_layouts_matches_numpy(device, recorder):
    """x (17 x 40) and w (40 x 24) through Nd2Nz, LoadData (transposed fractals
    for B), Mmad and Fixpipe: m pads to 32 rows, k to 48, n to 32."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((17, 40)).astype(np.float16)
    w = rng.standard_normal((40, 24)).astype(np.float16)
    m_pad, k_pad, n_pad = 32, 48, 32

    def body(core, pipe):
        queues = {
            name: TQue(position, name=name)
            for name, position in (
                ("a1", TPosition.A1),
                ("b1", TPosition.B1),
                ("a2", TPosition.A2),
                ("b2", TPosition.B2),
                ("c1", TPosition.CO1),
            )
        }
        pipe.init_buffer(queues["a1"], 1, fractal.nz_bytes(17, 40, 2))
        pipe.init_buffer(queues["b1"], 1, fractal.nz_bytes(40, 24, 2))
        pipe.init_buffer(queues["a2"], 1, fractal.nz_bytes(17, 40, 2))
        pipe.init_buffer(queues["b2"], 1, fractal.zn_bytes(40, 24, 2))
        pipe.init_buffer(queues["c1"], 1, fractal.l0c_bytes(17, 24))
        a1, b1, a2, b2 = (queues[q].alloc_tensor(np.float16) for q in ("a1", "b1", "a2", "b2"))
        c1 = queues["c1"].alloc_tensor(np.float32)
        gm = core.device.gm
        data_copy(a1, gm.tensor("x", x), params=Nd2NzParams(17, 40, 40, m_pad))
        data_copy(b1, gm.tensor("w", w), params=Nd2NzParams(40, 24, 24, k_pad))
        # A: L1 NZ fractal (mi, ki) is fractal ki * 2 + mi; L0A ZZ wants mi * 3 + ki.
        for mi in range(m_pad // 16):
            load_data(a2[mi * 3 * 256 :], a1, LoadData2DParams(3, mi, 2))
        # B: L1 NZ fractal (ki, nj) is nj * 3 + ki; L0B ZN wants ki * 2 + nj, transposed.
        for ki in range(k_pad // 16):
            load_data(b2[ki * 2 * 256 :], b1, LoadData2DParams(2, ki, 3, if_transpose=True))
        mmad(c1, a2, b2, 17, 40, 24, accumulate=False)
        y = gm.empty("y", (17, 24), np.float16)
        fixpipe(y, c1, 17, 24, 24)
        return y.numpy()

    y = on_cube_core(device, body)
    expected = x.astype(np.float32) @ w.astype(np.float32)
    np.testing.assert_allclose(y.astype(np.float32), expected, rtol=2e-3, atol=2e-3)
    ev = events(recorder)
    compute = ev.query("kind == 'compute'").iloc[0]
    assert compute["aligned_size"] == m_pad * n_pad * 4  # the padded C tile
    assert not (ev["flags"] & int(Flag.MISALIGNED)).any()
