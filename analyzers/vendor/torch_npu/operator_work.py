"""How much an operator of a torch_npu ``kernel_details.csv`` moves and computes.

From its recorded shapes, dtypes and formats alone: bytes are every input and
output tensor once; a MatMul does 2*M*N*K FLOPs with the transposes its shapes
imply; Conv2D and its two gradients are implicit GEMMs over their NC1HWC0 /
FRACTAL_Z shapes (both keep their M, K, N so the cube can be costed on whole
fractals); element-wise ops, copies, layout changes and reductions do one
operation per element of their largest tensor (on the vector cores). A layout
change (TransData between NCHW and NC1HWC0 or FRACTAL_Z) also counts the
contiguous runs its GM side is cut into. Other operators get the reason their
work does not follow from their shapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# kernel_details dtype names (without a ``DT_`` prefix) -> bytes per element
DTYPE_BYTES = {
    "FLOAT": 4,
    "FLOAT32": 4,
    "FLOAT16": 2,
    "BF16": 2,
    "INT64": 8,
    "INT32": 4,
    "UINT32": 4,
    "INT16": 2,
    "UINT16": 2,
    "INT8": 1,
    "UINT8": 1,
    "BOOL": 1,
    "DOUBLE": 8,
}
MATMULS = {"MatMul", "MatMulV2", "MatMulV3", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"}
# type -> (where the forward output is, where the FRACTAL_Z filter is): "in2" = input 2
CONVS = {
    "Conv2D": ("out0", "in1"),
    "Conv2DBackpropInput": ("in2", "in1"),
    "Conv2DBackpropFilter": ("in2", "out0"),
}
ELEMENTWISE = {
    "Add",
    "Mul",
    "RealDiv",
    "Relu",
    "ReluGrad",
    "Cast",
    "Equal",
    "OnesLike",
    "Fill",
    "BroadcastTo",
    "DropOutDoMask",
    "ForeachAddList",
    "ForeachMulScalar",
    "LogSoftmaxV2",
    "LogSoftmaxGrad",
}
MOVES = {"TransData", "Transpose", "TensorMove"}
REDUCTIONS = {"ReduceSum"}
VECTOR_TYPES = ELEMENTWISE | MOVES | REDUCTIONS
# Operators whose work does not follow from their shapes, and why.
SKIP_REASONS = {
    "MaxPoolWithArgmaxV1": "window and stride not recorded: compares per element unknown",
    "MaxPoolGradWithArgmaxV1": "window and stride not recorded: work per element unknown",
    "AdaptiveAvgPool3d": "pooling window follows from attributes not recorded",
    "AdaptiveAvgPool3dGrad": "pooling window follows from attributes not recorded",
    "FlashAttentionScore": "fused attention: head count and mask sparsity not recorded",
    "FlashAttentionScoreGrad": "fused attention: head count and mask sparsity not recorded",
    "NLLLoss": "gather by label: bytes depend on the labels",
    "NLLLossGrad": "scatter by label: bytes depend on the labels",
    "TopKV2": "sort-based: work depends on the data",
    "MemSet": "no shapes recorded",
    "DSAGenBitMask": "runs on the DSA engine, not an AI core",
    "hcom_allReduce_": "collective communication, not a kernel on one chip",
}


@dataclass(frozen=True)
class Work:
    """What one operator moves and computes."""

    engine: str  # "cube" or "vector"
    bytes: int  # every input and output once
    flops: int  # cube: 2*M*N*K; vector: elements of the largest tensor
    dtype: str  # of the largest input, without ``DT_``: sets the cube's peak
    element_bytes: int  # of the widest tensor: sets the vector lanes
    gemm: tuple[int, int, int] | None = None  # cube: (M, K, N), batches folded into M
    # layout changes: (count, bytes) of the contiguous GM runs of each side (none: streamed)
    runs: tuple[tuple[int, int], ...] = ()

    @property
    def run_count(self) -> int:
        return sum(count for count, _ in self.runs)


def parse_shapes(cell: str) -> list[tuple[int, ...]]:
    """``32,9216;36864;`` -> [(32, 9216), (36864,), ()]; an empty entry is a scalar."""
    return [tuple(int(d) for d in part.split(",")) if part else () for part in cell.split(";")]


def dtype_name(name: str) -> str:
    """``DT_BF16`` -> ``BF16``."""
    return name.strip().upper().removeprefix("DT_")


def dtype_bytes(name: str) -> int | None:
    return DTYPE_BYTES.get(dtype_name(name))


def _tensors(shapes: str, dtypes: str) -> list[tuple[tuple[int, ...], int]] | str:
    """(shape, bytes per element) of each tensor, or what is wrong with the cells."""
    parsed = parse_shapes(shapes)
    names = dtypes.split(";")
    if len(parsed) != len(names):
        return f"{len(parsed)} shapes for {len(names)} dtypes"
    sizes = [DTYPE_BYTES.get(dtype_name(name), 0) for name in names]
    if 0 in sizes:
        return f"unknown dtype in {dtypes}"
    return list(zip(parsed, sizes, strict=True))


def _matmul_gemm(
    ins: Sequence[tuple[int, ...]], out: tuple[int, ...]
) -> tuple[int, int, int] | str:
    """(M, K, N) with the transposes the shapes imply (A and B may be stored
    transposed); batches fold into M."""
    a, b = ins[0], ins[1]
    if len(a) < 2 or len(b) < 2 or len(out) < 2:
        return "operands are not matrices"
    batch = math.prod(out[:-2])
    m, n = out[-2], out[-1]
    k_of_a = {a[-1]} if a[-2] == m else set()
    k_of_a |= {a[-2]} if a[-1] == m else set()
    k_of_b = {b[-2]} if b[-1] == n else set()
    k_of_b |= {b[-1]} if b[-2] == n else set()
    common = k_of_a & k_of_b
    if not common:
        return f"inconsistent shapes: {a} x {b} cannot give {out}"
    return batch * m, max(common), n


def _conv_gemm(
    op_type: str, ins: Sequence[tuple[int, ...]], outs: Sequence[tuple[int, ...]]
) -> tuple[int, int, int] | str:
    """Implicit GEMM: M = batch x output pixels, N = output channels (padded),
    K = the FRACTAL_Z filter's C1*kh*kw x C0 (input channels padded, x window)."""
    where_y, where_w = CONVS[op_type]

    def pick(where: str) -> tuple[int, ...]:
        return (outs if where.startswith("out") else ins)[int(where[-1])]

    y, w = pick(where_y), pick(where_w)
    if len(y) != 5 or len(w) != 4:
        return "not NC1HWC0 / FRACTAL_Z"
    n, c1, h, wd, c0 = y
    return n * h * wd, w[0] * w[3], c1 * c0


def _layout_runs(
    nchw: tuple[int, ...], other: tuple[int, ...], other_format: str, item: int
) -> tuple[tuple[int, int], ...]:
    """(count, bytes) of the contiguous GM runs of a TransData between NCHW and
    ``other_format`` with ``item``-byte elements. NC1HWC0: the NCHW side in one
    H x W plane per (N, C), the other in one C0-interleaved plane per (N, C1).
    FRACTAL_Z (a filter): the NCHW side in one Ci x kh x kw row per output
    channel, the other in one Co x C0 slab per (C1, kh, kw); the gather between
    them happens on chip. Other layouts: none counted."""
    if len(nchw) != 4:
        return ()
    if other_format.startswith("NC1HWC0") and len(other) == 5:
        plane = nchw[2] * nchw[3]
        return (nchw[0] * nchw[1], plane * item), (other[0] * other[1], plane * other[4] * item)
    if other_format == "FRACTAL_Z" and len(other) == 4:
        row = math.prod(nchw[1:])
        return (nchw[0], row * item), (other[0], math.prod(other[1:]) * item)
    return ()


def work_of(
    op_type: str,
    ins_text: str,
    in_types: str,
    outs_text: str,
    out_types: str,
    formats: tuple[str, str] = ("", ""),
) -> Work | str:
    """The operator's bytes and FLOPs from its shapes, or why they do not follow.
    ``formats``: the input and output format cells (they tell a layout change's runs)."""
    if op_type in SKIP_REASONS:
        return SKIP_REASONS[op_type]
    if "N/A" in (ins_text, outs_text):
        return "no shapes recorded"
    if op_type not in MATMULS and op_type not in CONVS and op_type not in VECTOR_TYPES:
        return "type not classified"
    ins = _tensors(ins_text, in_types)
    outs = _tensors(outs_text, out_types)
    if isinstance(ins, str) or isinstance(outs, str):
        return ins if isinstance(ins, str) else str(outs)
    tensors = ins + outs
    moved = sum(math.prod(shape) * size for shape, size in tensors)
    largest_input = max(range(len(ins)), key=lambda i: math.prod(ins[i][0]))
    dtype = dtype_name(in_types.split(";")[largest_input])
    if op_type in MATMULS or op_type in CONVS:
        in_shapes = [shape for shape, _ in ins]
        out_shapes = [shape for shape, _ in outs]
        gemm = (
            _matmul_gemm(in_shapes, out_shapes[0])
            if op_type in MATMULS
            else _conv_gemm(op_type, in_shapes, out_shapes)
        )
        if isinstance(gemm, str):
            return gemm
        flops = 2 * math.prod(gemm)
        return Work("cube", moved, flops, dtype, ins[largest_input][1], gemm)
    elements = max(math.prod(shape) for shape, _ in tensors)
    widest = max(size for _, size in tensors)
    runs: tuple[tuple[int, int], ...] = ()
    in_format, out_format = (cell.split(";")[0].strip() for cell in formats)
    if op_type == "TransData" and "NCHW" in (in_format, out_format):
        pair = (ins[0][0], outs[0][0])
        nchw, other = pair if in_format == "NCHW" else pair[::-1]
        other_format = out_format if in_format == "NCHW" else in_format
        runs = _layout_runs(nchw, other, other_format, ins[0][1])
    return Work("vector", moved, elements, dtype, widest, runs=runs)
