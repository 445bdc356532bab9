"""How the AIC's weight tiles lie in L1 and how many LoadData calls bring a K
chunk into L0A and L0B (the cube side and the planner's estimate share it)."""

from __future__ import annotations

from ubscope.probe.memory import fractal

FRACTAL = fractal.FRACTAL_ROWS
MAX_REPEAT = 255  # LoadData2DParams.repeatTimes
MAX_ND_MATRIX_STRIDE = 65535  # Nd2NzParams.srcNdMatrixStride, elements


def in_bands(weight_pitch: int) -> bool:
    """Whether a weight tile whose GM rows are ``weight_pitch`` elements apart
    goes to L1 in bands of 16 rows, one NZ matrix each: a K chunk's fractals
    are then contiguous and one LoadData takes up to 255 of them. Nd2Nz
    reaches the next band only within its matrix stride limit; past it the
    tile is one NZ matrix, loaded one LoadData per fractal row or column."""
    return FRACTAL * weight_pitch <= MAX_ND_MATRIX_STRIDE


def loads_per_chunk(m: int, chunk_rows: int, cols: int, weight_pitch: int) -> int:
    """LoadData calls that bring one K chunk into L0A and L0B."""
    m_blocks, k_blocks = fractal.padded(m) // FRACTAL, chunk_rows // FRACTAL
    n_blocks = fractal.padded(cols) // FRACTAL
    if in_bands(weight_pitch):
        b_loads = -(-k_blocks * n_blocks // MAX_REPEAT)
    else:
        b_loads = min(k_blocks, n_blocks)
    return min(m_blocks, k_blocks) + b_loads
