"""Shape of the attention layer and the UB its attention core needs per (sequence, head) pair."""

from __future__ import annotations

from dataclasses import dataclass

from ubscope.kernels import sparse24
from ubscope.kernels.param_checks import check_cores
from ubscope.probe.chip import ChipProfile
from ubscope.probe.errors import ParameterError
from ubscope.probe.memory.buffers import Group
from ubscope.probe.memory.dtypes import F16, F32, I32

PROJECTIONS = ("q", "k", "v", "o")
INPUTS = ("q_tile", "k_tile", "v_tile")  # the attention core's queues copied in from GM
SPARSE_VARIANTS = ("gather", "rebuild")
ROW_UNIT = 8  # fp32 elements in a 32 B block: score rows are padded to it
# Events of one (sequence, head) pair of the attention core and of each of its
# query rows (counted on recorded runs).
EVENTS_PER_PAIR, EVENTS_PER_QUERY_ROW = 20, 24


@dataclass(frozen=True)
class AttentionShape:
    batch: int
    seq_len: int
    hidden: int
    heads: int

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @property
    def tokens(self) -> int:
        return self.batch * self.seq_len

    @property
    def padded_seq(self) -> int:
        return -(-self.seq_len // ROW_UNIT) * ROW_UNIT

    def core_groups(self) -> tuple[Group, ...]:
        """The attention core's UB buffers for one (sequence, head) pair."""
        s, d, sp = self.seq_len, self.head_dim, self.padded_seq
        tile = (("f16", F16, s * d),)
        return (
            *(Group(name, "in", tile) for name in INPUTS),
            Group("ctx_tile", "out", tile),
            Group(
                "qkv_f32",
                "calc",
                (
                    ("q", F32, s * d),
                    ("k_t16", F16, d * sp),
                    ("k_t", F32, d * sp),
                    ("v", F32, s * d),
                ),
            ),
            Group("scores", "calc", (("row", F32, sp), ("stat", F32, sp))),
            Group("work", "calc", (("f32", F32, max(d * sp, s * d)),)),
            Group("ctx_f32", "calc", (("f32", F32, s * d),)),
            Group("index_tables", "calc", (("k_transpose", I32, d * sp),)),
        )

    def core_footprint(self, buffers_per_queue: int, chip: ChipProfile) -> int:
        single = single_buffered_inputs(buffers_per_queue, chip)
        return sum(
            g.nbytes * (1 if g.kind == "calc" or g.name in single else buffers_per_queue)
            for g in self.core_groups()
        )


def single_buffered_inputs(buffers_per_queue: int, chip: ChipProfile) -> frozenset[str]:
    """The attention core's queues that get one buffer: Q, K and V where their
    three queues would take more VECIN buffers than the chip has event IDs
    (double-buffered 6, QUE_MAX_EVENT 4 on the 910A; past it the device
    hangs). Each tile is cast or transposed to fp32 and freed before the
    pair's scores start, so the next pair's copy overlaps them with one
    buffer as well as with two."""
    if len(INPUTS) * buffers_per_queue > chip.que_max_event:
        return frozenset(INPUTS)
    return frozenset()


def check_shape(shape: AttentionShape, cores: int, double_buffer: bool, chip: ChipProfile) -> None:
    """ParameterError naming the limit a shape breaks."""
    for name in ("batch", "seq_len", "hidden", "heads"):
        if getattr(shape, name) < 1:
            raise ParameterError(f"{name}={getattr(shape, name)}: must be at least 1")
    if shape.hidden % shape.heads:
        raise ParameterError(f"hidden={shape.hidden}: must be a multiple of heads={shape.heads}")
    if shape.head_dim % 16:
        raise ParameterError(
            f"head_dim={shape.head_dim} (hidden/heads): must be a multiple of 16 "
            "(whole 32 B rows of fp16)"
        )
    sparse24.check_k(shape.hidden, "hidden")
    check_cores(cores, chip)
    footprint = shape.core_footprint(2 if double_buffer else 1, chip)
    if footprint > chip.ub_safe_budget:
        raise ParameterError(
            f"seq_len={shape.seq_len}: the attention core needs {footprint} B of UB per head "
            f"(head_dim {shape.head_dim}), over the {chip.ub_safe_budget} B budget of {chip.name}; "
            "lower seq_len"
        )
