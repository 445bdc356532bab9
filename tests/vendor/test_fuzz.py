"""Property tests: any bytes, and any truncation or corruption of real or
documented output, give a VendorReport or a VendorFormatError - nothing else."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.msadvisor.reader import read_msadvisor
from ubscope.analyzers.vendor.msprof_op.reader import read_msprof_op
from ubscope.analyzers.vendor.registry import detect_vendor_input
from ubscope.analyzers.vendor.sanitizer.reader import read_sanitizer
from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu
from ubscope.probe.errors import VendorFormatError

from .conftest import SAMPLES
from .test_msadvisor import HTML, ODD_SPELLING, RESULT
from .test_msprof_op import CONFLICT_A2

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sample(relative: str) -> bytes:
    path = SAMPLES / relative
    return path.read_bytes() if path.is_file() else b""


def _mangled(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Random bytes, or a seed cut at a random point and/or with bytes overwritten."""
    seeds = [seed for seed in seeds if seed] or [b"x"]

    @st.composite
    def mangle(draw) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
        for _ in range(draw(st.integers(0, 4))):
            if data:
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)

    return st.one_of(st.binary(max_size=2048), mangle())


def _check(reader: Callable[[Path], VendorReport], name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                assert isinstance(reader(path), VendorReport)
            except VendorFormatError as error:
                assert str(error).startswith(str(path)) and "\n" not in str(error)
            assert detect_vendor_input(path) in (
                None,
                "sanitizer",
                "msadvisor",
                "msprof_op",
                "torch_npu",
            )


SANITIZER_SEEDS = [
    _sample(f"mssanitizer_doc_examples/{n}")
    for n in (
        "illegal_write_ub.txt",
        "leak_check.txt",
        "racecheck_raw_hazard.txt",
        "unused_memory.txt",
    )
]


@FUZZ
@given(_mangled(SANITIZER_SEEDS))
def test_sanitizer(content):
    _check(read_sanitizer, "report.log", content)


JSON_SEEDS = [__import__("json").dumps(data).encode() for data in (RESULT, [RESULT, ODD_SPELLING])]


@FUZZ
@given(_mangled(JSON_SEEDS))
def test_msadvisor_json(content):
    _check(read_msadvisor, "result.json", content)


@FUZZ
@given(_mangled([HTML.encode()]))
def test_advisor_html(content):
    _check(read_msadvisor, "mstt_advisor_1.html", content)


@pytest.fixture(scope="module")
def workbook_bytes() -> bytes:
    openpyxl = pytest.importorskip("openpyxl")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.xlsx"
        workbook = openpyxl.Workbook()
        workbook.active.title = "problems"
        workbook.active.append(["category", "description", "suggestion"])
        workbook.active.append(["Memory Operator Issues", "Found 1 AscendCL@aclrtFree", "1. x"])
        workbook.save(path)
        return path.read_bytes()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_advisor_xlsx(workbook_bytes, data):
    _check(read_msadvisor, "mstt_advisor_1.xlsx", data.draw(_mangled([workbook_bytes])))


OPPROF_SEEDS = [_sample("msopprof_doc_examples/OpBasicInfo_example.csv"), CONFLICT_A2.encode()]


@FUZZ
@given(_mangled(OPPROF_SEEDS), st.sampled_from(["OpBasicInfo.csv", "ResourceConflictRatio.csv"]))
def test_msprof_op(content, name):
    _check(read_msprof_op, name, content)


TORCH_FILES = {
    "memory_record.csv": "torch_npu_level1_rank0/memory_record.csv",
    "operator_memory.csv": "torch_npu_level1_rank0/operator_memory.csv",
    "npu_module_mem.csv": "torch_npu_old_format_rank0/npu_module_mem.csv",
    "kernel_details.csv": "mstt_advisor_fixtures/kernel_details.csv",
    "op_statistic.csv": "torch_npu_level1_rank0/op_statistic.csv",
    "trace_view.json": "torch_npu_level1_rank0/trace_view.SUBSET.json",
    "npu_mem_1.csv": "msprof_summary_transcribed/npu_mem_example.csv",
    "operator_memory_1.csv": "msprof_summary_transcribed/operator_memory_example.csv",
}


@FUZZ
@given(st.sampled_from(sorted(TORCH_FILES)), st.data())
def test_torch_npu(name, data):
    _check(read_torch_npu, name, data.draw(_mangled([_sample(TORCH_FILES[name])])))
