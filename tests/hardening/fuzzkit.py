"""The fuzzing kit of the hardening tests: hostile-input strategies, the
worker process readers run in (time-bounded), the allowed-outcome check and
per-reader counts.

A reader may return a parsed result or raise a :class:`UbscopeError` whose
message is one line; anything else (another exception type, a hang, a dead
process, a multi-line message) fails the test and hypothesis shrinks the input.
"""

from __future__ import annotations

import json
import math
import os
import re
import select
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# Seconds one example may take before it counts as a hang (generous: CI machines are slow).
EXAMPLE_TIMEOUT = float(os.environ.get("UBSCOPE_FUZZ_TIMEOUT", "20"))
SUPPRESSED = [
    HealthCheck.too_slow,
    HealthCheck.data_too_large,
    HealthCheck.filter_too_much,
    HealthCheck.large_base_example,
]

# reader -> outcome counts ("inputs", "parsed", "error") and the slowest example.
STATS: dict[str, Counter] = defaultdict(Counter)
SLOWEST: dict[str, float] = defaultdict(float)


def fuzz(weight: float = 1.0) -> settings:
    """Settings of one fuzz test: the active profile's example count times
    ``weight`` (heavier targets get fewer examples)."""
    profile = settings.get_profile(PROFILE)
    return settings(profile, max_examples=max(10, round(profile.max_examples * weight)))


class ReaderWorker:
    """A ``reader_worker.py`` process the readers run in, restarted after a
    hang (no reply within EXAMPLE_TIMEOUT) or a crash (the process died)."""

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        script = Path(__file__).with_name("reader_worker.py")
        process = subprocess.Popen(
            [sys.executable, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=self.cwd,
        )
        if json.loads(self._reply(process, 120.0) or "{}").get("ready") is not True:
            raise RuntimeError("the reader worker did not start")
        return process

    @staticmethod
    def _reply(process: subprocess.Popen[str], timeout: float) -> str | None:
        ready, _, _ = select.select([process.stdout], [], [], timeout)
        return process.stdout.readline() if ready else None

    def run(self, pipeline: str, **args: Any) -> list[dict[str, Any]]:
        """The stages of ``pipeline`` as the worker reports them; AssertionError
        on a hang or a dead worker."""
        if self.process is None or self.process.poll() is not None:
            self.process = self._start()
        process = self.process
        process.stdin.write(json.dumps({"pipeline": pipeline, "args": args}) + "\n")
        process.stdin.flush()
        line = self._reply(process, EXAMPLE_TIMEOUT)
        if line:
            return json.loads(line)["stages"]
        self.close()
        if line is None:
            raise AssertionError(f"{pipeline} {args}: hang, no result within {EXAMPLE_TIMEOUT:g} s")
        raise AssertionError(f"{pipeline} {args}: the worker died (exit {process.returncode})")

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def check_stages(
    stages: list[dict[str, Any]], label: str, names: str | None = None
) -> list[dict[str, Any]]:
    """Assert every stage ended in an allowed way and count it under ``label``
    (stages after the first are counted as ``label: stage``)."""
    for index, stage in enumerate(stages):
        reader = label if index == 0 else f"{label}: {stage['stage']}"
        if stage["outcome"] == "crash":
            raise AssertionError(
                f"{reader} raised {stage['type']}: {stage['message']} at {stage.get('where')}"
            )
        if stage["outcome"] == "error":
            assert_one_line(stage["message"], f"{stage['type']} from {reader}")
            if names is not None:
                assert names in stage["message"], f"{reader}: error does not name {names}"
        for warning in stage["warnings"]:
            assert_one_line(warning, f"partial-read warning from {reader}")
        record(reader, stage["outcome"], stage["seconds"])
    return stages


# What detection may call a file the vendor fuzzers write (None: not recognised).
VENDOR_DETECTED = (None, "sanitizer", "msadvisor", "msprof_op", "torch_npu", "simulator")


def read_then_analyze(
    worker: ReaderWorker,
    label: str,
    kind: str,
    path: Path,
    detected: tuple[str | None, ...] = VENDOR_DETECTED,
) -> list[dict[str, Any]]:
    """The reader's outcome, then (when it parsed) the rules and every output;
    detection must call ``path`` one of ``detected``."""
    stages = worker.run("vendor", path=str(path), kind=kind)
    assert stages[0]["info"]["detected"] in detected
    return check_stages(stages, label, names=str(path))


def assert_one_line(message: str, what: str) -> None:
    assert message.strip(), f"{what}: empty message"
    assert "\n" not in message and "\r" not in message, f"{what} is not one line: {message!r}"


def record(reader: str, outcome: str, seconds: float) -> None:
    STATS[reader]["inputs"] += 1
    STATS[reader][outcome] += 1
    SLOWEST[reader] = max(SLOWEST[reader], seconds)


def stats_document() -> dict[str, Any]:
    return {
        reader: {**counts, "slowest_seconds": round(SLOWEST[reader], 4)}
        for reader, counts in sorted(STATS.items())
    }


# -- hostile values ----------------------------------------------------------

HOSTILE_TOKENS: tuple[bytes, ...] = (
    b"-1", b"0", b"-0", b"NaN", b"nan", b"inf", b"-inf", b"1e308", b"-1e308", b"1e-320",
    b"9" * 40, b"18446744073709551616", b"-9223372036854775809", b"9223372036854775807",
    b"0x" + b"f" * 20, b"1" * 5000, b"", b"NA", b"N/A", b"null", b"None", b"true", b"~",
    b"\xff\xfe", b"\x00", b"\xc3\x28", b"\xed\xa0\x80", b"\r\n", b"\r", b"\t", b'"', b'"""',
    b",", b",,,,", b"\n", b"[" * 300, b"{" * 300, b"]]]", b"}}}", b"&a", b"*a", b"<<: *a",
    b"!!python/object/apply:os.system ['true']", b"!!binary AAAA", b"<script>", b"]]>",
    b"[bold red]x[/]", b"../../evil", b"\xe2\x80\xae", "\u5185\u5b58".encode(),
)  # fmt: skip
HOSTILE_NUMBERS: tuple[Any, ...] = (
    -1, 0, 1, -(2**31), 2**31, 2**53 + 1, 2**63 - 1, -(2**63), 2**64, 10**30, -(10**30),
    1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf, 0.5, -0.5,
)  # fmt: skip
HOSTILE_TEXT: tuple[str, ...] = (
    "", " ", "\n", "a\nb", "\r\n", "\x00", "<script>alert(1)</script>", "[bold red]x[/]",
    "../../evil", "\u202e", "\ud7ff", "x" * 5000, "NaN", "-1", "ΩΩ", "${HOME}", "%s%n",
)  # fmt: skip
INT64 = (-(2**63), 2**63 - 1)
HOSTILE_INT64: tuple[int, ...] = (
    INT64[0], INT64[1], INT64[0] + 1, -1, 0, 1, 31, 33, 511, 2**31, 2**40, 2**62, -(2**40),
)  # fmt: skip

_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def hostile_json_values() -> st.SearchStrategy[Any]:
    """JSON-able values that are wrong in every way a reader can be surprised by."""
    leaves = st.one_of(
        st.sampled_from(HOSTILE_NUMBERS),
        st.sampled_from(HOSTILE_TEXT),
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=40),
        st.just(10**400),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(st.text(max_size=8), children, max_size=4),
        ),
        max_leaves=12,
    )


def deeply_nested_json(depth: int) -> bytes:
    opener, closer = (b"[", b"]") if depth % 2 else (b'{"a":', b"}")
    return opener * depth + b"1" + closer * depth


# -- byte-level mutation -----------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed with some of: bytes flipped, chunks inserted / deleted /
    duplicated, a number replaced by a hostile token, a cut at any byte."""
    data = bytearray(draw(st.sampled_from(seeds)))
    operations = draw(
        st.lists(
            st.sampled_from(["flip", "insert", "delete", "duplicate", "token", "number", "cut"]),
            min_size=1,
            max_size=5,
        )
    )
    for operation in operations:
        position = draw(st.integers(0, len(data)))
        if operation == "flip" and data:
            index = min(position, len(data) - 1)
            data[index] = draw(st.integers(0, 255))
        elif operation == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=64))
        elif operation == "delete":
            del data[position : position + draw(st.integers(1, 256))]
        elif operation == "duplicate":
            chunk = data[position : position + draw(st.integers(1, 512))]
            data[position:position] = chunk * draw(st.integers(1, 8))
        elif operation == "token":
            data[position:position] = draw(st.sampled_from(HOSTILE_TOKENS))
        elif operation == "number":
            numbers = list(_NUMBER.finditer(bytes(data)))
            if numbers:
                found = draw(st.sampled_from(numbers))
                data[found.start() : found.end()] = draw(st.sampled_from(HOSTILE_TOKENS))
        else:
            data = data[:position]
    return bytes(data)


def hostile_bytes(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Random bytes, a seed cut anywhere, or a mutated seed."""
    if not seeds or not all(seeds):
        # A missing sample must skip its test (the vendor_samples fixture), never fuzz a stand-in.
        raise ValueError("hostile_bytes needs non-empty seeds")
    cut = st.sampled_from(seeds).flatmap(
        lambda seed: st.integers(0, len(seed)).map(lambda length: seed[:length])
    )
    return st.one_of(
        st.binary(max_size=4096),
        cut,
        mutated(seeds),
        st.integers(1, 20_000).map(deeply_nested_json),
    )


def line_boundaries(data: bytes, limit: int = 400) -> list[int]:
    """Offsets just before, at and after every line end (at most ``limit``
    offsets, evenly spread), plus the start and end."""
    ends = [match.end() for match in re.finditer(rb"\n", data)]
    near = {end + delta for end in ends for delta in (-2, -1, 0, 1)}
    offsets = sorted(o for o in {0, len(data), *near} if 0 <= o <= len(data))
    if len(offsets) > limit:
        step = len(offsets) / limit
        offsets = [offsets[int(i * step)] for i in range(limit)] + [len(data)]
    return offsets


@contextmanager
def scratch() -> Iterator[Path]:
    """A fresh temporary folder for one example."""
    with tempfile.TemporaryDirectory(prefix="ubscope-fuzz-") as folder:
        yield Path(folder)


def write_input(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def mutated_json(documents: list[Any]) -> st.SearchStrategy[bytes]:
    return mutated_document(documents, json_bytes, max_nesting=800)  # json.dumps recurses


def mutated_yaml(documents: list[Any]) -> st.SearchStrategy[bytes]:
    return mutated_document(documents, yaml_bytes, max_nesting=60)  # so does yaml.safe_dump


@st.composite
def mutated_document(
    draw: st.DrawFn, documents: list[Any], dump: Callable[[Any], bytes], max_nesting: int
) -> bytes:
    """A seed document with one to three values replaced by hostile ones,
    deleted, or buried under deep nesting, serialised by ``dump``."""
    document = json.loads(json.dumps(draw(st.sampled_from(documents))))
    for _ in range(draw(st.integers(1, 3))):
        holder, key = _random_slot(draw, document)
        if holder is None:
            document = draw(hostile_json_values())
            continue
        action = draw(st.sampled_from(["replace", "delete", "nest"]))
        if action == "delete":
            del holder[key]
        elif action == "nest":
            depth = draw(st.integers(10, max_nesting))
            value = holder[key]
            for _ in range(depth):
                value = [value]
            holder[key] = value
        else:
            holder[key] = draw(hostile_json_values())
    return dump(document)


def _random_slot(draw: st.DrawFn, document: Any) -> tuple[Any, Any]:
    """A (container, key) somewhere in ``document``, or (None, None) for the root."""
    holder, key = None, None
    node = document
    while isinstance(node, (dict, list)) and node and draw(st.integers(0, 3)):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        holder, key = node, draw(st.sampled_from(keys))
        node = node[key]
    return holder, key


def json_bytes(value: Any) -> bytes:
    """``value`` as JSON the way a careless tool writes it (NaN/Infinity
    literals allowed, huge ints kept)."""
    try:
        return json.dumps(value, allow_nan=True, default=str).encode("utf-8", "surrogatepass")
    except ValueError:  # an int too long to print
        return b'{"value": ' + b"9" * 5000 + b"}"


def yaml_bytes(value: Any) -> bytes:
    """``value`` as YAML (NaN and infinities as ``.nan``/``.inf``)."""
    import yaml

    return yaml.safe_dump(value, allow_unicode=True).encode("utf-8", "surrogatepass")
