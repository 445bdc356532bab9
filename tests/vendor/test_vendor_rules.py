"""Vendor rules: registration, vendor-reported codes, and data rules with hand-computed numbers."""

from __future__ import annotations

import math

import pytest

from tests.helpers.vendor_csv import CONFLICT_310P, CONFLICT_A2, OPERATOR_HEADER, RECORD_HEADER
from ubscope.analyzers.findings import Severity
from ubscope.analyzers.rules.base import REGISTRY
from ubscope.analyzers.vendor.common import VendorReport
from ubscope.analyzers.vendor.msadvisor import rules as vendor_advisor
from ubscope.analyzers.vendor.msprof_op import rules as vendor_msprof_op
from ubscope.analyzers.vendor.msprof_op.reader import read_msprof_op
from ubscope.analyzers.vendor.sanitizer import rules as vendor_sanitizer
from ubscope.analyzers.vendor.sanitizer.reader import KINDS, read_sanitizer
from ubscope.analyzers.vendor.torch_npu import rules as vendor_torch_npu
from ubscope.analyzers.vendor.torch_npu.reader import read_torch_npu

MODULES = (vendor_advisor, vendor_msprof_op, vendor_sanitizer, vendor_torch_npu)


def test_every_vendor_code_is_registered_and_explained():
    codes = {
        code for code, rule in REGISTRY.items() if rule.__module__ in {m.__name__ for m in MODULES}
    }
    sanitizer_codes = {code for code, _ in KINDS.values() if code}
    assert sanitizer_codes <= codes
    assert {
        "ADV001",
        "ADV002",
        "ADV003",
        "ADV004",
        "ADV005",
        "ADV009",
        "TNPU001",
        "TNPU002",
        "TNPU003",
        "MSOP001",
        "MSOP002",
        "MSOP003",
    } <= codes
    for code in codes:
        sections = REGISTRY[code].sections()
        assert sections["What it does"] and sections["Why it matters"], code
        assert sections["Example"] and sections["How to fix"], code


def test_reported_rules_return_their_code(vendor_samples):
    report = read_sanitizer(vendor_samples / "mssanitizer_doc_examples" / "leak_check.txt")
    assert len(list(REGISTRY["SAN005"]().check(report))) == 2
    assert list(REGISTRY["SAN001"]().check(report)) == []


def _torch_dir(write, records: list[str], operators: list[str]):
    write(
        "p_ascend_pt/ASCEND_PROFILER_OUTPUT/memory_record.csv",
        "\r\n".join([RECORD_HEADER, *records]) + "\r\n",
    )
    path = write(
        "p_ascend_pt/ASCEND_PROFILER_OUTPUT/operator_memory.csv",
        "\r\n".join([OPERATOR_HEADER, *operators]) + "\r\n",
    )
    return read_torch_npu(path.parents[1])


RECORDS = [
    "PTA,1.000\t,100,200,100,1,NPU:0",
    "PTA,2.000\t,500,1000,500,1,NPU:0",
    "PTA,3.000\t,600,1000,600,1,NPU:0",  # most allocated while at peak reserved
    "PTA,4.000\t,300,1000,300,1,NPU:0",
    "PTA,5.000\t,100,800,100,1,NPU:0",
    "GE,3.000\t,10,5000,,,NPU:0",  # other components are not the caching allocator
]


def _operator(name: str, size_kb: float, alloc_us: float, life_us: float | None) -> str:
    release = f"{alloc_us + life_us:.3f}\t" if life_us is not None else ""
    duration = f"{life_us:.3f}\t" if life_us is not None else ""
    return f"{name},{size_kb},{alloc_us:.3f}\t,{release},,{duration},,1,1,1,,,,1,NPU:0"


def test_fragmentation(write):
    report = _torch_dir(write, RECORDS, [_operator("a", 1, 1, 1)])
    (finding,) = REGISTRY["TNPU001"]().check(report)
    assert finding.source == "torch_npu" and finding.severity == Severity.WARNING
    assert (
        finding.evidence["peak_reserved_mb"] == 1000
        and finding.evidence["allocated_at_peak_mb"] == 600
    )
    assert (
        finding.evidence["unused_fraction"] == 0.4 and finding.evidence["peak_reserved_ns"] == 2000
    )
    # torch_npu's "MB" are MiB: 1000 - 600 = 400 MiB, written in the tool's binary units.
    assert finding.message == (
        "caching allocator on NPU:0: at its peak of 1000.0 MiB reserved at most 600.0 MiB "
        "was allocated (40% reserved but unused)"
    )
    assert finding.estimated_gain == "up to 400.0 MiB of HBM"
    assert list(REGISTRY["TNPU001"]({"max_unused_fraction": 0.5}).check(report)) == []
    assert list(REGISTRY["TNPU001"]({"min_reserved_mb": 2000}).check(report)) == []


def test_peak_operator_memory(write):
    operators = [
        _operator("aten::mm", 307200, 10, 5),
        _operator("aten::mm", 307200, 20, 5),
        _operator("aten::add", 102400, 30, 5),
        _operator("aten::cat", 524288, 40, None),
    ]
    report = _torch_dir(write, RECORDS, operators)
    cat, mm = REGISTRY["TNPU002"]().check(report)
    assert cat.location.tag == "aten::cat" and cat.evidence["max_block_mb"] == 512
    # 524288 KB / 1024 = 512 MiB, 512 / 1000 = 51 %; two 307200 KB blocks = 600 MiB.
    assert cat.message == (
        "aten::cat allocates blocks of up to 512.0 MiB (51% of the 1000.0 MiB peak reserved), "
        "1 allocation(s), 512.0 MiB in total"
    )
    assert mm.message.endswith("2 allocation(s), 600.0 MiB in total")
    assert (mm.evidence["allocations"], mm.evidence["total_mb"]) == (2, 600)
    assert len(REGISTRY["TNPU002"]({"top_n": 1}).check(report)) == 1
    assert REGISTRY["TNPU002"]({"min_block_mb": 1024}).check(report) == []


def test_allocation_churn(write):
    # 1200 allocations every 400 µs: span 1199 * 400 µs = 0.4796 s -> 2502.1/s;
    # 800 live 50 µs (< 100 µs), 400 live 1000 µs -> 800 / 1200 short-lived.
    operators = [
        _operator("tmp" if i % 3 else "keep", 4, 1000 + 400 * i, 1000 if i % 3 == 0 else 50)
        for i in range(1200)
    ]
    report = _torch_dir(write, RECORDS, operators)
    (finding,) = REGISTRY["TNPU003"]().check(report)
    assert finding.evidence["allocations"] == 1200 and finding.evidence["released"] == 1200
    assert math.isclose(finding.evidence["allocations_per_s"], 2502.1, abs_tol=0.05)
    assert (
        finding.evidence["short_lived"] == 800
        and finding.evidence["short_lived_fraction"] == 0.6667
    )
    assert finding.evidence["top_short_lived_operators"] == {"tmp": 800}
    quiet = {"max_allocs_per_s": 3000, "max_short_lived_fraction": 0.7}
    assert REGISTRY["TNPU003"](quiet).check(report) == []
    assert REGISTRY["TNPU003"]({"min_allocations": 1201}).check(report) == []


def test_torch_npu_rules_on_real_sample_are_quiet(vendor_samples):
    report = read_torch_npu(vendor_samples / "torch_npu_level1_rank0")
    # PTA peak 1452 MB reserved with at most 1187.98 MB allocated: 18 % unused (< 30 %).
    for code in ("TNPU001", "TNPU003"):
        assert REGISTRY[code]().check(report) == []
    assert REGISTRY["TNPU002"]({"min_block_mb": 100}).check(report)[0].location.tag in {
        "aten::mm",
        "aten::_foreach_add",
    }


def test_rules_tolerate_missing_tables():
    empty = VendorReport(tool="x", path="x")
    for code in ("TNPU001", "TNPU002", "TNPU003", "MSOP001", "MSOP002", "MSOP003"):
        assert list(REGISTRY[code]().check(empty)) == []


def test_bank_conflicts_a2(write, tmp_path):
    write("OPPROF_1/AddCustom/0/ResourceConflictRatio_1.csv", CONFLICT_A2)
    report = read_msprof_op(tmp_path / "OPPROF_1")
    (group,) = REGISTRY["MSOP001"]().check(report)
    assert (
        group.location.kernel,
        group.location.core,
        group.location.core_kind,
        group.location.space,
    ) == ("AddCustom", 0, "aiv", "UB")
    assert group.evidence["blocks"] == [{"block_id": 0, "sub_block_id": "vector0", "ratio": 0.1}]
    assert (
        group.message
        == "AddCustom: UB bank-group conflicts on 1 of 3 block(s), worst 10.0% of cycles on block 0"
    )
    (bank,) = REGISTRY["MSOP002"]().check(report)
    assert bank.evidence["blocks"] == [{"block_id": 0, "sub_block_id": "vector1", "ratio": 0.06}]
    assert REGISTRY["MSOP001"]({"max_ratio": 0.2}).check(report) == []


def test_bank_conflicts_310p(write):
    report = read_msprof_op(write("ResourceConflictRatio.csv", CONFLICT_310P))
    (finding,) = REGISTRY["MSOP001"]().check(report)
    assert (finding.location.core, finding.location.core_kind) == (0, "aicore")
    assert REGISTRY["MSOP002"]().check(report) == []


PIPE = (
    "block_id,sub_block_id,aiv_time(us),aiv_vec_ratio,aiv_mte2_ratio,aiv_mte3_ratio,\n"
    "0,vector0,10,0.2,0.9,0.1,\n"
    "0,vector1,10,0.3,0.8,0.2,\n"
)


def test_mte_bound(write, tmp_path):
    write("OPPROF_1/Slow/0/PipeUtilization_1.csv", PIPE)
    write("OPPROF_1/Fast/0/PipeUtilization_1.csv", PIPE.replace("0.9", "0.5").replace("0.8", "0.4"))
    (finding,) = REGISTRY["MSOP003"]().check(read_msprof_op(tmp_path / "OPPROF_1"))
    assert (
        finding.location.kernel == "Slow"
        and finding.message == "Slow: MTE2 on aiv is busy 85% of the aiv time (MTE-bound)"
    )
    # no *_time(us) columns: (0.9 + 0.8) / 2 and (0.1 + 0.2) / 2 from the ratio columns
    assert finding.evidence["mean_shares"] == {"aiv_mte2": 0.85, "aiv_mte3": 0.15}
    assert finding.evidence["denominators"]["aiv_mte2"].startswith("aiv_mte2_ratio")


# A mix (AIC+AIV) launch: the task ran 21.8 µs, the cube core was busy 10 µs of
# it and its MTE2 pipe 8.5 µs, so msprof op writes aic_mte2_ratio = 8.5 / 21.8
# = 0.39 while the pipe is busy 8.5 / 10 = 85 % of the cube's own time.
PIPE_MIX = (
    "block_id,sub_block_id,aic_time(us),aic_mte2_time(us),aic_mte2_ratio,"
    "aiv_time(us),aiv_mte2_time(us),aiv_mte2_ratio,\n"
    "0,cube0,10,8.5,0.39,NA,NA,NA,\n"
    "0,vector0,NA,NA,NA,20,4,0.18,\n"
)


def test_mte_bound_mix_kernel_uses_the_core_own_time(write):
    report = read_msprof_op(write("PipeUtilization.csv", PIPE_MIX))
    (finding,) = REGISTRY["MSOP003"]().check(report)
    assert finding.message == "operator: MTE2 on aic is busy 85% of the aic time (MTE-bound)"
    assert finding.evidence["mean_shares"] == {"aiv_mte2": 0.2, "aic_mte2": 0.85}  # 4/20, 8.5/10
    assert finding.evidence["denominators"] == {
        "aiv_mte2": "aiv_time(us)",
        "aic_mte2": "aic_time(us)",
    }


def test_mte_bound_real_mix_kernel(vendor_samples):
    report = read_msprof_op(vendor_samples / "msprof_op_mix_kernel")
    # vector0 row: aiv_mte2_time 0.918333 / aiv_time 3.200556 = 0.2869, while its
    # aiv_mte2_ratio column says 0.183667 (0.918333 / 5.0, the whole task).
    (finding,) = REGISTRY["MSOP003"]({"min_mte_ratio": 0.25}).check(report)
    assert finding.evidence["mean_shares"]["aiv_mte2"] == 0.2869
    assert finding.location.kernel == "sanitized_operator_kernel"


@pytest.mark.parametrize("rule", ["MSOP001", "MSOP003", "TNPU001"])
def test_unknown_threshold_is_rejected(rule):
    with pytest.raises(KeyError, match="no threshold"):
        REGISTRY[rule]({"nope": 1})
