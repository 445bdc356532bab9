"""The KV-cache block managers: page accounting, reuse, and the page events."""

from __future__ import annotations

import numpy as np
import pytest

from ubscope.kernels.kv_cache import ContiguousKVCache, PagedKVCache
from ubscope.probe.errors import EmulationError

BLOCK = 16
TOKEN_BYTES = 8


def paged(recorder, pages: int = 8) -> PagedKVCache:
    return PagedKVCache(recorder, "kv", pages, BLOCK, TOKEN_BYTES, clock=lambda: 0)


def page_events(recorder):
    ev = recorder.table().to_pandas()
    return ev[ev.kind.isin(["kv_page_alloc", "kv_page_free"])]


def test_pages_held_are_ceil_of_length_as_a_sequence_grows(recorder):
    cache = paged(recorder)
    cache.admit(7, 3)
    for _ in range(3 * BLOCK):
        length = cache.length(7)
        assert len(cache.pages(7)) == -(-length // BLOCK)
        cache.append(7)
    assert cache.length(7) == 3 + 3 * BLOCK
    assert len(cache.pages(7)) == 4
    assert cache.reserved_bytes == 4 * BLOCK * TOKEN_BYTES
    assert cache.used_bytes == (3 + 3 * BLOCK) * TOKEN_BYTES


def test_positions_say_where_each_token_goes(recorder):
    cache = paged(recorder)
    pages, slots = cache.admit(0, 20)
    first, second = cache.pages(0)
    assert pages.tolist() == [first] * 16 + [second] * 4
    assert slots.tolist() == list(range(16)) + list(range(4))
    pages, slots = cache.append(0, 13)  # fills the second page and opens a third
    third = cache.pages(0)[2]
    assert pages.tolist() == [second] * 12 + [third]
    assert slots.tolist() == list(range(4, 16)) + [0]


def test_events_carry_tokens_at_allocation_and_at_release(recorder):
    cache = paged(recorder)
    cache.admit(3, 20)
    cache.append(3, 5)
    cache.release(3)
    ev = page_events(recorder)
    allocs, frees = ev[ev.kind == "kv_page_alloc"], ev[ev.kind == "kv_page_free"]
    assert allocs.arg2.tolist() == [16, 4]  # slots filled when the pages were handed out
    assert frees.arg2.tolist() == [16, 9]  # slots filled at the end
    assert (ev.arg == 3).all()
    assert (ev["size"] == BLOCK * TOKEN_BYTES).all()
    assert set(ev.tensor.astype(str)) == {"kv"}
    assert allocs.tag.astype(str).tolist() == ["prefill", "prefill"]


def test_everything_is_freed_and_freed_pages_are_reused_first(recorder):
    cache = paged(recorder, pages=6)
    cache.admit(0, 40)  # 3 pages
    cache.admit(1, 17)  # 2 pages
    freed = cache.pages(0)
    cache.release(0)
    assert cache.free_pages == 4
    cache.admit(2, 33)  # 3 pages: exactly the ones sequence 0 gave back
    assert sorted(cache.pages(2)) == sorted(freed)
    cache.release(1)
    cache.release(2)
    assert cache.live_pages == 0 and cache.free_pages == 6 and cache.reserved_bytes == 0
    ev = page_events(recorder)
    assert (ev.kind == "kv_page_alloc").sum() == (ev.kind == "kv_page_free").sum() == 8


def test_exhausted_pool_raises(recorder):
    cache = paged(recorder, pages=2)
    cache.admit(0, 2 * BLOCK)
    with pytest.raises(EmulationError, match="all 2 pages are in use; sequence 0 needs 1 more"):
        cache.append(0)


def test_misuse_is_reported(recorder):
    cache = paged(recorder)
    cache.admit(0, 1)
    with pytest.raises(EmulationError, match="admitted twice"):
        cache.admit(0, 1)
    with pytest.raises(EmulationError, match="unknown sequence 5"):
        cache.append(5)


def test_block_table_lists_pages_and_pads_with_minus_one(recorder):
    cache = paged(recorder)
    cache.admit(0, 40)
    cache.admit(1, 5)
    table = cache.block_table([1, 0], 4)
    assert table.dtype == np.int32 and table.shape == (2, 4)
    assert table[0].tolist() == cache.pages(1) + [-1, -1, -1]
    assert table[1].tolist() == cache.pages(0) + [-1]
    with pytest.raises(EmulationError, match="more than the block table"):
        cache.block_table([0], 2)


def test_contiguous_reserves_the_whole_region_on_arrival(recorder):
    cache = ContiguousKVCache(recorder, "kv", 2, 40, BLOCK, TOKEN_BYTES, clock=lambda: 0)
    with pytest.raises(EmulationError, match="grows to 41 tokens"):
        cache.admit(9, 41)  # a refused prompt leaves no reservation behind
    cache.admit(0, 5)
    assert cache.pages(0) == [0, 1, 2]  # 40 slots rounded up to whole pages
    assert cache.reserved_bytes == 3 * BLOCK * TOKEN_BYTES
    cache.append(0, 35)
    with pytest.raises(EmulationError, match="past the max_seq_len=40"):
        cache.append(0)
    cache.admit(1, 1)
    with pytest.raises(EmulationError, match="regions are reserved"):
        cache.admit(2, 1)
    cache.release(0)
    cache.admit(2, 1)
    assert cache.pages(2) == [0, 1, 2]
    ev = page_events(recorder)
    first = ev[(ev.kind == "kv_page_alloc") & (ev.arg == 0)]
    assert first.arg2.tolist() == [5, 0, 0]
    released = ev[(ev.kind == "kv_page_free") & (ev.arg == 0)]
    assert released.arg2.tolist() == [16, 16, 8]
