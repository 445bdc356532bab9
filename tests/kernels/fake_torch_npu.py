"""A stand-in for torch + torch_npu, so that ``--backend npu`` runs end to end
without an NPU: tensors are numpy arrays tagged with a device, the operators
compute their documented math in float64 numpy (independently of ubscope's
emulation and of its int4 packing code), every call is recorded, and the
profiler writes a folder in torch_npu's export format.

Formats followed (shared/reference/ascend_hardware.md section 4 and 6,
vendor_formats.md section 4):

* ``npu_convert_weight_to_int4pack``: int32 (K, N) values in [-8, 7] -> int32
  (K, N/8), low nibble first along the last dimension.
* ``npu_weight_quant_batchmatmul``: ``y = x @ ((w + offset) * scale)``; scale
  and offset (1, N) per channel or (ceil(K/g), N) per group.
* ``npu_incre_flash_attention`` with ``block_table``: BSH query (B, 1, N*D),
  caches (blocknum, block_size, kvN*D), int32 table (B, max blocks),
  ``actual_seq_lengths`` per batch; query heads share KV heads in groups.
* profiler: ``<dir>/<worker>_<ts>_ascend_pt/ASCEND_PROFILER_OUTPUT/`` with
  ``memory_record.csv`` and ``operator_memory.csv`` written by ``csv.writer``
  (CRLF), timestamps in epoch µs with 3 decimals and a trailing TAB.
"""

from __future__ import annotations

import csv
import math
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

MB = 1 << 20
EPOCH_US = 1_736_408_883_573_957  # a real torch_npu timestamp, as a start


class FakeTensor:
    def __init__(self, data: np.ndarray, device: str, fake: FakeNpu):
        self.data = data
        self.device = device
        self.fake = fake

    def to(self, target: Any) -> FakeTensor:
        if isinstance(target, str):
            moved = FakeTensor(self.data, target, self.fake)
            if target == "npu" and self.device != "npu":
                self.fake.allocate("aten::to", moved)
            return moved
        return FakeTensor(self.data.astype(target), self.device, self.fake)

    def cpu(self) -> FakeTensor:
        return FakeTensor(self.data, "cpu", self.fake)

    def numpy(self) -> np.ndarray:
        if self.device != "cpu":
            raise TypeError(f"can't convert {self.device} device type tensor to numpy")
        return self.data


@dataclass
class Call:
    op: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass
class FakeNpu:
    """The fake modules and what happened to them."""

    calls: list[Call] = field(default_factory=list)
    # (operator name, bytes, allocation time in µs) of each NPU tensor
    allocations: list[tuple[str, int, int]] = field(default_factory=list)
    clock_us: int = EPOCH_US

    def allocate(self, name: str, tensor: FakeTensor) -> None:
        self.clock_us += 10
        self.allocations.append((name, tensor.data.nbytes, self.clock_us))

    def on_npu(self, op: str, *tensors: FakeTensor) -> None:
        for tensor in tensors:
            if not isinstance(tensor, FakeTensor) or tensor.device != "npu":
                raise TypeError(f"{op}: every tensor argument must be on the NPU")

    def output(self, op: str, data: np.ndarray) -> FakeTensor:
        tensor = FakeTensor(data, "npu", self)
        self.allocate(op, tensor)
        return tensor

    # -- operators -------------------------------------------------------------
    def convert_weight_to_int4pack(self, weight: FakeTensor, inner_k_tiles: int = 0) -> FakeTensor:
        self.calls.append(Call("npu_convert_weight_to_int4pack", (weight,), {}))
        self.on_npu("npu_convert_weight_to_int4pack", weight)
        values = weight.data
        assert values.dtype == np.int32 and values.ndim == 2 and values.shape[1] % 8 == 0
        assert values.min() >= -8 and values.max() <= 7
        nibbles = (values & 0xF).astype(np.uint32).reshape(values.shape[0], -1, 8)
        packed = np.zeros(nibbles.shape[:2], dtype=np.uint32)
        for position in range(8):
            packed |= nibbles[:, :, position] << np.uint32(4 * position)
        return self.output("npu::npu_convert_weight_to_int4pack", packed.view(np.int32))

    def weight_quant_batchmatmul(
        self,
        x: FakeTensor,
        weight: FakeTensor,
        antiquant_scale: FakeTensor,
        antiquant_offset: FakeTensor | None = None,
        antiquant_group_size: int = 0,
        **rest: Any,
    ) -> FakeTensor:
        kwargs = {
            "antiquant_offset": antiquant_offset,
            "antiquant_group_size": antiquant_group_size,
            **rest,
        }
        self.calls.append(
            Call("npu_weight_quant_batchmatmul", (x, weight, antiquant_scale), kwargs)
        )
        self.on_npu("npu_weight_quant_batchmatmul", x, weight, antiquant_scale, antiquant_offset)
        assert x.data.dtype == np.float16 and weight.data.dtype == np.int32
        packed = weight.data.view(np.uint32)
        k = packed.shape[0]
        nibbles = np.stack([(packed >> np.uint32(4 * i)) & 0xF for i in range(8)], axis=-1)
        values = nibbles.reshape(k, -1).astype(np.int64)
        values = np.where(values > 7, values - 16, values).astype(np.float64)
        rows = antiquant_group_size or k
        scale = np.repeat(antiquant_scale.data.astype(np.float64), rows, axis=0)[:k]
        offset = np.repeat(antiquant_offset.data.astype(np.float64), rows, axis=0)[:k]
        y = x.data.astype(np.float64) @ ((values + offset) * scale)
        return self.output("npu::npu_weight_quant_batchmatmul", y.astype(np.float16))

    def incre_flash_attention(
        self, query: FakeTensor, key: FakeTensor, value: FakeTensor, **kwargs: Any
    ) -> FakeTensor:
        self.calls.append(Call("npu_incre_flash_attention", (query, key, value), kwargs))
        self.on_npu("npu_incre_flash_attention", query, key, value, kwargs["block_table"])
        assert kwargs["input_layout"] == "BSH"
        heads, kv_heads = kwargs["num_heads"], kwargs["num_key_value_heads"]
        block_size, table = kwargs["block_size"], kwargs["block_table"].data
        batch, one, hidden = query.data.shape
        dim = hidden // heads
        assert one == 1 and table.dtype == np.int32 and table.shape[0] == batch
        out = np.zeros((batch, 1, hidden))
        for b, length in enumerate(kwargs["actual_seq_lengths"]):
            blocks = table[b, : math.ceil(length / block_size)]
            k = key.data[blocks].reshape(-1, kv_heads, dim)[:length].astype(np.float64)
            v = value.data[blocks].reshape(-1, kv_heads, dim)[:length].astype(np.float64)
            q = query.data[b, 0].reshape(heads, dim).astype(np.float64)
            for h in range(heads):
                kv = h // (heads // kv_heads)
                scores = k[:, kv] @ q[h] * kwargs["scale_value"]
                weights = np.exp(scores - scores.max())
                out[b, 0, h * dim : (h + 1) * dim] = weights @ v[:, kv] / weights.sum()
        return self.output("npu::npu_incre_flash_attention", out.astype(np.float16))

    # -- profiler --------------------------------------------------------------
    def write_profile(self, folder: Path) -> None:
        """memory_record.csv and operator_memory.csv of what was allocated."""
        output = folder / f"fakehost_{EPOCH_US}_ascend_pt" / "ASCEND_PROFILER_OUTPUT"
        output.mkdir(parents=True)
        release_us = self.clock_us + 100

        def stamp(us: int) -> str:
            return f"{us}.000\t"

        total, records, operators = 0, [], []
        for name, nbytes, at in self.allocations:
            before = total / MB
            total += nbytes
            reserved = math.ceil(total / (2 * MB)) * 2.0
            records.append(["PTA", stamp(at), total / MB, reserved, total / MB, 1, "NPU:0"])
            operators.append(
                [
                    name,
                    nbytes / 1024,
                    stamp(at),
                    stamp(release_us),
                    "",
                    f"{release_us - at}.000",
                    "",
                    before + nbytes / MB,
                    reserved,
                    "",
                    "",
                    "",
                    "",
                    1,
                    "NPU:0",
                ]
            )
        with open(output / "memory_record.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "Component",
                    "Timestamp(us)",
                    "Total Allocated(MB)",
                    "Total Reserved(MB)",
                    "Total Active(MB)",
                    "Stream Ptr",
                    "Device Type",
                ]
            )
            writer.writerows(records)
        with open(output / "operator_memory.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                [
                    "Name",
                    "Size(KB)",
                    "Allocation Time(us)",
                    "Release Time(us)",
                    "Active Release Time(us)",
                    "Duration(us)",
                    "Active Duration(us)",
                    "Allocation Total Allocated(MB)",
                    "Allocation Total Reserved(MB)",
                    "Allocation Total Active(MB)",
                    "Release Total Allocated(MB)",
                    "Release Total Reserved(MB)",
                    "Release Total Active(MB)",
                    "Stream Ptr",
                    "Device Type",
                ]
            )
            writer.writerows(operators)

    def modules(self) -> tuple[types.ModuleType, types.ModuleType]:
        """(torch, torch_npu) module objects backed by this fake."""
        torch = types.ModuleType("torch")
        torch.int32 = np.int32
        torch.from_numpy = lambda array: FakeTensor(np.asarray(array), "cpu", self)
        torch.npu = types.SimpleNamespace(is_available=lambda: True)

        fake = self
        activity = types.SimpleNamespace(CPU="CPU", NPU="NPU")

        @contextmanager
        def profile(activities: list[str], profile_memory: bool, on_trace_ready: Any):
            assert set(activities) == {"CPU", "NPU"} and profile_memory
            fake.allocations.clear()
            yield
            on_trace_ready(fake)

        def tensorboard_trace_handler(folder: str):
            return lambda profiler: profiler.write_profile(Path(folder))

        torch_npu = types.ModuleType("torch_npu")
        torch_npu.npu_convert_weight_to_int4pack = self.convert_weight_to_int4pack
        torch_npu.npu_weight_quant_batchmatmul = self.weight_quant_batchmatmul
        torch_npu.npu_incre_flash_attention = self.incre_flash_attention
        torch_npu.profiler = types.SimpleNamespace(
            profile=profile,
            ProfilerActivity=activity,
            tensorboard_trace_handler=tensorboard_trace_handler,
        )
        return torch, torch_npu
