"""Reading batches on another thread: the consumer sees exactly what reading
in its own thread would have given, in order, errors included."""

from __future__ import annotations

import threading

import pyarrow as pa
import pytest

from ubscope.probe import read_ahead
from ubscope.probe.read_ahead import ReadAhead


class _Reader:
    """Batches 0, 1, 2, ... of one column each; reading batch ``fail_at`` raises."""

    def __init__(self, fail_at: int | None = None):
        self.read = 0
        self.fail_at = fail_at
        self.threads: set[str] = set()

    def read_next_batch_with_custom_metadata(self):
        self.threads.add(threading.current_thread().name)
        if self.read == self.fail_at:
            raise pa.ArrowInvalid(f"batch {self.read} is corrupt")
        batch = pa.record_batch({"seq": [self.read]})
        self.read += 1
        return batch, pa.KeyValueMetadata({"batch": str(self.read - 1)})


def test_batches_come_in_order_with_their_metadata_from_another_thread() -> None:
    reader = _Reader()
    with ReadAhead(reader, 5, read_ahead.MIN_EVENTS) as batches:
        taken = [batches.next() for _ in range(5)]
    assert [batch.column(0)[0].as_py() for batch, _ in taken] == [0, 1, 2, 3, 4]
    assert [custom[b"batch"] for _, custom in taken] == [b"0", b"1", b"2", b"3", b"4"]
    assert reader.read == 5 and reader.threads == {"ubscope-read-ahead"}


def test_a_read_error_is_raised_in_order_and_ends_the_reading() -> None:
    reader = _Reader(fail_at=2)
    with ReadAhead(reader, 5, read_ahead.MIN_EVENTS) as batches:
        assert batches.next()[0].column(0)[0].as_py() == 0
        assert batches.next()[0].column(0)[0].as_py() == 1
        with pytest.raises(pa.ArrowInvalid, match="batch 2 is corrupt"):
            batches.next()
    assert reader.read == 2  # nothing read past the error


def test_leaving_early_stops_the_thread_though_batches_are_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(read_ahead, "DEPTH", 1)
    reader = _Reader()
    with ReadAhead(reader, 1000, read_ahead.MIN_EVENTS) as batches:
        batches.next()
        thread = batches._thread
    assert not thread.is_alive()
    assert reader.read < 1000  # at most the batches that fit ahead of the consumer


def test_a_small_read_stays_on_the_calling_thread() -> None:
    reader = _Reader()
    with ReadAhead(reader, 3, read_ahead.MIN_EVENTS - 1) as batches:
        taken = [batches.next()[0].column(0)[0].as_py() for _ in range(3)]
    assert taken == [0, 1, 2] and reader.threads == {threading.current_thread().name}
