"""KV-cache block managers of a decode server: which cache pages each sequence holds.

The cache is ``(num_pages, block_size, H)`` in GM. :class:`PagedKVCache`
(PagedAttention) hands a sequence one page of ``block_size`` token slots when
its last page is full and takes every page back when the sequence finishes;
the most recently freed pages are reused first. :class:`ContiguousKVCache`, the
baseline, reserves ``max_seq_len`` slots per sequence when it arrives.

Both record a KV_PAGE_ALLOC event per page handed out (``tokens`` = slots
filled at that moment) and a KV_PAGE_FREE event per page taken back
(``tokens`` = slots filled at the end), so the same analysis compares the bytes
reserved with the bytes used for either policy.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np

from ubscope.probe.errors import EmulationError
from ubscope.probe.recorder import Recorder


class KVCache(ABC):
    """Bookkeeping shared by both policies: pages per sequence, lengths, events."""

    def __init__(
        self,
        recorder: Recorder,
        name: str,
        num_pages: int,
        block_size: int,
        token_bytes: int,
        clock: Callable[[], int],
    ) -> None:
        if num_pages < 1 or block_size < 1 or token_bytes < 1:
            raise EmulationError(
                f"KV cache '{name}': num_pages, block_size and token_bytes must be positive"
            )
        self.recorder = recorder
        self.name = name
        self.num_pages = num_pages
        self.block_size = block_size
        self.token_bytes = token_bytes
        self.clock = clock
        self.peak_reserved_bytes = 0
        self._pages: dict[int, list[int]] = {}
        self._lengths: dict[int, int] = {}
        # What the policy hands out (pages, or whole regions), lowest first.
        self._free = list(range(self._units() - 1, -1, -1))

    # -- policy hooks --------------------------------------------------------
    @abstractmethod
    def _units(self) -> int:
        """How many units (pages, or regions) the cache hands out."""

    @abstractmethod
    def _reserve(self, sequence: int) -> list[int]:
        """Pages a sequence gets when it arrives (before any token is placed)."""

    @abstractmethod
    def _grow(self, sequence: int, length: int) -> list[int]:
        """Pages added so that ``sequence`` can hold ``length`` tokens."""

    @abstractmethod
    def _give_back(self, pages: list[int]) -> None:
        """Take back the pages of a finished sequence."""

    @property
    def page_bytes(self) -> int:
        """Bytes of one page (K and V rows of ``block_size`` tokens)."""
        return self.block_size * self.token_bytes

    # -- public API ----------------------------------------------------------
    def admit(self, sequence: int, tokens: int) -> tuple[np.ndarray, np.ndarray]:
        """A new sequence with a prompt of ``tokens`` tokens; returns the
        (page, slot) of each prompt token, where its K/V rows go."""
        if sequence in self._pages:
            raise EmulationError(f"KV cache '{self.name}': sequence {sequence} admitted twice")
        reserved = self._reserve(sequence)
        self._pages[sequence] = list(reserved)
        self._lengths[sequence] = 0
        try:
            return self._place(sequence, tokens, list(reserved), "prefill")
        except EmulationError:
            del self._pages[sequence], self._lengths[sequence]
            self._give_back(reserved)
            raise

    def append(self, sequence: int, tokens: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """``tokens`` generated tokens; returns their (page, slot) positions."""
        self._require(sequence)
        return self._place(sequence, tokens, [], "decode")

    def release(self, sequence: int) -> None:
        """The sequence finished: every page it holds goes back to the cache."""
        self._require(sequence)
        pages = self._pages.pop(sequence)
        length = self._lengths.pop(sequence)
        self._record(False, sequence, pages, 0, length, "finish")
        self._give_back(pages)

    def pages(self, sequence: int) -> list[int]:
        self._require(sequence)
        return list(self._pages[sequence])

    def length(self, sequence: int) -> int:
        self._require(sequence)
        return self._lengths[sequence]

    def block_table(self, sequences: Sequence[int], width: int) -> np.ndarray:
        """The int32 ``(len(sequences), width)`` block table; unused entries are -1."""
        table = np.full((len(sequences), width), -1, dtype=np.int32)
        for row, sequence in enumerate(sequences):
            pages = self._pages[sequence]
            if len(pages) > width:
                raise EmulationError(
                    f"KV cache '{self.name}': sequence {sequence} holds {len(pages)} pages, "
                    f"more than the block table's {width} columns"
                )
            table[row, : len(pages)] = pages
        return table

    @property
    def live_pages(self) -> int:
        return sum(len(pages) for pages in self._pages.values())

    @property
    def reserved_bytes(self) -> int:
        """Bytes of cache held by live sequences."""
        return self.live_pages * self.page_bytes

    @property
    def used_bytes(self) -> int:
        """Bytes of cache holding tokens of live sequences."""
        return sum(self._lengths.values()) * self.token_bytes

    # -- internals -----------------------------------------------------------
    def _require(self, sequence: int) -> None:
        if sequence not in self._pages:
            raise EmulationError(f"KV cache '{self.name}': unknown sequence {sequence}")

    def _held(self, index: int, length: int) -> int:
        """Tokens in the sequence's ``index``-th page when it holds ``length``."""
        return min(self.block_size, max(0, length - index * self.block_size))

    def _record(
        self, allocated: bool, sequence: int, pages: list[int], first: int, length: int, tag: str
    ) -> None:
        """Page events for ``pages``, the sequence's pages from index ``first``
        on, with the tokens each holds at ``length``."""
        now = self.clock()
        for index, page in enumerate(pages, start=first):
            held = self._held(index, length)
            self.recorder.kv_page(
                allocated, self.name, page, self.page_bytes, sequence, held, now, tag
            )

    def _place(
        self, sequence: int, tokens: int, new_pages: list[int], tag: str
    ) -> tuple[np.ndarray, np.ndarray]:
        if tokens < 0:
            raise EmulationError(f"KV cache '{self.name}': negative token count {tokens}")
        pages = self._pages[sequence]
        start = self._lengths[sequence]
        length = start + tokens
        new_pages.extend(self._grow(sequence, length))
        self._lengths[sequence] = length
        self._record(True, sequence, new_pages, len(pages) - len(new_pages), length, tag)
        self.peak_reserved_bytes = max(self.peak_reserved_bytes, self.reserved_bytes)
        positions = np.arange(start, length)
        page_of_token = np.asarray(pages, dtype=np.int64)[positions // self.block_size]
        return page_of_token, positions % self.block_size


class PagedKVCache(KVCache):
    """Pages handed out on demand from a free stack (last freed, first reused)."""

    def _units(self) -> int:
        return self.num_pages

    def _reserve(self, sequence: int) -> list[int]:
        return []

    def _grow(self, sequence: int, length: int) -> list[int]:
        pages = self._pages[sequence]
        missing = -(-length // self.block_size) - len(pages)
        if missing > len(self._free):
            raise EmulationError(
                f"KV cache '{self.name}': all {self.num_pages} pages are in use; "
                f"sequence {sequence} needs {missing} more"
            )
        added = [self._free.pop() for _ in range(max(0, missing))]
        pages.extend(added)
        return added

    def _give_back(self, pages: list[int]) -> None:
        self._free.extend(reversed(pages))

    @property
    def free_pages(self) -> int:
        return len(self._free)


class ContiguousKVCache(KVCache):
    """One region of ``max_seq_len`` slots per sequence, reserved on arrival.

    A region is whole pages (``max_seq_len`` rounded up to ``block_size``), so
    the same kernel and block table serve both policies, and it is recorded as
    those pages: the same page events as the paged cache.
    """

    def __init__(
        self,
        recorder: Recorder,
        name: str,
        max_sequences: int,
        max_seq_len: int,
        block_size: int,
        token_bytes: int,
        clock: Callable[[], int],
    ) -> None:
        self.pages_per_sequence = -(-max_seq_len // block_size)
        super().__init__(
            recorder, name, max_sequences * self.pages_per_sequence, block_size, token_bytes, clock
        )
        self.max_seq_len = max_seq_len

    def _units(self) -> int:
        return self.num_pages // self.pages_per_sequence

    def _reserve(self, sequence: int) -> list[int]:
        if not self._free:
            raise EmulationError(
                f"KV cache '{self.name}': all {self._units()} regions are reserved; "
                f"sequence {sequence} cannot start"
            )
        first = self._free.pop() * self.pages_per_sequence
        return list(range(first, first + self.pages_per_sequence))

    def _grow(self, sequence: int, length: int) -> list[int]:
        if length > self.max_seq_len:
            raise EmulationError(
                f"KV cache '{self.name}': sequence {sequence} grows to {length} tokens, past the "
                f"max_seq_len={self.max_seq_len} slots it reserved"
            )
        return []

    def _give_back(self, pages: list[int]) -> None:
        self._free.append(pages[0] // self.pages_per_sequence)
