"""Bytes and FLOPs of kernel_details operators, worked out by hand from their shapes."""

from __future__ import annotations

import pytest

from ubscope.analyzers.vendor.torch_npu.operator_work import (
    Work,
    dtype_bytes,
    parse_shapes,
    work_of,
)


def test_shape_cells_split_into_tensors_and_an_empty_entry_is_a_scalar():
    assert parse_shapes("32,9216;36864;") == [(32, 9216), (36864,), ()]
    assert parse_shapes("") == [()]


def test_dtype_names_with_or_without_the_dt_prefix():
    assert dtype_bytes("DT_BF16") == 2
    assert dtype_bytes("FLOAT") == 4
    assert dtype_bytes("INT64") == 8
    assert dtype_bytes("FP8") is None


def test_addmm_with_the_weight_stored_transposed():
    # x (32, 4096) @ W^T, W stored (1000, 4096), bias 1000 -> (32, 1000): K = 4096
    work = work_of("MatMulV2", "32,4096;1000,4096;1000", "FLOAT;FLOAT;FLOAT", "32,1000", "FLOAT")
    flops = 2 * 32 * 1000 * 4096  # 262,144,000
    moved = (32 * 4096 + 1000 * 4096 + 1000 + 32 * 1000) * 4  # 17,040,288
    assert work == Work("cube", moved, flops, "FLOAT", 4, gemm=(32, 4096, 1000))
    assert (work.bytes, work.flops) == (17_040_288, 262_144_000)


def test_weight_gradient_with_the_first_operand_transposed():
    # x^T (4096 x 32) @ dy (32 x 9216): K = 32
    work = work_of("MatMulV3", "32,4096;32,9216", "FLOAT;FLOAT", "4096,9216", "FLOAT")
    assert isinstance(work, Work)
    assert work.gemm == (4096, 32, 9216)
    assert work.flops == 2 * 4096 * 9216 * 32 == 2_415_919_104


def test_matmul_shapes_that_cannot_multiply_are_refused_with_the_reason():
    why = work_of("MatMulV2", "81920,4096;8192,512", "DT_BF16;DT_BF16", "4096,512", "DT_BF16")
    assert why == "inconsistent shapes: (81920, 4096) x (8192, 512) cannot give (4096, 512)"


def test_conv2d_as_an_implicit_gemm_over_its_fractal_shapes():
    # 64 -> 192 channels, 5 x 5 window, 27 x 27 output, batch 32 (fp32: C0 = 8)
    # M = 32 * 27 * 27 = 23,328; N = 24 * 8 = 192; K = 200 * 8 = 1,600 (= 64 * 5 * 5)
    work = work_of(
        "Conv2D",
        "32,8,27,27,8;200,12,16,8;192",
        "FLOAT;FLOAT;FLOAT",
        "32,24,27,27,8",
        "FLOAT",
    )
    elements = 32 * 8 * 27 * 27 * 8 + 200 * 12 * 16 * 8 + 192 + 32 * 24 * 27 * 27 * 8
    gemm = (23_328, 1_600, 192)
    assert work == Work("cube", elements * 4, 2 * 23_328 * 192 * 1_600, "FLOAT", 4, gemm)
    assert (work.bytes, work.flops) == (25_117_440, 14_332_723_200)


def test_filter_gradient_takes_the_dtype_of_its_largest_input_not_the_sizes_tensor():
    work = work_of(
        "Conv2DBackpropFilter",
        "32,8,27,27,8;4;32,24,27,27,8",
        "FLOAT;INT32;FLOAT",
        "200,12,16,8",
        "FLOAT",
    )
    assert isinstance(work, Work)
    assert (work.dtype, work.flops) == ("FLOAT", 14_332_723_200)


def test_elementwise_ops_move_inputs_and_outputs_once_and_do_one_op_per_element():
    work = work_of("ReluGrad", "32,4096;32,4096", "FLOAT;FLOAT", "32,4096", "FLOAT")
    assert work == Work("vector", 3 * 131_072 * 4, 131_072, "FLOAT", 4)
    # Muls: the scalar is one element
    muls = work_of("Mul", "4096;", "FLOAT;FLOAT", "4096", "FLOAT")
    assert isinstance(muls, Work)
    assert (muls.bytes, muls.flops) == ((4096 + 1 + 4096) * 4, 4096)


def test_a_cast_reads_one_width_and_writes_another():
    work = work_of("Cast", "32,5", "INT32", "32,5", "INT64")
    assert work == Work("vector", 160 * 4 + 160 * 8, 160, "INT32", 8)


def test_a_layout_change_counts_the_contiguous_runs_of_both_sides():
    # NCHW -> NC1HWC0: 32 x 64 planes of 55 x 55 floats (12,100 B) read, 32 x 8
    # C0-interleaved planes of 55 x 55 x 8 floats (96,800 B) written
    work = work_of(
        "TransData", "32,64,55,55", "FLOAT", "32,8,55,55,8", "FLOAT", ("NCHW", "NC1HWC0")
    )
    assert isinstance(work, Work) and work.runs == ((2_048, 12_100), (256, 96_800))
    assert work.run_count == 32 * 64 + 32 * 8 == 2_304
    # FRACTAL_Z -> NCHW (a 256 x 384 x 3 x 3 filter): 432 slabs of Co x C0 = 256 x 8
    # floats (8,192 B), 256 rows of Ci x 3 x 3 = 3,456 floats (13,824 B)
    back = work_of(
        "TransData", "432,16,16,8", "FLOAT", "256,384,3,3", "FLOAT", ("FRACTAL_Z", "NCHW")
    )
    assert isinstance(back, Work) and back.runs == ((256, 13_824), (432, 8_192))
    # element-wise ops and layout-free copies stream: no runs counted
    move = work_of("TensorMove", "256,384,3,3", "FLOAT", "256,384,3,3", "FLOAT", ("NCHW", "NCHW"))
    assert isinstance(move, Work) and move.runs == ()


@pytest.mark.parametrize(
    ("op_type", "shapes", "reason"),
    [
        ("MaxPoolWithArgmaxV1", "32,4,55,55,16", "window and stride not recorded"),
        ("Softplus", "32,4096", "type not classified"),
        ("Relu", "N/A", "no shapes recorded"),
    ],
)
def test_operators_whose_work_does_not_follow_say_why(op_type, shapes, reason):
    why = work_of(op_type, shapes, "FLOAT", shapes, "FLOAT")
    assert isinstance(why, str) and why.startswith(reason)
