"""msprof op (msOpProf) CSV reader: layouts, chip column sets, writer quirks."""

from __future__ import annotations

import json

import pytest

from tests.helpers.vendor_csv import CONFLICT_310P, CONFLICT_A2
from ubscope.analyzers.vendor.msprof_op.reader import read_msprof_op
from ubscope.cli import main
from ubscope.probe.errors import PartialReadWarning, VendorFormatError

BASIC = "Op Name,Op Type,Task Duration(us),Block Dim,Mix Block Dim,Device Id,Pid,Current Freq,Rated Freq,\n{name},vector,155.740005,2,NA,{device},1304945,1800,1800,\n"
UB_950 = (
    "block_id,sub_block_id,aic_time(us),aic_total_cycles,aiv_time(us),aiv_total_cycles,"
    "aiv_ub_read_bw_vector(GB/s),aiv_ub_write_bw_vector(GB/s),aiv_ub_read_bw_gm(GB/s),aiv_ub_write_bw_gm(GB/s),\n"
    "0,vector0,N/A,N/A,3.2,5760,120.5,80.25,10,12,\n"
)


def test_real_opbasicinfo(vendor_samples):
    report = read_msprof_op(vendor_samples / "msopprof_doc_examples" / "OpBasicInfo_example.csv")
    row = report.tables["OpBasicInfo"].iloc[0]
    assert report.tool == "msprof op" and report.findings == []
    assert (row["op_name"], row["Op Type"], row["Task Duration(us)"], row["device"]) == (
        "topk_custom_0",
        "vector",
        155.740005,
        4,
    )
    assert row["Block Dim"] == 1 and row["Mix Block Dim"] != row["Mix Block Dim"]  # NA -> NaN
    assert "" not in report.tables["OpBasicInfo"].columns  # trailing comma dropped


def test_multi_operator_layout_with_devices(write, tmp_path):
    root = tmp_path / "OPPROF_20240603022812_ABC"
    write(
        "OPPROF_20240603022812_ABC/device1/AddCustom/0/OpBasicInfo_20240603022812284.csv",
        BASIC.format(name="AddCustom_0", device=1),
    )
    write(
        "OPPROF_20240603022812_ABC/device1/AddCustom/0/ResourceConflictRatio_20240603022812284.csv",
        CONFLICT_A2,
    )
    write(
        "OPPROF_20240603022812_ABC/device1/AddCustom/1/ResourceConflictRatio_20240603022812999.csv",
        CONFLICT_A2,
    )
    write("OPPROF_20240603022812_ABC/device1/AddCustom/0/dump/ignored.csv", "x\n")
    report = read_msprof_op(root)
    conflicts = report.tables["ResourceConflictRatio"]
    assert conflicts["launch"].tolist() == [0, 0, 0, 1, 1, 1]
    assert set(conflicts["op_name"]) == {"AddCustom"} and set(conflicts["device"]) == {1}
    assert conflicts["dir"].tolist()[0] == "device1/AddCustom/0"
    assert conflicts["aiv_vec_bankgroup_cflt_ratio"].tolist()[:2] == [0.10, 0.02]
    assert conflicts["aic_time(us)"].isna().all()  # N/A and empty cells
    assert conflicts["sub_block_id"].tolist()[:2] == ["vector0", "vector1"]


def test_single_operator_layout_takes_name_from_basic_info(write, tmp_path):
    write("OPPROF_1/OpBasicInfo.csv", BASIC.format(name="topk_custom_0", device=4))
    write("OPPROF_1/ResourceConflictRatio.csv", CONFLICT_310P)
    write("OPPROF_1/MemoryUB.csv", UB_950)
    with pytest.warns(PartialReadWarning, match="hold 1 of Block Dim 2 blocks"):
        report = read_msprof_op(tmp_path / "OPPROF_1")
    assert report.tables["ResourceConflictRatio"]["op_name"].tolist() == ["topk_custom_0"]
    assert report.tables["ResourceConflictRatio"]["device"].tolist() == [4]
    assert report.tables["ResourceConflictRatio"]["aic_vec_bankgroup_cflt_ratio"].tolist() == [0.08]
    assert report.tables["MemoryUB"]["aiv_ub_read_bw_gm(GB/s)"].tolist() == [10]


def test_one_bad_file_in_a_directory_is_skipped(write, tmp_path):
    write("OPPROF_1/OpBasicInfo.csv", BASIC.format(name="k", device=0))
    write("OPPROF_1/Memory.csv", b"\x00\x01garbage\xff")
    with pytest.warns(PartialReadWarning, match="skipped"):
        report = read_msprof_op(tmp_path / "OPPROF_1")
    assert list(report.tables) == ["OpBasicInfo"] and report.warnings


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("Memory.csv", b""),
        ("Memory.csv", b"\xff\xfe\x00\x00"),
        ("Memory.csv", b"a,b,c,\n1,2,3,\n"),
        ("OpBasicInfo.csv", b"x,y\n1,2\n"),
        ("notes.txt", b"hello"),
    ],
    ids=["empty", "binary", "no-metric-columns", "no-op-name", "wrong-file"],
)
def test_bad_input(write, name, content):
    with pytest.raises(VendorFormatError, match=f"{name}: expected"):
        read_msprof_op(write(name, content))


def test_directory_without_metrics(tmp_path):
    (tmp_path / "OPPROF_x").mkdir()
    with pytest.raises(VendorFormatError, match="found no metric CSVs"):
        read_msprof_op(tmp_path / "OPPROF_x")


def _pipe_rows(blocks: list[int]) -> str:
    header = "block_id,sub_block_id,aiv_time(us),aiv_mte2_time(us),\n"
    return header + "".join(f"{b},vector0,10,5,\n" for b in blocks)


def test_fewer_blocks_than_block_dim_warns(write, tmp_path):
    # Block Dim 8 but the folder kept blocks 0, 3 and 5 only: 1, 2, 4, 6, 7 are missing.
    write("OPPROF_1/OpBasicInfo.csv", BASIC.format(name="k", device=0).replace(",2,NA,", ",8,NA,"))
    write("OPPROF_1/PipeUtilization.csv", _pipe_rows([0, 3, 5]))
    with pytest.warns(PartialReadWarning, match="hold 3 of Block Dim 8 blocks"):
        report = read_msprof_op(tmp_path / "OPPROF_1")
    assert report.warnings == [
        f"{tmp_path / 'OPPROF_1'}: per-block CSVs hold 3 of Block Dim 8 blocks "
        "(missing 1, 2, 4, 6, 7); figures cover only the blocks present"
    ]
    assert report.tables["PipeUtilization"]["block_id"].tolist() == [0, 3, 5]


def test_all_blocks_present_or_huge_block_dim(write, tmp_path, recwarn):
    write("OPPROF_1/OpBasicInfo.csv", BASIC.format(name="k", device=0))  # Block Dim 2
    write("OPPROF_1/PipeUtilization.csv", _pipe_rows([0, 1]))
    assert read_msprof_op(tmp_path / "OPPROF_1").warnings == []
    # A hostile Block Dim lists only the first missing ids.
    write(
        "OPPROF_2/OpBasicInfo.csv", BASIC.format(name="k", device=0).replace(",2,NA,", ",1e15,NA,")
    )
    write("OPPROF_2/PipeUtilization.csv", _pipe_rows([0, 1]))
    (warning,) = read_msprof_op(tmp_path / "OPPROF_2").warnings
    assert "(missing 2, 3, 4, 5, 6, 7, 8, 9, ...)" in warning


def test_real_mix_kernel_has_all_its_blocks(vendor_samples, recwarn):
    # Block Dim 1, one cube0 and one vector0 row of block 0.
    assert read_msprof_op(vendor_samples / "msprof_op_mix_kernel").warnings == []


@pytest.mark.parametrize("device", ["-1e308", "1.5", "-1", "1e30"])
def test_device_id_that_is_not_a_device_number_is_left_empty(write, tmp_path, device):
    """The fuzzer's ``Device Id`` of -1e308 (and other non-ids) gives no device
    instead of a crash; the operator name still comes from OpBasicInfo.csv."""
    write("OPPROF_1/OpBasicInfo.csv", BASIC.format(name="topk_custom_0", device=device))
    write("OPPROF_1/ResourceConflictRatio.csv", CONFLICT_310P)
    table = read_msprof_op(tmp_path / "OPPROF_1").tables["ResourceConflictRatio"]
    assert table["op_name"].tolist() == ["topk_custom_0"]
    assert table["device"].isna().tolist() == [True]


def test_real_mix_kernel_summary_says_what_was_measured(vendor_samples):
    """OpBasicInfo.csv: mix, 5.740459 us, Block Dim 1, Mix Block Dim 2. Memory.csv's
    two rows (cube0, vector0): read_main_memory_datas 2.875 + 6.375 = 9.25 KB,
    write_main_memory_datas 0.25 + 4.25 = 4.50 KB."""
    report = read_msprof_op(vendor_samples / "msprof_op_mix_kernel")
    assert report.summary == [
        "sanitized_operator_kernel (mix): 5.74 µs, block dim 1, mix block dim 2; "
        "GM 9.25 KB read, 4.50 KB written"
    ]


MEMORY_HEAD = (
    "block_id,sub_block_id,aiv_time(us),read_main_memory_datas(KB),write_main_memory_datas(KB),\n"
)


def test_summary_of_many_launches_shows_the_first_and_counts_the_rest(write, tmp_path):
    """Five launches of 155.740005 us each (BASIC); launch 0 has two blocks that
    read 1.5 + 2.25 = 3.75 KB and wrote 0.5 + 0.5 = 1.00 KB; the others no Memory.csv."""
    for launch in range(5):
        folder = f"OPPROF_9/AddCustom/{launch}"
        write(f"{folder}/OpBasicInfo_1.csv", BASIC.format(name=f"AddCustom_{launch}", device=0))
    write(
        "OPPROF_9/AddCustom/0/Memory_1.csv",
        MEMORY_HEAD + "0,vector0,3.2,1.5,0.5,\n1,vector0,3.1,2.25,0.5,\n",
    )
    summary = read_msprof_op(tmp_path / "OPPROF_9").summary
    assert summary == [
        "AddCustom_0 (vector): 155.74 µs, block dim 2; GM 3.75 KB read, 1.00 KB written",
        "AddCustom_1 (vector): 155.74 µs, block dim 2",
        "AddCustom_2 (vector): 155.74 µs, block dim 2",
        # 5 x 155.740005 = 778.700025
        "... and 2 more launches (5 in all, 778.70 µs together)",
    ]


def test_analyze_prints_the_summary_under_its_folder_and_in_json(vendor_samples, capsys):
    folder = vendor_samples / "msprof_op_mix_kernel"
    assert main(["analyze", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index(f"  msprof op: {folder}")
    # wrapped at 80 columns under the folder, as a finding's text wraps
    assert out[at + 1 : at + 3] == [
        "    sanitized_operator_kernel (mix): 5.74 µs, block dim 1, mix block dim 2; GM",
        "    9.25 KB read, 4.50 KB written",
    ]
    assert main(["analyze", str(folder), "--format", "json"]) == 0
    (vendor,) = json.loads(capsys.readouterr().out)["vendor"]
    assert vendor["summary"] == [
        "sanitized_operator_kernel (mix): 5.74 µs, block dim 1, mix block dim 2; "
        "GM 9.25 KB read, 4.50 KB written"
    ]


def test_a_duration_that_is_text_is_missing_and_named_in_a_warning(write, tmp_path):
    # one launch: the column has no readable cell to tell it is numeric, the
    # reader knows OpBasicInfo's duration is one
    write("OPPROF_1/OpBasicInfo.csv", BASIC.format(name="k", device=0).replace("155.740005", "abc"))
    path = tmp_path / "OPPROF_1" / "OpBasicInfo.csv"
    with pytest.warns(PartialReadWarning, match="Task Duration"):
        report = read_msprof_op(tmp_path / "OPPROF_1")
    assert report.warnings == [
        f"{path}: column 'Task Duration(us)': 1 cell is not a number (data row 1: 'abc'), "
        "read as missing"
    ]
    assert report.summary == ["k (vector): duration not given, block dim 2"]


def test_a_per_block_cell_that_is_text_is_missing_and_named_in_a_warning(write, tmp_path, quiet):
    write("OPPROF_1/OpBasicInfo.csv", BASIC.format(name="k", device=0))
    write(
        "OPPROF_1/PipeUtilization.csv",
        "block_id,sub_block_id,aiv_time(us),aiv_mte2_time(us),\n0,vector0,10,5,\n1,vector0,9,x5,\n",
    )
    report = read_msprof_op(tmp_path / "OPPROF_1")
    assert report.warnings == [
        f"{tmp_path / 'OPPROF_1' / 'PipeUtilization.csv'}: column 'aiv_mte2_time(us)': "
        "1 cell is not a number (data row 2: 'x5'), read as missing"
    ]
    mte2 = report.tables["PipeUtilization"]["aiv_mte2_time(us)"]
    assert mte2.iloc[0] == 5 and mte2.isna().tolist() == [False, True]
