"""The cluster view of a torch_npu cluster profile as a terminal table: one
row per rank, highest peak reserved first, fitting 80 columns."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from ubscope.analyzers.vendor.torch_npu.cluster import ClusterView
from ubscope.analyzers.vendor.torch_npu.memory import mib_text
from ubscope.probe.text import printable

# Ranks listed in the terminal; the JSON report lists every one.
MAX_TEXT_RANKS = 16


def cluster_caption(view: ClusterView) -> Text:
    return Text(
        f"cluster: {len(view.ranks)} ranks, median peak reserved "
        f"{mib_text(view.median_reserved_mb)}, highest first",
        style="bold",
    )


def cluster_table(view: ClusterView) -> Table:
    """Rank, peak allocated, peak reserved, reserved-but-unallocated at that
    peak and the distance from the median, for the highest ranks."""
    table = Table(box=None, pad_edge=False, show_edge=False, padding=(0, 1))
    table.add_column("rank", no_wrap=True, overflow="ellipsis", max_width=24)
    for title in ("peak allocated", "peak reserved", "reserved-allocated", "vs median"):
        table.add_column(title, justify="right", no_wrap=True)
    for rank in view.ranks[:MAX_TEXT_RANKS]:
        table.add_row(
            Text(printable(rank.rank)),
            mib_text(rank.peak_allocated_mb),
            mib_text(rank.peak_reserved_mb),
            mib_text(rank.gap_mb),
            rank.vs_median_text,
        )
    return table


def cluster_more(view: ClusterView) -> Text | None:
    """The line saying how many ranks the table leaves out, if any."""
    hidden = len(view.ranks) - MAX_TEXT_RANKS
    if hidden <= 0:
        return None
    return Text(f"... and {hidden} more ranks (--format json lists every rank)", style="dim")
