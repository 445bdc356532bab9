"""Array and nested-struct tiling fields on the CPU twin: TILING_DATA_FIELD_DEF_ARR
and TILING_DATA_FIELD_DEF_STRUCT, and arrays and nested plain structs in a plain
tiling struct (REGISTER_TILING_DEFAULT), filled from ``--tiling
'shape=[...],tile.rows=...'`` or a case file's lists and nested mappings. Each
kernel copies the struct it received to its output, checked byte by byte against
struct.pack with the C layout written out by hand; bad values are one line, exit 2."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from ubscope.cli import main
from ubscope.probe.ascendc.case import load_case
from ubscope.probe.errors import InputError

pytestmark = pytest.mark.ascendc_twin

# The documented macros, the nested struct registered first as the docs' example does.
DEF_KERNEL = """\
#include "kernel_operator.h"
namespace optiling {
BEGIN_TILING_DATA_DEF(TileShape)
  TILING_DATA_FIELD_DEF(uint16_t, rows);
  TILING_DATA_FIELD_DEF_ARR(int32_t, 2, pad);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(TileShapeOp, TileShape)

BEGIN_TILING_DATA_DEF(NestedTilingData)
  TILING_DATA_FIELD_DEF(uint8_t, mode);
  TILING_DATA_FIELD_DEF_ARR(uint32_t, 4, shape);
  TILING_DATA_FIELD_DEF_STRUCT(TileShape, tile);
  TILING_DATA_FIELD_DEF(float, scale);
END_TILING_DATA_DEF;
REGISTER_TILING_DATA_CLASS(Nested, NestedTilingData)
}

extern "C" __global__ __aicore__ void nested(GM_ADDR out, GM_ADDR tiling) {
  GET_TILING_DATA(t, tiling);
  __gm__ uint8_t* bytes = (__gm__ uint8_t*)out;
  memcpy(bytes, &t, sizeof t);
  bytes[60] = t.GetDataSize();
  bytes[61] = t.get_shape()[3];
  bytes[62] = t.tile.get_pad()[1];
}
"""

# The same fields in plain C++ structs.
PLAIN_KERNEL = """\
#include "kernel_operator.h"
struct TileShape {
  uint16_t rows;
  int32_t pad[2];
};
struct NestedTiling {
  uint8_t mode;
  uint32_t shape[4];
  TileShape tile;
  float scale;
};

extern "C" __global__ __aicore__ void nested(GM_ADDR out, GM_ADDR tiling) {
  REGISTER_TILING_DEFAULT(NestedTiling);
  GET_TILING_DATA(t, tiling);
  __gm__ uint8_t* bytes = (__gm__ uint8_t*)out;
  memcpy(bytes, &t, sizeof t);
  bytes[60] = sizeof t;
  bytes[61] = t.shape[3];
  bytes[62] = t.tile.pad[1];
}
"""

KERNELS = {"tiling_data_def": DEF_KERNEL, "plain_struct": PLAIN_KERNEL}
TILING = "mode=7,shape=[4,1024,0,9],tile.rows=3,tile.pad=[-1,2],scale=0.5"
# C layout: mode @0 (pad 3); shape @4..20; tile @20, aligned to its int32_t:
# rows @20 (pad 2), pad @24..32 (TileShape is 12 B); scale @32; 36 B in all.
# Then the kernel's own bytes: the size (36), shape[3] (9) and tile.pad[1] (2).
EXPECTED = struct.pack("<B3x4IH2x2if", 7, 4, 1024, 0, 9, 3, -1, 2, 0.5)
TAIL = bytes([36, 9, 2])


def run_kernel(tmp_path: Path, kernel: str, *values: str) -> int:
    source = tmp_path / "nested.cpp"
    source.write_text(kernel)
    options = ["--output", "out=uint8:64", "--save-outputs", str(tmp_path / "out")]
    return main(["run", str(source), *options, *values, "-o", str(tmp_path / "t.ubtrace")])


def output(tmp_path: Path) -> bytes:
    return np.load(tmp_path / "out" / "out.npy").tobytes()


@pytest.mark.parametrize("form", KERNELS)
def test_array_and_nested_fields_land_at_their_offsets(tmp_path: Path, form: str) -> None:
    assert run_kernel(tmp_path, KERNELS[form], "--tiling", TILING) == 0
    out = output(tmp_path)
    assert out[:36] == EXPECTED
    assert out[60:63] == TAIL


def test_case_file_lists_and_nested_mappings(tmp_path: Path) -> None:
    (tmp_path / "nested.cpp").write_text(DEF_KERNEL)
    case = tmp_path / "case.yaml"
    case.write_text(
        "kernel: nested.cpp\nentry: nested\nlaunch: {block_dim: 1}\ninputs: []\n"
        "outputs: [{name: out, dtype: uint8, shape: [64]}]\n"
        "tiling: {mode: 7, shape: [4, 1024, 0, 9], tile: {rows: 3, pad: [-1, 2]}, scale: 0.5}\n"
    )
    saved = ["--save-outputs", str(tmp_path / "out")]
    assert main(["run", str(case), "-o", str(tmp_path / "t.ubtrace"), *saved]) == 0
    assert output(tmp_path)[:36] == EXPECTED


@pytest.mark.parametrize("form", KERNELS)
@pytest.mark.parametrize(
    ("tiling", "message"),
    [
        (
            TILING.replace("[4,1024,0,9]", "[4,1024,0]"),
            "--tiling shape=[4,1024,0]: expected 4 values, got 3 (uint32_t[4])",
        ),
        (
            TILING + ",tile.cols=1",
            "--tiling tile.cols: the tiling data has no such field (fields: mode, shape[4], "
            "tile.rows, tile.pad[2], scale)",
        ),
        (
            TILING.replace("[4,1024,0,9]", "4"),
            "--tiling shape=4: expected [4 values] (uint32_t[4])",
        ),
        (
            TILING.replace("[-1,2]", "[-1,2.5]"),
            "--tiling tile.pad=[-1,2.5]: element 1 (2.5): expected an integer in int32_t's "
            "range (int32_t[2])",
        ),
        (
            TILING.replace("[4,1024,0,9]", "[4,x]"),
            "--tiling shape=[4,x]: expected NAME=NUMBER or NAME=[NUMBER,...]",
        ),
    ],
)
def test_bad_array_or_nested_value_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], form: str, tiling: str, message: str
) -> None:
    assert run_kernel(tmp_path, KERNELS[form], "--tiling", tiling) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_case_file_list_of_non_numbers_names_the_element(tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_text(
        "kernel: k.cpp\nentry: k\nlaunch: {block_dim: 1}\ninputs: []\n"
        "outputs: [{name: z, dtype: float32, shape: [8]}]\n"
        "tiling: {tile: {pad: [1, many]}}\n"
    )
    with pytest.raises(InputError, match=r"case.yaml: tiling.tile.pad\[1\]: expected a number"):
        load_case(case)
