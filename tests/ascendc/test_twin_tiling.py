"""Tiling data, the tiling key and scalar parameters on the CPU twin:
BEGIN_TILING_DATA_DEF fields and plain C++ structs (REGISTER_TILING_DEFAULT,
GET_TILING_DATA_WITH_STRUCT) filled by name from ``--tiling`` (checked byte by
byte against struct.pack with the C layout written out by hand), ``--scalar``
and ``--tiling-key``, their errors, the case-file keys, and shared sample
11_mkb_layer_norm run unchanged against numpy."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from ubscope.analyzers.api import analyze_trace
from ubscope.analyzers.findings import Severity
from ubscope.cli import main
from ubscope.probe.ascendc.case import load_case, make_tensors
from ubscope.probe.ascendc.runner import run_ascendc
from ubscope.probe.chip import load_chip
from ubscope.probe.errors import InputError
from ubscope.probe.trace import read_trace

TILING_HEADER = """\
namespace optiling {
BEGIN_TILING_DATA_DEF(MixedTilingData)
  TILING_DATA_FIELD_DEF(uint8_t, flag);
  TILING_DATA_FIELD_DEF(int16_t, delta);
  TILING_DATA_FIELD_DEF(uint32_t, totalLength);
  TILING_DATA_FIELD_DEF(int64_t, offset);
  TILING_DATA_FIELD_DEF(float, scale);
  TILING_DATA_FIELD_DEF(double, eps);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(Mixed, MixedTilingData)
}
"""

ENTRY = """\
extern "C" __global__ __aicore__ void mixed(GM_ADDR out, uint32_t batchSize, float bias,
                                            GM_ADDR workspace, GM_ADDR tiling) {
  KERNEL_TASK_TYPE_DEFAULT(KERNEL_TYPE_AIV_ONLY);
  GET_TILING_DATA(tilingData, tiling);
  if (AscendC::GetBlockIdx() != 0) {
    return;
  }
  __gm__ uint8_t* bytes = (__gm__ uint8_t*)out;
  memcpy(bytes, &tilingData, sizeof tilingData);
  __gm__ float* tail = (__gm__ float*)(bytes + 32);
  tail[0] = batchSize;
  tail[1] = bias;
  tail[2] = AscendC::GetSubBlockIdx();
  tail[3] = TILING_KEY_IS(3) ? 1.0f : 0.0f;
  tail[4] = sizeof tilingData;
}
"""
KERNEL = '#include "kernel_operator.h"\n' + TILING_HEADER + ENTRY

TILING = "flag=200,delta=-7,totalLength=16384,offset=-5000000000,scale=0.5,eps=1e-5"


@pytest.fixture
def kernel(tmp_path: Path) -> Path:
    path = tmp_path / "mixed.cpp"
    path.write_text(KERNEL)
    return path


def run_mixed(kernel: Path, tmp_path: Path, tiling: str, scalars: str, *extra: str) -> int:
    """``ubscope run`` of the mixed kernel on 2 blocks, ``out`` saved to tmp_path/out."""
    saved, trace = tmp_path / "out", tmp_path / "t.ubtrace"
    options = ["--output", "out=uint8:64", "--block-dim", "2", "--save-outputs", str(saved)]
    values = ["--tiling", tiling, "--scalar", scalars, *extra]
    return main(["run", str(kernel), *options, "-o", str(trace), *values])


def test_tiling_fields_scalars_and_key_reach_the_kernel(kernel: Path, tmp_path: Path) -> None:
    rc = run_mixed(kernel, tmp_path, TILING, "batchSize=3,bias=0.25", "--tiling-key", "3")
    assert rc == 0
    out = np.load(tmp_path / "out" / "out.npy").tobytes()
    # C layout, each field at a multiple of its size: flag @0, (pad 1), delta @2,
    # totalLength @4, offset @8, scale @16, (pad 4), eps @24; 32 B in all.
    expected = struct.pack("<BxhIqf4xd", 200, -7, 16384, -5000000000, 0.5, 1e-5)
    assert out[:32] == expected
    # batchSize, bias, GetSubBlockIdx() (one AIV per block: 0), TILING_KEY_IS(3), sizeof.
    assert struct.unpack("<5f", out[32:52]) == (3.0, 0.25, 0.0, 1.0, 32.0)


def test_other_tiling_key_takes_the_other_branch(kernel: Path, tmp_path: Path) -> None:
    assert run_mixed(kernel, tmp_path, TILING, "batchSize=1,bias=0") == 0
    out = np.load(tmp_path / "out" / "out.npy").tobytes()
    assert struct.unpack("<f", out[44:48]) == (0.0,)


@pytest.mark.parametrize(
    ("tiling", "scalar", "message"),
    [
        (
            TILING.replace(",eps=1e-5", ""),
            "batchSize=1,bias=0",
            "tiling field eps not given (--tiling eps=VALUE; fields: flag, delta, totalLength, "
            "offset, scale, eps)",
        ),
        (
            TILING.replace("delta=-7", "delta=1.5"),
            "batchSize=1,bias=0",
            "--tiling delta=1.5: expected an integer in int16_t's range (int16_t)",
        ),
        (
            TILING.replace("flag=200", "flag=256"),
            "batchSize=1,bias=0",
            "--tiling flag=256: expected an integer in uint8_t's range (uint8_t)",
        ),
        (
            TILING + ",rows=4",
            "batchSize=1,bias=0",
            "--tiling rows: the tiling data has no such field",
        ),
        (TILING, "batchSize=-1,bias=0", "--scalar batchSize=-1: expected an integer in uint32_t"),
        (
            TILING,
            "bias=0",
            "mixed(out, batchSize, bias, workspace, tiling): no --scalar given for batchSize",
        ),
        (TILING, "batchSize=1,bias=0,gain=2", "no parameter named gain (a scalar)"),
        (TILING, "batchSize=x", "--scalar batchSize=x: expected NAME=NUMBER"),
    ],
)
def test_bad_tiling_or_scalar_is_one_line(
    kernel: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tiling: str,
    scalar: str,
    message: str,
) -> None:
    assert run_mixed(kernel, tmp_path, tiling, scalar) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_tiling_header_the_kernel_does_not_include(tmp_path: Path) -> None:
    # As in a CANN project: the tiling header is the host's, the kernel only uses it.
    header = tmp_path / "mixed_tiling.h"
    header.write_text('#include "register/tilingdata_base.h"\n' + TILING_HEADER)
    kernel = tmp_path / "mixed.cpp"
    kernel.write_text('#include "kernel_operator.h"\n' + ENTRY)
    rc = run_mixed(kernel, tmp_path, TILING, "batchSize=1,bias=0", "--tiling-header", str(header))
    assert rc == 0
    out = np.load(tmp_path / "out" / "out.npy").tobytes()
    assert out[:32] == struct.pack("<BxhIqf4xd", 200, -7, 16384, -5000000000, 0.5, 1e-5)


def test_case_file_tiling_and_scalars(kernel: Path, tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(
        "kernel: mixed.cpp\nentry: mixed\nlaunch: {block_dim: 1}\ninputs: []\n"
        "outputs: [{name: out, dtype: uint8, shape: [64]}]\n"
        "tiling: {kind: MixedTilingData, flag: 1, delta: 2, totalLength: 3, offset: 4,"
        " scale: 0.5, eps: 0.25, tiling_key: 3}\n"
        "scalars: {batchSize: 7, bias: -1.5}\n"
    )
    loaded = load_case(case)
    outputs = {"out": np.zeros(64, np.uint8)}
    run = run_ascendc(
        loaded.source,
        loaded.entry,
        1,
        {},
        outputs,
        load_chip("Ascend910B2"),
        values=loaded.launch_values,
    )
    out = run.outputs["out"].tobytes()
    assert out[:32] == struct.pack("<BxhIqf4xd", 1, 2, 3, 4, 0.5, 0.25)
    assert struct.unpack("<5f", out[32:52]) == (7.0, -1.5, 0.0, 1.0, 32.0)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("tiling: {rowNum: many}", "tiling.rowNum: expected a number, got 'many'"),
        ("tiling: {rowNum: 1, tiling_key: 1.5}", "tiling.tiling_key: expected an integer"),
        ("scalars: [1, 2]", "scalars: expected a mapping of name to number"),
    ],
)
def test_case_file_field_errors(tmp_path: Path, line: str, message: str) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(
        "kernel: k.cpp\nentry: k\nlaunch: {block_dim: 1}\ninputs: []\n"
        f"outputs: [{{name: z, dtype: float32, shape: [8]}}]\n{line}\n"
    )
    with pytest.raises(InputError) as raised:
        load_case(case)
    assert f"case.yaml: {message}" in str(raised.value)


def test_layer_norm_sample_11_runs_unchanged(samples: Path, tmp_path: Path) -> None:
    case_path = samples / "11_mkb_layer_norm" / "case.yaml"
    trace = tmp_path / "ln.ubtrace"
    assert main(["run", str(case_path), "-o", str(trace), "--save-outputs", str(tmp_path)]) == 0
    case = load_case(case_path)
    x = make_tensors(case.inputs, np.random.default_rng(0), case.path)["x"].astype(np.float64)
    # torch.nn.LayerNorm(1024) with gamma = 1, beta = 0: (x - mean) / sqrt(var + 1e-5),
    # mean and (biased) variance over the last axis, in float64.
    mean = x.mean(axis=-1, keepdims=True)
    expected = (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + 1e-5)
    actual = np.load(tmp_path / "res_out.npy")
    # The sample's own check: torch.allclose(atol=1e-4, rtol=1e-4).
    assert np.allclose(actual, expected, atol=1e-4, rtol=1e-4)
    analysis = analyze_trace(read_trace(trace))
    assert [f.code for f in analysis.findings if f.severity >= Severity.ERROR] == []


# Plain structs, as CANN's "standard C++ tiling struct" kernels declare them:
# one in the kernel (padding after flag, tileNum and enabled; two fields in one
# declaration, a default member initializer, a member function) named by
# REGISTER_TILING_DEFAULT, one in a header the kernel includes, read with
# GET_TILING_DATA_WITH_STRUCT under tiling key 1, one whose field a macro
# declares (key 2) and a typedef of an unnamed struct (key 3).
PLAIN_HEADER = """\
#pragma once
#include <cstdint>
namespace optiling {
struct HeaderTiling {
    int64_t offset;
    uint16_t rows;
};
}  // namespace optiling
"""

PLAIN_KERNEL = """\
#include "kernel_operator.h"
#include "plain_tiling.h"
#define ROWS_FIELD uint32_t rows;

struct PlainTiling {
    uint8_t flag;
    int16_t delta;
    uint32_t totalLength, tileNum;
    double eps;
    bool enabled;
    float scale = 1.0f;
    uint32_t TileLength() const { return totalLength / tileNum; }
};

struct MacroTiling {
    ROWS_FIELD
    uint32_t cols;
};

typedef struct {
    uint16_t rows;
    int64_t offset;
} TypedefTiling;

extern "C" __global__ __aicore__ void plain(GM_ADDR out, GM_ADDR tiling) {
    REGISTER_TILING_DEFAULT(PlainTiling);
    if (AscendC::GetBlockIdx() != 0) {
        return;
    }
    if (TILING_KEY_IS(1)) {
        GET_TILING_DATA_WITH_STRUCT(optiling::HeaderTiling, header, tiling);
        memcpy(out, &header, sizeof header);
        return;
    }
    if (TILING_KEY_IS(2)) {
        GET_TILING_DATA_WITH_STRUCT(MacroTiling, shape, tiling);
        memcpy(out, &shape, sizeof shape);
        return;
    }
    if (TILING_KEY_IS(3)) {
        GET_TILING_DATA_WITH_STRUCT(TypedefTiling, typed, tiling);
        memcpy(out, &typed, sizeof typed);
        return;
    }
    GET_TILING_DATA(t, tiling);
    memcpy(out, &t, sizeof t);
    __gm__ float* tail = (__gm__ float*)(out + 32);
    tail[0] = t.TileLength();
    tail[1] = sizeof t;
}
"""


def run_plain(tmp_path: Path, tiling: str, key: int, kernel: str = PLAIN_KERNEL) -> int:
    """``ubscope run`` of ``kernel`` (beside PLAIN_HEADER), ``out`` saved to tmp_path/out."""
    (tmp_path / "plain_tiling.h").write_text(PLAIN_HEADER)
    source = tmp_path / "plain.cpp"
    source.write_text(kernel)
    options = ["--output", "out=uint8:64", "--save-outputs", str(tmp_path / "out")]
    values = ["--tiling", tiling, "--tiling-key", str(key)]
    return main(["run", str(source), *options, *values, "-o", str(tmp_path / "plain.ubtrace")])


def plain_output(tmp_path: Path, tiling: str, key: int) -> bytes:
    assert run_plain(tmp_path, tiling, key) == 0
    return np.load(tmp_path / "out" / "out.npy").tobytes()


def test_plain_struct_fields_land_at_the_compilers_offsets(tmp_path: Path) -> None:
    tiling = "flag=200,delta=-7,totalLength=100,tileNum=4,eps=0.5,enabled=1,scale=2.5"
    out = plain_output(tmp_path, tiling, 0)
    # C layout, each field at a multiple of its size: flag @0, (pad 1), delta @2,
    # totalLength @4, tileNum @8, (pad 4), eps @16, enabled @24, (pad 3),
    # scale @28; 32 B in all.
    assert out[:32] == struct.pack("<BxhII4xd?3xf", 200, -7, 100, 4, 0.5, True, 2.5)
    # TileLength() = 100 / 4 and sizeof.
    assert struct.unpack("<2f", out[32:40]) == (25.0, 32.0)


def test_plain_struct_in_an_included_header_by_tiling_key(tmp_path: Path) -> None:
    # offset @0, rows @8, (pad 6): 16 B.
    assert plain_output(tmp_path, "offset=-3,rows=9", 1)[:16] == struct.pack("<qH6x", -3, 9)


def test_plain_struct_field_a_macro_declares_is_read(tmp_path: Path) -> None:
    # Read from the preprocessed kernel: ROWS_FIELD is rows @0, cols @4.
    assert plain_output(tmp_path, "rows=5,cols=6", 2)[:8] == struct.pack("<II", 5, 6)


def test_plain_struct_typedef_of_an_unnamed_struct_is_read(tmp_path: Path) -> None:
    # typedef struct { uint16_t rows; int64_t offset; } TypedefTiling:
    # rows @0, (pad 6), offset @8: 16 B.
    assert plain_output(tmp_path, "rows=9,offset=-3", 3)[:16] == struct.pack("<H6xq", 9, -3)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "uint32_t cols;",
            "uint32_t* cols;",
            "static assertion failed: ubscope twin: tiling field MacroTiling::cols is not a scalar",
        ),
        (
            "GET_TILING_DATA_WITH_STRUCT(MacroTiling,",
            "GET_TILING_DATA_WITH_STRUCT(OtherTiling,",
            "plain.cpp: tiling struct OtherTiling: no declaration 'struct OtherTiling {...}'",
        ),
    ],
)
def test_plain_struct_the_twin_cannot_fill_is_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    assert run_plain(tmp_path, "rows=1,cols=2", 2, PLAIN_KERNEL.replace(old, new)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
