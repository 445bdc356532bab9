"""Chip profiles: the per-chip figures the memory model and cost model use.

Profiles are YAML data in ``probe/chips/`` (one file per chip, every figure
with its source); users pass their own with ``--chip FILE``. A profile that is
missing a field or has a bad value is rejected with a ``file:field`` error.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ubscope.probe.errors import ChipProfileError, read_input_text
from ubscope.probe.events import ON_CHIP_SPACES, Space

DEFAULT_CHIP = "Ascend910B2"
# Kinds of kernel launch: AIV blocks, AIC blocks, or AIC + 2 AIV per block.
LAUNCH_MODES = ("vector", "cube", "mix")
# The on-chip spaces by name, as the profiles' keys write them.
ON_CHIP = tuple(space.name for space in ON_CHIP_SPACES)
_MAX_PROFILE_BYTES = 1 << 20


@dataclass(frozen=True)
class ChipProfile:
    """Figures of one Ascend chip. Sizes in bytes, rates in bytes per cycle,
    bandwidth in bytes per second, times in nanoseconds."""

    name: str
    arch: int  # __NPU_ARCH__
    split_cores: bool  # separate cube (AIC) and vector (AIV) cores, as on 910B
    cube_cores: int  # AIC on split chips, AI Cores on coupled ones
    vector_cores: int  # AIV on split chips, extra Vector Cores on coupled ones
    clock_hz: float
    capacity: dict[str, int]  # per core: UB (on AIV), L1/L0A/L0B/L0C (on AIC)
    alignment: dict[str, int]  # required start alignment per on-chip space
    ub_scratch_bytes: int  # top of UB that some built-in APIs use as scratch
    datacopy_unit: int  # DataCopy lengths are whole multiples of this
    gm_bytes: int
    gm_bandwidth: float  # whole-chip HBM/DDR bandwidth
    gm_alignment: int  # GM start alignment for full bandwidth
    gm_rate_per_core: int  # GM bytes per cycle one core's MTE can move
    misaligned_gm_factor: float  # bandwidth fraction when GM is not gm_alignment aligned
    efficient_burst_bytes: int  # transfers below this cannot reach peak bandwidth
    l2_bytes: int
    onchip_rate: dict[str, int]  # L1->L0A, L1->L0B, L0C->out, UB->GM bytes per cycle
    peak_fp16_flops: float  # whole chip, cube
    peak_int8_ops: float
    vector_fp16_ops_per_cycle: int  # per vector core
    que_max_event: int  # queue buffers per TPosition (QUE_MAX_EVENT)
    qbuf_max_len: int  # buffers per TPipe (QBUF_MAX_LEN)
    gm_latency_ns: float  # a GM copy's data lands this long after its pipe is done
    onchip_latency_ns: float
    # The defaults below keep traces recorded before each field existed
    # loadable: each is the value the model had before it.
    # L2 bytes per cycle one core moves (core-to-core workspaces and L2 hits)
    l2_rate_per_core: int = 86
    gm_issue_ns: float = 0.0  # MTE pipe time of one GM copy besides its bytes
    launch_overhead_ns: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(LAUNCH_MODES, 0.0)
    )  # per launch mode
    launch_per_block_ns: float = 0.0  # added per block of a launch
    description: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    # -- derived figures ---------------------------------------------------
    def space_capacity(self, space: Space | str) -> int:
        key = space.name if isinstance(space, Space) else space
        return self.capacity[key]

    def space_alignment(self, space: Space | str) -> int:
        key = space.name if isinstance(space, Space) else space
        return self.alignment.get(key, 1)

    @property
    def ub_safe_budget(self) -> int:
        """UB bytes a kernel may fill without colliding with built-in API scratch."""
        return self.capacity["UB"] - self.ub_scratch_bytes

    @property
    def ridge_flops_per_byte(self) -> float:
        """Arithmetic intensity where the FP16 roofline turns from memory- to compute-bound."""
        return self.peak_fp16_flops / self.gm_bandwidth

    def total_cores(self, kind: str) -> int:
        return self.vector_cores if kind == "aiv" else self.cube_cores

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<profile>") -> ChipProfile:
        """Rebuild a profile from :meth:`to_dict` output (e.g. trace metadata)."""
        try:
            return cls(**data)
        except TypeError as exc:
            raise ChipProfileError(source, f"not a chip profile ({exc})") from None


# YAML layout -> dataclass field: (yaml path, type, sane range in YAML units).
# The ranges are wide (a chip many times the largest Ascend part still fits)
# but keep every figure one the emulator can allocate and the cost model can
# compute with: no 2**63-byte UB, no alignment of 1e30.
_KIB, _MIB, _GIB = 1 << 10, 1 << 20, 1 << 30
_FIELDS: dict[str, tuple[str, type, float, float]] = {
    "name": ("name", str, 0, 0),
    "arch": ("arch", int, 1, 99_999),
    "split_cores": ("cores.split", bool, 0, 0),
    "cube_cores": ("cores.cube", int, 1, 1024),
    "vector_cores": ("cores.vector", int, 0, 4096),
    "clock_hz": ("clock_mhz", float, 1, 10_000),
    "ub_scratch_bytes": ("memory.ub_scratch_bytes", int, 0, 64 * _MIB),
    "datacopy_unit": ("alignment.datacopy_unit", int, 1, 64 * _KIB),
    "gm_bytes": ("gm.size_bytes", int, 1, 1 << 50),
    "gm_bandwidth": ("gm.bandwidth_gb_per_s", float, 0.001, 100_000),
    "gm_alignment": ("gm.recommended_alignment", int, 1, 64 * _KIB),
    "gm_rate_per_core": ("gm.bytes_per_cycle_per_core", int, 1, 64 * _KIB),
    "misaligned_gm_factor": ("gm.misaligned_bandwidth_factor", float, 0.01, 1),
    "efficient_burst_bytes": ("gm.efficient_burst_bytes", int, 1, _GIB),
    "l2_bytes": ("gm.l2_bytes", int, 0, 1 << 40),
    "l2_rate_per_core": ("gm.l2_bytes_per_cycle_per_core", int, 1, 64 * _KIB),
    "peak_fp16_flops": ("compute.fp16_tflops", float, 0.001, 100_000),
    "peak_int8_ops": ("compute.int8_tops", float, 0.001, 100_000),
    "vector_fp16_ops_per_cycle": ("compute.vector_fp16_ops_per_cycle", int, 1, _MIB),
    "que_max_event": ("queues.max_buffers_per_position", int, 1, 4096),
    "qbuf_max_len": ("queues.max_buffers_per_pipe", int, 1, 4096),
    "gm_latency_ns": ("cost_model.gm_copy_latency_ns", float, 0, 1e9),
    "onchip_latency_ns": ("cost_model.onchip_copy_latency_ns", float, 0, 1e9),
    "gm_issue_ns": ("cost_model.gm_copy_issue_ns", float, 0, 1e9),
    "launch_per_block_ns": ("cost_model.launch_per_block_ns", float, 0, 1e9),
}
_ONCHIP_RATES = ("l1_to_l0a", "l1_to_l0b", "l0c_out", "ub_to_gm")
# dataclass field -> (yaml mapping, its keys, type and sane range of each value)
_TABLES: dict[str, tuple[str, tuple[str, ...], type, float, float]] = {
    "capacity": ("memory", ON_CHIP, int, 1, 64 * _MIB),
    "alignment": ("alignment", ON_CHIP, int, 1, 64 * _KIB),
    "onchip_rate": ("onchip_bytes_per_cycle", _ONCHIP_RATES, int, 1, 64 * _KIB),
    "launch_overhead_ns": ("cost_model.launch_overhead_ns", LAUNCH_MODES, float, 0, 1e9),
}
_SCALE = {
    "clock_hz": 1e6,
    "gm_bandwidth": 1e9,
    "peak_fp16_flops": 1e12,
    "peak_int8_ops": 1e12,
}


def _lookup(data: dict[str, Any], dotted: str, where: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ChipProfileError(where, f"{dotted}: missing")
        node = node[part]
    return node


def _number_text(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def _typed(value: Any, kind: type, where: str, dotted: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise ChipProfileError(where, f"{dotted}: expected true or false, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise ChipProfileError(where, f"{dotted}: expected a non-empty string")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ChipProfileError(where, f"{dotted}: expected a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ChipProfileError(where, f"{dotted}: expected a finite number, got {value!r}")
    if kind is int and value != int(value):
        raise ChipProfileError(where, f"{dotted}: expected a whole number, got {value!r}")
    try:
        return kind(value)
    except OverflowError:  # an integer beyond float's range where a float is expected
        raise ChipProfileError(
            where, f"{dotted}: expected a finite number, got one too large"
        ) from None


def _in_range(
    value: float, low: float, high: float, where: str, dotted: str, scale: float = 1
) -> None:
    """``value`` is in the profile's units, ``low`` and ``high`` in the YAML's
    (scaled the way the YAML value was, so a bound given in the YAML passes)."""
    if not low * scale <= value <= high * scale:
        raise ChipProfileError(
            where,
            f"{dotted}: must be from {_number_text(low)} to {_number_text(high)}, "
            f"got {_number_text(value / scale if scale != 1 else value)}",
        )


def check_chip_figures(profile: ChipProfile, where: str) -> None:
    """Raise a one-line :class:`ChipProfileError` naming the first figure of
    ``profile`` that has the wrong type or lies outside its sane range (the
    YAML field and the range, in the YAML's units). Every profile is checked
    here, whether it comes from a YAML file or from a trace's metadata."""
    for attr, (dotted, kind, low, high) in _FIELDS.items():
        value = getattr(profile, attr)
        if kind is bool and type(value) is int and value in (0, 1):
            value = bool(value)  # earlier versions recorded split_cores as 0 or 1
        value = _typed(value, kind, where, dotted)
        if kind in (int, float):
            _in_range(value, low, high, where, dotted, _SCALE.get(attr, 1))
    for attr, (key, names, kind, low, high) in _TABLES.items():
        table = getattr(profile, attr)
        if not isinstance(table, dict):
            raise ChipProfileError(where, f"{key}: expected a mapping of {', '.join(names)}")
        for name in names:
            if name not in table:
                raise ChipProfileError(where, f"{key}.{name}: missing")
            dotted = f"{key}.{name}"
            _in_range(_typed(table[name], kind, where, dotted), low, high, where, dotted)
    if profile.ub_scratch_bytes >= profile.capacity["UB"]:
        raise ChipProfileError(where, "memory.ub_scratch_bytes: must be below memory.UB")


def _table(
    data: dict[str, Any], key: str, names: tuple[str, ...], kind: type, where: str
) -> dict[str, Any]:
    table = _lookup(data, key, where)
    if not isinstance(table, dict):
        raise ChipProfileError(where, f"{key}: expected a mapping of {', '.join(names)}")
    # A missing name is reported, and every value checked, by check_chip_figures.
    return {
        name: _typed(table[name], kind, where, f"{key}.{name}") for name in names if name in table
    }


def profile_from_mapping(data: Any, where: str) -> ChipProfile:
    """Validate a parsed YAML mapping and build the profile."""
    if not isinstance(data, dict):
        raise ChipProfileError(where, "expected a YAML mapping with the chip's figures")
    values: dict[str, Any] = {}
    for attr, (dotted, kind, _, _) in _FIELDS.items():
        value = _typed(_lookup(data, dotted, where), kind, where, dotted)
        values[attr] = value * _SCALE[attr] if attr in _SCALE else value
    for attr, (key, names, kind, _, _) in _TABLES.items():
        values[attr] = _table(data, key, names, kind, where)
    description = data.get("description", "")
    sources = data.get("sources", {})
    if not isinstance(sources, dict):
        raise ChipProfileError(where, "sources: expected a mapping of field to source")
    profile = ChipProfile(
        description=str(description), sources={str(k): str(v) for k, v in sources.items()}, **values
    )
    check_chip_figures(profile, where)
    return profile


def builtin_chips() -> list[str]:
    """Names of the profiles shipped with ubscope."""
    folder = resources.files("ubscope.probe.chips")
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_chip(name_or_path: str | os.PathLike[str] | None = None) -> ChipProfile:
    """A built-in chip by name (default Ascend910B2), or a YAML file by path."""
    # yaml loads with the first profile read, not with this module (the CLI's --chip help)
    from ubscope.probe.yamlfile import parse_yaml

    target = os.fspath(name_or_path) if name_or_path is not None else DEFAULT_CHIP
    if target in builtin_chips():
        text = resources.files("ubscope.probe.chips").joinpath(f"{target}.yaml").read_text("utf-8")
        return profile_from_mapping(parse_yaml(text, target, ChipProfileError), f"{target}.yaml")
    path = Path(target)
    if not path.suffix and not path.exists():
        known = ", ".join(builtin_chips())
        raise ChipProfileError(target, f"unknown chip (built-in: {known}; or pass a YAML file)")
    text = read_input_text(path, ChipProfileError, "a chip profile YAML", _MAX_PROFILE_BYTES)
    return profile_from_mapping(parse_yaml(text, str(path), ChipProfileError), str(path))
