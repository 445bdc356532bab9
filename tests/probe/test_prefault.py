"""The helper that faults in the pages of new trace columns ahead of the decoder:
it must make the pages resident without ever changing what is in them."""

from __future__ import annotations

import mmap

import numpy as np
import pytest

from ubscope.probe import prefault
from ubscope.probe.prefault import Prefault


def resident_pages(array: np.ndarray) -> int:
    """Pages of ``array``'s mapping that are in memory, by mincore(2)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pages = array.nbytes // mmap.PAGESIZE
    vector = (ctypes.c_ubyte * pages)()
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
    assert libc.mincore(array.ctypes.data, array.nbytes, vector) == 0, ctypes.get_errno()
    return sum(byte & 1 for byte in vector)


def fresh_column(rows: int) -> np.ndarray:
    # an anonymous mapping of its own: page-aligned and untouched
    return np.frombuffer(mmap.mmap(-1, rows * 8), dtype=np.int64)


@pytest.fixture
def can_populate() -> None:
    probe = fresh_column(mmap.PAGESIZE // 8)
    if not prefault._populate(probe):
        pytest.skip("this kernel has no MADV_POPULATE_WRITE (Linux 5.14+): nothing to test")


def test_populate_makes_pages_resident_and_keeps_their_contents(can_populate: None) -> None:
    pages = 64
    column = fresh_column(pages * mmap.PAGESIZE // 8)
    column[:3] = [7, 8, 9]  # the decoder got here first: one page written
    assert resident_pages(column) == 1
    assert prefault._populate(column)
    assert resident_pages(column) == pages
    assert column[:3].tolist() == [7, 8, 9]
    assert not column[3:].any()


def test_the_helper_faults_in_every_column_in_row_chunks(
    can_populate: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prefault, "CHUNK_ROWS", mmap.PAGESIZE // 8)  # a page per step
    columns = [fresh_column(16 * mmap.PAGESIZE // 8) for _ in range(3)]
    columns[1][-1] = 5
    faulted: list[tuple[int, int]] = []
    populate = prefault._populate

    def recording(rows: np.ndarray) -> bool:
        column = next(i for i, c in enumerate(columns) if np.shares_memory(c, rows))
        faulted.append((column, (rows.ctypes.data - columns[column].ctypes.data) // rows.nbytes))
        return populate(rows)

    monkeypatch.setattr(prefault, "_populate", recording)
    helper = Prefault(columns)
    with helper:
        helper._thread.join()
    # row chunk by row chunk, every column in each: the order the decoder fills them
    assert faulted == [(column, chunk) for chunk in range(16) for column in range(3)]
    assert [resident_pages(column) for column in columns] == [16, 16, 16]
    assert columns[1][-1] == 5 and not columns[1][:-1].any()


def test_leaving_the_block_stops_the_helper() -> None:
    column = fresh_column(1 << 20)
    with Prefault([column]) as helper:
        pass
    assert not helper._thread.is_alive()


def test_where_the_kernel_refuses_the_helper_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def refused(rows: np.ndarray) -> bool:
        calls.append(rows.size)
        return False

    monkeypatch.setattr(prefault, "_populate", refused)
    monkeypatch.setattr(prefault, "CHUNK_ROWS", 16)
    helper = Prefault([np.zeros(64, dtype=np.int64), np.zeros(64, dtype=np.int64)])
    with helper:
        helper._thread.join()
    assert calls == [16]  # the first refusal ends it: the decoder faults its own pages
