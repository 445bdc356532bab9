"""Run a compiled twin in a child process and turn its events into a trace.

The host lays the GM tensors out as ubscope.probe.memory.gm.GlobalMemory does
(512 B aligned device addresses), writes them to one file the child maps,
describes the launch in a small text file, and records the child's event
stream from a pipe while the child runs (ubscope.probe.ascendc.events: columns
at their Arrow widths, no Python object per event). A kernel that stops
(a failed check, a crash) leaves the events recorded so far and a one-line
error naming the last recorded call site; the trace then reads as truncated.
A raw GM pointer access caught by a guard page is not a crash: the child ends
its event file there, its last event the access flagged GUARD_PAGE, and the
recorder notes it as the run's device fault (the trace is complete).
"""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np
import psutil

from ubscope.probe.ascendc.build import build, entry_parameters, user_headers
from ubscope.probe.ascendc.events import ChildLog, record_stream
from ubscope.probe.ascendc.tiling import LaunchValues
from ubscope.probe.call_sites import split_call_site
from ubscope.probe.chip import ChipProfile
from ubscope.probe.costmodel import PS_PER_NS, CostModel, gm_sharing_cores, launch_overhead_ps
from ubscope.probe.device import max_blocks
from ubscope.probe.device_fault import DeviceFault
from ubscope.probe.errors import EmulationError, InputError, ParameterError
from ubscope.probe.events import ON_CHIP_SPACES
from ubscope.probe.memory.gm import GM_BASE
from ubscope.probe.recorder import NullRecorder, Recorder
from ubscope.probe.trace import SOURCE_LINES_FIELD, TraceWriter, new_metadata

# The launch a KERNEL_TASK_TYPE_DEFAULT kernel type asks for (ubscope.probe.
# device.Device.launch's modes); a kernel without one is a vector launch.
_LAUNCH_MODES = {
    "KERNEL_TYPE_AIV_ONLY": "vector",
    "KERNEL_TYPE_MIX_AIV_1_0": "vector",
    "KERNEL_TYPE_AIC_ONLY": "cube",
    "KERNEL_TYPE_MIX_AIC_1_0": "cube",
    "KERNEL_TYPE_MIX_AIC_1_2": "mix",
}
# The harness's LaunchMode codes (ubscope_twin/runtime.h).
_MODE_CODES = {"vector": 0, "cube": 1, "mix": 2}
_KERNEL_TYPE = re.compile(r"\bKERNEL_TASK_TYPE_DEFAULT\s*\(\s*(\w+)\s*\)")
# The documented switch of the Matmul high-level API to its pure Cube mode
# (AICs only, no AIV passing messages), defined before lib/matmul_intf.h.
_CUBE_ONLY = re.compile(r"^\s*#\s*define\s+ASCENDC_CUBE_ONLY\b", re.MULTILINE)
# A kernel using the Matmul high-level API, which is a mix kernel by default.
_MATMUL = re.compile(r"\bREGIST_MATMUL_OBJ\s*\(")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
# The pipe's buffer: larger than Linux's 64 KiB default, so the child and the
# reader switch less often (1 MiB is what an unprivileged process may ask).
_PIPE_BYTES = 1 << 20
# GM parameters the host fills itself when no tensor is given (GET_TILING_DATA
# reads --tiling values, not these bytes): they point nowhere.
_HOST_BUFFERS = ("tiling", "workspace")
_INIT_BUFFER = re.compile(r"InitBuffer\s*\(\s*([\w.\->\[\]]+)\s*,")
# How much of the kernel's own output (printf) reaches standard error: a kernel
# that prints in a loop shows its first 64 KiB, then how much more was dropped.
KERNEL_OUTPUT_BYTES = 64 * 1024


@dataclass
class TwinRun:
    """What a twin run produced: outputs by name, events, modelled duration, and
    where it wrote past on-chip capacity (the device would have faulted)."""

    outputs: dict[str, np.ndarray]
    events: int
    duration_ps: int
    device_fault: DeviceFault | None = None


def _queue_name(site: str, source_lines: list[str]) -> str | None:
    """The variable passed to InitBuffer on the source line ``site`` (``file:line``)."""
    place = split_call_site(site)
    if place is not None and 0 < place[1] <= len(source_lines):
        found = _INIT_BUFFER.search(source_lines[place[1] - 1])
        if found:
            return found.group(1).removeprefix("this->")
    return None


def launch_mode(source: Path, text: str, chip: ChipProfile) -> str:
    """The launch mode the kernel's ``KERNEL_TASK_TYPE_DEFAULT`` asks for: AIVs
    (vector), AICs (cube) or one AIC with two AIVs per block (mix). Without one,
    on a split chip, a Matmul kernel runs on AICs when it defines
    ``ASCENDC_CUBE_ONLY`` and is a mix kernel otherwise (the Matmul pages'
    default); any other kernel runs on AIVs."""
    code = _COMMENT.sub("", text)
    found = _KERNEL_TYPE.search(code)
    if found is None:
        if chip.split_cores and _CUBE_ONLY.search(code):
            return "cube"
        return "mix" if chip.split_cores and _MATMUL.search(code) else "vector"
    mode = _LAUNCH_MODES.get(found.group(1))
    if mode is None:
        if chip.split_cores:
            covered = ", ".join(_LAUNCH_MODES)
            raise ParameterError(
                f"{source}: KERNEL_TASK_TYPE_DEFAULT({found.group(1)}) is not covered by the twin "
                f"on {chip.name} (covered: {covered})"
            )
        return "vector"
    return mode


def source_files(source: Path, text: str, include_dirs: tuple[str, ...]) -> list[str]:
    """The kernel source and the user headers it includes, as paths a
    code-scanning tool resolves from the repository root: relative to the
    working folder when inside it (a CI job runs from the checkout), else
    absolute. Findings name these files by their ``file:line`` call sites."""
    here = Path.cwd()
    paths = []
    for path in (source.resolve(), *user_headers(source, text, include_dirs)):
        paths.append(path.relative_to(here).as_posix() if path.is_relative_to(here) else str(path))
    return paths


# At most this much of a call site's line is kept: a finding shows it on one line.
_CODE_CHARACTERS = 200


def call_site_lines(tags: Iterable[str], files: Mapping[str, str]) -> dict[str, str]:
    """The code on the line each call-site tag (``add_custom.cpp:46``) names in
    ``files`` (file name -> text), its whitespace collapsed and cut to 200
    characters, so a finding can show the line without the source at hand. A
    tag of no file, or of a line that is past the end or blank, has none."""
    texts = {name: text.splitlines() for name, text in files.items()}
    lines = {}
    for tag in tags:
        place = split_call_site(tag)
        if place is None or place[0] not in texts:
            continue
        name, number = place
        if 0 < number <= len(texts[name]):
            code = " ".join(texts[name][number - 1].split())
            if code:
                lines[tag] = code[:_CODE_CHARACTERS]
    return lines


def _source_texts(source: Path, text: str, include_dirs: tuple[str, ...]) -> dict[str, str]:
    """The kernel source's and its user headers' texts by file name (a name two
    of them share is left out: a tag could not say which one it is)."""
    by_name: dict[str, str | None] = {}
    for path, body in ((source, text), *user_headers(source, text, include_dirs).items()):
        by_name[path.name] = None if path.name in by_name else body
    return {name: body for name, body in by_name.items() if body is not None}


def read_source(source: Path) -> str:
    """The kernel source's text; one line naming it when it cannot be read."""
    try:
        return source.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InputError(source, f"cannot read the kernel source ({exc.strerror})") from None


def block_dim_problem(block_dim: int, mode: str, chip: ChipProfile) -> str | None:
    """What is wrong with launching ``block_dim`` blocks of a kernel of launch
    ``mode`` (:func:`launch_mode`) on ``chip`` (``-1 outside 1..48 (...)``), or None."""
    limit = max_blocks(chip, mode)
    if 1 <= block_dim <= limit:
        return None
    return f"{block_dim} outside 1..{limit} ({chip.name}, a {mode} launch)"


def _layout(arrays: Mapping[str, np.ndarray], alignment: int) -> dict[str, tuple[int, int]]:
    """(file offset, device address) of each GM tensor, as GlobalMemory places them."""
    placed, cursor = {}, GM_BASE
    for name, array in arrays.items():
        placed[name] = (cursor - GM_BASE, cursor)
        cursor = -(-(cursor + array.nbytes + 1) // alignment) * alignment
    return placed


def _launch_text(
    chip: ChipProfile,
    mode: str,
    block_dim: int,
    placed: dict[str, tuple[int, int]],
    arrays: Mapping[str, np.ndarray],
    order: list[str],
    workspace: str | None = None,
) -> str:
    """The launch file: the chip's figures, the GM buffers (``workspace`` names
    the launch's L2-resident workspace, if any) and the entry's arguments."""
    cost = CostModel(chip, gm_sharing_cores(chip, mode, block_dim))
    # Every space's figures: the harness gives each core the arenas of its kind.
    lines = [f"capacity {s.name} {chip.space_capacity(s)}" for s in ON_CHIP_SPACES]
    lines += [f"alignment {s.name} {chip.space_alignment(s)}" for s in ON_CHIP_SPACES]
    lines += [
        f"que_max_event {chip.que_max_event}",
        f"qbuf_max_len {chip.qbuf_max_len}",
        f"split_cores {int(chip.split_cores)}",
        f"launch_mode {_MODE_CODES[mode]}",
        f"block_dim {block_dim}",
        f"gm_bytes_per_s {cost.gm_bytes_per_s!r}",
        f"l2_bytes_per_s {chip.l2_rate_per_core * chip.clock_hz!r}",
        f"gm_bandwidth {chip.gm_bandwidth!r}",
        f"cycle_ps {cost.cycle_ps!r}",
        f"gm_issue_ps {chip.gm_issue_ns * PS_PER_NS!r}",
        f"gm_latency_ps {cost.gm_latency_ps}",
        f"launch_ps {launch_overhead_ps(chip, mode, block_dim)}",
        f"l2_bytes {chip.l2_bytes}",
        f"datacopy_unit {chip.datacopy_unit}",
        f"gm_alignment {chip.gm_alignment}",
        f"misaligned_gm_factor {chip.misaligned_gm_factor!r}",
        f"vector_fp16_ops_per_cycle {chip.vector_fp16_ops_per_cycle}",
        f"onchip_latency_ps {chip.onchip_latency_ns * PS_PER_NS!r}",
    ]
    lines += [
        f"cube_cycles_per_fractal {width} {cycles!r}"
        for width, cycles in cost.cube_cycles_per_fractal.items()
    ]
    lines += [f"onchip_rate {route} {rate}" for route, rate in chip.onchip_rate.items()]
    names = list(arrays)
    for name in names:
        offset, addr = placed[name]
        scratch = int(name == workspace)
        lines.append(f"buffer {name} {offset} {arrays[name].nbytes} {addr} {scratch}")
    lines.append("arg " + " ".join(str(names.index(n)) if n in arrays else "-1" for n in order))
    return "\n".join(lines) + "\n"


def _after(log: ChildLog) -> str:
    last = log.last_tag
    return f"after its last recorded call at {last}" if last else "before any recorded call"


def _timeout_message(source: Path, entry: str, log: ChildLog, timeout_s: float) -> str:
    return (
        f"{source}: kernel {entry} ran longer than --timeout {timeout_s:g} s and was stopped "
        f"{_after(log)} ({log.events:,} events recorded; the trace is kept, marked truncated)"
    )


def _failure_message(source: Path, entry: str, log: ChildLog, returncode: int) -> str:
    after = _after(log)
    if log.failure and log.failure.startswith("SIG"):
        return f"{source}: kernel {entry} crashed ({log.failure}) {after}"
    if log.failure:
        return f"{source}: kernel {entry} stopped: {log.failure}"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return f"{source}: kernel {entry} was killed ({name}) {after}"
    return f"{source}: kernel {entry} exited with code {returncode} {after}"


class TwinTimeout(EmulationError):
    """A kernel that ran longer than its time limit (``--timeout``): stopped,
    its events so far kept in a trace marked truncated, as after Ctrl-C."""


@dataclass
class _ChildEnd:
    log: ChildLog
    returncode: int
    timed_out: bool


def _pass_through(stream: IO[bytes], limit: int) -> None:
    """Copy the kernel's own output (its printf) to our standard error as it
    comes, up to ``limit`` bytes; say how much more there was and drop it."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    passed = dropped = 0
    last = b"\n"
    try:
        while chunk := os.read(stream.fileno(), 1 << 16):
            keep = chunk[: max(0, limit - passed)]
            passed += len(keep)
            dropped += len(chunk) - len(keep)
            if keep:
                last = keep[-1:]
                sys.stderr.write(decoder.decode(keep))
                sys.stderr.flush()
    except (OSError, ValueError):  # the pipe was closed under us: nothing more to show
        pass
    if dropped:
        newline = "" if last == b"\n" else "\n"
        sys.stderr.write(
            f"{newline}ubscope: the kernel printed {dropped} more bytes, dropped "
            f"(only its first {limit // 1024} KiB of output are shown)\n"
        )
        sys.stderr.flush()


def _run_child(
    binary: Path,
    launch: Path,
    gm: Path,
    recorder: Recorder,
    text: str,
    timeout_s: float | None = None,
) -> _ChildEnd:
    """Run the compiled twin, recording its events from a pipe as it writes
    them; its own output goes to our standard error (bounded), and after
    ``timeout_s`` seconds it is killed."""
    source_lines = text.splitlines()
    read_end, write_end = os.pipe()
    try:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (AttributeError, OSError):
        pass  # not Linux, or over the system's limit: the default buffer works
    try:
        child = subprocess.Popen(
            [str(binary), str(launch), str(gm), f"/dev/fd/{write_end}"],
            pass_fds=(write_end,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    assert child.stdout is not None
    printed = threading.Thread(
        target=_pass_through,
        args=(child.stdout, KERNEL_OUTPUT_BYTES),
        name="twin-output",
        daemon=True,
    )
    printed.start()
    late = threading.Event()

    def stop() -> None:
        if child.poll() is None:
            late.set()
            child.kill()

    timer = threading.Timer(timeout_s, stop) if timeout_s else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    with child, open(read_end, "rb") as stream:
        try:
            log = record_stream(stream, recorder, lambda site: _queue_name(site, source_lines))
        except BaseException:
            child.kill()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            child.wait()
            printed.join(timeout=5)
    return _ChildEnd(log, child.returncode, late.is_set())


class Stages(NamedTuple):
    """What a caller shows (a progress display) while the twin compiles, entered
    only when the build is not cached, and while the kernel runs."""

    compiling: AbstractContextManager[object] = nullcontext()
    running: AbstractContextManager[object] = nullcontext()


def run_ascendc(
    source: str | os.PathLike[str],
    entry: str,
    block_dim: int,
    inputs: Mapping[str, np.ndarray],
    outputs: Mapping[str, np.ndarray],
    chip: ChipProfile,
    trace: str | os.PathLike[str] | None = None,
    *,
    recorder: Recorder | None = None,
    defines: tuple[str, ...] = (),
    include_dirs: tuple[str, ...] = (),
    params: Mapping[str, object] | None = None,
    values: LaunchValues | None = None,
    timeout_s: float | None = None,
    stages: Stages | None = None,
) -> TwinRun:
    """Compile ``source`` with the twin, run ``entry`` over ``block_dim`` blocks
    with the GM tensors ``inputs`` and ``outputs`` (initial contents; matched to
    the entry's parameters by name) and record into ``trace`` (a ``.ubtrace``
    path) or ``recorder``. ``values.scalars`` are the entry's scalar parameters by
    name; ``tiling`` fills GET_TILING_DATA's struct field by field (its fields
    registered by BEGIN_TILING_DATA_DEF, e.g. in ``tiling_headers``), and a
    ``tiling``/``workspace`` GM parameter needs no tensor (``values.workspace_bytes``
    makes the workspace a zeroed GM buffer of that size). A run longer than
    ``timeout_s`` seconds is stopped (:class:`TwinTimeout`; the trace so far is
    kept, marked truncated). ``stages`` are entered around the compile and the
    run. Returns the outputs' final contents."""
    source = Path(source)
    text = read_source(source)
    parameters = entry_parameters(source, text, entry)
    order = [name for name, _ in parameters]
    gm_names = [name for name, ctype in parameters if ctype == "GM_ADDR"]
    values = values or LaunchValues()
    stages = stages or Stages()
    scalars = values.scalars
    arrays = {
        **{k: np.ascontiguousarray(v) for k, v in inputs.items()},
        **{k: np.ascontiguousarray(v) for k, v in outputs.items()},
    }
    if values.workspace_bytes:
        if "workspace" not in gm_names or "workspace" in arrays:
            where = "a tensor is given for it" if "workspace" in arrays else "no GM_ADDR workspace"
            raise ParameterError(f"{entry}: --workspace {values.workspace_bytes}: {where}")
        # A real GM buffer the kernel's cores pass data through (not an output),
        # L2-resident as a Python kernel's workspace tensor: its copies are
        # flagged WORKSPACE and cost no HBM bytes.
        arrays["workspace"] = np.zeros(values.workspace_bytes, dtype=np.uint8)
    missing = [name for name in gm_names if name not in arrays and name not in _HOST_BUFFERS]
    no_scalar = [name for name in order if name not in gm_names and name not in scalars]
    unknown = [name for name in arrays if name not in gm_names]
    unknown += [f"{name} (a scalar)" for name in scalars if name in gm_names or name not in order]
    problems = [
        f"{what} {', '.join(names)}"
        for what, names in (
            ("no tensor given for", missing),
            ("no --scalar given for", no_scalar),
            ("no parameter named", unknown),
        )
        if names
    ]
    if problems:
        raise ParameterError(f"{entry}({', '.join(order)}): " + "; ".join(problems))
    mode = launch_mode(source, text, chip)
    problem = block_dim_problem(block_dim, mode, chip)
    if problem:
        raise ParameterError(f"{entry}: block_dim {problem}")
    binary = build(
        source,
        entry,
        tuple(parameters),
        defines,
        include_dirs,
        values.tiling_headers,
        compiling=stages.compiling,
    )
    placed = _layout(arrays, chip.gm_alignment)
    writer: TraceWriter | nullcontext = nullcontext()
    if trace is not None:
        meta = new_metadata(
            chip.to_dict(),
            entry,
            {"source": str(source), "block_dim": block_dim, **(params or {})},
            extra={
                "twin": "ascendc",
                "source_files": source_files(source, text, include_dirs),
            },
        )
        writer = TraceWriter(trace, meta)
    with writer, tempfile.TemporaryDirectory(prefix="ubscope-twin-") as work:
        if isinstance(writer, TraceWriter):
            recorder = Recorder(sink=writer.write)
        elif recorder is None:
            recorder = NullRecorder()
        gm_path, launch_path = Path(work) / "gm", Path(work) / "launch"
        size = max((offset + arrays[n].nbytes for n, (offset, _) in placed.items()), default=0)
        gm = np.zeros(size, dtype=np.uint8)
        for name, (offset, _) in placed.items():
            gm[offset : offset + arrays[name].nbytes] = arrays[name].reshape(-1).view(np.uint8)
        gm.tofile(gm_path)
        workspace = "workspace" if values.workspace_bytes else None
        launch = _launch_text(chip, mode, block_dim, placed, arrays, order, workspace)
        launch += "".join(f"tiling {name} {value}\n" for name, value in values.tiling.items())
        launch += "".join(f"scalar {order.index(n)} {v}\n" for n, v in scalars.items())
        launch_path.write_text(launch + f"tiling_key {values.tiling_key}\n")
        rss = psutil.Process().memory_info().rss
        recorder.kernel_begin(entry, block_dim, 0, mode)
        recorder.host_sample(rss, 0)
        try:
            with stages.running:
                end = _run_child(binary, launch_path, gm_path, recorder, text, timeout_s)
            log = end.log
            if end.timed_out and timeout_s is not None:
                raise TwinTimeout(_timeout_message(source, entry, log, timeout_s))
            if end.returncode != 0 or log.end_ps is None:
                raise EmulationError(_failure_message(source, entry, log, end.returncode))
            recorder.host_sample(rss, log.end_ps)
            recorder.kernel_end(entry, log.end_ps, log.end_ps)
        finally:
            recorder.flush()
        if isinstance(writer, TraceWriter):
            lines = call_site_lines(recorder.strings(), _source_texts(source, text, include_dirs))
            writer.close({**recorder.final_metadata(), SOURCE_LINES_FIELD: lines})
        result = np.fromfile(gm_path, dtype=np.uint8)
    finals = {}
    for name, initial in outputs.items():
        offset = placed[name][0]
        chunk = result[offset : offset + initial.nbytes]
        finals[name] = chunk.view(initial.dtype).reshape(initial.shape).copy()
    return TwinRun(finals, recorder.event_count, log.end_ps, recorder.device_fault)
