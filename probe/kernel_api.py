"""Everything a kernel author needs, in one import:
``from ubscope.probe.kernel_api import ...``.

ubscope runs kernels written the way Ascend C kernels are, on an emulated
device whose memories are real bytes, and records every allocation, copy and
vector or cube instruction into a trace. Names follow Ascend C where Ascend C
has the thing (``TPipe``, ``TQue``, ``DataCopy``, ``Add``, ``Mmad``, ...);
tensors and sizes are passed as arguments where Ascend C uses templates.

The device (:class:`Device`, :class:`Block`, :class:`Core`)
    ``device.launch(name, kernel, block_dim, mode="vector", **args)`` runs
    ``kernel(block, **args)`` once per block; ``block.idx``/``block.dim`` are
    GetBlockIdx/GetBlockNum, ``block.aiv``/``block.aic`` its vector and cube
    cores (the same core on chips without split cores). ``device.gm.tensor(name,
    array)`` puts a host array in GM as a :class:`GlobalTensor`; ``device.gm.empty``
    makes an output.
Call-site tags
    ``with core.site("copy_in"):`` tags everything recorded inside; findings
    and the report name the tag.
On-chip memory
    :class:`TPipe` with :class:`TQue` (``AllocTensor``/``EnQue``/``DeQue``/
    ``FreeTensor`` as ``alloc_tensor``/``enque``/``deque``/``free_tensor``) and
    :class:`TBuf` at a :class:`TPosition`; or the article's bump pool
    :class:`UBBufPool` and a first-fit :class:`FreeListAllocator`. Each hands out
    :class:`LocalTensor` views of the core's memory. :class:`Group` and the
    :class:`UBBuffers` backends (:class:`QueueBuffers`, :class:`FreeListBuffers`,
    :class:`BumpBuffers`) let one kernel body run over any of them.
Data movement
    :func:`DataCopy` (whole 32 B blocks: a tail is dropped, as on the device),
    :func:`DataCopyPad` with :class:`DataCopyExtParams` and
    :class:`DataCopyPadExtParams`, strided :class:`DataCopyParams`, and
    :func:`copy_rows`, which picks the right one for rows of any length.
    ``DataCopy`` with :class:`Nd2NzParams` turns a GM matrix (ND) into the
    cube's NZ fractal layout in L1. ``SetAtomicAdd(core, F32)`` (and
    ``SetAtomicMax``, ``SetAtomicMin``, ``SetAtomicNone``) makes the core's
    later copies into GM combine with GM, as split-K partial sums need
    (:mod:`ubscope.probe.memory.atomic`).
Vector ops
    ``Op(dst, src0, src1, count)`` and friends on LocalTensors; broadcasts
    (:func:`broadcast_rows`, :func:`broadcast_columns`), reductions
    (:func:`ReduceSum`, :func:`ReduceMax`, :func:`tree_sum_rows`,
    :func:`sum_groups`, :func:`multiply_reduce`), :func:`Gather` and
    :func:`Scatter` with index tables (:func:`fill_index_table`,
    :func:`transpose_table`).
Cube ops
    :func:`LoadData` with :class:`LoadData2DParams` (whole 512 B fractals
    L1 -> L0A/L0B), :func:`Mmad` (ZZ x ZN into NZ in L0C, fp32),
    :func:`Fixpipe` (L0C NZ -> GM ND); see :mod:`ubscope.probe.memory.fractal`.
The kernel for ubscope
    A :class:`KernelSpec` names the kernel, its :class:`Param` s and how to
    run it: ``run(device, params)`` returns a :class:`KernelResult` with the
    outputs and their float64 references. ``ubscope run my_kernel.py`` runs the
    file's spec; ``minimal_traffic`` (the least GM bytes the math needs),
    presets, ``validate`` and ``estimate`` are optional.

docs/writing-a-kernel.md walks through a double-buffered vector add.
"""

from __future__ import annotations

from ubscope.probe.device import Block, Core, Device
from ubscope.probe.errors import EmulationError, ParameterError
from ubscope.probe.estimate import Estimate, estimate
from ubscope.probe.kernel_spec import (
    ATOL,
    RTOL,
    ChunkedReference,
    KernelResult,
    KernelSpec,
    Param,
    PerChip,
    cores_param,
    vector_blocks,
)
from ubscope.probe.memory import atomic, cube, datacopy, fractal, vector
from ubscope.probe.memory.arena import LocalTensor
from ubscope.probe.memory.broadcast import broadcast_columns, broadcast_rows
from ubscope.probe.memory.buffers import (
    BumpBuffers,
    Carved,
    FreeListBuffers,
    Group,
    QueueBuffers,
    UBBuffers,
)
from ubscope.probe.memory.datacopy import BLOCK, copy_rows
from ubscope.probe.memory.dtypes import F16, F32, I8, I32, U8, U16
from ubscope.probe.memory.gm import GlobalTensor
from ubscope.probe.memory.index_tables import fill_index_table, transpose_table
from ubscope.probe.memory.pools import FreeListAllocator, UBBufPool, align_up
from ubscope.probe.memory.positions import TPosition
from ubscope.probe.memory.reduce import multiply_reduce, sum_groups, tree_sum_rows
from ubscope.probe.memory.tpipe import TBuf, TPipe, TQue

# Ascend C's names for the memory model's operations.
DataCopy = datacopy.data_copy
DataCopyPad = datacopy.data_copy_pad
DataCopyParams = datacopy.CopyParams
DataCopyExtParams = datacopy.CopyExtParams
DataCopyPadExtParams = datacopy.PadParams
Nd2NzParams = fractal.Nd2NzParams
LoadData = fractal.load_data
LoadData2DParams = fractal.LoadData2DParams
Mmad = cube.mmad
Fixpipe = cube.fixpipe
SetAtomicAdd = atomic.set_atomic_add
SetAtomicMax = atomic.set_atomic_max
SetAtomicMin = atomic.set_atomic_min
SetAtomicNone = atomic.set_atomic_none
Add = vector.add
Sub = vector.sub
Mul = vector.mul
Div = vector.div
Max = vector.maximum
Adds = vector.adds
Muls = vector.muls
Exp = vector.exp
Sqrt = vector.sqrt
Reciprocal = vector.reciprocal
Cast = vector.cast
Duplicate = vector.duplicate
ReduceSum = vector.reduce_sum
ReduceMax = vector.reduce_max
Gather = vector.gather
Scatter = vector.scatter

__all__ = [
    "ATOL",
    "BLOCK",
    "F16",
    "F32",
    "I8",
    "I32",
    "RTOL",
    "U8",
    "U16",
    "Add",
    "Adds",
    "Block",
    "BumpBuffers",
    "Carved",
    "Cast",
    "ChunkedReference",
    "Core",
    "DataCopy",
    "DataCopyExtParams",
    "DataCopyPad",
    "DataCopyPadExtParams",
    "DataCopyParams",
    "Device",
    "Div",
    "Duplicate",
    "EmulationError",
    "Estimate",
    "Exp",
    "Fixpipe",
    "FreeListAllocator",
    "FreeListBuffers",
    "Gather",
    "GlobalTensor",
    "Group",
    "KernelResult",
    "KernelSpec",
    "LoadData",
    "LoadData2DParams",
    "LocalTensor",
    "Max",
    "Mmad",
    "Mul",
    "Muls",
    "Nd2NzParams",
    "Param",
    "ParameterError",
    "PerChip",
    "QueueBuffers",
    "Reciprocal",
    "ReduceMax",
    "ReduceSum",
    "Scatter",
    "SetAtomicAdd",
    "SetAtomicMax",
    "SetAtomicMin",
    "SetAtomicNone",
    "Sqrt",
    "Sub",
    "TBuf",
    "TPipe",
    "TPosition",
    "TQue",
    "UBBufPool",
    "UBBuffers",
    "align_up",
    "broadcast_columns",
    "broadcast_rows",
    "copy_rows",
    "cores_param",
    "estimate",
    "fill_index_table",
    "multiply_reduce",
    "sum_groups",
    "transpose_table",
    "tree_sum_rows",
    "vector_blocks",
]
