"""CSV texts in the layouts msprof op and torch_npu write, shared by the reader
and rule tests."""

from __future__ import annotations

from pathlib import Path

# ResourceConflictRatio.csv of an Atlas A2 (per block and sub-block) and of a 310P (one row)
CONFLICT_A2 = (
    "block_id,sub_block_id,aic_time(us),aic_total_cycles,aic_cube_wait_ratio,aic_mte1_wait_ratio,"
    "aic_mte2_wait_ratio,aic_mte3_wait_ratio,aiv_time(us),aiv_total_cycles,aiv_vec_total_cflt_ratio,"
    "aiv_vec_bankgroup_cflt_ratio,aiv_vec_bank_cflt_ratio,aiv_vec_resc_cflt_ratio,aiv_vec_mte_cflt_ratio,"
    "aiv_vec_wait_ratio,aiv_mte2_wait_ratio,aiv_mte3_wait_ratio,\n"
    "0,vector0,N/A,N/A,N/A,N/A,N/A,N/A,10.5,18900,0.2,0.10,0.01,0,0,0.3,0.1,0.1,\n"
    "0,vector1,N/A,N/A,N/A,N/A,N/A,N/A,10.4,18720,0.1,0.02,0.06,0,0,0.3,0.1,0.1,\n"
    "1,vector0,,,,,,,10.0,18000,NA,NA,NA,NA,NA,NA,NA,NA,\n"
)
CONFLICT_310P = (
    "aic_time(us),aic_total_cycles,aic_cube_wait_ratio,aic_vec_wait_ratio,aic_mte1_wait_ratio,"
    "aic_mte2_wait_ratio,aic_mte3_wait_ratio,aic_vec_total_cflt_ratio,aic_vec_bankgroup_cflt_ratio,"
    "aic_vec_bank_cflt_ratio,aic_vec_resc_cflt_ratio,aic_vec_mte_cflt_ratio,\n"
    "5.0,9000,0,0.1,0,0.2,0.1,0.3,0.08,0.01,0,0,\n"
)
# memory_record.csv and operator_memory.csv header rows
RECORD_HEADER = "Component,Timestamp(us),Total Allocated(MB),Total Reserved(MB),Total Active(MB),Stream Ptr,Device Type"
OPERATOR_HEADER = (
    "Name,Size(KB),Allocation Time(us),Release Time(us),Active Release Time(us),Duration(us),Active Duration(us),"
    "Allocation Total Allocated(MB),Allocation Total Reserved(MB),Allocation Total Active(MB),"
    "Release Total Allocated(MB),Release Total Reserved(MB),Release Total Active(MB),Stream Ptr,Device Type"
)


def write_op_basic_info(folder: Path, op_name: str, duration_us: float) -> Path:
    """An msprof op folder holding only OpBasicInfo.csv: one vector launch of
    ``op_name``, Block Dim 1, in the writer's layout (a comma after every field)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "OpBasicInfo.csv").write_text(
        "Op Name,Op Type,Task Duration(us),Block Dim,Mix Block Dim,Device Id,Pid,Current Freq,"
        f"Rated Freq,\n{op_name},vector,{duration_us},1,NA,0,7,1800,1800,\n"
    )
    return folder
