"""Analysis of traces bigger than memory: one pass over the batches with bounded
state (issue 17). :func:`analyze_streamed` gives the same :class:`Analysis` as the
in-memory path, and says what it had to give up where a trace outgrows its
bounds."""

from ubscope.analyzers.streaming.analyze import STREAMED_RULES, analyze_streamed, streamed_chip
from ubscope.analyzers.streaming.decide import should_stream, streams
from ubscope.analyzers.streaming.occupancy import BatchPoints

__all__ = [
    "STREAMED_RULES",
    "BatchPoints",
    "analyze_streamed",
    "should_stream",
    "streamed_chip",
    "streams",
]
