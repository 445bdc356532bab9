"""Reading a trace back one batch at a time (issue 17: views page a trace
bigger than memory from disk). The oracle is pyarrow reading the whole stream
in order, which applies every dictionary delta as it comes; a page is read
alone, with only the dictionary messages written before it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from ubscope.probe.chip import load_chip
from ubscope.probe.errors import TraceError
from ubscope.probe.events import CoreKind, Space
from ubscope.probe.recorder import Recorder
from ubscope.probe.trace import TraceWriter, new_metadata
from ubscope.probe.trace_pages import TracePages

EVENTS = 400


def _whole(path: Path) -> pd.DataFrame:
    with pa.ipc.open_stream(path) as reader:
        return reader.read_all().to_pandas()


def _batch_lengths(path: Path) -> list[int]:
    """The events of each batch that holds any (the writer also writes empty
    ones: the first, and the last carrying the final metadata)."""
    with pa.ipc.open_stream(path) as reader:
        return [batch.num_rows for batch in reader if batch.num_rows]


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(str).reset_index(drop=True)


@pytest.fixture(scope="module")
def small_batches(tmp_path_factory) -> Path:
    """Batches of 7 events where every allocation has a new buffer name, so the
    file holds a dictionary delta before nearly every batch."""
    path = tmp_path_factory.mktemp("pages") / "small.ubtrace"
    chip = load_chip()
    writer = TraceWriter(path, new_metadata(chip.to_dict(), "pages", {}, {}))
    rec = Recorder(sink=writer.write, batch_events=7)
    aiv, ub = int(CoreKind.AIV), int(Space.UB)
    for index in range(EVENTS // 2):
        core, addr = index % 4, (index // 4) % 8 * 1024
        rec.alloc(aiv, core, ub, addr, 1000, 1024, f"buf{index}", f"tag{index % 9}", index * 10)
        rec.free(aiv, core, ub, addr, 1000, 1024, f"buf{index}", f"tag{index % 9}", index * 10 + 5)
    rec.flush()
    writer.close()
    return path


def test_every_page_holds_the_events_the_whole_stream_holds_there(small_batches):
    whole = _whole(small_batches)
    pages = TracePages(small_batches)
    lengths = _batch_lengths(small_batches)
    assert pages.event_count == len(whole) == sum(lengths) == EVENTS
    # 400 events, 7 a batch: 57 full batches and one of 1
    assert lengths == [7] * 57 + [1]
    assert pages.page_count == 58
    assert pages.first_events.tolist() == [7 * i for i in range(58)]
    # the name, tag and kind dictionaries at first, then a name delta per batch
    assert len(pages._dictionaries) > 57
    for index in range(pages.page_count):
        first = int(pages.first_events[index])
        events = pages.page(index).events
        assert events["seq"].tolist() == list(range(first, first + len(events)))
        expected = whole.iloc[first : first + len(events)]
        assert _as_text(events[expected.columns]).equals(_as_text(expected)), index


def test_the_page_of_an_event_is_found_by_its_sequence_number(small_batches):
    pages = TracePages(small_batches)
    assert pages.page_of_event(0) == 0
    assert pages.page_of_event(6) == 0
    assert pages.page_of_event(7) == 1
    assert pages.page_of_event(399) == 57  # 57 * 7 = 399: the last batch's one event


def test_a_cut_file_pages_the_batches_before_the_cut(small_batches, tmp_path):
    data = small_batches.read_bytes()
    cut = tmp_path / "cut.ubtrace"
    cut.write_bytes(data[: len(data) // 2])
    pages = TracePages(cut)
    assert 0 < pages.page_count < 58
    assert pages.event_count == 7 * pages.page_count
    last = pages.page(pages.page_count - 1).events
    assert last["seq"].iloc[-1] == pages.event_count - 1


def test_a_corrupt_page_is_a_one_line_error_naming_the_file(small_batches, tmp_path):
    pages = TracePages(small_batches)
    page = pages._pages[3]
    data = bytearray(small_batches.read_bytes())
    # the batch's body (past its 8-byte prefix and metadata) overwritten with noise
    body_end = page.offset + page.length
    data[body_end - 40 : body_end] = b"\xff" * 40
    broken = tmp_path / "broken.ubtrace"
    broken.write_bytes(bytes(data))
    with pytest.raises(TraceError) as caught:
        TracePages(broken).page(3)
    assert str(broken) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"not a trace at all"])
def test_a_foreign_file_is_refused(tmp_path, content):
    path = tmp_path / "x.ubtrace"
    path.write_bytes(content)
    with pytest.raises(TraceError):
        TracePages(path)
