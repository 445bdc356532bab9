"""Correlation of msSanitizer findings with a pool_demo overflow trace."""

from __future__ import annotations

from ubscope.analyzers.api import analyze_path
from ubscope.analyzers.correlate import kernel_key, kernels_agree

SANITIZER_LOG = """\
[mssanitizer] logging to stdout
====== ERROR: illegal write of size 20480
======    at 0x32000 on UB in pool_demo_bump
======    in block aiv(3) on device 0
======    code in pc current 0x65c (serialNo:12)
======    #0 /src/pool_demo.cpp:40:9
====== ERROR: illegal read of size 64
======    at 0x100 on UB in pool_demo_bump
======    in block aiv(2) on device 0
======    code in pc current 0x700 (serialNo:13)
======    #0 /src/pool_demo.cpp:52:9
====== ERROR: misaligned access of size 13
======    at 0x6 on UB in other_kernel
======    in block aiv(0) on device 0
======    code in pc current 0x780 (serialNo:33)
======    #0 /src/other.cpp:18:5
"""


def test_sanitizer_write_in_the_red_zone_confirms_the_overflow(pool_demo_traces, tmp_path):
    log = tmp_path / "sanitizer.log"
    log.write_text(SANITIZER_LOG)
    analysis = analyze_path(pool_demo_traces("pool_no_reset"), sanitizer=log)
    by_code = {}
    for finding in analysis.findings:
        by_code.setdefault(finding.code, []).append(finding)
    overflow = by_code["UB001"][0]
    assert "confirmed by msSanitizer (serialNo 12)" in overflow.correlations
    copyin = next(f for f in by_code["UB002"] if f.location.tag == "copyin")
    assert "confirmed by msSanitizer (serialNo 12)" in copyin.correlations

    vendor = {f.evidence["serialNo"]: f for f in analysis.findings if f.source == "msSanitizer"}
    assert any(note.startswith("explained by UB001") for note in vendor[12].correlations)
    # a read at a legal, allocated address: the trace has events there but no problem
    unexplained = vendor[13].correlations
    assert len(unexplained) == 1 and unexplained[0].startswith("not explained by the trace")
    assert "trace events at this address" in unexplained[0]
    assert vendor[33].correlations == [
        "not explained by the trace: kernel 'other_kernel' is not in it"
    ]
    assert not any("serialNo 13" in note for f in analysis.findings for note in f.correlations)


def test_sanitizer_alone_needs_no_trace(tmp_path):
    log = tmp_path / "sanitizer.log"
    log.write_text(SANITIZER_LOG)
    analysis = analyze_path(None, sanitizer=log)
    assert analysis.trace is None and analysis.context is None
    assert {f.code for f in analysis.findings} == {"SAN001", "SAN002"}
    assert all(not f.correlations for f in analysis.findings)
    assert analysis.metrics["findings"]["error"] == 3


def test_kernel_names_compare_without_signatures():
    assert kernel_key('"void add_custom<half>(uint8_t*, uint8_t*)"') == "add_custom"
    assert kernels_agree("bounds_write_demo(unsigned char*, unsigned char*)", "bounds_write_demo")
    assert not kernels_agree("matmul", "layernorm")
