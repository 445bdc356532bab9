"""Analysis of traces bigger than memory: one pass over the batches with bounded
state (issue 17). :func:`analyze_streamed` gives the same :class:`Analysis` as the
in-memory path for the metrics and rules one pass computes exactly, and says
which it skipped."""

from ubscope.analyzers.streaming.analyze import SKIPPED_RULES, STREAMED_RULES, analyze_streamed
from ubscope.analyzers.streaming.decide import should_stream

__all__ = ["SKIPPED_RULES", "STREAMED_RULES", "analyze_streamed", "should_stream"]
